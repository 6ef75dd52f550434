//! One decoder per argument kind (see `table::Arg`): reading the traced
//! program's memory (`process_vm_readv`, capped) and printing each argument
//! the way the lab writes calls: `bind(fd 3, ('127.0.0.1', 9000))`.

use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;

use super::table::Arg;
use crate::engine::text::py_bytes_repr;

/// Most bytes of one buffer kept for the event log (the length is always exact).
pub const KEEP: usize = crate::engine::event::DATA_KEEP;
/// Most bytes of a buffer shown inside the call's text.
pub const SHOW: usize = 40;

/// Read `len` bytes at `addr` in the program (fewer if part of it is unmapped).
pub fn read_mem(pid: Pid, addr: u64, len: usize) -> Vec<u8> {
    if addr == 0 || len == 0 {
        return Vec::new();
    }
    let mut buf = vec![0u8; len];
    let remote = [RemoteIoVec {
        base: addr as usize,
        len,
    }];
    match process_vm_readv(pid, &mut [IoSliceMut::new(&mut buf)], &remote) {
        Ok(n) => buf.truncate(n),
        Err(_) => buf.clear(),
    }
    buf
}

fn read_u64s(pid: Pid, addr: u64, count: usize) -> Vec<u64> {
    read_mem(pid, addr, count * 8)
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or_default()))
        .collect()
}

/// An iovec array: (base, len) pairs, at most 64 of them.
pub fn read_iov(pid: Pid, addr: u64, count: u64) -> Vec<(u64, u64)> {
    let n = (count as usize).min(64);
    read_u64s(pid, addr, n * 2)
        .chunks_exact(2)
        .map(|c| (c[0], c[1]))
        .collect()
}

/// Up to `total` bytes gathered from an iovec array, capped at [`KEEP`].
pub fn gather(pid: Pid, iov: &[(u64, u64)], total: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut left = total.min(KEEP);
    for (base, len) in iov {
        if left == 0 {
            break;
        }
        let take = (*len as usize).min(left);
        out.extend(read_mem(pid, *base, take));
        left -= take;
    }
    out
}

/// `struct msghdr`: name pointer, name length, iovec pointer, iovec count.
pub fn read_msghdr(pid: Pid, addr: u64) -> Option<(u64, u64, u64, u64)> {
    let w = read_u64s(pid, addr, 4);
    (w.len() == 4).then(|| (w[0], w[1] & 0xffff_ffff, w[2], w[3]))
}

/// A socket address as the program holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockAddr {
    Inet(SocketAddr),
    Unix(String),
    Other(u16),
}

impl SockAddr {
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            SockAddr::Inet(a) => Some(*a),
            _ => None,
        }
    }

    /// Python's tuple: `('127.0.0.1', 9000)`, `('::1', 9000, 0, 0)`.
    pub fn show(&self) -> String {
        match self {
            SockAddr::Inet(a) => show_addr(a),
            SockAddr::Unix(p) => format!("{p:?}"),
            SockAddr::Other(f) => format!("<{} address>", family_name(*f as i64)),
        }
    }
}

pub fn show_addr(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(v) => format!("('{}', {})", v.ip(), v.port()),
        SocketAddr::V6(v) => format!("('{}', {}, 0, {})", v.ip(), v.port(), v.scope_id()),
    }
}

/// Decode the bytes of a `struct sockaddr`.
pub fn parse_sockaddr(b: &[u8]) -> Option<SockAddr> {
    if b.len() < 2 {
        return None;
    }
    let fam = u16::from_ne_bytes([b[0], b[1]]);
    let port = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
    match fam as i32 {
        libc::AF_INET if b.len() >= 8 => Some(SockAddr::Inet(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(b[4], b[5], b[6], b[7])),
            port(b),
        ))),
        libc::AF_INET6 if b.len() >= 24 => {
            let ip: [u8; 16] = b[8..24].try_into().ok()?;
            Some(SockAddr::Inet(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(ip)),
                port(b),
            )))
        }
        libc::AF_UNIX => {
            let path = &b[2..];
            let end = path.iter().position(|c| *c == 0).unwrap_or(path.len());
            Some(SockAddr::Unix(
                String::from_utf8_lossy(&path[..end]).into_owned(),
            ))
        }
        _ => Some(SockAddr::Other(fam)),
    }
}

pub fn read_sockaddr(pid: Pid, addr: u64, len: u64) -> Option<SockAddr> {
    if addr == 0 {
        return None;
    }
    parse_sockaddr(&read_mem(pid, addr, (len as usize).min(128)))
}

/// An address the kernel wrote back (accept, recvfrom): `*len_ptr` bytes at `addr`.
pub fn read_sockaddr_out(pid: Pid, addr: u64, len_ptr: u64) -> Option<SockAddr> {
    if addr == 0 || len_ptr == 0 {
        return None;
    }
    let l = read_mem(pid, len_ptr, 4);
    let len = u32::from_ne_bytes(l.get(..4)?.try_into().ok()?);
    read_sockaddr(pid, addr, len as u64)
}

fn family_name(f: i64) -> String {
    match f as i32 {
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        libc::AF_UNIX => "AF_UNIX".into(),
        libc::AF_NETLINK => "AF_NETLINK".into(),
        libc::AF_PACKET => "AF_PACKET".into(),
        other => format!("family {other}"),
    }
}

fn type_name(t: i64) -> String {
    let base = match (t as i32) & 0xf {
        libc::SOCK_STREAM => "SOCK_STREAM".to_string(),
        libc::SOCK_DGRAM => "SOCK_DGRAM".to_string(),
        libc::SOCK_RAW => "SOCK_RAW".to_string(),
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET".to_string(),
        other => format!("type {other}"),
    };
    let mut s = base;
    if t as i32 & libc::SOCK_NONBLOCK != 0 {
        s.push_str("|SOCK_NONBLOCK");
    }
    if t as i32 & libc::SOCK_CLOEXEC != 0 {
        s.push_str("|SOCK_CLOEXEC");
    }
    s
}

fn msg_flags(f: i64) -> String {
    const NAMES: &[(i32, &str)] = &[
        (libc::MSG_PEEK, "MSG_PEEK"),
        (libc::MSG_DONTWAIT, "MSG_DONTWAIT"),
        (libc::MSG_WAITALL, "MSG_WAITALL"),
        (libc::MSG_NOSIGNAL, "MSG_NOSIGNAL"),
        (libc::MSG_OOB, "MSG_OOB"),
        (libc::MSG_MORE, "MSG_MORE"),
        (libc::MSG_TRUNC, "MSG_TRUNC"),
    ];
    let mut left = f as i32;
    let mut parts = Vec::new();
    for (v, n) in NAMES {
        if left & v != 0 {
            parts.push(n.to_string());
            left &= !v;
        }
    }
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    parts.join("|")
}

fn opt_name(level: i64, opt: i64) -> String {
    let l = level as i32;
    let o = opt as i32;
    let lname = match l {
        libc::SOL_SOCKET => "SOL_SOCKET",
        libc::IPPROTO_TCP => "IPPROTO_TCP",
        libc::IPPROTO_IP => "IPPROTO_IP",
        libc::IPPROTO_IPV6 => "IPPROTO_IPV6",
        _ => return format!("{level}, {opt}"),
    };
    let oname = match (l, o) {
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => "SO_REUSEADDR",
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => "SO_REUSEPORT",
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => "SO_KEEPALIVE",
        (libc::SOL_SOCKET, libc::SO_LINGER) => "SO_LINGER",
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => "SO_RCVBUF",
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => "SO_SNDBUF",
        (libc::SOL_SOCKET, libc::SO_ERROR) => "SO_ERROR",
        (libc::SOL_SOCKET, libc::SO_TYPE) => "SO_TYPE",
        (libc::SOL_SOCKET, libc::SO_BROADCAST) => "SO_BROADCAST",
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => "SO_RCVTIMEO",
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => "SO_SNDTIMEO",
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => "TCP_NODELAY",
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) => "IPV6_V6ONLY",
        _ => return format!("{lname}, {opt}"),
    };
    format!("{lname}, {oname}")
}

/// Print one argument, or None to leave it out (a zero protocol, no flags).
pub fn show_arg(pid: Pid, arg: Arg, a: &[u64; 6]) -> Option<String> {
    let i = |k: usize| a[k] as i64;
    Some(match arg {
        Arg::Fd(k) => format!("fd {}", a[k] as i32),
        Arg::Family(k) => family_name(i(k)),
        Arg::Type(k) => type_name(i(k)),
        Arg::Proto(k) => {
            if i(k) == 0 {
                return None;
            }
            i(k).to_string()
        }
        Arg::Int(k) => (a[k] as i32).to_string(),
        Arg::AddrIn(p, l) => {
            if a[p] == 0 {
                return None;
            }
            read_sockaddr(pid, a[p], a[l])
                .map(|s| s.show())
                .unwrap_or_else(|| "<bad address>".into())
        }
        Arg::DataIn(p, l) => show_data(&read_mem(pid, a[p], (a[l] as usize).min(SHOW)), a[l]),
        Arg::IovIn(p, n) => {
            let iov = read_iov(pid, a[p], a[n]);
            let total: u64 = iov.iter().map(|v| v.1).sum();
            show_data(&gather(pid, &iov, SHOW), total)
        }
        Arg::MsgIn(p) => {
            let (name, namelen, iov, iovlen) = read_msghdr(pid, a[p])?;
            let iov = read_iov(pid, iov, iovlen);
            let total: u64 = iov.iter().map(|v| v.1).sum();
            let mut s = show_data(&gather(pid, &iov, SHOW), total);
            if let Some(addr) = read_sockaddr(pid, name, namelen) {
                s.push_str(", ");
                s.push_str(&addr.show());
            }
            s
        }
        Arg::MsgFlags(k) => {
            if i(k) == 0 {
                return None;
            }
            msg_flags(i(k))
        }
        Arg::Opt(l, o) => opt_name(i(l), i(o)),
        Arg::OptVal(p, l) => {
            let b = read_mem(pid, a[p], (a[l] as usize).min(64));
            if b.len() == 4 {
                i32::from_ne_bytes(b[..4].try_into().unwrap_or_default()).to_string()
            } else {
                py_bytes_repr(&b)
            }
        }
        Arg::How(k) => match i(k) as i32 {
            libc::SHUT_RD => "SHUT_RD".into(),
            libc::SHUT_WR => "SHUT_WR".into(),
            libc::SHUT_RDWR => "SHUT_RDWR".into(),
            other => other.to_string(),
        },
        Arg::Millis(k) => match a[k] as i32 {
            -1 => "forever".into(),
            ms => format!("{ms} ms"),
        },
        Arg::PollFds(p, n) => {
            let fds = read_pollfds(pid, a[p], a[n]);
            let items: Vec<String> = fds
                .iter()
                .map(|(fd, ev)| format!("fd {fd} {}", poll_events(*ev)))
                .collect();
            format!("[{}]", items.join(", "))
        }
        Arg::FdSets => {
            let nfds = a[0] as i32;
            let mut parts = Vec::new();
            for set in &a[1..4] {
                let fds = read_fdset(pid, *set, nfds);
                let s: Vec<String> = fds.iter().map(|f| format!("fd {f}")).collect();
                parts.push(format!("[{}]", s.join(", ")));
            }
            parts.join(", ")
        }
        Arg::Fcntl(c, v) => match i(c) as i32 {
            libc::F_SETFL => {
                if i(v) as i32 & libc::O_NONBLOCK != 0 {
                    "F_SETFL, O_NONBLOCK".into()
                } else {
                    "F_SETFL, blocking".into()
                }
            }
            libc::F_GETFL => "F_GETFL".into(),
            other => format!("cmd {other}"),
        },
        Arg::Ioctl(r, v) => {
            if a[r] as libc::c_ulong == libc::FIONBIO as libc::c_ulong {
                let b = read_mem(pid, a[v], 4);
                let on = b.iter().any(|x| *x != 0);
                format!("FIONBIO, {}", if on { "non-blocking" } else { "blocking" })
            } else {
                format!("{:#x}", a[r])
            }
        }
    })
}

pub fn show_data(shown: &[u8], total: u64) -> String {
    let mut s = py_bytes_repr(shown);
    if total as usize > shown.len() {
        s.push_str(&format!("… ({total} bytes)"));
    }
    s
}

/// `poll`'s descriptors and requested events, at most 256.
pub fn read_pollfds(pid: Pid, addr: u64, count: u64) -> Vec<(i32, i16)> {
    let n = (count as usize).min(256);
    read_mem(pid, addr, n * 8)
        .chunks_exact(8)
        .map(|c| {
            (
                i32::from_ne_bytes(c[0..4].try_into().unwrap_or_default()),
                i16::from_ne_bytes(c[4..6].try_into().unwrap_or_default()),
            )
        })
        .collect()
}

fn poll_events(ev: i16) -> String {
    let mut p = Vec::new();
    if ev & libc::POLLIN != 0 {
        p.push("POLLIN");
    }
    if ev & libc::POLLOUT != 0 {
        p.push("POLLOUT");
    }
    if ev & libc::POLLPRI != 0 {
        p.push("POLLPRI");
    }
    if p.is_empty() {
        "0".into()
    } else {
        p.join("|")
    }
}

/// The descriptors set in an `fd_set` (at most the first 1024).
pub fn read_fdset(pid: Pid, addr: u64, nfds: i32) -> Vec<i32> {
    if addr == 0 || nfds <= 0 {
        return Vec::new();
    }
    let n = nfds.min(1024) as usize;
    let bytes = read_mem(pid, addr, n.div_ceil(64) * 8);
    (0..n)
        .filter(|i| bytes.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
        .map(|i| i as i32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddrs_print_as_python_tuples() {
        let mut v4 = vec![0u8; 16];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&9000u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(parse_sockaddr(&v4).unwrap().show(), "('127.0.0.1', 9000)");
        let mut v6 = vec![0u8; 28];
        v6[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        v6[2..4].copy_from_slice(&80u16.to_be_bytes());
        v6[23] = 1;
        assert_eq!(parse_sockaddr(&v6).unwrap().show(), "('::1', 80, 0, 0)");
        assert!(parse_sockaddr(&[1]).is_none());
    }

    #[test]
    fn flags_and_types() {
        assert_eq!(
            type_name((libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as i64),
            "SOCK_STREAM|SOCK_CLOEXEC"
        );
        assert_eq!(
            msg_flags((libc::MSG_PEEK | 0x1000_0000) as i64),
            "MSG_PEEK|0x10000000"
        );
        assert_eq!(
            opt_name(libc::SOL_SOCKET as i64, libc::SO_REUSEADDR as i64),
            "SOL_SOCKET, SO_REUSEADDR"
        );
    }
}
