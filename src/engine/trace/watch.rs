//! Two helpers of the tracer that must not wait on it: the watcher thread
//! (calls still in the kernel after [`PENDING_AFTER`] become pending; queued
//! events are sent; the traced sockets' kernel state is read on a cadence)
//! and the readers of the program's stdout and stderr.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::cpu::Share;
use super::socks::SharedSocks;
use super::{Ctl, PENDING_AFTER, lock};
use crate::engine::error::Note;
use crate::engine::event::{EventKind, ProgramNote, Stream};

/// The watcher's tick while the program is active (and the longest a
/// state change waits for the kernel's table).
const FAST: Duration = Duration::from_millis(5);
/// After a state change, the table is read again on this cadence for
/// [`SETTLE`] (a close's FIN_WAIT steps, a handshake finishing).
const SETTLING: Duration = Duration::from_millis(20);
const SETTLE: Duration = Duration::from_millis(100);
/// While bytes move (only the queues change): the queues' refresh rate.
const MOVING: Duration = Duration::from_millis(100);
/// When nothing happens (a peer may still close, a timer fire).
const SLOW: Duration = Duration::from_millis(200);
/// How long after a call the program counts as active.
const ACTIVE: Duration = Duration::from_millis(1500);
/// Most bytes of output shown per stream; the rest is counted, not shown.
pub const OUTPUT_KEEP: usize = 1 << 20;

/// Calls still in the kernel after [`PENDING_AFTER`] become pending; the
/// trace's queued events go to the log (see `sink`); the traced sockets'
/// kernel state is read — soon after a call changed one, on the
/// [`MOVING`] cadence while only bytes move (each read walks the kernel's
/// whole table: at the old 5 ms cadence the reads took more time than
/// the program), slowly when idle.
pub fn spawn_watcher(ctl: Arc<Ctl>, socks: SharedSocks, cpus: Option<Arc<Share>>) {
    let ctl2 = ctl.clone();
    let spawned = std::thread::Builder::new()
        .name("socklab-trace-watch".into())
        .spawn(move || {
            // Not on the CPU the tracer and the program share.
            if let Some(c) = cpus {
                c.leave();
            }
            let mut last_obs = Instant::now() - SLOW;
            let mut active = Instant::now();
            let mut changed_at: Option<Instant> = None;
            // A state change not yet read from the kernel.
            let mut unseen = false;
            loop {
                let done = ctl.done.load(Ordering::Relaxed);
                let mut p = lock(&ctl.pending);
                let now = Instant::now();
                let mut urgent = false;
                for (id, (t0, sock, shown)) in p.iter_mut() {
                    if !*shown && now.duration_since(*t0) >= PENDING_AFTER {
                        *shown = true;
                        urgent = true;
                        ctl.out.emit(EventKind::CallPending {
                            call: *id,
                            sock: *sock,
                        });
                    }
                }
                if ctl.observe.swap(false, Ordering::Relaxed) {
                    active = now;
                    changed_at = Some(now);
                    unseen = true;
                }
                if ctl.moved.swap(false, Ordering::Relaxed) {
                    active = now;
                }
                let fast = now.duration_since(active) < ACTIVE;
                // Set while the lock on `pending` is held, and before the
                // queue is looked at: whoever queues an event or registers a
                // call after this sees it, and wakes the watcher if it is slow.
                ctl.fast.store(fast, Ordering::Relaxed);
                let interval = if unseen {
                    FAST
                } else if changed_at.is_some_and(|t| now.duration_since(t) < SETTLE) {
                    SETTLING
                } else if fast {
                    MOVING
                } else {
                    SLOW
                };
                if done || now.duration_since(last_obs) >= interval {
                    drop(p);
                    lock(&socks).observe(&ctl.out);
                    ctl.out.flush();
                    last_obs = Instant::now();
                    unseen = false;
                    if done {
                        ctl.streams.fetch_sub(1, Ordering::Relaxed);
                        return;
                    }
                    continue;
                }
                if urgent {
                    ctl.out.flush();
                } else {
                    ctl.out.flush_if_due();
                }
                let next = p
                    .values()
                    .filter(|v| !v.2)
                    .map(|v| v.0 + PENDING_AFTER)
                    .chain([last_obs + interval])
                    .chain(fast.then_some(now + FAST))
                    .chain(ctl.out.due())
                    .min()
                    .unwrap_or(now + interval);
                let wait = next
                    .saturating_duration_since(now)
                    .max(Duration::from_micros(200));
                let _ = ctl.wake.wait_timeout(p, wait);
            }
        });
    if spawned.is_err() {
        ctl2.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

pub fn spawn_output(
    ctl: &Arc<Ctl>,
    pid: u32,
    out: Option<std::process::ChildStdout>,
    err: Option<std::process::ChildStderr>,
    cpus: Option<Arc<Share>>,
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
        let (ctl, ctl2, cpus) = (ctl.clone(), ctl.clone(), cpus.clone());
        let Some(mut r) = r else {
            ctl.streams.fetch_sub(1, Ordering::Relaxed);
            continue;
        };
        let spawned = std::thread::Builder::new()
            .name("socklab-trace-out".into())
            .spawn(move || {
                if let Some(c) = &cpus {
                    c.leave();
                }
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
                            ctl.out.emit_now(EventKind::Notice {
                                note: Note::new("notice.output_cut")
                                    .with("kib", OUTPUT_KEEP >> 10)
                                    .with(
                                        "stream",
                                        if stream == Stream::Stdout {
                                            "stdout"
                                        } else {
                                            "stderr"
                                        },
                                    ),
                            });
                        }
                        hidden += n;
                        continue;
                    }
                    shown += n;
                    // After what the tracer has queued: the log keeps the order.
                    ctl.out.emit_now(EventKind::Program {
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
