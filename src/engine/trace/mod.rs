//! Trace mode: run a real, unmodified program (any language) and report its
//! socket calls as lab events, its sockets as lab sockets owned by the
//! program (`python3[4711]`), step by step if asked.
//!
//! How (Linux only; elsewhere [`TraceHandle::start`] says so):
//! - one dedicated thread forks and execs the program and owns every tracee
//!   (`tracer`); the child installs `PR_SET_NO_NEW_PRIVS` and a seccomp
//!   filter before `exec` (`child`) so that only the calls of the table
//!   (`table`) stop it, and each stop is decoded (`decode`) and turned into
//!   events (`result`);
//! - the tracer and the program share one CPU (`cpu`), and socklab's other
//!   threads keep off it: each traced call stops the program twice, and on
//!   one CPU a stop is a direct switch, not a wake-up waiting for the other;
//! - the events queue in order and go to the log in bursts (`sink`), sent
//!   by the watcher thread, which also marks calls that have not returned
//!   after [`PENDING_AFTER`] as pending (`watch`);
//! - the program's sockets are matched by inode against sock_diag for their
//!   kernel state and queues (`socks`), read by the watcher soon after a call
//!   that changes a state, on a slower cadence while only bytes move;
//! - its stdout and stderr come back as [`ProgramNote::Output`] events,
//!   its end as [`ProgramNote::Exited`];
//! - without `allow_remote`, a bind/connect/sendto to a non-loopback
//!   address is refused with EACCES before it runs (`regs`);
//! - the program never outlives the trace: PTRACE_O_EXITKILL, and a kill
//!   (through pidfds, `procs`) when the [`TraceHandle`] is dropped.
//!
//! The handle drives step mode: [`TraceHandle::step`] (stop before the next
//! call / run the held one), [`TraceHandle::go`], [`TraceHandle::until`].
//!
//! [`ProgramNote::Output`]: crate::engine::event::ProgramNote::Output
//! [`ProgramNote::Exited`]: crate::engine::event::ProgramNote::Exited

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Engine;
use super::error::{CallError, Note};
use super::types::*;

#[cfg(target_os = "linux")]
mod child;
#[cfg(target_os = "linux")]
mod cpu;
#[cfg(target_os = "linux")]
mod decode;
#[cfg(target_os = "linux")]
mod procs;
#[cfg(target_os = "linux")]
mod regs;
#[cfg(target_os = "linux")]
mod result;
#[cfg(target_os = "linux")]
mod sink;
#[cfg(target_os = "linux")]
mod socks;
pub mod table;
#[cfg(target_os = "linux")]
mod tracer;
#[cfg(target_os = "linux")]
mod watch;

/// A kind of call step mode can run until (`until(CallKind::Accept)`).
pub use table::Kind as CallKind;
pub use table::kind_by_name;

/// A call that has not returned after this long is reported pending.
pub const PENDING_AFTER: Duration = Duration::from_millis(5);

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct TraceSpec {
    /// The program and its arguments (`["python3", "server.py", "9000"]`).
    pub argv: Vec<OsString>,
    /// Stop before the first socket call (step mode from the start).
    pub step: bool,
    pub cwd: Option<PathBuf>,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
}

impl TraceSpec {
    pub fn new<I, S>(argv: I) -> TraceSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        TraceSpec {
            argv: argv.into_iter().map(Into::into).collect(),
            ..TraceSpec::default()
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Free,
    Step,
    Until(CallKind),
}

pub(crate) enum Release {
    One,
    All,
}

pub(crate) struct CtlState {
    pub mode: Mode,
    pub release: VecDeque<Release>,
    /// Tasks held before a call.
    pub held: usize,
    /// Live traced processes, by pidfd.
    #[cfg(target_os = "linux")]
    pub pids: procs::Procs,
    pub killing: bool,
}

/// A call in the kernel: when it started, its socket, reported pending yet.
pub(crate) type InKernel = (Instant, Option<SockId>, bool);

/// What the handle, the tracer and the watcher share.
pub(crate) struct Ctl {
    pub state: Mutex<CtlState>,
    /// Tasks that will report an initial SIGSTOP (new children).
    pub fresh: Mutex<HashSet<u32>>,
    /// Calls in the kernel: when they started, their socket, reported pending yet.
    pub pending: Mutex<HashMap<CallId, InKernel>>,
    pub wake: Condvar,
    /// A call changed a socket's state: read the kernel's table soon.
    pub observe: AtomicBool,
    /// A call moved bytes: the queues changed (read on a slower cadence).
    pub moved: AtomicBool,
    /// The watcher is on its fast cadence: it will look soon anyway, so
    /// a new call need not wake it (one futex wake-up less per call).
    pub fast: AtomicBool,
    pub done: AtomicBool,
    /// Helpers still sending events: the stdout and stderr readers, and the
    /// watcher (its last look at the kernel's table comes after the end).
    pub streams: AtomicUsize,
    /// Where the trace's events queue on their way to the log.
    #[cfg(target_os = "linux")]
    pub out: sink::Sink,
}

impl Ctl {
    /// A call changed a socket's state (true) or only moved bytes (false).
    pub fn observe_soon(&self, changed: bool) {
        let flag = if changed { &self.observe } else { &self.moved };
        flag.store(true, Ordering::Relaxed);
        self.wake_watcher();
    }

    /// Wake the watcher unless it is due to look within [`PENDING_AFTER`]
    /// anyway. Taken under the lock the watcher waits with, so that a wake
    /// between its last look and its wait is not lost.
    pub fn wake_watcher(&self) {
        if !self.fast.load(Ordering::Relaxed) {
            let _g = lock(&self.pending);
            self.wake.notify_one();
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running trace. Dropping it kills the program.
pub struct TraceHandle {
    ctl: Arc<Ctl>,
    pid: u32,
}

impl TraceHandle {
    /// Start `spec.argv[0]` under trace; its events go to the engine's log.
    pub fn start(engine: &Engine, spec: TraceSpec) -> Result<TraceHandle, CallError> {
        if spec.argv.is_empty() {
            return Err(CallError::lab_note(Note::new("lab.trace_no_program")));
        }
        #[cfg(target_os = "linux")]
        {
            start_linux(engine, spec)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = engine;
            Err(CallError::lab_note(Note::new("lab.trace_needs_linux")))
        }
    }

    /// The traced program's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Step: if the program is stopped before a call, run that call and stop
    /// before the next one; otherwise stop before the next call.
    pub fn step(&self) {
        let mut st = lock(&self.ctl.state);
        st.mode = Mode::Step;
        if st.held > 0 {
            st.release.push_back(Release::One);
        }
    }

    /// Go on freely (step mode off).
    pub fn go(&self) {
        let mut st = lock(&self.ctl.state);
        st.mode = Mode::Free;
        st.release.push_back(Release::All);
    }

    /// Go on until the next call of this kind, and stop before it.
    pub fn until(&self, kind: CallKind) {
        let mut st = lock(&self.ctl.state);
        st.mode = Mode::Until(kind);
        st.release.push_back(Release::All);
    }

    /// Is some process of the program stopped before a call?
    pub fn is_held(&self) -> bool {
        lock(&self.ctl.state).held > 0
    }

    /// Kill every traced process.
    pub fn kill(&self) {
        let mut st = lock(&self.ctl.state);
        st.killing = true;
        #[cfg(target_os = "linux")]
        st.pids.kill_all();
    }

    /// Every traced process is gone, its output has been read and its
    /// sockets' last state reported: no more events will come from it.
    pub fn finished(&self) -> bool {
        self.ctl.done.load(Ordering::Relaxed) && self.ctl.streams.load(Ordering::Relaxed) == 0
    }
}

impl Drop for TraceHandle {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(target_os = "linux")]
fn start_linux(engine: &Engine, spec: TraceSpec) -> Result<TraceHandle, CallError> {
    use super::event::{EventKind, ProgramNote};

    let sh = engine.shared.clone();
    let ctl = Arc::new(Ctl {
        state: Mutex::new(CtlState {
            mode: if spec.step { Mode::Step } else { Mode::Free },
            release: VecDeque::new(),
            held: 0,
            pids: procs::Procs::default(),
            killing: false,
        }),
        fresh: Mutex::new(HashSet::new()),
        pending: Mutex::new(HashMap::new()),
        wake: Condvar::new(),
        observe: AtomicBool::new(false),
        moved: AtomicBool::new(false),
        fast: AtomicBool::new(false),
        done: AtomicBool::new(false),
        streams: AtomicUsize::new(3),
        out: sink::Sink::new(sh.clone()),
    });
    let socks: socks::SharedSocks = Default::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let name = std::path::Path::new(&spec.argv[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "program".into());
    {
        let (sh, ctl, socks, name) = (sh.clone(), ctl.clone(), socks.clone(), name.clone());
        std::thread::Builder::new()
            .name("socklab-tracer".into())
            .spawn(move || {
                let cpus = cpu::share().map(std::sync::Arc::new);
                let mut child = match child::spawn(&spec.argv, spec.cwd.as_deref(), &spec.env) {
                    Ok(c) => c,
                    Err(e) => {
                        ctl.done.store(true, Ordering::Relaxed);
                        ctl.streams.store(0, Ordering::Relaxed);
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let pid = child.id();
                // Before anyone can ask for a kill, and before it can be reaped.
                lock(&ctl.state).pids.insert(pid);
                let out = (child.stdout.take(), child.stderr.take());
                let _ = tx.send(Ok(pid));
                ctl.out.emit_now(EventKind::Program {
                    pid,
                    note: ProgramNote::Started {
                        name: name.clone(),
                        argv: spec
                            .argv
                            .iter()
                            .map(|a| a.to_string_lossy().into_owned())
                            .collect(),
                        parent: None,
                        exec: false,
                    },
                });
                watch::spawn_output(&ctl, pid, out.0, out.1, cpus.clone());
                watch::spawn_watcher(ctl.clone(), socks.clone(), cpus);
                tracer::Tracer::new(sh, ctl.clone(), socks, pid, &name).run();
                ctl.out.flush();
                ctl.done.store(true, Ordering::Relaxed);
                {
                    let _g = lock(&ctl.pending);
                    ctl.wake.notify_one();
                }
                // The child was reaped by the tracer's wait; nothing to wait for.
                drop(child);
            })
            .map_err(|e| CallError::lab_note(Note::new("lab.trace_no_thread").with("error", e)))?;
    }
    match rx.recv() {
        Ok(Ok(pid)) => Ok(TraceHandle { ctl, pid }),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(CallError::lab_note(
            Note::new("lab.trace_not_found").with("program", spec_name(&name)),
        )),
        Ok(Err(e)) => Err(CallError::lab_note(
            Note::new("lab.trace_cannot_run")
                .with("program", spec_name(&name))
                .with("error", e),
        )),
        Err(_) => Err(CallError::lab_note(Note::new("lab.trace_thread_ended"))),
    }
}

#[cfg(target_os = "linux")]
fn spec_name(n: &str) -> String {
    crate::engine::text::sanitize(n)
}
