//! `select()` over several sockets: a real `poll`, then readiness waits on
//! every socket at once until one is ready or the timeout runs out.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::Interest;

use super::super::error::{CallError, Note};
use super::super::sock::SockEntry;
use super::super::types::*;
use super::Ctx;
use super::opts::timeout_arg;
use super::wait::{Deadline, ready};

fn poll_now(entries: &[(Arc<SockEntry>, i16)]) -> Vec<i16> {
    let mut fds: Vec<libc::pollfd> = entries
        .iter()
        .map(|(e, ev)| libc::pollfd {
            fd: e.raw_fd,
            events: *ev,
            revents: 0,
        })
        .collect();
    // SAFETY: `fds` is a live array of `fds.len()` pollfd structs; a zero
    // timeout means the kernel returns at once and keeps no pointer.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
    if r < 0 {
        return vec![0; entries.len()];
    }
    fds.iter().map(|p| p.revents).collect()
}

pub(super) async fn select(
    ctx: &mut Ctx<'_>,
    rlist: Vec<SockId>,
    wlist: Vec<SockId>,
    xlist: Vec<SockId>,
    timeout: Option<f64>,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let timeout = timeout_arg(timeout, "timeout must be non-negative")?;
    let mut entries = Vec::new();
    for (list, ev) in [
        (&rlist, libc::POLLIN),
        (&wlist, libc::POLLOUT),
        (&xlist, libc::POLLPRI),
    ] {
        for id in list {
            let e = sh
                .get_sock(*id)
                .ok_or_else(|| CallError::os(libc::EBADF, Note::new("explain.select_closed")))?;
            entries.push((e, ev));
        }
    }
    let deadline = Deadline::new(timeout);
    let mut pended = false;
    loop {
        let rev = poll_now(&entries);
        let mut r = Vec::new();
        let mut w = Vec::new();
        let mut x = Vec::new();
        for ((e, ev), got) in entries.iter().zip(&rev) {
            let ready = got & (ev | libc::POLLERR | libc::POLLHUP) != 0;
            if !ready {
                continue;
            }
            match *ev {
                libc::POLLIN => r.push(e.id),
                libc::POLLOUT => w.push(e.id),
                _ => x.push(e.id),
            }
        }
        if !r.is_empty() || !w.is_empty() || !x.is_empty() {
            return Ok(Ret::Select(r, w, x));
        }
        let left = deadline.left();
        if left == Some(Duration::ZERO) || entries.is_empty() && timeout.is_none() {
            return Ok(Ret::Select(r, w, x));
        }
        if !pended {
            let ids: Vec<SockId> = entries.iter().map(|(e, _)| e.id).collect();
            ctx.mark_pending(&ids);
            pended = true;
        }
        let waits = entries.iter().map(|(e, ev)| {
            let interest = if *ev == libc::POLLOUT {
                Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            Box::pin(async move {
                let _ = ready(e, interest).await;
            })
        });
        let any = futures::future::select_all(waits);
        match left {
            None => {
                if entries.is_empty() {
                    std::future::pending::<()>().await;
                }
                any.await;
            }
            Some(t) => {
                if entries.is_empty() {
                    tokio::time::sleep(t).await;
                } else {
                    let _ = tokio::time::timeout(t, any).await;
                }
            }
        }
    }
}
