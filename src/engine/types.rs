//! Plain data shared by the engine, the event log and everything that reads it.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use serde::{Serialize, Serializer};

/// The lab's own number for a socket. Never reused within one engine.
pub type SockId = u32;
/// The number of one call (student's or a peer's). Never reused within one engine.
pub type CallId = u64;

/// Who drives a socket or a call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Owner {
    Student,
    Peer(String),
    /// A traced program's process (`socklab trace`): shown `python3[4711]`.
    Program {
        name: String,
        pid: u32,
    },
}

impl Owner {
    pub fn peer(name: impl Into<String>) -> Owner {
        Owner::Peer(name.into())
    }
    pub fn is_student(&self) -> bool {
        matches!(self, Owner::Student)
    }
    /// The traced process, if this is a traced program.
    pub fn program_pid(&self) -> Option<u32> {
        match self {
            Owner::Program { pid, .. } => Some(*pid),
            _ => None,
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Student => f.write_str("you"),
            Owner::Peer(n) => f.write_str(n),
            Owner::Program { name, pid } => write!(f, "{name}[{pid}]"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    V4,
    V6,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SockType {
    Stream,
    Dgram,
}

/// "TCP/v4", "UDP/v6".
pub fn kind_label(family: Family, ty: SockType) -> &'static str {
    match (ty, family) {
        (SockType::Stream, Family::V4) => "TCP/v4",
        (SockType::Stream, Family::V6) => "TCP/v6",
        (SockType::Dgram, Family::V4) => "UDP/v4",
        (SockType::Dgram, Family::V6) => "UDP/v6",
    }
}

/// Which direction(s) `shutdown` closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shut {
    Rd,
    Wr,
    RdWr,
}

impl Shut {
    pub fn from_how(how: i64) -> Option<Shut> {
        match how {
            0 => Some(Shut::Rd),
            1 => Some(Shut::Wr),
            2 => Some(Shut::RdWr),
            _ => None,
        }
    }
    pub fn merge(self, other: Shut) -> Shut {
        if self == other { self } else { Shut::RdWr }
    }
}

/// The lab's own idea of where a socket is in its life (what the program did),
/// as opposed to the kernel's TCP state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabState {
    Created,
    Bound,
    Listening,
    Connecting,
    Connected,
    HalfClosed(Shut),
    Closed,
}

impl LabState {
    pub fn name(&self) -> &'static str {
        match self {
            LabState::Created => "created",
            LabState::Bound => "bound",
            LabState::Listening => "listening",
            LabState::Connecting => "connecting",
            LabState::Connected => "connected",
            LabState::HalfClosed(Shut::Rd) => "half-closed (rd)",
            LabState::HalfClosed(Shut::Wr) => "half-closed (wr)",
            LabState::HalfClosed(Shut::RdWr) => "shut down (rdwr)",
            LabState::Closed => "closed",
        }
    }

    /// Parse a name as lesson files write it: "created", "listening", "half-closed", ...
    /// "half-closed" matches any shutdown direction.
    pub fn matches_name(&self, name: &str) -> bool {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        match n.as_str() {
            "half-closed" | "halfclosed" | "shutdown" => matches!(self, LabState::HalfClosed(_)),
            other => self.name() == other,
        }
    }

    pub const NAMES: &'static [&'static str] = &[
        "created",
        "bound",
        "listening",
        "connecting",
        "connected",
        "half-closed",
        "closed",
    ];
}

impl fmt::Display for LabState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kernel's TCP state, numbered as in `tcpi_state` and `/proc/net/tcp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TcpState {
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
    NewSynRecv = 12,
}

impl TcpState {
    pub fn from_u8(v: u8) -> Option<TcpState> {
        use TcpState::*;
        Some(match v {
            1 => Established,
            2 => SynSent,
            3 => SynRecv,
            4 => FinWait1,
            5 => FinWait2,
            6 => TimeWait,
            7 => Close,
            8 => CloseWait,
            9 => LastAck,
            10 => Listen,
            11 => Closing,
            12 => NewSynRecv,
            _ => return None,
        })
    }

    /// The name `ss` prints (with `_` like netstat).
    pub fn name(self) -> &'static str {
        use TcpState::*;
        match self {
            Established => "ESTABLISHED",
            SynSent => "SYN_SENT",
            SynRecv => "SYN_RECV",
            FinWait1 => "FIN_WAIT1",
            FinWait2 => "FIN_WAIT2",
            TimeWait => "TIME_WAIT",
            Close => "CLOSE",
            CloseWait => "CLOSE_WAIT",
            LastAck => "LAST_ACK",
            Listen => "LISTEN",
            Closing => "CLOSING",
            NewSynRecv => "NEW_SYN_RECV",
        }
    }

    pub fn from_name(name: &str) -> Option<TcpState> {
        let n = name.trim().to_ascii_uppercase().replace('-', "_");
        let n = match n.as_str() {
            "CLOSED" => "CLOSE",
            "SYN_RECEIVED" => "SYN_RECV",
            other => other,
        };
        (1..=12)
            .filter_map(TcpState::from_u8)
            .find(|s| s.name() == n)
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TcpState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Direction of a chunk of bytes, seen from the socket that moved them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    Sent,
    Received,
}

/// An address as the student wrote it: `("127.0.0.1", 9000)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AddrArg {
    pub host: String,
    pub port: i64,
}

/// A value for `setsockopt`: an int, or raw bytes (e.g. `struct linger`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum OptVal {
    Int(i64),
    Bytes(Vec<u8>),
}

/// One socket-API call, with arguments already evaluated.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Socket {
        family: i64,
        ty: i64,
        proto: i64,
    },
    Bind {
        sock: SockId,
        addr: AddrArg,
    },
    Listen {
        sock: SockId,
        backlog: Option<i64>,
    },
    Accept {
        sock: SockId,
    },
    Connect {
        sock: SockId,
        addr: AddrArg,
    },
    /// `connect_ex`: errors come back as an errno number, not an exception.
    ConnectEx {
        sock: SockId,
        addr: AddrArg,
    },
    Send {
        sock: SockId,
        #[serde(skip)]
        data: Bytes,
        flags: i64,
    },
    SendAll {
        sock: SockId,
        #[serde(skip)]
        data: Bytes,
        flags: i64,
    },
    SendTo {
        sock: SockId,
        #[serde(skip)]
        data: Bytes,
        addr: AddrArg,
    },
    Recv {
        sock: SockId,
        bufsize: i64,
        flags: i64,
    },
    RecvFrom {
        sock: SockId,
        bufsize: i64,
        flags: i64,
    },
    Shutdown {
        sock: SockId,
        how: i64,
    },
    Close {
        sock: SockId,
    },
    SetSockOpt {
        sock: SockId,
        level: i64,
        opt: i64,
        value: OptVal,
    },
    GetSockOpt {
        sock: SockId,
        level: i64,
        opt: i64,
        buflen: Option<i64>,
    },
    GetSockName {
        sock: SockId,
    },
    GetPeerName {
        sock: SockId,
    },
    /// `None` = blocking forever, `Some(0.0)` = non-blocking.
    SetTimeout {
        sock: SockId,
        timeout: Option<f64>,
    },
    GetTimeout {
        sock: SockId,
    },
    SetBlocking {
        sock: SockId,
        blocking: bool,
    },
    Fileno {
        sock: SockId,
    },
    Select {
        rlist: Vec<SockId>,
        wlist: Vec<SockId>,
        xlist: Vec<SockId>,
        timeout: Option<f64>,
    },
}

impl Op {
    /// The socket the call is made on (none for `socket()` and `select()`).
    pub fn sock(&self) -> Option<SockId> {
        use Op::*;
        match self {
            Socket { .. } | Select { .. } => None,
            Bind { sock, .. }
            | Listen { sock, .. }
            | Accept { sock }
            | Connect { sock, .. }
            | ConnectEx { sock, .. }
            | Send { sock, .. }
            | SendAll { sock, .. }
            | SendTo { sock, .. }
            | Recv { sock, .. }
            | RecvFrom { sock, .. }
            | Shutdown { sock, .. }
            | Close { sock }
            | SetSockOpt { sock, .. }
            | GetSockOpt { sock, .. }
            | GetSockName { sock }
            | GetPeerName { sock }
            | SetTimeout { sock, .. }
            | GetTimeout { sock }
            | SetBlocking { sock, .. }
            | Fileno { sock } => Some(*sock),
        }
    }

    /// The Python method name: "accept", "sendall", "socket", "select".
    pub fn method(&self) -> &'static str {
        use Op::*;
        match self {
            Socket { .. } => "socket",
            Bind { .. } => "bind",
            Listen { .. } => "listen",
            Accept { .. } => "accept",
            Connect { .. } => "connect",
            ConnectEx { .. } => "connect_ex",
            Send { .. } => "send",
            SendAll { .. } => "sendall",
            SendTo { .. } => "sendto",
            Recv { .. } => "recv",
            RecvFrom { .. } => "recvfrom",
            Shutdown { .. } => "shutdown",
            Close { .. } => "close",
            SetSockOpt { .. } => "setsockopt",
            GetSockOpt { .. } => "getsockopt",
            GetSockName { .. } => "getsockname",
            GetPeerName { .. } => "getpeername",
            SetTimeout { .. } => "settimeout",
            GetTimeout { .. } => "gettimeout",
            SetBlocking { .. } => "setblocking",
            Fileno { .. } => "fileno",
            Select { .. } => "select",
        }
    }
}

/// What a successful call returned (the engine's side; `lang` turns it into a Python value).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Ret {
    None,
    Int(i64),
    Float(f64),
    Bytes(#[serde(serialize_with = "ser_bytes")] Bytes),
    Addr(SocketAddr),
    Socket(SockId),
    /// `accept()`: the new socket and the client's address.
    Accepted(SockId, SocketAddr),
    /// `recvfrom()`: the datagram (or bytes) and the sender.
    Datagram(#[serde(serialize_with = "ser_bytes")] Bytes, SocketAddr),
    /// `select()`: the ready lists.
    Select(Vec<SockId>, Vec<SockId>, Vec<SockId>),
    /// `gettimeout()`: seconds, or None for blocking.
    Timeout(Option<f64>),
    /// `getsockopt(..., buflen)`: raw option bytes.
    RawOpt(#[serde(serialize_with = "ser_bytes")] Bytes),
}

fn ser_bytes<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::engine::text::escape_bytes(b))
}
