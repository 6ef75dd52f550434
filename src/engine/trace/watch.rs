//! Two helpers of the tracer that must not wait on it: the watcher thread
//! (calls still in the kernel after [`PENDING_AFTER`] become pending; the
//! traced sockets' kernel state is read on a cadence) and the readers of the
//! program's stdout and stderr.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::socks::SharedSocks;
use super::{Ctl, PENDING_AFTER, lock};
use crate::engine::event::{EventKind, ProgramNote, Stream};
use crate::engine::shared::Shared;

/// Kernel observation right after activity, and when nothing happens.
const FAST: Duration = Duration::from_millis(5);
const SLOW: Duration = Duration::from_millis(200);
/// How long after activity the cadence stays fast.
const ACTIVE: Duration = Duration::from_millis(1500);
/// Most bytes of output shown per stream; the rest is counted, not shown.
pub const OUTPUT_KEEP: usize = 1 << 20;

pub fn spawn_watcher(sh: Arc<Shared>, ctl: Arc<Ctl>, socks: SharedSocks) {
    let _ = std::thread::Builder::new()
        .name("socklab-trace-watch".into())
        .spawn(move || {
            let mut last_obs = Instant::now() - SLOW;
            let mut active = Instant::now();
            loop {
                let done = ctl.done.load(Ordering::Relaxed);
                let mut p = lock(&ctl.pending);
                let now = Instant::now();
                for (id, (t0, sock, shown)) in p.iter_mut() {
                    if !*shown && now.duration_since(*t0) >= PENDING_AFTER {
                        *shown = true;
                        sh.emit(EventKind::CallPending {
                            call: *id,
                            sock: *sock,
                        });
                    }
                }
                if ctl.observe.swap(false, Ordering::Relaxed) {
                    active = now;
                }
                let fast = now.duration_since(active) < ACTIVE;
                // Set while the lock on `pending` is held: a call registered
                // after this sees it and wakes the watcher if it is slow.
                ctl.fast.store(fast, Ordering::Relaxed);
                let interval = if fast { FAST } else { SLOW };
                if done || now.duration_since(last_obs) >= interval {
                    drop(p);
                    lock(&socks).observe(&sh);
                    last_obs = Instant::now();
                    if done {
                        return;
                    }
                    continue;
                }
                let next = p
                    .values()
                    .filter(|v| !v.2)
                    .map(|v| v.0 + PENDING_AFTER)
                    .chain([last_obs + interval])
                    .min()
                    .unwrap_or(now + interval);
                let wait = next
                    .saturating_duration_since(now)
                    .max(Duration::from_micros(200));
                let _ = ctl.wake.wait_timeout(p, wait);
            }
        });
}

pub fn spawn_output(
    sh: &Arc<Shared>,
    ctl: &Arc<Ctl>,
    pid: u32,
    out: Option<std::process::ChildStdout>,
    err: Option<std::process::ChildStderr>,
) {
    let streams: [(Stream, Option<Box<dyn Read + Send>>); 2] = [
        (
            Stream::Stdout,
            out.map(|o| Box::new(o) as Box<dyn Read + Send>),
        ),
        (
            Stream::Stderr,
            err.map(|e| Box::new(e) as Box<dyn Read + Send>),
        ),
    ];
    for (stream, r) in streams {
        let (sh, ctl, ctl2) = (sh.clone(), ctl.clone(), ctl.clone());
        let Some(mut r) = r else {
            ctl.streams.fetch_sub(1, Ordering::Relaxed);
            continue;
        };
        let spawned = std::thread::Builder::new()
            .name("socklab-trace-out".into())
            .spawn(move || {
                let mut buf = vec![0u8; 4096];
                let mut shown = 0usize;
                let mut hidden = 0usize;
                loop {
                    let n = match r.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    };
                    if shown >= OUTPUT_KEEP {
                        if hidden == 0 {
                            sh.emit(EventKind::Notice {
                                text: format!(
                                    "the program wrote more than {} KiB to its {}; the rest is not shown",
                                    OUTPUT_KEEP >> 10,
                                    if stream == Stream::Stdout { "stdout" } else { "stderr" }
                                ),
                            });
                        }
                        hidden += n;
                        continue;
                    }
                    shown += n;
                    sh.emit(EventKind::Program {
                        pid,
                        note: ProgramNote::Output {
                            stream,
                            text: String::from_utf8_lossy(&buf[..n]).into_owned(),
                        },
                    });
                }
                ctl.streams.fetch_sub(1, Ordering::Relaxed);
            });
        if spawned.is_err() {
            ctl2.streams.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
