//! The traced processes, each held by a pidfd, so that a kill reaches only
//! them. A bare pid is not enough: once the tracer has reaped a process (its
//! `waitpid`) the pid is free, and until the tracer has taken it out of this
//! set a kill from another thread (the handle, the lab quitting) could
//! signal a new, unrelated process that got the same pid. A pidfd names one
//! process for good: signalling it after it is gone fails with ESRCH.
//!
//! A pidfd is opened while the process cannot have been reaped yet: right
//! after it was started (only the tracer thread waits for it), or at its
//! first stop as a traced child.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

#[derive(Default)]
pub struct Procs {
    by_pid: HashMap<u32, Option<OwnedFd>>,
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: a raw syscall; a descriptor it returns is ours to own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

impl Procs {
    /// A process this trace started or traces, not yet reaped.
    pub fn insert(&mut self, pid: u32) {
        self.by_pid.entry(pid).or_insert_with(|| pidfd_open(pid));
    }

    /// The process was reaped: its pidfd is closed.
    pub fn remove(&mut self, pid: u32) {
        self.by_pid.remove(&pid);
    }

    /// Send SIGKILL to one of them (false if it is not ours or already gone).
    pub fn kill(&self, pid: u32) -> bool {
        match self.by_pid.get(&pid) {
            Some(Some(fd)) => {
                // SAFETY: a raw syscall on a pidfd we own.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_pidfd_send_signal,
                        fd.as_raw_fd(),
                        libc::SIGKILL,
                        std::ptr::null::<libc::siginfo_t>(),
                        0,
                    )
                };
                r == 0
            }
            // No pidfd (a kernel before 5.3, or no descriptors left): a bare
            // kill is the best there is; the pid is still ours, unreaped, as
            // long as it is in this set.
            Some(None) => {
                // SAFETY: signalling a process this trace owns.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) == 0 }
            }
            None => false,
        }
    }

    /// SIGKILL to every one of them.
    pub fn kill_all(&self) {
        for pid in self.by_pid.keys() {
            self.kill(*pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// Start `sleep` with exactly this pid, by setting the kernel's last
    /// pid (root only) and retrying while other processes take it first.
    fn sleep_with_pid(pid: u32) -> std::process::Child {
        for _ in 0..200 {
            std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string())
                .expect("writing /proc/sys/kernel/ns_last_pid (the test needs root)");
            let c = Command::new("sleep")
                .arg("30")
                .stdout(Stdio::null())
                .spawn()
                .expect("sleep runs");
            if c.id() == pid {
                return c;
            }
            let mut c = c;
            let _ = c.kill();
            let _ = c.wait();
        }
        panic!("could not start a process with pid {pid}");
    }

    #[test]
    fn a_kill_after_reaping_never_reaches_a_process_that_reused_the_pid() {
        let mut first = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        let pid = first.id();
        let mut procs = Procs::default();
        procs.insert(pid);
        // The tracer reaped it but has not taken it out of the set yet.
        first.kill().unwrap();
        first.wait().unwrap();
        let mut other = sleep_with_pid(pid);
        procs.kill_all();
        // Now end it with SIGTERM: it dies of SIGKILL if the stray kill
        // reached it (a pending SIGKILL wins), of SIGTERM if not.
        // SAFETY: signalling the process this test started.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        use std::os::unix::process::ExitStatusExt;
        let died_of = other.wait().unwrap().signal();
        assert_eq!(
            died_of,
            Some(libc::SIGTERM),
            "pid {pid} was reused by an unrelated process and the kill reached it"
        );
        assert!(!procs.kill(pid), "the reaped process cannot be signalled");
    }

    #[test]
    fn a_live_process_is_killed() {
        let mut c = Command::new("sleep").arg("30").spawn().expect("sleep runs");
        let mut procs = Procs::default();
        procs.insert(c.id());
        assert!(procs.kill(c.id()));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(c.wait().unwrap().signal(), Some(libc::SIGKILL));
    }
}
