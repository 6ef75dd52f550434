//! The kernel's TCP socket table through netlink `sock_diag` (what `ss`
//! uses). Reading `/proc/net/tcp` walks the whole connection hash table in
//! the kernel for every page and cost ~8 ms of system time here; one
//! sock_diag dump costs well under 1 ms, so the observer can afford a fast
//! cadence while something happens.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::kernel::TableRow;
use super::types::TcpState;

const SOCK_DIAG_BY_FAMILY: u16 = 20;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SockId {
    sport: [u8; 2],
    dport: [u8; 2],
    src: [u8; 16],
    dst: [u8; 16],
    ifindex: u32,
    cookie: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Request {
    nlmsg_len: u32,
    nlmsg_type: u16,
    nlmsg_flags: u16,
    nlmsg_seq: u32,
    nlmsg_pid: u32,
    family: u8,
    protocol: u8,
    ext: u8,
    pad: u8,
    states: u32,
    id: SockId,
}

/// `struct inet_diag_msg`, after the netlink header.
#[repr(C)]
#[derive(Clone, Copy)]
struct DiagMsg {
    family: u8,
    state: u8,
    timer: u8,
    retrans: u8,
    id: SockId,
    expires: u32,
    rqueue: u32,
    wqueue: u32,
    uid: u32,
    inode: u32,
}

const HDR: usize = 16;

/// Every TCP socket that is not listening, IPv4 and IPv6.
pub fn tcp_table() -> io::Result<Vec<TableRow>> {
    // SAFETY: plain socket(2); the fd is owned by `Fd` below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = Fd(fd);
    let mut rows = Vec::new();
    for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
        dump(fd.0, family, &mut rows)?;
    }
    Ok(rows)
}

struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own this descriptor.
        unsafe { libc::close(self.0) };
    }
}

fn dump(fd: i32, family: u8, rows: &mut Vec<TableRow>) -> io::Result<()> {
    // All states but LISTEN (bit 10); bits are 1 << state.
    let states: u32 = ((1 << 12) - 1) & !(1 << 10) & !1;
    dump_msgs(fd, family, libc::IPPROTO_TCP as u8, states, &mut |m| {
        if let Some(row) = to_row(m) {
            rows.push(row);
        }
    })
}

/// One socket of the kernel's table with its inode (what `/proc/PID/fd/N`
/// calls `socket:[INODE]`), for sockets the lab has no descriptor of: the
/// traced programs' (see `trace`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InodeRow {
    pub inode: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The raw `idiag_state` (TCP's numbering; UDP reports 1 when connected, 7 otherwise).
    pub state: u8,
    /// Listeners: the accept queue length and the backlog.
    pub recv_q: u32,
    pub send_q: u32,
}

/// Every TCP (listeners too) or UDP socket, IPv4 and IPv6, with its inode.
pub fn table_by_inode(udp: bool) -> io::Result<Vec<InodeRow>> {
    // SAFETY: plain socket(2); the fd is owned by `Fd` below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = Fd(fd);
    let proto = if udp {
        libc::IPPROTO_UDP
    } else {
        libc::IPPROTO_TCP
    } as u8;
    let mut rows = Vec::new();
    for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
        dump_msgs(fd.0, family, proto, u32::MAX, &mut |m| {
            if let Some(r) = to_row_raw(m) {
                rows.push(InodeRow {
                    inode: m.inode as u64,
                    local: r.0,
                    remote: r.1,
                    state: m.state,
                    recv_q: m.rqueue,
                    send_q: m.wqueue,
                });
            }
        })?;
    }
    Ok(rows)
}

fn dump_msgs(
    fd: i32,
    family: u8,
    protocol: u8,
    states: u32,
    each: &mut dyn FnMut(&DiagMsg),
) -> io::Result<()> {
    let req = Request {
        nlmsg_len: std::mem::size_of::<Request>() as u32,
        nlmsg_type: SOCK_DIAG_BY_FAMILY,
        nlmsg_flags: (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16,
        nlmsg_seq: 1,
        nlmsg_pid: 0,
        family,
        protocol,
        ext: 0,
        pad: 0,
        states,
        id: SockId::default(),
    };
    // SAFETY: req is a plain repr(C) value; we send its bytes.
    let sent = unsafe {
        libc::send(
            fd,
            &req as *const Request as *const libc::c_void,
            std::mem::size_of::<Request>(),
            0,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut off = 0usize;
        let n = n as usize;
        while off + HDR <= n {
            let len = u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap_or_default()) as usize;
            let ty = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap_or_default());
            if len < HDR || off + len > n {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "short netlink message",
                ));
            }
            match ty as i32 {
                libc::NLMSG_DONE => return Ok(()),
                libc::NLMSG_ERROR => {
                    let code = i32::from_ne_bytes(
                        buf[off + HDR..off + HDR + 4].try_into().unwrap_or_default(),
                    );
                    return Err(io::Error::from_raw_os_error(-code));
                }
                _ if ty == SOCK_DIAG_BY_FAMILY && len >= HDR + std::mem::size_of::<DiagMsg>() => {
                    // SAFETY: the slice holds a whole DiagMsg; read_unaligned copes
                    // with any alignment of the buffer.
                    let msg: DiagMsg = unsafe {
                        std::ptr::read_unaligned(buf[off + HDR..].as_ptr() as *const DiagMsg)
                    };
                    each(&msg);
                }
                _ => {}
            }
            off += (len + 3) & !3;
        }
    }
}

fn to_row_raw(m: &DiagMsg) -> Option<(SocketAddr, SocketAddr)> {
    let ip = |a: &[u8; 16]| -> IpAddr {
        if m.family == libc::AF_INET as u8 {
            IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
        } else {
            IpAddr::V6(Ipv6Addr::from(*a))
        }
    };
    Some((
        SocketAddr::new(ip(&m.id.src), u16::from_be_bytes(m.id.sport)),
        SocketAddr::new(ip(&m.id.dst), u16::from_be_bytes(m.id.dport)),
    ))
}

fn to_row(m: &DiagMsg) -> Option<TableRow> {
    let ip = |a: &[u8; 16]| -> IpAddr {
        if m.family == libc::AF_INET as u8 {
            IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
        } else {
            IpAddr::V6(Ipv6Addr::from(*a))
        }
    };
    Some(TableRow {
        local: SocketAddr::new(ip(&m.id.src), u16::from_be_bytes(m.id.sport)),
        remote: SocketAddr::new(ip(&m.id.dst), u16::from_be_bytes(m.id.dport)),
        state: TcpState::from_u8(m.state)?,
        recv_q: m.rqueue,
        send_q: m.wqueue,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_an_established_pair() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let local = c.local_addr().unwrap();
        let rows = tcp_table().unwrap();
        let row = rows.iter().find(|r| r.local == local).expect("our client");
        assert_eq!(row.state, TcpState::Established);
        assert_eq!(row.remote, l.local_addr().unwrap());
        assert!(rows.iter().all(|r| r.state != TcpState::Listen));
    }
}
