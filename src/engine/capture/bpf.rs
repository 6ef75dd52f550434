//! The classic BPF program the kernel runs on every frame of `lo` before it
//! reaches the capture socket: keep TCP and UDP with one of the lab's ports
//! at either end, and ICMP / ICMPv6 destination-unreachable errors (their
//! quoted ports are checked in user space); cut what is kept to
//! [`SNAP`](super::SNAP) bytes, so a bulk transfer copies headers, not data.
//!
//! Layout of the frame on `lo`: a 14-byte Ethernet header (zero MACs), then
//! IPv4 (`ethertype 0x0800`) or IPv6 (`0x86dd`, ports at fixed offsets when
//! there are no extension headers, as on loopback).

/// One instruction (`struct sock_filter`).
pub(crate) type Insn = libc::sock_filter;

/// More lab ports than this and the filter keeps every TCP/UDP frame; user
/// space then does the choosing alone (a classic program has at most 4096
/// instructions; each port costs eight).
pub(crate) const MAX_FILTER_PORTS: usize = 500;

const LDH_ABS: u16 = 0x28;
const LDB_ABS: u16 = 0x30;
const LDH_IND: u16 = 0x48;
const LDB_IND: u16 = 0x50;
const LDXB_MSH: u16 = 0xb1;
const JEQ: u16 = 0x15;
const JA: u16 = 0x05;
const RET: u16 = 0x06;

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jeq(k: u32, jt: u8, jf: u8) -> Insn {
    Insn {
        code: JEQ,
        jt,
        jf,
        k,
    }
}

/// Keep nothing (attached first, while the socket is drained).
pub(crate) fn drop_all() -> Vec<Insn> {
    vec![stmt(RET, 0)]
}

/// `A` holds a port: keep the frame if it is one of `ports` (None: any).
fn port_check(out: &mut Vec<Insn>, ports: Option<&[u16]>, snap: u32) {
    match ports {
        None => out.push(stmt(RET, snap)),
        Some(ports) => {
            for p in ports {
                out.push(jeq(*p as u32, 0, 1));
                out.push(stmt(RET, snap));
            }
        }
    }
}

/// The program for a set of ports (more than [`MAX_FILTER_PORTS`]: any).
pub(crate) fn program(ports: &[u16], snap: u32) -> Vec<Insn> {
    let ports = (ports.len() <= MAX_FILTER_PORTS).then_some(ports);
    // IPv4 section, from its first instruction.
    let mut v4 = vec![
        stmt(LDB_ABS, 23),  // 0: protocol
        jeq(6, 7, 0),       // 1: TCP → 9
        jeq(17, 6, 0),      // 2: UDP → 9
        jeq(1, 0, 4),       // 3: ICMP → 4, else 8
        stmt(LDXB_MSH, 14), // 4: X = IP header length
        stmt(LDB_IND, 14),  // 5: ICMP type
        jeq(3, 0, 1),       // 6: destination unreachable → 7, else 8
        stmt(RET, snap),    // 7
        stmt(RET, 0),       // 8
        stmt(LDXB_MSH, 14), // 9
        stmt(LDH_IND, 14),  // 10: source port
    ];
    port_check(&mut v4, ports, snap);
    v4.push(stmt(LDH_IND, 16)); // destination port
    port_check(&mut v4, ports, snap);
    v4.push(stmt(RET, 0));
    let mut v6 = vec![
        stmt(LDB_ABS, 20), // 0: next header
        jeq(6, 6, 0),      // 1: TCP → 8
        jeq(17, 5, 0),     // 2: UDP → 8
        jeq(58, 0, 3),     // 3: ICMPv6 → 4, else 7
        stmt(LDB_ABS, 54), // 4: ICMPv6 type
        jeq(1, 0, 1),      // 5: destination unreachable → 6, else 7
        stmt(RET, snap),   // 6
        stmt(RET, 0),      // 7
        stmt(LDH_ABS, 54), // 8: source port
    ];
    port_check(&mut v6, ports, snap);
    v6.push(stmt(LDH_ABS, 56));
    port_check(&mut v6, ports, snap);
    v6.push(stmt(RET, 0));
    let mut prog = vec![
        stmt(LDH_ABS, 12),             // 0: ethertype
        jeq(0x0800, 0, 1),             // 1: IPv4 → 2, else 3
        stmt(JA, 3),                   // 2: → 6 (IPv4 section)
        jeq(0x86dd, 0, 1),             // 3: IPv6 → 4, else 5
        stmt(JA, v4.len() as u32 + 1), // 4: → IPv6 section (past 5)
        stmt(RET, 0),                  // 5
    ];
    prog.extend(v4);
    prog.extend(v6);
    prog
}

/// Run a program on a frame, as the kernel would (the instructions above
/// only): how many bytes it keeps. For tests of the program itself.
#[cfg(test)]
pub(crate) fn run(prog: &[Insn], frame: &[u8]) -> u32 {
    let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
    let byte = |i: usize| frame.get(i).copied();
    let half = |i: usize| Some(u16::from_be_bytes([byte(i)?, byte(i + 1)?]) as u32);
    while let Some(ins) = prog.get(pc) {
        pc += 1;
        let k = ins.k as usize;
        match ins.code {
            LDH_ABS => match half(k) {
                Some(v) => a = v,
                None => return 0,
            },
            LDB_ABS => match byte(k) {
                Some(v) => a = v as u32,
                None => return 0,
            },
            LDH_IND => match half(x as usize + k) {
                Some(v) => a = v,
                None => return 0,
            },
            LDB_IND => match byte(x as usize + k) {
                Some(v) => a = v as u32,
                None => return 0,
            },
            LDXB_MSH => match byte(k) {
                Some(v) => x = 4 * (v as u32 & 0xf),
                None => return 0,
            },
            JEQ => pc += if a == ins.k { ins.jt } else { ins.jf } as usize,
            JA => pc += k,
            RET => return ins.k,
            c => panic!("unknown instruction {c:#x}"),
        }
    }
    panic!("fell off the end of the program")
}
