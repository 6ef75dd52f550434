//! What an errno means for the call that got it: one table for the whole
//! lab, so every explanation is written once and can be read in one place.
//!
//! A row is (call, errno, when, text). `when` narrows a row to a situation
//! the lab knows about (the socket is already bound, the student shut it
//! down for writing); the first row that fits wins, so the narrow rows come
//! before the general one. `{addr}` is the address the call was about,
//! `{ip}` its IP, `{local}` the socket's own address.

use std::net::SocketAddr;

/// Which call failed (a group of calls that fail alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Bind,
    Listen,
    Accept,
    /// `connect()` on a TCP socket.
    Connect,
    /// `connect()` on a UDP socket.
    ConnectUdp,
    Send,
    Recv,
    Shutdown,
    SockOpt,
}

/// What the lab knows about the socket, for the explanation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts {
    /// The address the call was about (bind's, connect's).
    pub addr: Option<SocketAddr>,
    /// The socket's own bound address (port ≠ 0).
    pub local: Option<SocketAddr>,
    /// The student shut this socket down for writing.
    pub shut_wr: bool,
    /// Its shutdown came before it was connected (Linux kept it anyway).
    pub shut_early: bool,
}

#[derive(Clone, Copy)]
enum When {
    Always,
    /// The socket already has an address.
    Bound,
    /// Not bound yet.
    Unbound,
    /// Its own `shutdown(SHUT_WR)` (or RDWR) came first.
    ShutWr,
    /// Shut down for writing before it was connected (the kernel keeps a
    /// shutdown that failed with ENOTCONN).
    ShutWrEarly,
}

use libc::*;

const TABLE: &[(Call, i32, When, &str)] = &[
    (
        Call::Bind,
        EADDRINUSE,
        When::Always,
        "another socket already holds {addr} (a listener, or a connection in TIME_WAIT; see SO_REUSEADDR)",
    ),
    (
        Call::Bind,
        EINVAL,
        When::Bound,
        "this socket is already bound to {local}; a socket is bound once",
    ),
    (
        Call::Bind,
        EINVAL,
        When::Unbound,
        "{ip} cannot be bound by this socket (an IPv4-mapped address on an IPV6_V6ONLY socket?)",
    ),
    (
        Call::Bind,
        EACCES,
        When::Always,
        "ports below 1024 need privilege (root or CAP_NET_BIND_SERVICE)",
    ),
    (
        Call::Bind,
        EADDRNOTAVAIL,
        When::Always,
        "no interface on this machine has the address {ip}",
    ),
    (
        Call::Listen,
        EOPNOTSUPP,
        When::Always,
        "UDP has no connections: no listen() or accept(); just recvfrom()",
    ),
    (
        Call::Listen,
        EADDRINUSE,
        When::Always,
        "another socket already listens on {local}",
    ),
    (
        Call::Accept,
        EINVAL,
        When::Always,
        "accept() needs a listening socket: call listen() first",
    ),
    (
        Call::Accept,
        EOPNOTSUPP,
        When::Always,
        "UDP has no connections to accept; use recvfrom()",
    ),
    (
        Call::Accept,
        EMFILE,
        When::Always,
        "this process has no free file descriptors; close some sockets",
    ),
    (
        Call::ConnectUdp,
        ECONNREFUSED,
        When::Always,
        "an earlier datagram to {addr} was answered with ICMP port unreachable: nothing listens there",
    ),
    (
        Call::Connect,
        ECONNREFUSED,
        When::Always,
        "nothing is listening on {addr} (the SYN was answered with RST)",
    ),
    (
        Call::Connect,
        ETIMEDOUT,
        When::Always,
        "{addr} never answered the SYN",
    ),
    (
        Call::Connect,
        EISCONN,
        When::Always,
        "this socket is already connected",
    ),
    (
        Call::Connect,
        EALREADY,
        When::Always,
        "a connect() on this socket is still in progress",
    ),
    (
        Call::Connect,
        EINVAL,
        When::Always,
        "a listening socket cannot connect",
    ),
    (
        Call::Connect,
        EADDRNOTAVAIL,
        When::Always,
        "no free local port or address for this connection",
    ),
    (
        Call::Send,
        EPIPE,
        When::ShutWrEarly,
        "this socket was shut down for writing before it was connected (the kernel kept the shutdown although it said ENOTCONN); it can never send: make a new socket",
    ),
    (
        Call::Send,
        EPIPE,
        When::ShutWr,
        "this socket was shut down for writing (shutdown(SHUT_WR)); it can still receive, but never send again",
    ),
    (
        Call::Send,
        EPIPE,
        When::Always,
        "the connection is gone (the other side closed or reset it); nothing more can be sent",
    ),
    (
        Call::Send,
        ECONNRESET,
        When::Always,
        "the other side reset the connection (RST)",
    ),
    (
        Call::Send,
        ENOTCONN,
        When::Always,
        "connect() first (or use sendto() with an address for UDP)",
    ),
    (
        Call::Send,
        EDESTADDRREQ,
        When::Always,
        "this UDP socket has no default peer: use sendto(data, address) or connect() first",
    ),
    (
        Call::Send,
        EMSGSIZE,
        When::Always,
        "a UDP datagram on loopback holds at most 65507 bytes",
    ),
    (
        Call::Send,
        ECONNREFUSED,
        When::Always,
        "an earlier datagram was answered with ICMP port unreachable: nothing listens there",
    ),
    (
        Call::Send,
        EISCONN,
        When::Always,
        "this socket is connected; use send()",
    ),
    (
        Call::Recv,
        ECONNRESET,
        When::Always,
        "the other side reset the connection (RST): it closed with unread data, or aborted",
    ),
    (
        Call::Recv,
        ENOTCONN,
        When::Always,
        "recv() needs a connected socket (accept() or connect() first)",
    ),
    (
        Call::Recv,
        ECONNREFUSED,
        When::Always,
        "an earlier datagram was answered with ICMP port unreachable: nothing listens there",
    ),
    (
        Call::Recv,
        EINVAL,
        When::Always,
        "this socket cannot receive (is it a listening socket?)",
    ),
    (
        Call::Shutdown,
        ENOTCONN,
        When::Always,
        "shutdown() needs a connected socket",
    ),
    (
        Call::Shutdown,
        EINVAL,
        When::Always,
        "how must be SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2)",
    ),
    (
        Call::SockOpt,
        ENOPROTOOPT,
        When::Always,
        "the kernel knows no such option at this level",
    ),
];

fn fits(when: When, f: &Facts) -> bool {
    match when {
        When::Always => true,
        When::Bound => f.local.is_some(),
        When::Unbound => f.local.is_none(),
        When::ShutWr => f.shut_wr,
        When::ShutWrEarly => f.shut_wr && f.shut_early,
    }
}

/// The one line that says what `errno` means for `call`, or "" when the
/// table has nothing to add to the C library's message.
pub fn explain(call: Call, errno: i32, facts: &Facts) -> String {
    let Some((_, _, _, text)) = TABLE
        .iter()
        .find(|(c, e, w, _)| *c == call && *e == errno && fits(*w, facts))
    else {
        return String::new();
    };
    let show = |a: Option<SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    text.replace("{addr}", &show(facts.addr))
        .replace(
            "{ip}",
            &facts.addr.map(|a| a.ip().to_string()).unwrap_or_default(),
        )
        .replace("{local}", &show(facts.local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_rows_win_over_general_ones() {
        let plain = explain(Call::Send, EPIPE, &Facts::default());
        assert!(plain.contains("other side"), "{plain}");
        let own = explain(
            Call::Send,
            EPIPE,
            &Facts {
                shut_wr: true,
                ..Facts::default()
            },
        );
        assert!(own.contains("shutdown(SHUT_WR)"), "{own}");
        let early = explain(
            Call::Send,
            EPIPE,
            &Facts {
                shut_wr: true,
                shut_early: true,
                ..Facts::default()
            },
        );
        assert!(early.contains("before it was connected"), "{early}");
    }

    #[test]
    fn placeholders_are_filled() {
        let a: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let s = explain(
            Call::Connect,
            ECONNREFUSED,
            &Facts {
                addr: Some(a),
                ..Facts::default()
            },
        );
        assert_eq!(
            s,
            "nothing is listening on 127.0.0.1:9000 (the SYN was answered with RST)"
        );
        assert!(explain(Call::Recv, EBADF, &Facts::default()).is_empty());
    }

    #[test]
    fn no_row_is_shadowed() {
        // A row after an `Always` row of the same call and errno could never be chosen.
        for (i, (c, e, _, _)) in TABLE.iter().enumerate() {
            let earlier_always = TABLE[..i]
                .iter()
                .any(|(c2, e2, w2, _)| c2 == c && e2 == e && matches!(w2, When::Always));
            assert!(!earlier_always, "row {i} ({c:?}, {e}) can never be chosen");
        }
    }
}
