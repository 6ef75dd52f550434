//! The kernel's TCP socket table through netlink `sock_diag` (what `ss`
//! uses), with the netlink crates `netlink-sys` (the socket, which owns its
//! descriptor), `netlink-packet-core` (framing, bounds-checked) and
//! `netlink-packet-sock-diag` (the `inet_diag` structures). This module has no
//! `unsafe` of its own; it replaced a hand-written reader with five.
//!
//! What a read costs is the kernel walking its whole TCP connection hash
//! (262 144 buckets on this machine, empty ones included) once per request,
//! not the rows: ~0.9 ms of system time a walk here, whatever the number of
//! sockets; parsing ~900 rows adds ~0.07 ms. `SOCK_DIAG_BY_FAMILY` (the
//! crate's request, and the old reader's) names one family, so IPv4 plus
//! IPv6 costs two walks (~2.1 ms). The original `TCPDIAG_GETSOCK` request
//! (with `struct inet_diag_req`, still part of the kernel's ABI) is read by
//! the kernel with family `AF_UNSPEC` and walks once for both families: that
//! is what we send (~1.0 ms), falling back to the per-family requests if a
//! kernel refuses it. No dump can go below one walk; a lookup of one exact
//! 4-tuple (no `NLM_F_DUMP`) would. `benches/kernel_table.rs` measures all
//! three reads; `/proc/net/tcp{,6}` (~2.6 ms here, more with more sockets:
//! it re-walks for every page) is the last resort (`kernel::read_tcp_table`).

use std::io;
use std::net::SocketAddr;

use netlink_packet_core::{
    DecodeError, NLM_F_DUMP, NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NetlinkSerializable, Parseable,
};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponseHeader, SocketId, StateFlags,
};
use netlink_packet_sock_diag::{AF_INET, AF_INET6, IPPROTO_TCP, SOCK_DIAG_BY_FAMILY};
use netlink_sys::{Socket, protocols::NETLINK_SOCK_DIAG};

use super::kernel::TableRow;
use super::types::{Family, TcpState};

/// `TCPDIAG_GETSOCK` (`linux/inet_diag.h`): the pre-`sock_diag` request type.
const TCPDIAG_GETSOCK: u16 = 18;
/// `sizeof(struct inet_diag_req)`: family, src_len, dst_len, ext (4 bytes),
/// `struct inet_diag_sockid` (48), states (4), dbs (4).
const COMPAT_REQ_LEN: usize = 60;
const COMPAT_STATES_AT: usize = 52;
/// The kernel never builds a dump message over 32 KiB
/// (`netlink_recvmsg` caps `max_recvmsg_len`); twice that is safe, and a
/// larger datagram is reported, not cut.
const RECV_BUF: usize = 64 * 1024;

/// Why a sock_diag read failed (the caller falls back to `/proc`).
#[derive(Debug, thiserror::Error)]
pub enum DiagError {
    /// The netlink socket could not be opened, sent to or read.
    #[error("netlink sock_diag socket: {0}")]
    Socket(#[from] io::Error),
    /// The kernel answered the request with an error.
    #[error("the kernel refused the sock_diag request: {0}")]
    Refused(io::Error),
    /// A reply did not parse.
    #[error("malformed sock_diag reply: {0}")]
    Malformed(#[from] DecodeError),
    /// A datagram was larger than the receive buffer.
    #[error("sock_diag reply of {0} bytes does not fit a {RECV_BUF}-byte buffer")]
    Truncated(usize),
}

/// Which request to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walk {
    /// One `TCPDIAG_GETSOCK` dump: both families in one walk.
    Once,
    /// One `SOCK_DIAG_BY_FAMILY` dump per family.
    PerFamily,
}

/// Every TCP socket that is not listening, IPv4 and IPv6.
pub fn tcp_table() -> Result<Vec<TableRow>, DiagError> {
    let sock = Socket::new(NETLINK_SOCK_DIAG)?;
    match read(&sock, Walk::Once) {
        Err(DiagError::Refused(_)) => read(&sock, Walk::PerFamily),
        r => r,
    }
}

/// The same rows through one `SOCK_DIAG_BY_FAMILY` dump per family (the
/// fallback, and what a read cost before; for the bench).
pub fn tcp_table_per_family() -> Result<Vec<TableRow>, DiagError> {
    read(&Socket::new(NETLINK_SOCK_DIAG)?, Walk::PerFamily)
}

fn read(sock: &Socket, walk: Walk) -> Result<Vec<TableRow>, DiagError> {
    let mut rows = Vec::new();
    match walk {
        Walk::Once => dump(sock, 1, Diag::BothFamilies(states()), &mut rows)?,
        Walk::PerFamily => {
            for (seq, family) in [(2, AF_INET), (3, AF_INET6)] {
                let req = InetRequest {
                    family,
                    protocol: IPPROTO_TCP,
                    extensions: ExtensionFlags::empty(),
                    states: StateFlags::from_bits_retain(states()),
                    socket_id: if family == AF_INET {
                        SocketId::new_v4()
                    } else {
                        SocketId::new_v6()
                    },
                };
                dump(sock, seq, Diag::ByFamily(req), &mut rows)?;
            }
        }
    }
    Ok(rows)
}

/// All states but LISTEN.
fn states() -> u32 {
    (StateFlags::all() - StateFlags::LISTEN).bits()
}

/// The messages we exchange: our two requests and the kernel's one reply
/// (`struct inet_diag_msg`; its attributes are not needed and not parsed).
#[derive(Debug)]
enum Diag {
    BothFamilies(u32),
    ByFamily(InetRequest),
    Socket(InetResponseHeader),
}

impl NetlinkSerializable for Diag {
    fn message_type(&self) -> u16 {
        match self {
            Diag::BothFamilies(_) => TCPDIAG_GETSOCK,
            Diag::ByFamily(_) | Diag::Socket(_) => SOCK_DIAG_BY_FAMILY,
        }
    }

    fn buffer_len(&self) -> usize {
        use netlink_packet_core::Emitable;
        match self {
            Diag::BothFamilies(_) => COMPAT_REQ_LEN,
            Diag::ByFamily(r) => r.buffer_len(),
            Diag::Socket(h) => h.buffer_len(),
        }
    }

    fn serialize(&self, buffer: &mut [u8]) {
        use netlink_packet_core::Emitable;
        match self {
            Diag::BothFamilies(states) => {
                // Family 0 and an all-zero socket id: a dump of everything.
                buffer[..COMPAT_REQ_LEN].fill(0);
                buffer[COMPAT_STATES_AT..COMPAT_STATES_AT + 4]
                    .copy_from_slice(&states.to_ne_bytes());
            }
            Diag::ByFamily(r) => r.emit(buffer),
            Diag::Socket(h) => h.emit(buffer),
        }
    }
}

impl NetlinkDeserializable for Diag {
    type Error = DecodeError;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, DecodeError> {
        match header.message_type {
            TCPDIAG_GETSOCK | SOCK_DIAG_BY_FAMILY => {
                Ok(Diag::Socket(InetResponseHeader::parse(payload)?))
            }
            t => Err(format!("unexpected message type {t}").into()),
        }
    }
}

fn dump(sock: &Socket, seq: u32, req: Diag, rows: &mut Vec<TableRow>) -> Result<(), DiagError> {
    dump_with(sock, seq, req, &mut |h| rows.extend(to_row(h)))
}

/// One dump; `on` sees every socket the kernel reports.
fn dump_with(
    sock: &Socket,
    seq: u32,
    req: Diag,
    on: &mut dyn FnMut(&InetResponseHeader),
) -> Result<(), DiagError> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(req));
    msg.finalize();
    let mut out = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut out);
    send(sock, &out)?;

    // `recv` fills the spare capacity of a `Vec` (and sets its length).
    let mut buf: Vec<u8> = Vec::with_capacity(RECV_BUF);
    loop {
        buf.clear();
        let n = match sock.recv(&mut buf, libc::MSG_TRUNC) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if n > buf.len() {
            return Err(DiagError::Truncated(n));
        }
        let mut at = 0;
        while at < buf.len() {
            // Checks that the length field fits the buffer and covers a header.
            let msg = NetlinkMessage::<Diag>::deserialize(&buf[at..])?;
            at += (msg.header.length as usize).next_multiple_of(4);
            if msg.header.sequence_number != seq {
                continue;
            }
            match msg.payload {
                // A dump that failed part-way ends with a negative errno in DONE.
                NetlinkPayload::Done(d) if d.code == 0 => return Ok(()),
                NetlinkPayload::Done(d) => return Err(refused(d.code)),
                NetlinkPayload::Error(e) => return Err(refused(e.raw_code())),
                NetlinkPayload::InnerMessage(Diag::Socket(h)) => on(&h),
                _ => {}
            }
        }
    }
}

/// A kernel reply's `-errno` as an error.
fn refused(code: i32) -> DiagError {
    let errno = code
        .checked_neg()
        .filter(|e| *e > 0)
        .unwrap_or(libc::EINVAL);
    DiagError::Refused(io::Error::from_raw_os_error(errno))
}

fn send(sock: &Socket, bytes: &[u8]) -> Result<(), DiagError> {
    loop {
        match sock.send(bytes, 0) {
            Ok(n) if n == bytes.len() => return Ok(()),
            Ok(n) => {
                return Err(DiagError::Socket(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("sent {n} of {} bytes", bytes.len()),
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// A TCP or UDP socket of any state (listeners too), with its inode: what
/// the tracer matches a traced program's descriptors against
/// (`/proc/PID/fd/N → socket:[INODE]`; sock_diag has no inode filter).
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

/// Every TCP (listeners too) or UDP socket of these families, with its inode.
pub fn table_by_inode(udp: bool, families: &[Family]) -> Result<Vec<InodeRow>, DiagError> {
    let sock = Socket::new(NETLINK_SOCK_DIAG)?;
    let protocol = if udp {
        libc::IPPROTO_UDP as u8
    } else {
        IPPROTO_TCP
    };
    let mut rows = Vec::new();
    for (seq, family) in [(1, AF_INET), (2, AF_INET6)] {
        let f = if family == AF_INET {
            Family::V4
        } else {
            Family::V6
        };
        if !families.contains(&f) {
            continue;
        }
        let req = InetRequest {
            family,
            protocol,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::all(),
            socket_id: if family == AF_INET {
                SocketId::new_v4()
            } else {
                SocketId::new_v6()
            },
        };
        dump_with(&sock, seq, Diag::ByFamily(req), &mut |h| {
            let id = &h.socket_id;
            rows.push(InodeRow {
                inode: u64::from(h.inode),
                local: SocketAddr::new(id.source_address, id.source_port),
                remote: SocketAddr::new(id.destination_address, id.destination_port),
                state: h.state,
                recv_q: h.recv_queue,
                send_q: h.send_queue,
            });
        })?;
    }
    Ok(rows)
}

fn to_row(h: &InetResponseHeader) -> Option<TableRow> {
    let id = &h.socket_id;
    Some(TableRow {
        local: SocketAddr::new(id.source_address, id.source_port),
        remote: SocketAddr::new(id.destination_address, id.destination_port),
        state: TcpState::from_u8(h.state)?,
        recv_q: h.recv_queue,
        send_q: h.send_queue,
        uid: h.uid,
        inode: u64::from(h.inode),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn sees_an_established_pair() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let local = c.local_addr().unwrap();
        let rows = tcp_table().unwrap();
        let row = rows.iter().find(|r| r.local == local).expect("our client");
        assert_eq!(row.state, TcpState::Established);
        assert_eq!(row.remote, l.local_addr().unwrap());
        assert!(rows.iter().all(|r| r.state != TcpState::Listen));
    }

    /// `/proc/self/fd/N` → `socket:[INODE]`.
    fn fd_inode(fd: i32) -> u64 {
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let link = link.to_str().unwrap();
        link.strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or_else(|| panic!("{link} is not a socket"))
            .parse()
            .unwrap()
    }

    #[test]
    fn rows_carry_the_socket_inode_and_owner() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let rows = tcp_table().unwrap();
        let uid = nix::unistd::Uid::effective().as_raw();
        for sock in [&c, &s] {
            let row = rows
                .iter()
                // By 4-tuple: a TIME_WAIT of another test may share a port.
                .find(|r| {
                    r.local == sock.local_addr().unwrap() && r.remote == sock.peer_addr().unwrap()
                })
                .expect("our socket");
            assert_eq!(row.inode, fd_inode(sock.as_raw_fd()));
            assert_eq!(row.uid, uid);
        }
        assert_ne!(fd_inode(c.as_raw_fd()), fd_inode(s.as_raw_fd()));
    }

    #[test]
    fn time_wait_rows_have_no_inode() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let key = (c.local_addr().unwrap(), c.peer_addr().unwrap());
        // The client closes first, so its end goes to TIME_WAIT once the
        // server has closed too (on loopback at once; wait on the condition).
        drop(c);
        drop(s);
        let mut seen = None;
        for _ in 0..2000 {
            seen = tcp_table()
                .unwrap()
                .into_iter()
                .find(|r| (r.local, r.remote) == key);
            if seen.map(|r| r.state) == Some(TcpState::TimeWait) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let row = seen.expect("the closed connection is still in the table");
        assert_eq!(row.state, TcpState::TimeWait);
        assert_eq!(row.inode, 0, "a TIME_WAIT socket has no file");
    }

    #[test]
    fn kernel_errors_keep_their_errno() {
        let e = |c| match refused(c) {
            DiagError::Refused(e) => e.raw_os_error(),
            other => panic!("{other}"),
        };
        assert_eq!(e(-libc::ENOENT), Some(libc::ENOENT));
        assert_eq!(e(0), Some(libc::EINVAL), "no errno is still a refusal");
        assert_eq!(e(i32::MIN), Some(libc::EINVAL));
    }

    #[test]
    fn one_walk_and_per_family_dumps_agree() {
        let mut keep = Vec::new();
        for addr in ["127.0.0.1:0", "[::1]:0"] {
            let l = TcpListener::bind(addr).unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            keep.push((l, c, s));
        }
        let sock = Socket::new(NETLINK_SOCK_DIAG).unwrap();
        let once = read(&sock, Walk::Once).unwrap();
        let per = read(&sock, Walk::PerFamily).unwrap();
        for (_, c, s) in &keep {
            for a in [c.local_addr().unwrap(), s.local_addr().unwrap()] {
                let o = once.iter().find(|r| r.local == a);
                let p = per.iter().find(|r| r.local == a);
                assert!(o.is_some(), "{a} in the one-walk dump");
                assert_eq!(o, p, "{a}");
            }
        }
        assert!(once.iter().any(|r| r.local.is_ipv6()));
        assert!(once.iter().any(|r| r.local.is_ipv4()));
    }
}
