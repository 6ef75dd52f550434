//! The lab's current state, folded from the event log. The UI, the head-less
//! runner and lesson checks keep one of these and feed it every event; it is
//! the one place that turns events into "what is true now".

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use super::event::{Event, EventKind, FourTuple, PeerNote};
use super::types::*;

/// One socket the lab holds (or held) a descriptor for.
#[derive(Clone, Debug, PartialEq)]
pub struct SockRow {
    pub id: SockId,
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
            None => format!("#{}", self.id),
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

#[derive(Clone, Debug, Default)]
pub struct LabModel {
    pub socks: BTreeMap<SockId, SockRow>,
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
}

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
                fd,
                family,
                ty,
                owner,
            } => {
                self.socks.insert(
                    *sock,
                    SockRow {
                        id: *sock,
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
                self.socks.remove(id);
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
    /// A call that is open, or finished with the newest event applied.
    pub fn call(&self, id: CallId) -> Option<&OpenCall> {
        self.open_calls
            .get(&id)
            .or(self.finished.as_ref().filter(|c| c.id == id))
    }

    pub fn name_of(&self, id: SockId) -> String {
        self.socks
            .get(&id)
            .map(|r| r.name())
            .unwrap_or_else(|| format!("#{id}"))
    }
}
