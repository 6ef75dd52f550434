//! State shared by the engine's handle and its tasks.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;

use super::EngineConfig;
use super::error::{CallError, Note};
use super::event::{Event, EventKind};
use super::sock::SockEntry;
use super::types::*;

/// A call that has not finished: how to stop it and where it waits.
pub(crate) struct OpenCall {
    pub abort: Option<AbortHandle>,
    pub socks: Vec<SockId>,
    pub method: &'static str,
}

pub(crate) struct PeerHandle {
    pub kind: String,
    pub addr: String,
    pub tasks: Vec<AbortHandle>,
}

/// How many connections the lab remembers to find their kernel entries after
/// the descriptor is gone.
const KEEP_TUPLES: usize = 4096;

pub(crate) struct Shared {
    pub cfg: EngineConfig,
    tx: UnboundedSender<Event>,
    start: Instant,
    seq: Mutex<u64>,
    socks: Mutex<BTreeMap<SockId, Arc<SockEntry>>>,
    calls: Mutex<HashMap<CallId, OpenCall>>,
    peers: Mutex<BTreeMap<String, PeerHandle>>,
    /// Connections the lab has had: (local, remote) → the socket that had it.
    tuples: Mutex<VecDeque<(SocketAddr, SocketAddr, SockId)>>,
    /// Names of closed sockets (bounded), so a call on one — `conn.close()`
    /// twice — still reads with the student's name.
    gone_names: Mutex<BTreeMap<SockId, String>>,
    next_sock: AtomicU32,
    /// The last socket id before the newest reset: `#N` names count from
    /// it, so a fresh lab starts at `#1` while ids stay unique for good.
    name_base: AtomicU32,
    next_call: AtomicU64,
    pub observe: Notify,
    last_activity_us: AtomicU64,
    /// The kernel observer's passes begun and ended (see `Engine::observed_since`).
    pub observer_passes: (AtomicU64, AtomicU64),
    stopped: AtomicBool,
    /// Payload bytes of Data events sent and not yet received (see `Events`).
    inflight: Arc<AtomicUsize>,
    /// The wire capture's state (ports in its filter, kept frames).
    pub capture: super::capture::Capture,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(
        cfg: EngineConfig,
        tx: UnboundedSender<Event>,
        inflight: Arc<AtomicUsize>,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            cfg,
            tx,
            start: Instant::now(),
            seq: Mutex::new(0),
            socks: Mutex::new(BTreeMap::new()),
            calls: Mutex::new(HashMap::new()),
            peers: Mutex::new(BTreeMap::new()),
            tuples: Mutex::new(VecDeque::new()),
            gone_names: Mutex::new(BTreeMap::new()),
            next_sock: AtomicU32::new(1),
            name_base: AtomicU32::new(0),
            next_call: AtomicU64::new(1),
            observe: Notify::new(),
            last_activity_us: AtomicU64::new(0),
            observer_passes: (AtomicU64::new(0), AtomicU64::new(0)),
            stopped: AtomicBool::new(false),
            inflight,
            capture: Default::default(),
        })
    }

    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Put an event in the log. Sequence numbers and channel order agree
    /// because both are taken under one lock.
    pub fn emit(&self, mut kind: EventKind) {
        if let EventKind::Data { data, .. } = &mut kind {
            let before = self.inflight.fetch_add(data.len(), Ordering::Relaxed);
            if before + data.len() > super::INFLIGHT_DATA {
                self.inflight.fetch_sub(data.len(), Ordering::Relaxed);
                *data = bytes::Bytes::new();
            }
        }
        let mut seq = lock(&self.seq);
        *seq += 1;
        let _ = self.tx.send(Event {
            seq: *seq,
            t_us: self.now_us(),
            kind,
        });
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    // ---- sockets ----

    pub fn new_sock_id(&self) -> SockId {
        self.next_sock.fetch_add(1, Ordering::Relaxed)
    }

    /// The number in a new socket's `#N` name: its place in this lab since
    /// the last reset (ids themselves are never reused).
    pub fn sock_no(&self, id: SockId) -> u32 {
        id.saturating_sub(self.name_base.load(Ordering::Relaxed))
    }

    pub fn sock_count(&self) -> usize {
        lock(&self.socks).len()
    }

    pub fn insert_sock(&self, entry: Arc<SockEntry>) {
        lock(&self.socks).insert(entry.id, entry);
    }

    pub fn get_sock(&self, id: SockId) -> Option<Arc<SockEntry>> {
        lock(&self.socks).get(&id).cloned()
    }

    pub fn remove_sock(&self, id: SockId) -> Option<Arc<SockEntry>> {
        let e = lock(&self.socks).remove(&id)?;
        let mut gone = lock(&self.gone_names);
        gone.insert(id, e.name());
        while gone.len() > super::model::KEEP_GONE_NAMES {
            gone.pop_first();
        }
        Some(e)
    }

    /// A socket's name, open or closed; `#?` for one this engine never had.
    pub fn name_of(&self, id: SockId) -> String {
        match self.get_sock(id) {
            Some(e) => e.name(),
            None => lock(&self.gone_names)
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "#?".to_string()),
        }
    }

    pub fn all_socks(&self) -> Vec<Arc<SockEntry>> {
        lock(&self.socks).values().cloned().collect()
    }

    pub fn fd_of(&self, id: SockId) -> Option<i32> {
        self.get_sock(id).map(|e| e.raw_fd)
    }

    pub fn set_label(&self, sock: SockId, label: &str) {
        if let Some(e) = self.get_sock(sock) {
            e.st().label = Some(label.to_string());
        }
        self.emit(EventKind::SocketLabel {
            sock,
            label: label.to_string(),
        });
    }

    /// Remember a connection so its kernel entry can be found after close.
    pub fn remember_tuple(&self, local: SocketAddr, remote: SocketAddr, sock: SockId) {
        let mut t = lock(&self.tuples);
        if t.iter().any(|(l, r, _)| *l == local && *r == remote) {
            t.retain(|(l, r, _)| !(*l == local && *r == remote));
        }
        t.push_back((local, remote, sock));
        while t.len() > KEEP_TUPLES {
            t.pop_front();
        }
    }

    pub fn known_tuples(&self) -> Vec<(SocketAddr, SocketAddr, SockId)> {
        lock(&self.tuples).iter().copied().collect()
    }

    // ---- calls ----

    pub fn new_call_id(&self) -> CallId {
        self.next_call.fetch_add(1, Ordering::Relaxed)
    }

    pub fn register_call(&self, call: CallId, open: OpenCall) {
        lock(&self.calls).insert(call, open);
    }

    pub fn set_call_abort(&self, call: CallId, abort: AbortHandle) {
        if let Some(c) = lock(&self.calls).get_mut(&call) {
            c.abort = Some(abort);
        }
    }

    /// Take a call out of the open set. Whoever takes it (the call finishing,
    /// or a cancel) reports its end; the other does nothing.
    pub fn take_call(&self, call: CallId) -> Option<OpenCall> {
        let open = lock(&self.calls).remove(&call)?;
        for s in &open.socks {
            if let Some(e) = self.get_sock(*s) {
                let mut st = e.st();
                if st.pending == Some(call) {
                    st.pending = None;
                }
            }
        }
        Some(open)
    }

    pub fn cancel(&self, call: CallId) -> bool {
        let Some(open) = self.take_call(call) else {
            return false;
        };
        if let Some(a) = &open.abort {
            a.abort();
        }
        self.emit(EventKind::CallFailed {
            call,
            sock: open.socks.first().copied(),
            error: CallError::cancelled(&format!("{}()", open.method)),
        });
        self.poke_observer();
        true
    }

    /// Cancel every open call on a socket (it is being closed).
    pub fn cancel_calls_on(&self, sock: SockId, why: &str, except: Option<CallId>) {
        let ids: Vec<CallId> = lock(&self.calls)
            .iter()
            .filter(|(id, c)| c.socks.contains(&sock) && Some(**id) != except)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(open) = self.take_call(id) {
                if let Some(a) = &open.abort {
                    a.abort();
                }
                self.emit(EventKind::CallFailed {
                    call: id,
                    sock: Some(sock),
                    error: CallError::os(libc::EBADF, why.to_string()),
                });
            }
        }
    }

    // ---- peers ----

    pub fn peer_count(&self) -> usize {
        lock(&self.peers).len()
    }

    pub fn has_peer(&self, name: &str) -> bool {
        lock(&self.peers).contains_key(name)
    }

    pub fn add_peer(&self, name: &str, handle: PeerHandle) {
        lock(&self.peers).insert(name.to_string(), handle);
    }

    pub fn add_peer_task(&self, name: &str, task: AbortHandle) {
        if let Some(p) = lock(&self.peers).get_mut(name) {
            p.tasks.push(task);
        }
    }

    pub fn peer_list(&self) -> Vec<(String, String, String)> {
        lock(&self.peers)
            .iter()
            .map(|(n, p)| (n.clone(), p.kind.clone(), p.addr.clone()))
            .collect()
    }

    pub fn stop_peer(self: &Arc<Self>, name: &str) -> bool {
        self.stop_peer_because(name, Note::new("peer.reason_stopped"))
    }

    /// Stop a peer, saying why (`stopped` when asked to).
    pub fn stop_peer_because(self: &Arc<Self>, name: &str, reason: Note) -> bool {
        let Some(handle) = lock(&self.peers).remove(name) else {
            return false;
        };
        for t in &handle.tasks {
            t.abort();
        }
        let owner = Owner::peer(name);
        for e in self.all_socks() {
            if e.owner == owner {
                self.close_now(e.id);
            }
        }
        self.emit(EventKind::Peer {
            peer: name.to_string(),
            note: super::event::PeerNote::Stopped { reason },
        });
        true
    }

    // ---- closing ----

    /// Close a socket at once: cancel what waits on it, report, drop the
    /// descriptor (the kernel then does what close(2) does: FIN or RST).
    pub fn close_now(&self, id: SockId) -> bool {
        self.close_entry(id, None).is_some()
    }

    /// Like [`close_now`](Self::close_now) but hands back the last lab
    /// reference, so an async caller can wait for aborted tasks to let go of
    /// theirs before dropping it (the descriptor really closes then).
    /// `closer` is the close() call itself, which must not cancel itself.
    pub fn close_entry(&self, id: SockId, closer: Option<CallId>) -> Option<Arc<SockEntry>> {
        let entry = self.remove_sock(id)?;
        entry.unregister();
        self.cancel_calls_on(id, "the socket was closed while the call waited", closer);
        let from = {
            let mut st = entry.st();
            st.closed = true;
            st.lab
        };
        if from != LabState::Closed {
            self.emit(EventKind::LabState {
                sock: id,
                from,
                to: LabState::Closed,
            });
        }
        self.emit(EventKind::SocketClosed { sock: id });
        self.poke_observer();
        Some(entry)
    }

    pub fn reset(self: &Arc<Self>) {
        let names: Vec<String> = lock(&self.peers).keys().cloned().collect();
        for n in names {
            self.stop_peer(&n);
        }
        let ids: Vec<CallId> = lock(&self.calls).keys().copied().collect();
        for id in ids {
            self.cancel(id);
        }
        for e in self.all_socks() {
            self.close_now(e.id);
        }
        self.name_base.store(
            self.next_sock.load(Ordering::Relaxed).saturating_sub(1),
            Ordering::Relaxed,
        );
        self.emit(EventKind::Notice {
            note: Note::new("lab.reset"),
        });
    }

    pub fn shutdown(self: &Arc<Self>) {
        if self.stopped.swap(true, Ordering::Relaxed) {
            return;
        }
        self.capture.stop();
        let names: Vec<String> = lock(&self.peers).keys().cloned().collect();
        for n in names {
            if let Some(h) = lock(&self.peers).remove(&n) {
                for t in h.tasks {
                    t.abort();
                }
            }
        }
        let calls: Vec<OpenCall> = lock(&self.calls).drain().map(|(_, c)| c).collect();
        for c in calls {
            if let Some(a) = c.abort {
                a.abort();
            }
        }
        for e in std::mem::take(&mut *lock(&self.socks)).into_values() {
            e.unregister();
        }
        self.observe.notify_one();
    }

    // ---- observation ----

    /// Note activity (keeps the observer on its fast cadence) without waking it.
    pub fn touch(&self) {
        self.last_activity_us
            .store(self.now_us(), Ordering::Relaxed);
    }

    pub fn poke_observer(&self) {
        self.last_activity_us
            .store(self.now_us(), Ordering::Relaxed);
        self.observe.notify_one();
    }

    /// How long the observer sleeps: fast right after activity, slow when idle.
    pub fn observe_interval(&self) -> Duration {
        let since = self
            .now_us()
            .saturating_sub(self.last_activity_us.load(Ordering::Relaxed));
        if since < 1_500_000 {
            self.cfg.fast_observe
        } else {
            self.cfg.slow_observe
        }
    }
}
