//! Where the tracer, the program and socklab's other threads run.
//!
//! Every traced call stops the program twice and wakes the tracer each
//! time. On one CPU that is a direct switch from one to the other; across
//! CPUs it is a wake-up that waits for the other CPU (on a loaded two-core
//! machine `benches/trace.rs` took ~4 s instead of ~0.6 s). So the tracer
//! keeps the CPU it runs on and the program, forked from it, inherits that
//! (its threads and children share it; what it does is unchanged).
//!
//! And that CPU is theirs while the trace runs: socklab's other threads —
//! the one writing the transcript or drawing the screen, the engine's, the
//! trace's own watcher — move to the other CPUs, so they never take turns
//! with the program on its CPU (with them there, socklab's own work was
//! 40 % of what tracing cost, against a bare tracer making the same stops).
//! When no CPU would be left for them, nothing moves. When the trace ends,
//! everything may run everywhere again.

use std::sync::Mutex;

type Set = libc::cpu_set_t;

const SIZE: usize = std::mem::size_of::<Set>();

struct Held {
    /// What the process could use before the first trace took a CPU.
    base: Option<Set>,
    /// The tracer threads and the CPU each keeps.
    traces: Vec<(libc::pid_t, usize)>,
}

static HELD: Mutex<Held> = Mutex::new(Held {
    base: None,
    traces: Vec::new(),
});

fn held() -> std::sync::MutexGuard<'static, Held> {
    HELD.lock().unwrap_or_else(|e| e.into_inner())
}

fn affinity(tid: libc::pid_t) -> Option<Set> {
    // SAFETY: a zeroed cpu_set_t of ours, filled by the kernel.
    unsafe {
        let mut s: Set = std::mem::zeroed();
        (libc::sched_getaffinity(tid, SIZE, &mut s) == 0).then_some(s)
    }
}

fn set_affinity(tid: libc::pid_t, s: &Set) -> bool {
    // SAFETY: a plain syscall with a cpu_set_t we own; a failure leaves the
    // thread where it was (it may have ended meanwhile).
    unsafe { libc::sched_setaffinity(tid, SIZE, s) == 0 }
}

fn gettid() -> libc::pid_t {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::gettid() }
}

fn count(s: &Set) -> usize {
    // SAFETY: reads a cpu_set_t we own.
    unsafe { libc::CPU_COUNT(s) as usize }
}

/// Where socklab's other threads may run: `base` without the CPUs the
/// traces keep, or all of `base` if that leaves none.
fn others(h: &Held) -> Option<Set> {
    let mut s = h.base?;
    for &(_, cpu) in &h.traces {
        // SAFETY: clears a bit of a cpu_set_t we own (cpu < CPU_SETSIZE,
        // it came from sched_getcpu).
        unsafe { libc::CPU_CLR(cpu, &mut s) };
    }
    Some(if count(&s) == 0 { h.base? } else { s })
}

/// Move every thread of socklab that is not a tracer to [`others`].
fn apply(h: &Held) {
    let Some(to) = others(h) else { return };
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if !h.traces.iter().any(|&(t, _)| t == tid) {
            set_affinity(tid, &to);
        }
    }
}

/// The calling thread (a tracer about to fork the program) keeps the CPU
/// it runs on; the rest of socklab moves off it. Undone when dropped.
pub struct Share(libc::pid_t);

/// Keep the calling thread on its CPU (see the module). None when the
/// affinity cannot be read or set; then everything stays as it was.
pub fn share() -> Option<Share> {
    // SAFETY: no arguments.
    let cpu = unsafe { libc::sched_getcpu() };
    let me = gettid();
    let mut h = held();
    let base = match h.base {
        Some(b) => b,
        None => affinity(0)?,
    };
    if cpu < 0 || cpu as usize >= 8 * SIZE {
        return None;
    }
    // SAFETY: a zeroed cpu_set_t of ours, one bit set (checked above).
    let mut one: Set = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(cpu as usize, &mut one) };
    if !set_affinity(0, &one) {
        return None;
    }
    h.base = Some(base);
    h.traces.push((me, cpu as usize));
    apply(&h);
    Some(Share(me))
}

impl Share {
    /// A helper thread started from the tracer (it inherited the tracer's
    /// CPU) goes where socklab's other threads run.
    pub fn leave(&self) {
        let h = held();
        if let Some(to) = others(&h) {
            set_affinity(0, &to);
        }
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut h = held();
        h.traces.retain(|&(t, _)| t != self.0);
        apply(&h);
        if h.traces.is_empty() {
            h.base = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(s: &Set, cpu: usize) -> bool {
        // SAFETY: reads a cpu_set_t we own.
        unsafe { libc::CPU_ISSET(cpu, s) }
    }

    #[test]
    fn the_tracers_cpu_is_its_own_while_it_runs() {
        let base = affinity(0).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            tx.send(gettid()).unwrap();
            let _ = stop_rx.recv();
        });
        let other_tid = rx.recv().unwrap();
        let tracer = std::thread::spawn(move || {
            let share = share().expect("affinity can be set");
            let me = affinity(0).unwrap();
            assert_eq!(count(&me), 1, "the tracer keeps one CPU");
            let cpu = (0..8 * SIZE).find(|&c| has(&me, c)).unwrap();
            let o = affinity(other_tid).unwrap();
            if count(&base) > 1 {
                assert!(!has(&o, cpu), "another thread left the tracer's CPU");
                assert!(count(&o) >= 1);
            } else {
                assert!(has(&o, cpu), "with one CPU, nothing moves");
            }
            // A helper started from the tracer goes where the others are.
            let helper = std::thread::spawn({
                let share = std::sync::Arc::new(share);
                let s2 = share.clone();
                move || {
                    s2.leave();
                    (affinity(0).unwrap(), s2)
                }
            });
            let (h, share) = helper.join().unwrap();
            if count(&base) > 1 {
                assert!(!has(&h, cpu), "the helper left the tracer's CPU");
            }
            drop(share);
            cpu
        });
        let cpu = tracer.join().unwrap();
        let o = affinity(other_tid).unwrap();
        assert!(has(&o, cpu), "after the trace, the CPU is everyone's again");
        stop_tx.send(()).unwrap();
        other.join().unwrap();
    }
}
