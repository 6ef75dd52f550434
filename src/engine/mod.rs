//! The socket lab engine: real OS sockets driven one call at a time.
//!
//! The engine owns every socket (the student's and the built-in peers'),
//! executes [`Op`]s on them as tokio tasks, and reports everything that
//! happens as [`Event`]s on one channel. It never imports the UI.
//!
//! A call that would block in Python becomes *pending*: its task waits on
//! the kernel (through `AsyncFd`) while other sockets go on working, and it can
//! be cancelled. The kernel's own view (TCP_INFO, queues, and the socket-table
//! entries with no descriptor) is observed after every call and on a cadence.

pub mod capture;
mod diag;
pub mod error;
pub mod event;
mod kernel;
pub mod model;
mod ops;
pub mod peers;
mod shared;
mod sock;
pub mod text;
pub mod trace;
pub mod types;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

pub use capture::{CaptureOff, CaptureStatus, PcapExport, Segment};
pub use error::{CallError, Note};
pub use event::{Event, EventKind, FourTuple, PeerNote, ProgramNote, Stream};
pub use model::LabModel;
pub use peers::PeerSpec;
pub use types::*;

/// The kernel's TCP socket table (rows carry the socket inode, for matching
/// `/proc/PID/fd/N -> socket:[INODE]`), and the reads `benches/kernel_table.rs`
/// compares.
pub mod table {
    #[doc(hidden)]
    pub use super::diag::tcp_table_per_family;
    pub use super::diag::{DiagError, tcp_table};
    #[doc(hidden)]
    pub use super::kernel::read_proc_tcp;
    pub use super::kernel::{TableRow, read_tcp_table};
}

use shared::Shared;

/// Limits and switches for one engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Allow binding and connecting to addresses other than loopback.
    pub allow_remote: bool,
    /// Most sockets open at once (student's and peers' together).
    pub max_sockets: usize,
    /// Most peers running at once.
    pub max_peers: usize,
    /// Kernel observation interval right after activity.
    pub fast_observe: Duration,
    /// Kernel observation interval when nothing has happened for a while.
    pub slow_observe: Duration,
    /// Capture the lab's segments on `lo` (needs CAP_NET_RAW; without it a
    /// `Capture` event says it is unavailable and everything else works).
    pub capture: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            allow_remote: false,
            max_sockets: 256,
            max_peers: 16,
            fast_observe: Duration::from_millis(5),
            slow_observe: Duration::from_millis(200),
            capture: true,
        }
    }
}

/// A handle to the engine. Cheap to clone; all clones drive the same lab.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// The receiving end of the event log.
///
/// It counts the bytes of `Data` payloads not yet received, so that a reader
/// that falls behind (a flood into a peer while the screen is busy) costs a
/// bounded amount of memory: past [`INFLIGHT_DATA`] the engine keeps only the
/// lengths of further chunks until the reader catches up.
pub struct Events {
    rx: mpsc::UnboundedReceiver<Event>,
    inflight: Arc<AtomicUsize>,
    /// Segment events not yet received (see [`capture::SEG_INFLIGHT`]).
    segments: Arc<AtomicUsize>,
}

/// Most bytes of chunk payloads waiting in the event channel.
pub const INFLIGHT_DATA: usize = 32 << 20;

impl Events {
    fn got(&self, ev: &Event) {
        match &ev.kind {
            EventKind::Data { data, .. } => {
                self.inflight.fetch_sub(data.len(), Ordering::Relaxed);
            }
            EventKind::Segment(_) => {
                self.segments.fetch_sub(1, Ordering::AcqRel);
            }
            _ => {}
        }
    }

    /// The next event; None once the engine is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        let ev = self.rx.recv().await?;
        self.got(&ev);
        Some(ev)
    }

    /// The next event if one has arrived.
    pub fn try_recv(&mut self) -> Result<Event, mpsc::error::TryRecvError> {
        let ev = self.rx.try_recv()?;
        self.got(&ev);
        Ok(ev)
    }
}

impl Engine {
    /// Start an engine on the current tokio runtime.
    pub fn start(cfg: EngineConfig) -> (Engine, Events) {
        let (tx, rx) = mpsc::unbounded_channel();
        let inflight = Arc::new(AtomicUsize::new(0));
        let shared = Shared::new(cfg, tx, inflight.clone());
        kernel::spawn_observer(shared.clone());
        if shared.cfg.capture {
            capture::start(&shared);
        }
        let segments = shared.capture.inflight.clone();
        (
            Engine { shared },
            Events {
                rx,
                inflight,
                segments,
            },
        )
    }

    /// Begin a call. Returns at once; `CallStarted`, then `CallPending` (if it
    /// would block) and `CallDone` / `CallFailed` follow as events.
    pub fn call(&self, owner: Owner, op: Op) -> CallId {
        ops::spawn_call(&self.shared, owner, op)
    }

    /// Cancel a call that has not finished (like KeyboardInterrupt). Returns
    /// false if it already finished.
    pub fn cancel(&self, call: CallId) -> bool {
        self.shared.cancel(call)
    }

    /// Name a socket (the student's variable name). Emits `SocketLabel`.
    pub fn set_label(&self, sock: SockId, label: &str) {
        self.shared.set_label(sock, label);
    }

    /// Start a built-in peer. Returns its name.
    pub fn start_peer(&self, spec: PeerSpec) -> Result<String, CallError> {
        peers::start(&self.shared, spec)
    }

    /// Stop a peer by name, closing its sockets. False if there is none.
    pub fn stop_peer(&self, name: &str) -> bool {
        self.shared.stop_peer(name)
    }

    /// The running peers: (name, kind, address).
    pub fn peers(&self) -> Vec<(String, String, String)> {
        self.shared.peer_list()
    }

    /// Cancel every call, close every socket, stop every peer.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Put a notice in the event log (a catalogue key and values).
    pub fn notice(&self, note: Note) {
        self.shared.emit(EventKind::Notice { note });
    }

    /// Ask for a kernel observation now (also done after every call).
    pub fn observe_now(&self) {
        self.shared.poke_observer();
    }

    /// A mark for [`Engine::observed_since`]: take it, then ask for an
    /// observation ([`Engine::observe_now`]).
    pub fn observer_mark(&self) -> u64 {
        self.shared.observer_passes.0.load(Ordering::Acquire)
    }

    /// Has a kernel observation that began after `mark` was taken ended
    /// (its events are in the log)?
    pub fn observed_since(&self, mark: u64) -> bool {
        self.shared.observer_passes.1.load(Ordering::Acquire) > mark
    }

    pub fn config(&self) -> &EngineConfig {
        &self.shared.cfg
    }

    /// Microseconds since the engine started.
    pub fn now_us(&self) -> u64 {
        self.shared.now_us()
    }

    /// The file descriptor of a socket (for tests comparing with `ss`).
    pub fn fd_of(&self, sock: SockId) -> Option<i32> {
        self.shared.fd_of(sock)
    }

    /// Write what was captured (the newest [`capture::RING`] frames) as a
    /// pcap file that Wireshark, tshark and `tcpdump -r` read.
    pub fn export_pcap(&self, path: &std::path::Path) -> std::io::Result<PcapExport> {
        self.shared.capture.export(path)
    }

    /// Stop the observer and every task, close every socket. The engine
    /// cannot be used afterwards.
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }
}

/// A free TCP port on 127.0.0.1, chosen by the OS (bind port 0, read, close).
pub fn free_port() -> std::io::Result<u16> {
    let s = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(s.local_addr()?.port())
}
