//! Executing one socket call on a real socket.
//!
//! Every call runs as its own tokio task. The socket is always O_NONBLOCK;
//! Python's blocking behaviour is made by trying the system call, and when
//! the kernel says EAGAIN, either failing (`setblocking(False)`), or marking
//! the call pending and waiting for readiness (with the socket's timeout).
//!
//! The folder, by concern:
//! - `mod.rs` — the call lifecycle: start, pending, done / failed, and the
//!   dispatch of an [`Op`] to the file that executes it;
//! - `describe` — an op as the student would have written it, for the log;
//! - `policy` — the lab's rules: loopback only, socket limits, addresses;
//! - `wait` — readiness waiting (AsyncFd), Python's timeouts (`Deadline`)
//!   and the one EAGAIN / EINTR retry loop;
//! - `state` — what every op reports: lab states, endpoints, bytes, adoption;
//! - `setup` — a socket's life: socket, bind, listen, accept, connect,
//!   shutdown, close, names;
//! - `data` — send and recv, for streams and datagrams;
//! - `opts` — socket options and timeouts;
//! - `select` — `select()` over several sockets.

mod data;
mod describe;
mod opts;
mod policy;
mod select;
mod setup;
mod state;
mod wait;

use std::sync::Arc;

use super::error::{CallError, Note};
use super::event::{DATA_KEEP, EventKind};
use super::shared::{OpenCall, Shared};
use super::sock::SockEntry;
use super::types::*;

pub(crate) use policy::{Purpose, check_limit, resolve};
pub(crate) use state::{adopt, refresh_endpoints, set_lab};
pub(crate) use wait::wait_ready;

pub(crate) fn spawn_call(shared: &Arc<Shared>, owner: Owner, op: Op) -> CallId {
    let call = shared.new_call_id();
    let method = op.method();
    let socks = op_socks(&op);
    let sock = op.sock();
    shared.emit(EventKind::CallStarted {
        call,
        sock,
        owner: owner.clone(),
        method: method.to_string(),
        text: describe::describe(shared, &op),
    });
    if let Some(err) = busy_error(shared, &op) {
        shared.emit(EventKind::CallFailed {
            call,
            sock,
            error: err,
        });
        return call;
    }
    shared.register_call(
        call,
        OpenCall {
            abort: None,
            socks,
            method,
        },
    );
    let sh = shared.clone();
    let task = tokio::spawn(async move {
        let mut ctx = Ctx {
            sh: &sh,
            call: Some(call),
            owner: &owner,
            preview: DATA_KEEP,
        };
        let res = execute(&mut ctx, op).await;
        if sh.take_call(call).is_some() {
            match res {
                Ok(ret) => sh.emit(EventKind::CallDone { call, sock, ret }),
                Err(error) => sh.emit(EventKind::CallFailed { call, sock, error }),
            }
        }
        sh.poke_observer();
    });
    shared.set_call_abort(call, task.abort_handle());
    call
}

/// Run a call without call events (peers' routine reads and writes), still
/// reporting bytes and state changes.
/// `preview` is how many bytes of each chunk the event log keeps (a sink
/// peer needs only a glimpse). Quiet calls do not wake the kernel observer:
/// a peer streaming data would otherwise make it read the socket table on
/// every chunk; its regular fast cadence catches up.
pub(crate) async fn run_quiet(
    sh: &Arc<Shared>,
    owner: &Owner,
    op: Op,
    preview: usize,
) -> Result<Ret, CallError> {
    let mut ctx = Ctx {
        sh,
        call: None,
        owner,
        preview,
    };
    let r = execute(&mut ctx, op).await;
    sh.touch();
    r
}

/// Run a call with call events, awaiting it in place (peers' notable calls).
pub(crate) async fn run_logged(sh: &Arc<Shared>, owner: &Owner, op: Op) -> Result<Ret, CallError> {
    let call = sh.new_call_id();
    let sock = op.sock();
    sh.emit(EventKind::CallStarted {
        call,
        sock,
        owner: owner.clone(),
        method: op.method().to_string(),
        text: describe::describe(sh, &op),
    });
    sh.register_call(
        call,
        OpenCall {
            abort: None,
            socks: op_socks(&op),
            method: op.method(),
        },
    );
    let mut ctx = Ctx {
        sh,
        call: Some(call),
        owner,
        preview: DATA_KEEP,
    };
    let res = execute(&mut ctx, op).await;
    if sh.take_call(call).is_some() {
        match &res {
            Ok(ret) => sh.emit(EventKind::CallDone {
                call,
                sock,
                ret: ret.clone(),
            }),
            Err(error) => sh.emit(EventKind::CallFailed {
                call,
                sock,
                error: error.clone(),
            }),
        }
    }
    sh.poke_observer();
    res
}

fn op_socks(op: &Op) -> Vec<SockId> {
    match op {
        Op::Select {
            rlist,
            wlist,
            xlist,
            ..
        } => rlist.iter().chain(wlist).chain(xlist).copied().collect(),
        other => other.sock().into_iter().collect(),
    }
}

/// A call that could wait is refused while another call waits on the same
/// socket (each socket behaves as if it had one thread).
fn busy_error(sh: &Shared, op: &Op) -> Option<CallError> {
    let waits = matches!(
        op,
        Op::Accept { .. }
            | Op::Connect { .. }
            | Op::ConnectEx { .. }
            | Op::Send { .. }
            | Op::SendAll { .. }
            | Op::SendTo { .. }
            | Op::Recv { .. }
            | Op::RecvFrom { .. }
    );
    if !waits {
        return None;
    }
    let entry = sh.get_sock(op.sock()?)?;
    let pending = entry.st().pending?;
    Some(CallError::lab_note(
        Note::new("lab.call_waiting")
            .with("sock", entry.name())
            .with("call", pending),
    ))
}

/// One call being executed: who makes it, and how it reports.
pub(super) struct Ctx<'a> {
    pub sh: &'a Arc<Shared>,
    /// None for a quiet call (no call events, no pending marker).
    pub call: Option<CallId>,
    pub owner: &'a Owner,
    /// Bytes of each chunk kept in Data events.
    pub preview: usize,
}

impl Ctx<'_> {
    /// The call would block: say so once, and mark the sockets it waits on.
    pub fn mark_pending(&self, socks: &[SockId]) {
        let Some(call) = self.call else { return };
        for s in socks {
            if let Some(e) = self.sh.get_sock(*s) {
                e.st().pending = Some(call);
            }
        }
        self.sh.emit(EventKind::CallPending {
            call,
            sock: socks.first().copied(),
        });
    }
}

/// The socket behind an id, or EBADF as Python raises it for a closed socket.
pub(super) fn get(sh: &Shared, id: SockId) -> Result<Arc<SockEntry>, CallError> {
    sh.get_sock(id)
        .ok_or_else(|| CallError::os(libc::EBADF, Note::new("explain.socket_closed")))
}

pub(super) fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

async fn execute(ctx: &mut Ctx<'_>, op: Op) -> Result<Ret, CallError> {
    match op {
        Op::Socket { family, ty, proto } => setup::socket(ctx, family, ty, proto),
        Op::Bind { sock, addr } => setup::bind(ctx, sock, &addr),
        Op::Listen { sock, backlog } => setup::listen(ctx, sock, backlog),
        Op::Accept { sock } => setup::accept(ctx, sock).await,
        Op::Connect { sock, addr } => setup::connect(ctx, sock, &addr, false).await,
        Op::ConnectEx { sock, addr } => setup::connect(ctx, sock, &addr, true).await,
        Op::Shutdown { sock, how } => setup::shutdown(ctx, sock, how),
        Op::Close { sock } => setup::close(ctx, sock).await,
        Op::GetSockName { sock } => setup::getsockname(ctx, sock),
        Op::GetPeerName { sock } => setup::getpeername(ctx, sock),
        Op::Fileno { sock } => Ok(Ret::Int(
            ctx.sh.get_sock(sock).map(|e| e.raw_fd as i64).unwrap_or(-1),
        )),
        Op::Send { sock, data, flags } => data::send(ctx, sock, data, flags, None, false).await,
        Op::SendAll { sock, data, flags } => data::send(ctx, sock, data, flags, None, true).await,
        Op::SendTo { sock, data, addr } => {
            let e = get(ctx.sh, sock)?;
            let sa = resolve(ctx.sh, e.family, &addr, Purpose::Connect, "sendto")?;
            data::send(ctx, sock, data, 0, Some(sa), false).await
        }
        Op::Recv {
            sock,
            bufsize,
            flags,
        } => data::recv(ctx, sock, bufsize, flags, false).await,
        Op::RecvFrom {
            sock,
            bufsize,
            flags,
        } => data::recv(ctx, sock, bufsize, flags, true).await,
        Op::SetSockOpt {
            sock,
            level,
            opt,
            value,
        } => opts::setsockopt(ctx, sock, level, opt, &value),
        Op::GetSockOpt {
            sock,
            level,
            opt,
            buflen,
        } => opts::getsockopt(ctx, sock, level, opt, buflen),
        Op::SetTimeout { sock, timeout } => opts::settimeout(ctx, sock, timeout),
        Op::GetTimeout { sock } => opts::gettimeout(ctx, sock),
        Op::SetBlocking { sock, blocking } => opts::setblocking(ctx, sock, blocking),
        Op::Select {
            rlist,
            wlist,
            xlist,
            timeout,
        } => select::select(ctx, rlist, wlist, xlist, timeout).await,
    }
}
