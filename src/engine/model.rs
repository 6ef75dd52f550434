//! The lab's current state, folded from the event log. The UI, the head-less
//! runner and lesson checks keep one of these and feed it every event; it is
//! the one place that turns events into "what is true now".

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;

use super::capture::{CaptureStatus, Segment};
use super::error::Note;
use super::event::{Event, EventKind, FourTuple, PeerNote, ProgramNote};
use super::types::*;

/// One socket the lab holds (or held) a descriptor for.
#[derive(Clone, Debug, PartialEq)]
pub struct SockRow {
    pub id: SockId,
    /// The number in its `#N` name (counted from 1 in each fresh lab).
    pub no: u32,
    pub fd: i32,
    pub family: Family,
    pub ty: SockType,
    pub owner: Owner,
    pub label: Option<String>,
    /// Every name the socket has had, oldest first (a lesson check may name
    /// any of them: `srv` stays `srv` after `s = srv`).
    pub labels: Vec<String>,
    /// It has been listening at some point (a closed listener still was one).
    pub was_listener: bool,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    pub lab: LabState,
    pub kernel: Option<TcpState>,
    pub recv_q: u32,
    pub send_q: u32,
    pub accept_q: Option<u32>,
    pub backlog: Option<u32>,
    /// The call waiting on this socket: its id and method name.
    pub pending: Option<(CallId, String)>,
    /// The previous lab / kernel state and when the last change happened (µs),
    /// so a view can show `from → to` for a moment.
    pub prev_lab: Option<LabState>,
    pub prev_kernel: Option<Option<TcpState>>,
    pub changed_us: u64,
    pub closed: bool,
    pub closed_us: Option<u64>,
}

impl SockRow {
    /// The name to show: the label, else `#id`.
    pub fn name(&self) -> String {
        match &self.label {
            Some(l) => l.clone(),
            None => format!("#{}", self.no),
        }
    }
    pub fn kind(&self) -> &'static str {
        kind_label(self.family, self.ty)
    }
}

/// A kernel socket-table entry with no descriptor (TIME_WAIT after close, a
/// connection waiting in an accept queue).
#[derive(Clone, Debug, PartialEq)]
pub struct OrphanRow {
    pub tuple: FourTuple,
    pub origin: Option<SockId>,
    pub state: TcpState,
    pub recv_q: u32,
    pub send_q: u32,
    pub since_us: u64,
}

/// A call that has started and not finished.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenCall {
    pub id: CallId,
    pub sock: Option<SockId>,
    pub owner: Owner,
    pub method: String,
    pub text: String,
    pub started_us: u64,
    pub pending: bool,
}

/// How many closed sockets stay visible before the oldest are forgotten.
pub const KEEP_CLOSED: usize = 64;
/// Names of sockets gone from the model that are still remembered.
pub const KEEP_GONE_NAMES: usize = 4096;

/// How many captured segments the model keeps (the newest).
pub const KEEP_SEGMENTS: usize = 4096;

/// What the model knows of the wire.
#[derive(Clone, Debug, Default)]
pub struct WireModel {
    /// The newest captured segments, oldest first.
    pub segments: VecDeque<Segment>,
    /// Older segments no longer kept here.
    pub forgotten: u64,
    /// Segments the capture lost (kernel queue full, or a flood faster than
    /// the log was read); they never reached the log.
    pub dropped: u64,
    /// On, or unavailable and why; None until the engine said.
    pub status: Option<CaptureStatus>,
    /// The kernel states connections entered, by endpoint, oldest first (the
    /// Wire pane puts each beside the segment before it).
    pub states: VecDeque<StateMark>,
}

/// A connection's end entered a kernel state (read from the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateMark {
    pub t_us: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// None: the kernel no longer has the connection.
    pub state: Option<TcpState>,
}

impl WireModel {
    fn mark(&mut self, t_us: u64, local: SocketAddr, remote: SocketAddr, state: Option<TcpState>) {
        if self.states.len() >= KEEP_SEGMENTS {
            self.states.pop_front();
        }
        self.states.push_back(StateMark {
            t_us,
            local,
            remote,
            state,
        });
    }

    /// Is capture running?
    pub fn on(&self) -> bool {
        matches!(
            self.status,
            Some(CaptureStatus::On) | Some(CaptureStatus::Dropped { .. })
        )
    }

    /// Segments with a lab socket at either end.
    pub fn of_sock(&self, sock: SockId) -> impl Iterator<Item = &Segment> {
        self.segments
            .iter()
            .filter(move |s| s.from_end.sock == Some(sock) || s.to_end.sock == Some(sock))
    }
}

#[derive(Clone, Debug, Default)]
pub struct LabModel {
    pub socks: BTreeMap<SockId, SockRow>,
    /// The names of sockets closed long enough ago to have left `socks`, so
    /// a late event about one (a second close) still names it as the student
    /// called it. The oldest go first past [`KEEP_GONE_NAMES`].
    gone_names: BTreeMap<SockId, String>,
    pub orphans: BTreeMap<(SocketAddr, SocketAddr), OrphanRow>,
    pub open_calls: HashMap<CallId, OpenCall>,
    /// The call that finished with the newest event applied, so that whoever
    /// words that event can still say which call it was.
    pub finished: Option<OpenCall>,
    /// Peers that have started, by name, in the order they started.
    pub peers: Vec<String>,
    /// Time of the newest event applied (µs since engine start).
    pub now_us: u64,
    pub last_seq: u64,
    /// Captured segments and the capture's status.
    pub wire: WireModel,
    /// Traced programs (`socklab trace`, `:trace`), by pid.
    pub programs: BTreeMap<u32, ProgramRow>,
}

/// A traced program's process.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramRow {
    pub pid: u32,
    pub name: String,
    pub argv: Vec<String>,
    /// The traced process it was forked from.
    pub parent: Option<u32>,
    pub started_us: u64,
    /// How it ended (`exited with status 0`), once it has.
    pub exited: Option<Note>,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// Stopped before a call (step mode): the call's text.
    pub held: Option<String>,
}

/// Most traced processes remembered (the oldest ended ones go first).
pub const KEEP_PROGRAMS: usize = 256;

impl LabModel {
    pub fn new() -> LabModel {
        LabModel::default()
    }

    pub fn apply(&mut self, ev: &Event) {
        self.now_us = self.now_us.max(ev.t_us);
        self.last_seq = ev.seq;
        let t = ev.t_us;
        match &ev.kind {
            EventKind::SocketCreated {
                sock,
                no,
                fd,
                family,
                ty,
                owner,
            } => {
                self.socks.insert(
                    *sock,
                    SockRow {
                        id: *sock,
                        no: *no,
                        fd: *fd,
                        family: *family,
                        ty: *ty,
                        owner: owner.clone(),
                        label: None,
                        labels: Vec::new(),
                        was_listener: false,
                        local: None,
                        peer: None,
                        lab: LabState::Created,
                        kernel: None,
                        recv_q: 0,
                        send_q: 0,
                        accept_q: None,
                        backlog: None,
                        pending: None,
                        prev_lab: None,
                        prev_kernel: None,
                        changed_us: t,
                        closed: false,
                        closed_us: None,
                    },
                );
            }
            EventKind::SocketLabel { sock, label } => {
                if let Some(r) = self.socks.get_mut(sock) {
                    r.label = Some(label.clone());
                    if !r.labels.contains(label) {
                        r.labels.push(label.clone());
                    }
                }
            }
            EventKind::Endpoints { sock, local, peer } => {
                if let Some(r) = self.socks.get_mut(sock) {
                    r.local = *local;
                    r.peer = *peer;
                }
            }
            EventKind::LabState { sock, from, to } => {
                if let Some(r) = self.socks.get_mut(sock) {
                    r.prev_lab = Some(*from);
                    r.lab = *to;
                    r.was_listener |= *to == LabState::Listening;
                    r.changed_us = t;
                }
            }
            EventKind::KernelState { sock, from, to } => {
                if let Some(r) = self.socks.get_mut(sock) {
                    r.prev_kernel = Some(*from);
                    r.kernel = *to;
                    r.changed_us = t;
                    if let (Some(local), Some(remote)) = (r.local, r.peer) {
                        self.wire.mark(t, local, remote, *to);
                    }
                }
            }
            EventKind::Queues {
                sock,
                recv_q,
                send_q,
                accept_q,
                backlog,
            } => {
                if let Some(r) = self.socks.get_mut(sock) {
                    r.recv_q = *recv_q;
                    r.send_q = *send_q;
                    r.accept_q = *accept_q;
                    r.backlog = *backlog;
                }
            }
            EventKind::Orphan {
                tuple,
                origin,
                to,
                recv_q,
                send_q,
                ..
            } => {
                let key = (tuple.local, tuple.remote);
                // A connection leaving a listener's accept queue did not end:
                // accept() gave it a descriptor (its state goes on there).
                let accepted = to.is_none()
                    && origin
                        .and_then(|o| self.socks.get(&o))
                        .is_some_and(|r| r.was_listener);
                if !accepted {
                    self.wire.mark(t, tuple.local, tuple.remote, *to);
                }
                match to {
                    None => {
                        self.orphans.remove(&key);
                    }
                    Some(state) => {
                        let since = match self.orphans.get(&key) {
                            Some(o) if o.state == *state => o.since_us,
                            _ => t,
                        };
                        self.orphans.insert(
                            key,
                            OrphanRow {
                                tuple: *tuple,
                                origin: *origin,
                                state: *state,
                                recv_q: *recv_q,
                                send_q: *send_q,
                                since_us: since,
                            },
                        );
                    }
                }
            }
            EventKind::SocketClosed { sock } => {
                if let Some(r) = self.socks.get_mut(sock) {
                    r.closed = true;
                    r.closed_us = Some(t);
                    r.pending = None;
                    r.recv_q = 0;
                    r.send_q = 0;
                    r.accept_q = None;
                }
                self.forget_old_closed();
            }
            EventKind::CallStarted {
                call,
                sock,
                owner,
                method,
                text,
            } => {
                self.open_calls.insert(
                    *call,
                    OpenCall {
                        id: *call,
                        sock: *sock,
                        owner: owner.clone(),
                        method: method.clone(),
                        text: text.clone(),
                        started_us: t,
                        pending: false,
                    },
                );
            }
            EventKind::CallPending { call, sock } => {
                if let Some(c) = self.open_calls.get_mut(call) {
                    c.pending = true;
                    if let Some(r) = sock.and_then(|s| self.socks.get_mut(&s)) {
                        r.pending = Some((*call, c.method.clone()));
                    }
                }
            }
            EventKind::CallDone { call, sock, .. } | EventKind::CallFailed { call, sock, .. } => {
                self.finished = self.open_calls.remove(call);
                if let Some(r) = sock.and_then(|s| self.socks.get_mut(&s))
                    && matches!(r.pending, Some((c, _)) if c == *call)
                {
                    r.pending = None;
                }
                // select() waits on several sockets at once.
                for r in self.socks.values_mut() {
                    if matches!(r.pending, Some((c, _)) if c == *call) {
                        r.pending = None;
                    }
                }
            }
            EventKind::Segment(s) => {
                if self.wire.segments.len() >= KEEP_SEGMENTS {
                    self.wire.segments.pop_front();
                    self.wire.forgotten += 1;
                }
                self.wire.segments.push_back((**s).clone());
            }
            EventKind::Capture { status } => match status {
                CaptureStatus::Dropped { total } => {
                    self.wire.dropped = *total;
                    if !self.wire.on() {
                        self.wire.status = Some(CaptureStatus::On);
                    }
                }
                s => self.wire.status = Some(s.clone()),
            },
            EventKind::Program { pid, note } => self.apply_program(*pid, note, t),
            EventKind::Peer {
                peer,
                note: PeerNote::Started { .. },
            } => {
                if !self.peers.contains(peer) {
                    self.peers.push(peer.clone());
                }
            }
            EventKind::Data { .. } | EventKind::Peer { .. } | EventKind::Notice { .. } => {}
        }
    }

    fn forget_old_closed(&mut self) {
        let mut closed: Vec<(u64, SockId)> = self
            .socks
            .values()
            .filter(|r| r.closed)
            .map(|r| (r.closed_us.unwrap_or(0), r.id))
            .collect();
        if closed.len() > KEEP_CLOSED {
            closed.sort();
            for (_, id) in &closed[..closed.len() - KEEP_CLOSED] {
                if let Some(r) = self.socks.remove(id) {
                    self.gone_names.insert(*id, r.name());
                }
            }
            while self.gone_names.len() > KEEP_GONE_NAMES {
                self.gone_names.pop_first();
            }
        }
    }

    pub fn sock(&self, id: SockId) -> Option<&SockRow> {
        self.socks.get(&id)
    }

    /// The newest socket with this label (labels can be reused after close).
    pub fn by_label(&self, label: &str) -> Option<&SockRow> {
        self.socks
            .values()
            .rev()
            .find(|r| r.label.as_deref() == Some(label))
    }

    /// Sockets still open, in creation order.
    pub fn live(&self) -> impl Iterator<Item = &SockRow> {
        self.socks.values().filter(|r| !r.closed)
    }

    /// A short name for a socket: its label or `#id`.
    fn apply_program(&mut self, pid: u32, note: &ProgramNote, t: u64) {
        match note {
            ProgramNote::Started {
                name, argv, parent, ..
            } => {
                let row = self.programs.entry(pid).or_insert_with(|| ProgramRow {
                    pid,
                    name: String::new(),
                    argv: Vec::new(),
                    parent: *parent,
                    started_us: t,
                    exited: None,
                    code: None,
                    signal: None,
                    held: None,
                });
                row.name = name.clone();
                row.argv = argv.clone();
                if self.programs.len() > KEEP_PROGRAMS
                    && let Some(old) = self
                        .programs
                        .values()
                        .find(|p| p.exited.is_some())
                        .map(|p| p.pid)
                {
                    self.programs.remove(&old);
                }
            }
            ProgramNote::AboutToCall { text, .. } => {
                if let Some(p) = self.programs.get_mut(&pid) {
                    p.held = Some(text.clone());
                }
            }
            ProgramNote::Resumed => {
                if let Some(p) = self.programs.get_mut(&pid) {
                    p.held = None;
                }
            }
            ProgramNote::Output { .. } => {}
            ProgramNote::Exited { code, signal, how } => {
                if let Some(p) = self.programs.get_mut(&pid) {
                    p.exited = Some(how.clone());
                    p.code = *code;
                    p.signal = *signal;
                    p.held = None;
                }
            }
        }
    }

    /// A call that is open, or finished with the newest event applied.
    pub fn call(&self, id: CallId) -> Option<&OpenCall> {
        self.open_calls
            .get(&id)
            .or(self.finished.as_ref().filter(|c| c.id == id))
    }

    /// The socket's name as the student sees it (its label, else `#N`),
    /// also for one that has left the model; `#?` for one never seen (an
    /// event from an earlier lab: its `#N` would not be this lab's).
    pub fn name_of(&self, id: SockId) -> String {
        self.socks
            .get(&id)
            .map(|r| r.name())
            .or_else(|| self.gone_names.get(&id).cloned())
            .unwrap_or_else(|| "#?".to_string())
    }
}
