//! Reading the kernel's view of the lab's sockets: `TCP_INFO` and the queue
//! ioctls for sockets the lab holds, and the kernel's TCP socket table for
//! the lab's connections that have no descriptor (TIME_WAIT after close,
//! connections waiting in an accept queue). The table is read through netlink
//! sock_diag (`diag.rs`); `/proc/net/tcp{,6}` is only the fallback where
//! sock_diag fails.
//!
//! The three `unsafe` blocks here are the `TCP_INFO` getsockopt (and the
//! zeroed `tcp_info` it fills) and one `int` ioctl: neither nix nor socket2
//! wraps `TCP_INFO`, `FIONREAD` or `TIOCOUTQ`. Each takes a `BorrowedFd`, so
//! the descriptor is open for the whole call.

use std::collections::{HashMap, HashSet};
use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::event::{EventKind, FourTuple};
use super::ops::{refresh_endpoints, set_lab};
use super::shared::Shared;
use super::sock::SockEntry;
use super::types::*;

/// What `TCP_INFO` and the ioctls say about one descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DescInfo {
    pub state: Option<TcpState>,
    pub recv_q: u32,
    pub send_q: u32,
    /// Listeners: (accept queue length, backlog).
    pub accept: Option<(u32, u32)>,
}

/// Read a descriptor's TCP state and queues. UDP sockets have no TCP state.
pub fn desc_info(fd: BorrowedFd<'_>, ty: SockType) -> DescInfo {
    let mut state = None;
    let mut accept = None;
    if ty == SockType::Stream
        && let Some(info) = tcp_info(fd)
    {
        state = TcpState::from_u8(info.tcpi_state);
        if state == Some(TcpState::Listen) {
            // For a listener the kernel reports sk_ack_backlog and
            // sk_max_ack_backlog in these two fields.
            accept = Some((info.tcpi_unacked, info.tcpi_sacked));
        }
    }
    let (mut recv_q, mut send_q) = (0, 0);
    if accept.is_none() {
        // A failed ioctl (EINVAL on a listener, say) reads as empty.
        recv_q = int_ioctl(fd, libc::FIONREAD).unwrap_or(0);
        send_q = int_ioctl(fd, libc::TIOCOUTQ).unwrap_or(0);
    }
    if state == Some(TcpState::Close) {
        // TIOCOUTQ is write_seq - snd_una, sequence space rather than bytes:
        // after a refused connect it reads 3 with nothing queued (a CLOSE
        // socket's write queue was purged when it closed). Nothing waits.
        send_q = 0;
    }
    DescInfo {
        state,
        recv_q,
        send_q,
        accept,
    }
}

/// `getsockopt(fd, IPPROTO_TCP, TCP_INFO)`, if it succeeds and the kernel
/// filled at least the fields `desc_info` reads (state .. `tcpi_sacked`).
fn tcp_info(fd: BorrowedFd<'_>) -> Option<libc::tcp_info> {
    // SAFETY: `libc::tcp_info` is a `repr(C)` struct whose fields are all
    // `u8`, `u32` or `u64` (no pointers, no enums, no bools), so all-zero
    // bytes are a valid value of it.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let cap = size_of::<libc::tcp_info>();
    let mut len = libc::socklen_t::try_from(cap).ok()?;
    // SAFETY: `optval` points to `info`, a live, properly aligned, writable
    // `tcp_info` of exactly `len` bytes, and `optlen` to `len`, a live
    // `socklen_t`; `fd` is borrowed, so open for the call. The kernel
    // (`do_tcp_getsockopt`) copies min(len, its own sizeof(struct tcp_info))
    // bytes into `optval`, stores that count in `*optlen`, and keeps neither
    // pointer after returning. On error it writes nothing we read.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast::<libc::c_void>(),
            &raw mut len,
        )
    };
    // Trust only what the kernel says it wrote: an older kernel's struct may
    // be shorter than libc's (the rest would still read as zeroes, not
    // garbage, but zeroes are not the kernel's answer either). The kernel
    // never reports more than `cap`; check anyway.
    let filled = usize::try_from(len).ok()?;
    let need = offset_of!(libc::tcp_info, tcpi_sacked) + size_of::<u32>();
    (r == 0 && (need..=cap).contains(&filled)).then_some(info)
}

/// `ioctl(fd, req, &mut int)` for `FIONREAD` (bytes in the receive queue;
/// for UDP, the next datagram's size) and `TIOCOUTQ` (bytes not yet
/// acknowledged, or for UDP not yet sent). Negative answers read as 0.
fn int_ioctl(fd: BorrowedFd<'_>, req: libc::Ioctl) -> Option<u32> {
    let mut n: libc::c_int = 0;
    // SAFETY: for a TCP or UDP socket, FIONREAD (= SIOCINQ) and TIOCOUTQ
    // (= SIOCOUTQ) go through `sk_ioctl` -> `sock_ioctl_out`, whose protocol
    // handler (`tcp_ioctl`, `udp_ioctl`) fills a kernel `int` that is then
    // written back with `put_user(karg, (int __user *)arg)`: exactly
    // `sizeof(int)` bytes through the pointer, nothing else, and only on
    // success. `n` is a live, aligned `c_int` that outlives the call, and the
    // kernel keeps no pointer. `fd` is borrowed, so open for the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req, &raw mut n) };
    (r == 0).then(|| u32::try_from(n).unwrap_or(0))
}

/// One socket of the kernel's TCP table (a sock_diag `inet_diag_msg`, or a
/// line of `/proc/net/tcp{,6}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableRow {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: TcpState,
    pub send_q: u32,
    pub recv_q: u32,
    /// The owner's uid.
    pub uid: u32,
    /// The socket's inode, as in `/proc/PID/fd/N -> socket:[INODE]`; 0 for
    /// sockets with no file (TIME_WAIT, a connection not yet accepted).
    pub inode: u64,
}

/// The kernel's TCP socket table (IPv4 and IPv6, every state but LISTEN):
/// netlink sock_diag (`diag.rs`), or `/proc/net/tcp{,6}` only if sock_diag
/// fails (no netlink in a sandbox, a kernel without `inet_diag`).
pub fn read_tcp_table() -> Vec<TableRow> {
    match super::diag::tcp_table() {
        Ok(rows) => rows,
        Err(_) => read_proc_tcp(),
    }
}

/// `/proc/net/tcp{,6}`, every state (LISTEN too).
pub fn read_proc_tcp() -> Vec<TableRow> {
    let mut rows = Vec::new();
    for (path, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Ok(text) = std::fs::read_to_string(path) {
            rows.extend(text.lines().skip(1).filter_map(|l| parse_row(l, v6)));
        }
    }
    rows
}

fn parse_row(line: &str, v6: bool) -> Option<TableRow> {
    let mut it = line.split_whitespace();
    let _sl = it.next()?;
    let local = parse_addr(it.next()?, v6)?;
    let remote = parse_addr(it.next()?, v6)?;
    let state = TcpState::from_u8(u8::from_str_radix(it.next()?, 16).ok()?)?;
    let (tx, rx) = it.next()?.split_once(':')?;
    let _timer = it.next()?;
    let _retransmits = it.next()?;
    let uid = it.next()?.parse().ok()?;
    let _timeout = it.next()?;
    let inode = it.next()?.parse().ok()?;
    Some(TableRow {
        local,
        remote,
        state,
        send_q: u32::from_str_radix(tx, 16).ok()?,
        recv_q: u32::from_str_radix(rx, 16).ok()?,
        uid,
        inode,
    })
}

/// `0100007F:2328` → 127.0.0.1:9000 (the address is in host byte order
/// per 32-bit word, which is little-endian here).
fn parse_addr(s: &str, v6: bool) -> Option<SocketAddr> {
    let (a, p) = s.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let ip: IpAddr = if v6 {
        if a.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for w in 0..4 {
            let word = u32::from_str_radix(&a[w * 8..w * 8 + 8], 16).ok()?;
            bytes[w * 4..w * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        let v6 = Ipv6Addr::from(bytes);
        match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
            None => IpAddr::V6(v6),
        }
    } else {
        let word = u32::from_str_radix(a, 16).ok()?;
        IpAddr::V4(Ipv4Addr::from(word.to_le_bytes()))
    };
    Some(SocketAddr::new(ip, port))
}

/// Does a listener bound to `listen` receive connections to `local`?
fn listener_covers(listen: SocketAddr, local: SocketAddr) -> bool {
    if listen.port() != local.port() {
        return false;
    }
    listen.ip() == local.ip()
        || listen.ip().is_unspecified()
        || matches!((listen.ip(), local.ip()), (IpAddr::V4(a), IpAddr::V6(b)) if b.to_ipv4_mapped() == Some(a))
        || matches!((listen.ip(), local.ip()), (IpAddr::V6(a), IpAddr::V4(b)) if a.to_ipv4_mapped() == Some(b))
}

/// A descriptor-less entry as last reported: state, Recv-Q, Send-Q, origin.
type OrphanSeen = (TcpState, u32, u32, Option<SockId>);
type TupleKey = (SocketAddr, SocketAddr);

/// The observer's memory of what it last reported.
#[derive(Default)]
struct Seen {
    orphans: HashMap<TupleKey, OrphanSeen>,
}

pub(crate) fn spawn_observer(shared: Arc<Shared>) {
    tokio::spawn(async move {
        let mut seen = Seen::default();
        loop {
            if shared.is_stopped() {
                break;
            }
            shared.observer_passes.0.fetch_add(1, Ordering::AcqRel);
            observe(&shared, &mut seen);
            shared.observer_passes.1.fetch_add(1, Ordering::AcqRel);
            let wait = shared.observe_interval();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shared.observe.notified() => {}
            }
        }
    });
}

fn observe(sh: &Shared, seen: &mut Seen) {
    let socks = sh.all_socks();
    let mut live: HashMap<(SocketAddr, SocketAddr), TcpState> = HashMap::new();
    let mut listeners: Vec<(SocketAddr, SockId)> = Vec::new();
    for e in &socks {
        let info = desc_info(e.sock().as_fd(), e.ty);
        update_socket(sh, e, info);
        if let Some(state) = info.state {
            let st = e.st();
            if state == TcpState::Listen {
                if let Some(l) = st.local {
                    listeners.push((l, e.id));
                }
            } else if let (Some(l), Some(p)) = (st.local, st.peer) {
                live.insert((l, p), state);
            }
        }
    }
    let known = sh.known_tuples();
    if known.is_empty() && listeners.is_empty() && seen.orphans.is_empty() {
        return;
    }
    let known: HashMap<(SocketAddr, SocketAddr), SockId> =
        known.into_iter().map(|(l, r, s)| ((l, r), s)).collect();
    let mut now: HashMap<TupleKey, OrphanSeen> = HashMap::new();
    for row in read_tcp_table() {
        if row.state == TcpState::Listen {
            continue;
        }
        let key = (row.local, row.remote);
        // A descriptor that still holds the connection shows it itself —
        // unless the kernel moved the connection to a TIME_WAIT socket and
        // the descriptor reads CLOSE.
        if let Some(desc_state) = live.get(&key)
            && !(*desc_state == TcpState::Close && row.state == TcpState::TimeWait)
        {
            continue;
        }
        let origin = match known.get(&key) {
            Some(s) => Some(*s),
            None => match listeners
                .iter()
                .find(|(l, _)| listener_covers(*l, row.local))
            {
                Some((_, id)) => Some(*id),
                None => continue,
            },
        };
        now.insert(key, (row.state, row.recv_q, row.send_q, origin));
    }
    let gone: HashSet<(SocketAddr, SocketAddr)> = seen
        .orphans
        .keys()
        .filter(|k| !now.contains_key(k))
        .copied()
        .collect();
    for key in gone {
        if let Some((state, _, _, origin)) = seen.orphans.remove(&key) {
            sh.emit(EventKind::Orphan {
                tuple: FourTuple {
                    local: key.0,
                    remote: key.1,
                },
                origin,
                from: Some(state),
                to: None,
                recv_q: 0,
                send_q: 0,
            });
        }
    }
    for (key, val) in now {
        let prev = seen.orphans.get(&key).copied();
        if prev == Some(val) {
            continue;
        }
        sh.emit(EventKind::Orphan {
            tuple: FourTuple {
                local: key.0,
                remote: key.1,
            },
            origin: val.3,
            from: prev.map(|p| p.0),
            to: Some(val.0),
            recv_q: val.1,
            send_q: val.2,
        });
        seen.orphans.insert(key, val);
    }
}

fn update_socket(sh: &Shared, e: &SockEntry, info: DescInfo) {
    let (from, queues_changed, lab) = {
        let mut st = e.st();
        if st.closed {
            return;
        }
        let from = st.kernel;
        st.kernel = info.state;
        let q = (
            info.recv_q,
            info.send_q,
            info.accept.map(|a| a.0),
            info.accept.map(|a| a.1),
        );
        let changed = st.queues != q;
        st.queues = q;
        (from, changed, st.lab)
    };
    if from != info.state {
        sh.emit(EventKind::KernelState {
            sock: e.id,
            from,
            to: info.state,
        });
        // A non-blocking connect completes in the background.
        if lab == LabState::Connecting && info.state == Some(TcpState::Established) {
            e.st().connecting = false;
            set_lab(sh, e, LabState::Connected);
            refresh_endpoints(sh, e);
        }
    }
    if queues_changed {
        sh.emit(EventKind::Queues {
            sock: e.id,
            recv_q: info.recv_q,
            send_q: info.send_q,
            accept_q: info.accept.map(|a| a.0),
            backlog: info.accept.map(|a| a.1),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_rows() {
        let v4 = "   0: 0100007F:2328 0100007F:C8A2 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000";
        let r = parse_row(v4, false).unwrap();
        assert_eq!(r.local, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(r.remote, "127.0.0.1:51362".parse().unwrap());
        assert_eq!(r.state, TcpState::TimeWait);
        assert_eq!((r.uid, r.inode), (0, 0));
        let v6 = "   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:D2A4 01 00000005:00000003 00:00000000 00000000  1000        0 48213 1 0000000000000000 20 4 30 10 -1";
        let r = parse_row(v6, true).unwrap();
        assert_eq!(r.local, "[::1]:8080".parse().unwrap());
        assert_eq!(r.state, TcpState::Established);
        assert_eq!((r.send_q, r.recv_q), (5, 3));
        assert_eq!((r.uid, r.inode), (1000, 48213));
        assert!(parse_row("garbage", false).is_none());
    }

    #[test]
    fn proc_and_sock_diag_agree_on_a_live_pair() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_s, _) = l.accept().unwrap();
        let local = c.local_addr().unwrap();
        let diag = super::super::diag::tcp_table().unwrap();
        let proc = read_proc_tcp();
        let d = diag
            .iter()
            .find(|r| r.local == local)
            .expect("in sock_diag");
        let p = proc.iter().find(|r| r.local == local).expect("in /proc");
        assert_eq!(d, p);
        assert_ne!(d.inode, 0);
    }

    /// Wait (bounded) until `f` holds; the kernel acts on loopback at once,
    /// but a test must not depend on when.
    fn until(mut f: impl FnMut() -> bool) -> bool {
        (0..2000).any(|_| {
            let ok = f();
            if !ok {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            ok
        })
    }

    #[test]
    fn desc_info_reads_state_and_queues() {
        use socket2::{Domain, Socket, Type};
        use std::io::Write;
        let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        l.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        l.listen(5).unwrap();
        let at = l.local_addr().unwrap().as_socket().unwrap();
        let info = desc_info(l.as_fd(), SockType::Stream);
        assert_eq!(info.state, Some(TcpState::Listen));
        assert_eq!(info.accept, Some((0, 5)));

        let mut c = std::net::TcpStream::connect(at).unwrap();
        assert!(until(
            || desc_info(l.as_fd(), SockType::Stream).accept == Some((1, 5))
        ));
        let (s, _) = l.accept().unwrap();
        c.write_all(b"seven!!").unwrap();
        assert!(until(|| desc_info(s.as_fd(), SockType::Stream).recv_q == 7));
        let info = desc_info(c.as_fd(), SockType::Stream);
        assert_eq!(
            (info.state, info.accept),
            (Some(TcpState::Established), None)
        );

        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        u.send_to(b"abc", u.local_addr().unwrap()).unwrap();
        let info = desc_info(u.as_fd(), SockType::Dgram);
        assert!(until(|| desc_info(u.as_fd(), SockType::Dgram).recv_q == 3));
        assert_eq!((info.state, info.accept), (None, None));
    }

    #[test]
    fn a_refused_socket_has_nothing_waiting_to_be_sent() {
        use socket2::{Domain, Socket, Type};
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        assert!(c.connect(&port.into()).is_err(), "nothing listens there");
        let info = desc_info(c.as_fd(), SockType::Stream);
        assert_eq!(info.state, Some(TcpState::Close));
        // The kernel's TIOCOUTQ says 3 here (sequence space, not bytes).
        assert_eq!((info.send_q, info.recv_q), (0, 0));
    }

    #[test]
    fn listener_coverage() {
        let any: SocketAddr = "0.0.0.0:80".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert!(listener_covers(any, lo));
        assert!(listener_covers(lo, lo));
        assert!(!listener_covers(lo, "127.0.0.1:81".parse().unwrap()));
    }
}
