//! The capture's pure parts on frames built here: parsing, the kernel
//! filter program (run by a small interpreter), conversations.

use std::net::SocketAddr;

use etherparse::PacketBuilder;

use super::bpf;
use super::conv::Decoder;
use super::parse::parse;
use super::wire::*;
use super::{RawFrame, SNAP, decode_frames};

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A TCP frame as `lo` carries it (zero MACs).
fn tcp(from: &str, to: &str, seq: u32, ack: Option<u32>, flags: &str, payload: &[u8]) -> Vec<u8> {
    let (f, t) = (a(from), a(to));
    let b = PacketBuilder::ethernet2([0; 6], [0; 6]);
    let b = match (f, t) {
        (SocketAddr::V4(f), SocketAddr::V4(t)) => b.ipv4(f.ip().octets(), t.ip().octets(), 64),
        (SocketAddr::V6(f), SocketAddr::V6(t)) => b.ipv6(f.ip().octets(), t.ip().octets(), 64),
        _ => panic!("mixed families"),
    };
    let mut b = b.tcp(f.port(), t.port(), seq, 65535);
    if let Some(n) = ack {
        b = b.ack(n);
    }
    for c in flags.chars() {
        b = match c {
            'S' => b.syn(),
            'F' => b.fin(),
            'R' => b.rst(),
            'P' => b.psh(),
            _ => b,
        };
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

fn udp(from: &str, to: &str, payload: &[u8]) -> Vec<u8> {
    let (f, t) = (a(from), a(to));
    let b = PacketBuilder::ethernet2([0; 6], [0; 6]);
    let b = match (f, t) {
        (SocketAddr::V4(f), SocketAddr::V4(t)) => b.ipv4(f.ip().octets(), t.ip().octets(), 64),
        (SocketAddr::V6(f), SocketAddr::V6(t)) => b.ipv6(f.ip().octets(), t.ip().octets(), 64),
        _ => panic!("mixed families"),
    };
    let mut out = Vec::new();
    b.udp(f.port(), t.port()).write(&mut out, payload).unwrap();
    out
}

/// ICMP port unreachable quoting `quoted` (an Ethernet frame).
fn port_unreachable(quoted: &[u8], v6: bool) -> Vec<u8> {
    let ip = &quoted[14..];
    let b = PacketBuilder::ethernet2([0; 6], [0; 6]);
    let mut out = Vec::new();
    if v6 {
        let src: [u8; 16] = ip[24..40].try_into().unwrap();
        let dst: [u8; 16] = ip[8..24].try_into().unwrap();
        b.ipv6(src, dst, 64)
            .icmpv6(etherparse::Icmpv6Type::DestinationUnreachable(
                etherparse::icmpv6::DestUnreachableCode::Port,
            ))
            .write(&mut out, ip)
            .unwrap();
    } else {
        let src: [u8; 4] = ip[16..20].try_into().unwrap();
        let dst: [u8; 4] = ip[12..16].try_into().unwrap();
        b.ipv4(src, dst, 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut out, &ip[..28])
            .unwrap();
    }
    out
}

fn frame(data: Vec<u8>) -> RawFrame {
    RawFrame {
        ts: std::time::Duration::from_secs(1),
        wire_len: data.len() as u32,
        data,
    }
}

fn labels(frames: Vec<Vec<u8>>) -> Vec<String> {
    decode_frames(&frames.into_iter().map(frame).collect::<Vec<_>>())
        .iter()
        .map(|s| s.label())
        .collect()
}

const C: &str = "127.0.0.1:40000";
const S: &str = "127.0.0.1:5000";

#[test]
fn a_connection_in_relative_numbers() {
    let (i, j) = (1_000_000u32, 4_000_000_000u32);
    let got = labels(vec![
        tcp(C, S, i, None, "S", b""),
        tcp(S, C, j, Some(i + 1), "S", b""),
        tcp(C, S, i + 1, Some(j + 1), "", b""),
        tcp(C, S, i + 1, Some(j + 1), "P", b"hello\n"),
        tcp(S, C, j + 1, Some(i + 7), "", b""),
        tcp(C, S, i + 7, Some(j + 1), "F", b""),
        tcp(S, C, j + 1, Some(i + 8), "F", b""),
        tcp(C, S, i + 8, Some(j + 2), "", b""),
    ]);
    assert_eq!(
        got,
        [
            "SYN seq=0",
            "SYN,ACK seq=0 ack=1",
            "ACK seq=1 ack=1",
            "PSH,ACK seq=1 ack=1 len=6",
            "ACK seq=1 ack=7",
            "FIN,ACK seq=7 ack=1",
            "FIN,ACK seq=1 ack=8",
            "ACK seq=8 ack=2",
        ]
    );
}

#[test]
fn the_same_bytes_again_are_a_retransmission() {
    let i = u32::MAX - 3; // the numbers wrap inside the connection
    let got = labels(vec![
        tcp(C, S, i, None, "S", b""),
        tcp(C, S, i, None, "S", b""),
        tcp(S, C, 7, Some(i.wrapping_add(1)), "S", b""),
        tcp(C, S, i.wrapping_add(1), Some(8), "P", b"abcdef"),
        tcp(C, S, i.wrapping_add(1), Some(8), "P", b"abcdef"),
        tcp(C, S, i.wrapping_add(7), Some(8), "P", b"gh"),
        // A keep-alive: one byte before what was sent is not one.
        tcp(C, S, i.wrapping_add(8), Some(8), "", b"x"),
    ]);
    assert_eq!(
        got,
        [
            "SYN seq=0",
            "SYN seq=0 (retransmission)",
            "SYN,ACK seq=0 ack=1",
            "PSH,ACK seq=1 ack=1 len=6",
            "PSH,ACK seq=1 ack=1 len=6 (retransmission)",
            "PSH,ACK seq=7 ack=1 len=2",
            "ACK seq=8 ack=1 len=1",
        ]
    );
}

#[test]
fn a_new_syn_on_the_same_ports_starts_over() {
    let got = labels(vec![
        tcp(C, S, 100, None, "S", b""),
        tcp(S, C, 0, Some(101), "RA", b""),
        tcp(C, S, 5000, None, "S", b""),
    ]);
    assert_eq!(got, ["SYN seq=0", "RST,ACK seq=0 ack=1", "SYN seq=0"]);
}

#[test]
fn options_lengths_and_preview() {
    let mut f = tcp(C, S, 1, Some(1), "P", &[b'x'; 200]);
    let p = parse(&f).unwrap();
    assert_eq!(p.len, 200);
    assert_eq!(p.preview.len(), PREVIEW);
    // Cut to the snap length, as the kernel filter does: the length still
    // comes from the IP header.
    f.truncate(SNAP.min(14 + 20 + 20 + 10));
    let p = parse(&f).unwrap();
    assert_eq!(p.len, 200);
    assert_eq!(&p.preview[..], &[b'x'; 10]);
    assert_eq!(p.wire_len as usize, 14 + 20 + 20 + 200);
}

#[test]
fn icmp_port_unreachable_quotes_the_datagram() {
    for v6 in [false, true] {
        let (c, s) = if v6 {
            ("[::1]:40001", "[::1]:5001")
        } else {
            ("127.0.0.1:40001", "127.0.0.1:5001")
        };
        let d = udp(c, s, b"ping");
        let e = port_unreachable(&d, v6);
        let segs = decode_frames(&[frame(d), frame(e)]);
        assert_eq!(segs.len(), 2, "v6={v6}");
        assert_eq!(segs[0].proto, Proto::Udp);
        assert_eq!(segs[0].len, 4);
        let i = segs[1].icmp.unwrap();
        assert_eq!(
            (i.kind, i.v6, i.quoted),
            (IcmpKind::PortUnreachable, v6, Some(Proto::Udp))
        );
        assert_eq!(segs[1].from, a(s));
        assert_eq!(segs[1].to, a(c));
    }
}

#[test]
fn the_kernel_filter_keeps_the_lab_ports_only() {
    let prog = bpf::program(&[5000, 5001], SNAP as u32);
    let keep = |f: &[u8]| bpf::run(&prog, f);
    let big = tcp(C, S, 1, Some(1), "P", &[0; 1000]);
    assert_eq!(keep(&big), SNAP as u32, "kept, cut to the snap length");
    assert_eq!(
        keep(&tcp(S, C, 1, Some(1), "", b"")),
        SNAP as u32,
        "either end"
    );
    assert_eq!(
        keep(&tcp("127.0.0.1:1", "127.0.0.1:2", 1, None, "S", b"")),
        0
    );
    assert_eq!(
        keep(&tcp("[::1]:40000", "[::1]:5001", 1, None, "S", b"")),
        SNAP as u32
    );
    assert_eq!(keep(&tcp("[::1]:1", "[::1]:2", 1, None, "S", b"")), 0);
    assert_eq!(
        keep(&udp("127.0.0.1:9", "127.0.0.1:5001", b"x")),
        SNAP as u32
    );
    assert_eq!(keep(&udp("[::1]:9", "[::1]:5000", b"x")), SNAP as u32);
    assert_eq!(keep(&udp("[::1]:9", "[::1]:8", b"x")), 0);
    // ICMP errors pass the kernel; their quoted ports are checked in user space.
    let d = udp("127.0.0.1:9", "127.0.0.1:8", b"x");
    assert_eq!(keep(&port_unreachable(&d, false)), SNAP as u32);
    let d6 = udp("[::1]:9", "[::1]:8", b"x");
    assert_eq!(keep(&port_unreachable(&d6, true)), SNAP as u32);
    // No ports: nothing but ICMP errors; drop-all: nothing.
    assert_eq!(bpf::run(&bpf::program(&[], SNAP as u32), &big), 0);
    assert_eq!(bpf::run(&bpf::drop_all(), &big), 0);
    // Too many ports for the program: every TCP / UDP frame.
    let many: Vec<u16> = (1..=(bpf::MAX_FILTER_PORTS as u16 + 1)).collect();
    let all = bpf::program(&many, SNAP as u32);
    assert!(all.len() < 4096);
    assert_eq!(
        bpf::run(&all, &tcp("[::1]:60001", "[::1]:60002", 1, None, "S", b"")),
        SNAP as u32
    );
    let most: Vec<u16> = (1..=bpf::MAX_FILTER_PORTS as u16).collect();
    assert!(bpf::program(&most, SNAP as u32).len() <= 4096);
}

#[test]
fn the_conversation_table_is_bounded() {
    let mut d = Decoder::with_cap(8);
    for port in 1000..1100u16 {
        let f = tcp(&format!("127.0.0.1:{port}"), S, 1, None, "S", b"");
        d.decode(parse(&f).unwrap(), 0, 0, |_, _, _| End::default());
    }
    assert_eq!(d.conversations(), 8);
    assert_eq!(d.count, 100);
}

#[test]
fn flags_read_as_wireshark_writes_them() {
    let f = TcpFlags {
        syn: true,
        ack: true,
        ..TcpFlags::default()
    };
    assert_eq!(f.label(), "SYN,ACK");
    let f = TcpFlags {
        fin: true,
        psh: true,
        ack: true,
        ece: true,
        cwr: true,
        urg: true,
        ..TcpFlags::default()
    };
    assert_eq!(f.label(), "FIN,PSH,URG,ECE,CWR,ACK");
}
