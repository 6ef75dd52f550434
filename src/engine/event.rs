//! Everything the engine reports. The event log is the single record of what
//! happened in the lab: the UI, head-less transcripts and lesson checks all
//! read it. Serialized as one JSON object per event by `socklab run --json`.

use std::net::SocketAddr;

use bytes::Bytes;
use serde::{Serialize, Serializer};

use super::capture::{CaptureStatus, Segment};
use super::error::{CallError, Note};
use super::types::*;

/// One thing that happened, with the time since the engine started.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// Microseconds since the engine started.
    pub t_us: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// A connection's two endpoints, as the kernel's socket table keys it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FourTuple {
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

/// Something a peer noticed or did that is not a socket call.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum PeerNote {
    Started {
        kind: String,
        addr: String,
    },
    /// It stopped: asked to (`peer.reason_stopped`), or Python's line of
    /// the error it could not go on after.
    Stopped {
        reason: Note,
    },
    /// A line or message the peer received and understood (`LED ON`).
    Got {
        text: String,
    },
    /// A reply or message the peer produced (`OK`).
    Said {
        text: String,
    },
    /// A measurement (capstone: push vs polling).
    Measure {
        name: String,
        value: f64,
        unit: String,
    },
    Error {
        message: String,
        /// What the error means in the lab (a catalogue key and values).
        #[serde(skip_serializing_if = "Note::is_empty")]
        explain: Note,
    },
    /// The peer cannot accept for now (the lab's socket limit): Python's
    /// line of the error, and what it means; connections wait meanwhile.
    Paused {
        message: String,
        #[serde(skip_serializing_if = "Note::is_empty")]
        explain: Note,
    },
    /// What the peer does, in the lab's words (`closing without reading`).
    Remark {
        note: Note,
    },
    /// It goes on after a pause.
    Resumed,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A socket came into existence (`socket()`, `accept()`, or a peer's).
    SocketCreated {
        sock: SockId,
        /// The number in its `#N` name: counted from 1 in each fresh lab.
        no: u32,
        fd: i32,
        family: Family,
        ty: SockType,
        owner: Owner,
    },
    /// The student's variable name (or a peer's role name) for a socket.
    SocketLabel {
        sock: SockId,
        label: String,
    },
    /// The local or peer endpoint became known or changed.
    Endpoints {
        sock: SockId,
        local: Option<SocketAddr>,
        peer: Option<SocketAddr>,
    },
    /// The lab state changed (what the program did).
    LabState {
        sock: SockId,
        from: LabState,
        to: LabState,
    },
    /// The kernel's TCP state of a socket the lab holds a descriptor for.
    KernelState {
        sock: SockId,
        from: Option<TcpState>,
        to: Option<TcpState>,
    },
    /// Queue sizes read from the kernel changed. Not a state transition;
    /// emitted at most once per observation per socket.
    Queues {
        sock: SockId,
        recv_q: u32,
        send_q: u32,
        /// Listeners only: connections waiting for `accept()`, and the backlog.
        accept_q: Option<u32>,
        backlog: Option<u32>,
    },
    /// A kernel socket-table entry of a lab connection with no descriptor
    /// (TIME_WAIT after close, a connection waiting in an accept queue, ...)
    /// appeared (`from: None`), changed, or disappeared (`to: None`).
    Orphan {
        tuple: FourTuple,
        /// The lab socket this connection belonged to, or the listener it waits on.
        origin: Option<SockId>,
        from: Option<TcpState>,
        to: Option<TcpState>,
        recv_q: u32,
        send_q: u32,
    },
    SocketClosed {
        sock: SockId,
    },
    /// A call was made. `text` is the call as Python would write it, with the
    /// socket's label: `srv.accept()`.
    CallStarted {
        call: CallId,
        sock: Option<SockId>,
        owner: Owner,
        method: String,
        text: String,
    },
    /// The call would block: it is now waiting on the kernel.
    CallPending {
        call: CallId,
        sock: Option<SockId>,
    },
    CallDone {
        call: CallId,
        sock: Option<SockId>,
        ret: Ret,
    },
    CallFailed {
        call: CallId,
        sock: Option<SockId>,
        error: CallError,
    },
    /// Bytes moved through a socket. `data` holds the bytes (at most
    /// [`DATA_KEEP`] of them; none while the reader of the event log is far
    /// behind, see `Events`); `len` is always how many really moved.
    Data {
        sock: SockId,
        dir: Dir,
        #[serde(serialize_with = "ser_data")]
        data: Bytes,
        len: usize,
        /// For datagrams: the other end.
        addr: Option<SocketAddr>,
    },
    Peer {
        peer: String,
        note: PeerNote,
    },
    /// The lab itself has something to say (limits, loopback refusals,
    /// reset), as a catalogue key and values.
    Notice {
        note: Note,
    },
    /// A segment (or datagram, or ICMP error) of a lab connection, captured
    /// on loopback. JSON: `{"event": "segment", "n": .., "from": .., ...}`.
    Segment(Box<Segment>),
    /// Capture started, is unavailable (and why), or lost segments.
    Capture {
        #[serde(flatten)]
        status: CaptureStatus,
    },
    /// A traced program (`socklab trace`) did something that is not a socket
    /// call: started, printed, stopped before a call, exited.
    Program {
        pid: u32,
        note: ProgramNote,
    },
}

/// Which output stream of a traced program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What a traced program did besides its socket calls.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum ProgramNote {
    /// It started (the program socklab ran, a `fork` of a traced process,
    /// or an `exec` that replaced one: then `parent` is None and `exec` true).
    Started {
        name: String,
        argv: Vec<String>,
        parent: Option<u32>,
        exec: bool,
    },
    /// Step mode: it is stopped just before this call and waits to be let go on.
    AboutToCall {
        owner: Owner,
        method: String,
        text: String,
    },
    /// It goes on after a stop.
    Resumed,
    /// Bytes it wrote to its standard output or error (not escaped: the
    /// reader escapes them for the screen).
    Output { stream: Stream, text: String },
    /// The process is gone: `code` if it exited, `signal` if a signal
    /// killed it; `how` says which (`prog.exit_status`, `prog.killed_by`).
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        how: Note,
    },
}

/// How many bytes of one chunk the event log keeps (the length is always exact).
pub const DATA_KEEP: usize = 64 * 1024;

fn ser_data<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::text::escape_bytes(b))
}

impl EventKind {
    /// The socket the event is about, if any.
    pub fn sock(&self) -> Option<SockId> {
        use EventKind::*;
        match self {
            SocketCreated { sock, .. }
            | SocketLabel { sock, .. }
            | Endpoints { sock, .. }
            | LabState { sock, .. }
            | KernelState { sock, .. }
            | Queues { sock, .. }
            | SocketClosed { sock }
            | Data { sock, .. } => Some(*sock),
            CallStarted { sock, .. }
            | CallPending { sock, .. }
            | CallDone { sock, .. }
            | CallFailed { sock, .. } => *sock,
            Orphan { origin, .. } => *origin,
            Segment(s) => s.from_end.sock.or(s.to_end.sock),
            Peer { .. } | Notice { .. } | Capture { .. } | Program { .. } => None,
        }
    }
}
