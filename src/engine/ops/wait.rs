//! Waiting for the kernel: readiness through `AsyncFd`, Python's timeouts
//! (`Deadline`), and the one retry loop every blocking call goes through.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use socket2::Socket;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::super::error::{CallError, Note};
use super::super::sock::SockEntry;
use super::super::types::*;
use super::{Ctx, errno_of};

fn register(sock: &Socket, interest: Interest) -> io::Result<AsyncFd<Socket>> {
    let dup = sock.try_clone()?;
    // SAFETY: `dup` owns its descriptor and is owned by the AsyncFd, so the
    // descriptor stays open and the same for the AsyncFd's whole life.
    unsafe { AsyncFd::register_with_interest(dup, interest) }.map_err(|e| e.into_parts().1)
}

/// Wait until the socket is ready for `interest`, without a timeout.
///
/// Registrations are of a duplicate descriptor. A socket that is not yet
/// connected (or listening) reports EPOLLHUP, and tokio keeps "closed"
/// readiness forever, which would turn every later wait into a busy loop —
/// so such a socket gets a fresh registration for each wait. Once it is
/// connected or listening, one registration is kept and reused (streaming
/// peers wait thousands of times a second); a "closed" state from then on is
/// real, and the retried call returns EOF or an error instead of EAGAIN.
pub(crate) async fn ready(entry: &SockEntry, interest: Interest) -> io::Result<()> {
    tokio::select! {
        r = ready_inner(entry, interest) => r,
        _ = entry.closed() => Err(io::Error::from_raw_os_error(libc::EBADF)),
    }
}

async fn ready_inner(entry: &SockEntry, interest: Interest) -> io::Result<()> {
    let settled = entry.ty == SockType::Dgram
        || matches!(
            entry.st().lab,
            LabState::Connected | LabState::Listening | LabState::HalfClosed(_)
        );
    if !settled {
        let afd = register(entry.sock(), interest)?;
        let _guard = afd.ready(interest).await?;
        return Ok(());
    }
    let afd = {
        let mut reg = entry.reg.lock().unwrap_or_else(|e| e.into_inner());
        match &*reg {
            Some(a) => a.clone(),
            None => {
                let a = Arc::new(register(
                    entry.sock(),
                    Interest::READABLE.add(Interest::WRITABLE),
                )?);
                *reg = Some(a.clone());
                a
            }
        }
    };
    let mut guard = afd.ready(interest).await?;
    // The caller retries the system call right after this; forget this
    // readiness so that if the retry says EAGAIN, the next wait really waits.
    guard.clear_ready();
    Ok(())
}

/// Wait for readiness, honouring the socket's timeout. `Ok(false)` = timed out.
pub(crate) async fn wait_ready(
    entry: &SockEntry,
    interest: Interest,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    match timeout {
        None => ready(entry, interest).await.map(|_| true),
        Some(t) => match tokio::time::timeout(t, ready(entry, interest)).await {
            Ok(r) => r.map(|_| true),
            Err(_) => Ok(false),
        },
    }
}

/// `TimeoutError`; `what` is the note saying what did not happen, to
/// which the timeout's seconds are added as `secs`.
pub(super) fn timed_out(what: Note, t: Duration) -> CallError {
    CallError::other("TimeoutError", "timed out", what.with("secs", fmt_secs(t)))
}

fn fmt_secs(t: Duration) -> String {
    let s = t.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s}")
    }
}

/// Python's blocking for one call that may wait several times (a `sendall`
/// that drains a full buffer bit by bit): the socket's timeout spans all the
/// waits, and the call is reported pending once.
pub(super) struct Deadline {
    until: Option<tokio::time::Instant>,
    timeout: Option<Duration>,
    pended: bool,
}

/// What to say when a call cannot go on: in non-blocking mode
/// (`BlockingIOError`), and when its timeout runs out (`TimeoutError`).
pub(super) struct Blocked<N, W> {
    pub nonblocking: N,
    pub what: W,
}

impl Deadline {
    pub fn new(timeout: Option<Duration>) -> Deadline {
        Deadline {
            until: timeout.map(|t| tokio::time::Instant::now() + t),
            timeout,
            pended: false,
        }
    }

    pub fn left(&self) -> Option<Duration> {
        self.until
            .map(|d| d.saturating_duration_since(tokio::time::Instant::now()))
    }

    /// The kernel said EAGAIN. Non-blocking: `BlockingIOError` explained by
    /// `nonblocking`. Otherwise wait for readiness, or fail with
    /// `TimeoutError` saying that `what` did not happen in time.
    async fn block(
        &mut self,
        ctx: &Ctx<'_>,
        e: &SockEntry,
        interest: Interest,
        nonblocking: impl FnOnce() -> Note,
        what: impl FnOnce() -> Note,
    ) -> Result<(), CallError> {
        if self.timeout == Some(Duration::ZERO) {
            return Err(CallError::os(libc::EAGAIN, nonblocking()));
        }
        if !self.pended {
            ctx.mark_pending(&[e.id]);
            self.pended = true;
        }
        let left = self.left();
        let ready = wait_ready(e, interest, left)
            .await
            .map_err(|err| CallError::os(errno_of(&err), ""))?;
        if !ready || left == Some(Duration::ZERO) {
            return Err(timed_out(what(), self.timeout.unwrap_or_default()));
        }
        Ok(())
    }

    /// Make the system call `sys` until it stops saying EAGAIN or EINTR,
    /// waiting for `interest` in between as Python's blocking would.
    ///
    /// `Ok(Ok(v))`: it succeeded. `Ok(Err(e))`: the kernel refused it (the
    /// caller explains the errno for its call). `Err(..)`: it would block in
    /// non-blocking mode, timed out, or the socket was closed while waiting.
    pub async fn retry<T, N, W>(
        &mut self,
        ctx: &Ctx<'_>,
        e: &SockEntry,
        interest: Interest,
        mut sys: impl FnMut() -> io::Result<T>,
        say: Blocked<N, W>,
    ) -> Result<io::Result<T>, CallError>
    where
        N: Fn() -> Note,
        W: Fn() -> Note,
    {
        loop {
            match sys() {
                Ok(v) => return Ok(Ok(v)),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.block(ctx, e, interest, &say.nonblocking, &say.what)
                        .await?;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Ok(Err(err)),
            }
        }
    }
}
