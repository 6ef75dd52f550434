//! What an errno means for the call that got it: one table for the whole
//! lab, so every explanation is written once and can be read in one place.
//!
//! A row is (call, errno, when, key). `when` narrows a row to a situation
//! the lab knows about (the socket is already bound, the student shut it
//! down for writing); the first row that fits wins, so the narrow rows come
//! before the general one. The key names the row's words in the catalogues
//! (`src/locales/*.yml`: every row has them in every language); its values
//! are `addr` (the address the call was about), `ip` (its IP) and `local`
//! (the socket's own address).

use std::net::SocketAddr;

use super::Note;

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
        "explain.bind_eaddrinuse",
    ),
    (Call::Bind, EINVAL, When::Bound, "explain.bind_einval_bound"),
    (
        Call::Bind,
        EINVAL,
        When::Unbound,
        "explain.bind_einval_unbound",
    ),
    (Call::Bind, EACCES, When::Always, "explain.bind_eacces"),
    (
        Call::Bind,
        EADDRNOTAVAIL,
        When::Always,
        "explain.bind_eaddrnotavail",
    ),
    (
        Call::Listen,
        EOPNOTSUPP,
        When::Always,
        "explain.listen_eopnotsupp",
    ),
    (
        Call::Listen,
        EADDRINUSE,
        When::Always,
        "explain.listen_eaddrinuse",
    ),
    (Call::Accept, EINVAL, When::Always, "explain.accept_einval"),
    (
        Call::Accept,
        EOPNOTSUPP,
        When::Always,
        "explain.accept_eopnotsupp",
    ),
    (Call::Accept, EMFILE, When::Always, "explain.accept_emfile"),
    (
        Call::ConnectUdp,
        ECONNREFUSED,
        When::Always,
        "explain.connect_udp_econnrefused",
    ),
    (
        Call::Connect,
        ECONNREFUSED,
        When::Always,
        "explain.connect_econnrefused",
    ),
    (
        Call::Connect,
        ETIMEDOUT,
        When::Always,
        "explain.connect_etimedout",
    ),
    (
        Call::Connect,
        EISCONN,
        When::Always,
        "explain.connect_eisconn",
    ),
    (
        Call::Connect,
        EALREADY,
        When::Always,
        "explain.connect_ealready",
    ),
    (
        Call::Connect,
        EINVAL,
        When::Always,
        "explain.connect_einval",
    ),
    (
        Call::Connect,
        EADDRNOTAVAIL,
        When::Always,
        "explain.connect_eaddrnotavail",
    ),
    (
        Call::Send,
        EPIPE,
        When::ShutWrEarly,
        "explain.send_epipe_shut_early",
    ),
    (
        Call::Send,
        EPIPE,
        When::ShutWr,
        "explain.send_epipe_shut_wr",
    ),
    (Call::Send, EPIPE, When::Always, "explain.send_epipe"),
    (
        Call::Send,
        ECONNRESET,
        When::Always,
        "explain.send_econnreset",
    ),
    (Call::Send, ENOTCONN, When::Always, "explain.send_enotconn"),
    (
        Call::Send,
        EDESTADDRREQ,
        When::Always,
        "explain.send_edestaddrreq",
    ),
    (Call::Send, EMSGSIZE, When::Always, "explain.send_emsgsize"),
    (
        Call::Send,
        ECONNREFUSED,
        When::Always,
        "explain.send_econnrefused",
    ),
    (Call::Send, EISCONN, When::Always, "explain.send_eisconn"),
    (
        Call::Recv,
        ECONNRESET,
        When::Always,
        "explain.recv_econnreset",
    ),
    (Call::Recv, ENOTCONN, When::Always, "explain.recv_enotconn"),
    (
        Call::Recv,
        ECONNREFUSED,
        When::Always,
        "explain.recv_econnrefused",
    ),
    (Call::Recv, EINVAL, When::Always, "explain.recv_einval"),
    (
        Call::Shutdown,
        ENOTCONN,
        When::Always,
        "explain.shutdown_enotconn",
    ),
    (
        Call::Shutdown,
        EINVAL,
        When::Always,
        "explain.shutdown_einval",
    ),
    (
        Call::SockOpt,
        ENOPROTOOPT,
        When::Always,
        "explain.sock_opt_enoprotoopt",
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

/// What `errno` means for `call`, as a catalogue key and its values, or
/// an empty note when the table has nothing to add to the C library's message.
pub fn explain(call: Call, errno: i32, facts: &Facts) -> Note {
    let Some((_, _, _, key)) = TABLE
        .iter()
        .find(|(c, e, w, _)| *c == call && *e == errno && fits(*w, facts))
    else {
        return Note::default();
    };
    let show = |a: Option<SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    Note::new(key)
        .with("addr", show(facts.addr))
        .with(
            "ip",
            facts.addr.map(|a| a.ip().to_string()).unwrap_or_default(),
        )
        .with("local", show(facts.local))
}

/// Every key the table can give, for the catalogues' tests.
pub fn explain_keys() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(_, _, _, k)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_rows_win_over_general_ones() {
        let plain = explain(Call::Send, EPIPE, &Facts::default());
        assert_eq!(plain.key, "explain.send_epipe");
        let own = explain(
            Call::Send,
            EPIPE,
            &Facts {
                shut_wr: true,
                ..Facts::default()
            },
        );
        assert_eq!(own.key, "explain.send_epipe_shut_wr");
        let early = explain(
            Call::Send,
            EPIPE,
            &Facts {
                shut_wr: true,
                shut_early: true,
                ..Facts::default()
            },
        );
        assert_eq!(early.key, "explain.send_epipe_shut_early");
    }

    #[test]
    fn values_are_given() {
        let a: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let s = explain(
            Call::Connect,
            ECONNREFUSED,
            &Facts {
                addr: Some(a),
                ..Facts::default()
            },
        );
        assert_eq!(s.key, "explain.connect_econnrefused");
        assert_eq!(s.arg("addr"), Some("127.0.0.1:9000"));
        assert_eq!(s.arg("local"), Some(""));
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
