//! The one table of traced system calls (strace's `syscallent.h` idea): a
//! row says the call's name, its number on this architecture, what it does
//! to the lab (its [`Kind`]) and how each argument is printed ([`Arg`]).
//! Adding a syscall is adding a row; the decoders live in `decode`.

/// What a call means for the lab's model of the program's sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Socket,
    SocketPair,
    Bind,
    Listen,
    Accept,
    Connect,
    /// getsockname / getpeername.
    Name,
    SockOpt,
    Shutdown,
    Close,
    /// Bytes out: send, sendto, sendmsg, write, writev.
    Send,
    /// Bytes in: recv, recvfrom, recvmsg, read, readv.
    Recv,
    /// select, poll, epoll_wait and friends.
    Wait,
    /// fcntl / ioctl: only the non-blocking switch is shown.
    Control,
    /// dup, dup2, dup3: silent, but a descriptor may now name a socket.
    Dup,
}

/// How one argument is printed. The number is the raw argument's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A descriptor: `fd 3`.
    Fd(usize),
    /// `AF_INET`.
    Family(usize),
    /// `SOCK_STREAM` (with `|SOCK_NONBLOCK`, `|SOCK_CLOEXEC`).
    Type(usize),
    /// A protocol number, left out when 0.
    Proto(usize),
    /// A plain integer.
    Int(usize),
    /// An address the program passes in (pointer, length): `('127.0.0.1', 9000)`.
    AddrIn(usize, usize),
    /// Bytes the program passes in (pointer, length): `b'hello'`.
    DataIn(usize, usize),
    /// Bytes passed in through an iovec array (pointer, count).
    IovIn(usize, usize),
    /// Bytes passed in through a `struct msghdr` (its address too).
    MsgIn(usize),
    /// `send`/`recv` flags, left out when 0.
    MsgFlags(usize),
    /// `SOL_SOCKET, SO_REUSEADDR`: level and option name.
    Opt(usize, usize),
    /// The value of `setsockopt` (pointer, length): an int when 4 bytes.
    OptVal(usize, usize),
    /// `SHUT_WR`.
    How(usize),
    /// A timeout in milliseconds (-1: forever).
    Millis(usize),
    /// `poll`'s array of `struct pollfd` (pointer, count).
    PollFds(usize, usize),
    /// `select`'s read/write/except sets (nfds is arg 0).
    FdSets,
    /// fcntl's command and argument.
    Fcntl(usize, usize),
    /// ioctl's request and argument (FIONBIO).
    Ioctl(usize, usize),
}

/// One traced system call.
#[derive(Debug)]
pub struct Row {
    pub name: &'static str,
    pub nr: i64,
    pub kind: Kind,
    /// The call's first argument is a descriptor whose calls are traced only
    /// when it is a lab socket (read/write and friends).
    pub fd_first: bool,
    pub args: &'static [Arg],
}

macro_rules! row {
    ($name:literal, $nr:expr, $kind:ident, $fd:expr, [$($arg:expr),* $(,)?]) => {
        Row { name: $name, nr: $nr as i64, kind: Kind::$kind, fd_first: $fd, args: &[$($arg),*] }
    };
}

use Arg::*;
use libc::*;

/// Calls every architecture has.
pub static COMMON: &[Row] = &[
    row!(
        "socket",
        SYS_socket,
        Socket,
        false,
        [Family(0), Type(1), Proto(2)]
    ),
    row!(
        "socketpair",
        SYS_socketpair,
        SocketPair,
        false,
        [Family(0), Type(1), Proto(2)]
    ),
    row!("bind", SYS_bind, Bind, true, [Fd(0), AddrIn(1, 2)]),
    row!("listen", SYS_listen, Listen, true, [Fd(0), Int(1)]),
    row!("accept", SYS_accept, Accept, true, [Fd(0)]),
    row!("accept4", SYS_accept4, Accept, true, [Fd(0)]),
    row!("connect", SYS_connect, Connect, true, [Fd(0), AddrIn(1, 2)]),
    row!("getsockname", SYS_getsockname, Name, true, [Fd(0)]),
    row!("getpeername", SYS_getpeername, Name, true, [Fd(0)]),
    row!(
        "setsockopt",
        SYS_setsockopt,
        SockOpt,
        true,
        [Fd(0), Opt(1, 2), OptVal(3, 4)]
    ),
    row!(
        "getsockopt",
        SYS_getsockopt,
        SockOpt,
        true,
        [Fd(0), Opt(1, 2)]
    ),
    row!("shutdown", SYS_shutdown, Shutdown, true, [Fd(0), How(1)]),
    row!("close", SYS_close, Close, true, [Fd(0)]),
    row!(
        "sendto",
        SYS_sendto,
        Send,
        true,
        [Fd(0), DataIn(1, 2), MsgFlags(3), AddrIn(4, 5)]
    ),
    row!(
        "sendmsg",
        SYS_sendmsg,
        Send,
        true,
        [Fd(0), MsgIn(1), MsgFlags(2)]
    ),
    row!(
        "recvfrom",
        SYS_recvfrom,
        Recv,
        true,
        [Fd(0), Int(2), MsgFlags(3)]
    ),
    row!("recvmsg", SYS_recvmsg, Recv, true, [Fd(0), MsgFlags(2)]),
    row!("read", SYS_read, Recv, true, [Fd(0), Int(2)]),
    row!("write", SYS_write, Send, true, [Fd(0), DataIn(1, 2)]),
    row!("readv", SYS_readv, Recv, true, [Fd(0), Int(2)]),
    row!("writev", SYS_writev, Send, true, [Fd(0), IovIn(1, 2)]),
    row!("ppoll", SYS_ppoll, Wait, false, [PollFds(0, 1)]),
    row!("pselect6", SYS_pselect6, Wait, false, [FdSets]),
    row!(
        "epoll_pwait",
        SYS_epoll_pwait,
        Wait,
        false,
        [Fd(0), Int(2), Millis(3)]
    ),
    row!("fcntl", SYS_fcntl, Control, true, [Fd(0), Fcntl(1, 2)]),
    row!("ioctl", SYS_ioctl, Control, true, [Fd(0), Ioctl(1, 2)]),
    row!("dup", SYS_dup, Dup, false, [Fd(0)]),
    row!("dup3", SYS_dup3, Dup, false, [Fd(0), Fd(1)]),
];

/// x86_64 has the older calls too (aarch64 has only the `p` versions).
#[cfg(target_arch = "x86_64")]
pub static ARCH: &[Row] = &[
    row!("poll", SYS_poll, Wait, false, [PollFds(0, 1), Millis(2)]),
    row!("select", SYS_select, Wait, false, [FdSets]),
    row!(
        "epoll_wait",
        SYS_epoll_wait,
        Wait,
        false,
        [Fd(0), Int(2), Millis(3)]
    ),
    row!("dup2", SYS_dup2, Dup, false, [Fd(0), Fd(1)]),
];

#[cfg(not(target_arch = "x86_64"))]
pub static ARCH: &[Row] = &[];

/// The row for a syscall number.
pub fn lookup(nr: i64) -> Option<&'static Row> {
    COMMON.iter().chain(ARCH.iter()).find(|r| r.nr == nr)
}

/// Every traced number (for the seccomp filter).
pub fn numbers() -> Vec<u32> {
    COMMON
        .iter()
        .chain(ARCH.iter())
        .map(|r| r.nr as u32)
        .collect()
}

/// The kinds of call step mode can run until (`until accept`), by the name
/// a student types.
pub fn kind_by_name(name: &str) -> Option<Kind> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "socket" => Kind::Socket,
        "bind" => Kind::Bind,
        "listen" => Kind::Listen,
        "accept" | "accept4" => Kind::Accept,
        "connect" => Kind::Connect,
        "send" | "sendto" | "sendall" | "sendmsg" | "write" => Kind::Send,
        "recv" | "recvfrom" | "recvmsg" | "read" => Kind::Recv,
        "close" => Kind::Close,
        "shutdown" => Kind::Shutdown,
        "select" | "poll" | "epoll" | "wait" => Kind::Wait,
        "setsockopt" | "getsockopt" => Kind::SockOpt,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_found() {
        let all = numbers();
        for (i, n) in all.iter().enumerate() {
            assert!(!all[..i].contains(n), "syscall {n} has two rows");
            assert_eq!(lookup(*n as i64).map(|r| r.nr), Some(*n as i64));
        }
        assert_eq!(lookup(SYS_bind).map(|r| r.name), Some("bind"));
        assert!(lookup(SYS_openat).is_none());
    }
}
