//! Executing one socket call on a real socket.
//!
//! Every call runs as its own tokio task. The socket is always O_NONBLOCK;
//! Python's blocking behaviour is made by trying the system call, and when
//! the kernel says EAGAIN, either failing (`setblocking(False)`), or marking
//! the call pending and waiting for readiness (with the socket's timeout).

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::error::CallError;
use super::event::{DATA_KEEP, EventKind};
use super::shared::{OpenCall, Shared};
use super::sock::SockEntry;
use super::text::py_bytes_repr;
use super::types::*;

/// The most `recv()` may ask for in one call.
const MAX_RECV: i64 = 64 * 1024 * 1024;

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
        text: describe(shared, &op),
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
        text: describe(sh, &op),
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
    Some(CallError::lab(format!(
        "{} already has a call waiting (call {pending}); wait for it, or press Ctrl-C to cancel it",
        entry.name()
    )))
}

/// The call as Python would write it, for the log: `srv.bind(('127.0.0.1', 9000))`.
pub(crate) fn describe(sh: &Shared, op: &Op) -> String {
    let name = |id: &SockId| {
        sh.get_sock(*id)
            .map(|e| e.name())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let addr = |a: &AddrArg| format!("('{}', {})", a.host, a.port);
    let data = |d: &Bytes| {
        if d.len() > 40 {
            format!("{}…({} bytes)", py_bytes_repr(&d[..32]), d.len())
        } else {
            py_bytes_repr(d)
        }
    };
    let list = |l: &[SockId]| format!("[{}]", l.iter().map(name).collect::<Vec<_>>().join(", "));
    let t = |t: &Option<f64>| t.map(|v| v.to_string()).unwrap_or_else(|| "None".into());
    match op {
        Op::Socket { family, ty, .. } => {
            let f = match *family {
                2 => "AF_INET".to_string(),
                10 => "AF_INET6".to_string(),
                n => n.to_string(),
            };
            let k = match *ty {
                1 => "SOCK_STREAM".to_string(),
                2 => "SOCK_DGRAM".to_string(),
                n => n.to_string(),
            };
            format!("socket({f}, {k})")
        }
        Op::Select {
            rlist,
            wlist,
            xlist,
            timeout,
        } => format!(
            "select({}, {}, {}, {})",
            list(rlist),
            list(wlist),
            list(xlist),
            t(timeout)
        ),
        Op::Bind { sock, addr: a } => format!("{}.bind({})", name(sock), addr(a)),
        Op::Listen { sock, backlog } => match backlog {
            Some(b) => format!("{}.listen({b})", name(sock)),
            None => format!("{}.listen()", name(sock)),
        },
        Op::Accept { sock } => format!("{}.accept()", name(sock)),
        Op::Connect { sock, addr: a } => format!("{}.connect({})", name(sock), addr(a)),
        Op::ConnectEx { sock, addr: a } => format!("{}.connect_ex({})", name(sock), addr(a)),
        Op::Send { sock, data: d, .. } => format!("{}.send({})", name(sock), data(d)),
        Op::SendAll { sock, data: d, .. } => format!("{}.sendall({})", name(sock), data(d)),
        Op::SendTo {
            sock,
            data: d,
            addr: a,
        } => format!("{}.sendto({}, {})", name(sock), data(d), addr(a)),
        Op::Recv { sock, bufsize, .. } => format!("{}.recv({bufsize})", name(sock)),
        Op::RecvFrom { sock, bufsize, .. } => format!("{}.recvfrom({bufsize})", name(sock)),
        Op::Shutdown { sock, how } => {
            let h = match how {
                0 => "SHUT_RD".to_string(),
                1 => "SHUT_WR".to_string(),
                2 => "SHUT_RDWR".to_string(),
                n => n.to_string(),
            };
            format!("{}.shutdown({h})", name(sock))
        }
        Op::Close { sock } => format!("{}.close()", name(sock)),
        Op::SetSockOpt {
            sock,
            level,
            opt,
            value,
        } => {
            let v = match value {
                OptVal::Int(i) => i.to_string(),
                OptVal::Bytes(b) => py_bytes_repr(b),
            };
            format!(
                "{}.setsockopt({}, {}, {v})",
                name(sock),
                level_name(*level),
                opt_name(*level, *opt)
            )
        }
        Op::GetSockOpt {
            sock, level, opt, ..
        } => format!(
            "{}.getsockopt({}, {})",
            name(sock),
            level_name(*level),
            opt_name(*level, *opt)
        ),
        Op::GetSockName { sock } => format!("{}.getsockname()", name(sock)),
        Op::GetPeerName { sock } => format!("{}.getpeername()", name(sock)),
        Op::SetTimeout { sock, timeout } => format!("{}.settimeout({})", name(sock), t(timeout)),
        Op::GetTimeout { sock } => format!("{}.gettimeout()", name(sock)),
        Op::SetBlocking { sock, blocking } => format!(
            "{}.setblocking({})",
            name(sock),
            if *blocking { "True" } else { "False" }
        ),
        Op::Fileno { sock } => format!("{}.fileno()", name(sock)),
    }
}

fn level_name(level: i64) -> String {
    match level {
        1 => "SOL_SOCKET".into(),
        6 => "IPPROTO_TCP".into(),
        41 => "IPPROTO_IPV6".into(),
        n => n.to_string(),
    }
}

fn opt_name(level: i64, opt: i64) -> String {
    let known = match (level, opt) {
        (1, 2) => "SO_REUSEADDR",
        (1, 15) => "SO_REUSEPORT",
        (1, 8) => "SO_RCVBUF",
        (1, 7) => "SO_SNDBUF",
        (1, 13) => "SO_LINGER",
        (1, 9) => "SO_KEEPALIVE",
        (1, 4) => "SO_ERROR",
        (1, 3) => "SO_TYPE",
        (6, 1) => "TCP_NODELAY",
        (41, 26) => "IPV6_V6ONLY",
        _ => return opt.to_string(),
    };
    known.to_string()
}

struct Ctx<'a> {
    sh: &'a Arc<Shared>,
    call: Option<CallId>,
    owner: &'a Owner,
    /// Bytes of each chunk kept in Data events.
    preview: usize,
}

impl Ctx<'_> {
    /// The call would block: say so once, and mark the sockets it waits on.
    fn mark_pending(&self, socks: &[SockId]) {
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

fn get(sh: &Shared, id: SockId) -> Result<Arc<SockEntry>, CallError> {
    sh.get_sock(id).ok_or_else(|| {
        CallError::os(
            libc::EBADF,
            "the socket is closed; create a new one with socket()",
        )
    })
}

fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

pub(crate) fn set_lab(sh: &Shared, entry: &SockEntry, to: LabState) {
    let from = {
        let mut st = entry.st();
        let from = st.lab;
        st.lab = to;
        from
    };
    if from != to {
        sh.emit(EventKind::LabState {
            sock: entry.id,
            from,
            to,
        });
    }
}

/// Report the endpoints if they changed, and remember connections.
pub(crate) fn refresh_endpoints(sh: &Shared, entry: &SockEntry) {
    let local = entry
        .local_addr()
        .filter(|a| a.port() != 0 || entry.ty == SockType::Dgram);
    let peer = entry.peer_addr();
    let changed = {
        let mut st = entry.st();
        let changed = st.local != local || st.peer != peer;
        st.local = local;
        st.peer = peer;
        changed
    };
    if changed {
        sh.emit(EventKind::Endpoints {
            sock: entry.id,
            local,
            peer,
        });
    }
    if let (Some(l), Some(p), SockType::Stream) = (local, peer, entry.ty) {
        sh.remember_tuple(l, p, entry.id);
    }
    super::capture::endpoints_changed(sh, None);
}

pub(crate) fn data_event(
    sh: &Shared,
    sock: SockId,
    dir: Dir,
    data: &[u8],
    addr: Option<SocketAddr>,
    preview: usize,
) {
    if dir == Dir::Sent
        && let Some(e) = sh.get_sock(sock)
    {
        e.st().last_sent_us = sh.now_us();
    }
    let keep = &data[..data.len().min(preview.min(DATA_KEEP))];
    sh.emit(EventKind::Data {
        sock,
        dir,
        data: Bytes::copy_from_slice(keep),
        len: data.len(),
        addr,
    });
}

/// Create and register a lab socket around an OS socket.
pub(crate) fn adopt(
    sh: &Shared,
    owner: &Owner,
    family: Family,
    ty: SockType,
    sock: Socket,
) -> Result<Arc<SockEntry>, CallError> {
    let id = sh.new_sock_id();
    let entry = SockEntry::new(id, owner.clone(), family, ty, sock)
        .map_err(|e| CallError::os(errno_of(&e), "could not register the socket"))?;
    let entry = Arc::new(entry);
    sh.insert_sock(entry.clone());
    sh.emit(EventKind::SocketCreated {
        sock: id,
        fd: entry.raw_fd,
        family,
        ty,
        owner: owner.clone(),
    });
    Ok(entry)
}

pub(crate) fn check_limit(sh: &Shared) -> Result<(), CallError> {
    if sh.sock_count() >= sh.cfg.max_sockets {
        return Err(CallError::lab(format!(
            "the lab holds {} sockets, its limit; close some first",
            sh.cfg.max_sockets
        )));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Bind,
    Connect,
}

pub(crate) fn resolve(
    sh: &Shared,
    family: Family,
    addr: &AddrArg,
    purpose: Purpose,
    method: &str,
) -> Result<SocketAddr, CallError> {
    if !(0..=65535).contains(&addr.port) {
        return Err(CallError::other(
            "OverflowError",
            format!("{method}(): port must be 0-65535."),
            "",
        ));
    }
    let port = addr.port as u16;
    let host = addr.host.trim();
    let ip: IpAddr = match (host, family) {
        ("", Family::V4) => Ipv4Addr::UNSPECIFIED.into(),
        ("", Family::V6) => Ipv6Addr::UNSPECIFIED.into(),
        ("localhost", Family::V4) => Ipv4Addr::LOCALHOST.into(),
        ("localhost", Family::V6) => Ipv6Addr::LOCALHOST.into(),
        (h, _) => match h.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => {
                return Err(CallError {
                    exc: "socket.gaierror".into(),
                    errno: Some(-2),
                    errno_name: Some("EAI_NONAME".into()),
                    message: "Name or service not known".into(),
                    explain: format!(
                        "'{h}' is not an IP address; socklab resolves only IP addresses and localhost"
                    ),
                });
            }
        },
    };
    let fits = matches!(
        (ip, family),
        (IpAddr::V4(_), Family::V4) | (IpAddr::V6(_), Family::V6)
    );
    if !fits {
        let (want, example) = match family {
            Family::V4 => ("AF_INET", "127.0.0.1"),
            Family::V6 => ("AF_INET6", "::1 (or ::ffff:127.0.0.1 for an IPv4 peer)"),
        };
        return Err(CallError {
            exc: "socket.gaierror".into(),
            errno: Some(-9),
            errno_name: Some("EAI_ADDRFAMILY".into()),
            message: "Address family for hostname not supported".into(),
            explain: format!("{host} does not fit an {want} socket; use {example}"),
        });
    }
    if !sh.cfg.allow_remote {
        let loopback = match ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        };
        if ip.is_unspecified() && purpose == Purpose::Bind {
            return Err(CallError::lab(format!(
                "binding {} would accept connections from other machines; socklab stays on loopback — bind {} instead, or start socklab with --allow-remote",
                if host.is_empty() { "''" } else { host },
                if family == Family::V4 {
                    "127.0.0.1"
                } else {
                    "::1"
                }
            )));
        }
        if !loopback && !ip.is_unspecified() {
            return Err(CallError::lab(format!(
                "{ip} is not a loopback address; socklab stays on this machine (127.0.0.1, ::1) unless started with --allow-remote"
            )));
        }
    }
    if purpose == Purpose::Connect {
        // The first segment leaves before the lab learns the local port:
        // let the capture see the destination's.
        super::capture::endpoints_changed(sh, Some(port));
    }
    Ok(SocketAddr::new(ip, port))
}

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

fn timed_out(what: &str, t: Duration) -> CallError {
    CallError::other(
        "TimeoutError",
        "timed out",
        format!("{what} within {} s (settimeout)", fmt_secs(t)),
    )
}

fn fmt_secs(t: Duration) -> String {
    let s = t.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s}")
    }
}

fn would_block(explain: impl Into<String>) -> CallError {
    CallError::os(libc::EAGAIN, explain)
}

/// Python's blocking for one call that may wait several times (a `sendall`
/// that drains a full buffer bit by bit): the socket's timeout spans all the
/// waits, and the call is reported pending once.
struct Deadline {
    until: Option<tokio::time::Instant>,
    timeout: Option<Duration>,
    pended: bool,
}

impl Deadline {
    fn new(timeout: Option<Duration>) -> Deadline {
        Deadline {
            until: timeout.map(|t| tokio::time::Instant::now() + t),
            timeout,
            pended: false,
        }
    }

    fn left(&self) -> Option<Duration> {
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
        nonblocking: impl FnOnce() -> String,
        what: impl FnOnce() -> String,
    ) -> Result<(), CallError> {
        if self.timeout == Some(Duration::ZERO) {
            return Err(would_block(nonblocking()));
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
            return Err(timed_out(&what(), self.timeout.unwrap_or_default()));
        }
        Ok(())
    }
}

async fn execute(ctx: &mut Ctx<'_>, op: Op) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    match op {
        Op::Socket { family, ty, proto } => op_socket(ctx, family, ty, proto),
        Op::Bind { sock, addr } => {
            let e = get(sh, sock)?;
            let sa = resolve(sh, e.family, &addr, Purpose::Bind, "bind")?;
            e.sock().bind(&SockAddr::from(sa)).map_err(|err| {
                let n = errno_of(&err);
                let explain = match n {
                    libc::EADDRINUSE => format!(
                        "another socket already holds {sa} (a listener, or a connection in TIME_WAIT; see SO_REUSEADDR)"
                    ),
                    libc::EINVAL => match e.local_addr().filter(|a| a.port() != 0) {
                        Some(a) => format!("this socket is already bound to {a}; a socket is bound once"),
                        None => format!(
                            "{} cannot be bound by this socket (an IPv4-mapped address on an IPV6_V6ONLY socket?)",
                            sa.ip()
                        ),
                    },
                    libc::EACCES => "ports below 1024 need privilege (root or CAP_NET_BIND_SERVICE)".into(),
                    libc::EADDRNOTAVAIL => format!("no interface on this machine has the address {}", sa.ip()),
                    _ => String::new(),
                };
                CallError::os(n, explain)
            })?;
            set_lab(sh, &e, LabState::Bound);
            refresh_endpoints(sh, &e);
            Ok(Ret::None)
        }
        Op::Listen { sock, backlog } => {
            let e = get(sh, sock)?;
            if e.ty == SockType::Dgram {
                return Err(CallError::os(
                    libc::EOPNOTSUPP,
                    "UDP has no connections: no listen() or accept(); just recvfrom()",
                ));
            }
            let unbound = e.local_addr().is_none_or(|a| a.port() == 0);
            if unbound && !sh.cfg.allow_remote {
                return Err(CallError::lab(
                    "listen() on an unbound socket binds it to every interface (0.0.0.0); bind it to (\"127.0.0.1\", port) first",
                ));
            }
            let backlog = backlog.unwrap_or(128).clamp(0, i32::MAX as i64) as i32;
            e.sock()
                .listen(backlog)
                .map_err(|err| CallError::os(errno_of(&err), ""))?;
            set_lab(sh, &e, LabState::Listening);
            refresh_endpoints(sh, &e);
            Ok(Ret::None)
        }
        Op::Accept { sock } => op_accept(ctx, sock).await,
        Op::Connect { sock, addr } => op_connect(ctx, sock, &addr, false).await,
        Op::ConnectEx { sock, addr } => op_connect(ctx, sock, &addr, true).await,
        Op::Send { sock, data, flags } => op_send(ctx, sock, data, flags, None, false).await,
        Op::SendAll { sock, data, flags } => op_send(ctx, sock, data, flags, None, true).await,
        Op::SendTo { sock, data, addr } => {
            let e = get(sh, sock)?;
            let sa = resolve(sh, e.family, &addr, Purpose::Connect, "sendto")?;
            op_send(ctx, sock, data, 0, Some(sa), false).await
        }
        Op::Recv {
            sock,
            bufsize,
            flags,
        } => op_recv(ctx, sock, bufsize, flags, false).await,
        Op::RecvFrom {
            sock,
            bufsize,
            flags,
        } => op_recv(ctx, sock, bufsize, flags, true).await,
        Op::Shutdown { sock, how } => {
            let e = get(sh, sock)?;
            let Some(shut) = Shut::from_how(how) else {
                return Err(CallError::os(
                    libc::EINVAL,
                    "how must be SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2)",
                ));
            };
            let std_how = match shut {
                Shut::Rd => std::net::Shutdown::Read,
                Shut::Wr => std::net::Shutdown::Write,
                Shut::RdWr => std::net::Shutdown::Both,
            };
            e.sock().shutdown(std_how).map_err(|err| {
                let n = errno_of(&err);
                let explain = if n == libc::ENOTCONN {
                    "shutdown() needs a connected socket"
                } else {
                    ""
                };
                CallError::os(n, explain)
            })?;
            let merged = {
                let mut st = e.st();
                let m = st.shut.map(|s| s.merge(shut)).unwrap_or(shut);
                st.shut = Some(m);
                m
            };
            set_lab(sh, &e, LabState::HalfClosed(merged));
            Ok(Ret::None)
        }
        Op::Close { sock } => {
            if let Some(entry) = sh.close_entry(sock, ctx.call) {
                // Wait (briefly) for cancelled tasks to drop their handles so
                // the descriptor is really closed when close() returns.
                for _ in 0..200 {
                    if Arc::strong_count(&entry) <= 1 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                drop(entry);
            }
            Ok(Ret::None)
        }
        Op::SetSockOpt {
            sock,
            level,
            opt,
            value,
        } => {
            let e = get(sh, sock)?;
            setsockopt(&e, level, opt, &value)?;
            Ok(Ret::None)
        }
        Op::GetSockOpt {
            sock,
            level,
            opt,
            buflen,
        } => {
            let e = get(sh, sock)?;
            getsockopt(&e, level, opt, buflen)
        }
        Op::GetSockName { sock } => {
            let e = get(sh, sock)?;
            let a = e
                .sock()
                .local_addr()
                .map_err(|err| CallError::os(errno_of(&err), ""))?;
            Ok(Ret::Addr(
                a.as_socket().unwrap_or_else(|| unspecified(e.family)),
            ))
        }
        Op::GetPeerName { sock } => {
            let e = get(sh, sock)?;
            match e.peer_addr() {
                Some(a) => Ok(Ret::Addr(a)),
                None => Err(CallError::os(
                    libc::ENOTCONN,
                    "this socket is not connected to anyone",
                )),
            }
        }
        Op::SetTimeout { sock, timeout } => {
            let e = get(sh, sock)?;
            let t = match timeout {
                None => None,
                Some(v) if v.is_finite() && v >= 0.0 => Some(Duration::from_secs_f64(v.min(1e9))),
                Some(_) => {
                    return Err(CallError::other(
                        "ValueError",
                        "Timeout value out of range",
                        "",
                    ));
                }
            };
            e.st().timeout = t;
            Ok(Ret::None)
        }
        Op::GetTimeout { sock } => {
            let e = get(sh, sock)?;
            let t = e.st().timeout;
            Ok(Ret::Timeout(t.map(|d| d.as_secs_f64())))
        }
        Op::SetBlocking { sock, blocking } => {
            let e = get(sh, sock)?;
            e.st().timeout = if blocking { None } else { Some(Duration::ZERO) };
            Ok(Ret::None)
        }
        Op::Fileno { sock } => Ok(Ret::Int(
            sh.get_sock(sock).map(|e| e.raw_fd as i64).unwrap_or(-1),
        )),
        Op::Select {
            rlist,
            wlist,
            xlist,
            timeout,
        } => op_select(ctx, rlist, wlist, xlist, timeout).await,
    }
}

fn unspecified(family: Family) -> SocketAddr {
    match family {
        Family::V4 => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
        Family::V6 => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0),
    }
}

fn op_socket(ctx: &mut Ctx<'_>, family: i64, ty: i64, proto: i64) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    check_limit(sh)?;
    let (fam, domain) = match family {
        2 => (Family::V4, Domain::IPV4),
        10 => (Family::V6, Domain::IPV6),
        _ => {
            return Err(CallError::os(
                libc::EAFNOSUPPORT,
                "socklab's sockets are AF_INET or AF_INET6",
            ));
        }
    };
    let (kind, stype, want_proto) = match ty {
        1 => (SockType::Stream, Type::STREAM, 6),
        2 => (SockType::Dgram, Type::DGRAM, 17),
        _ => {
            return Err(CallError::os(
                libc::ESOCKTNOSUPPORT,
                "socklab's sockets are SOCK_STREAM (TCP) or SOCK_DGRAM (UDP)",
            ));
        }
    };
    if proto != 0 && proto != want_proto {
        return Err(CallError::os(
            libc::EPROTONOSUPPORT,
            "use proto 0 (the default for the type)",
        ));
    }
    let protocol = if kind == SockType::Stream {
        Protocol::TCP
    } else {
        Protocol::UDP
    };
    let s = Socket::new(domain, stype, Some(protocol))
        .map_err(|e| CallError::os(errno_of(&e), "the kernel refused a new socket"))?;
    let entry = adopt(sh, ctx.owner, fam, kind, s)?;
    Ok(Ret::Socket(entry.id))
}

async fn op_accept(ctx: &mut Ctx<'_>, sock: SockId) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    if e.ty == SockType::Dgram {
        return Err(CallError::os(
            libc::EOPNOTSUPP,
            "UDP has no connections to accept; use recvfrom()",
        ));
    }
    let mut deadline = Deadline::new(e.st().timeout);
    loop {
        match e.sock().accept() {
            Ok((s, addr)) => {
                check_limit(sh)?;
                let new = adopt(sh, ctx.owner, e.family, SockType::Stream, s)?;
                set_lab(sh, &new, LabState::Connected);
                refresh_endpoints(sh, &new);
                let peer = addr.as_socket().unwrap_or_else(|| unspecified(e.family));
                return Ok(Ret::Accepted(new.id, peer));
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                deadline
                    .block(
                        ctx,
                        &e,
                        Interest::READABLE,
                        || "no connection is waiting in the accept queue yet".into(),
                        || "no client connected".into(),
                    )
                    .await?;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                let n = errno_of(&err);
                let explain = if n == libc::EINVAL {
                    "accept() needs a listening socket: call listen() first"
                } else {
                    ""
                };
                return Err(CallError::os(n, explain));
            }
        }
    }
}

fn connect_explain(n: i32, sa: SocketAddr, udp: bool) -> String {
    match n {
        libc::ECONNREFUSED if udp => format!(
            "an earlier datagram to {sa} was answered with ICMP port unreachable: nothing listens there"
        ),
        libc::ECONNREFUSED => {
            format!("nothing is listening on {sa} (the SYN was answered with RST)")
        }
        libc::ETIMEDOUT => format!("{sa} never answered the SYN"),
        libc::EISCONN => "this socket is already connected".into(),
        libc::EALREADY => "a connect() on this socket is still in progress".into(),
        libc::EINVAL => "a listening socket cannot connect".into(),
        libc::EADDRNOTAVAIL => "no free local port or address for this connection".into(),
        _ => String::new(),
    }
}

async fn op_connect(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    addr: &AddrArg,
    ex: bool,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    let method = if ex { "connect_ex" } else { "connect" };
    let sa = resolve(sh, e.family, addr, Purpose::Connect, method)?;
    let udp = e.ty == SockType::Dgram;
    let before = e.st().lab;
    let fail = |n: i32| -> Result<Ret, CallError> {
        if ex {
            Ok(Ret::Int(n as i64))
        } else {
            Err(CallError::os(n, connect_explain(n, sa, udp)))
        }
    };
    match e.sock().connect(&SockAddr::from(sa)) {
        Ok(()) => {
            set_lab(sh, &e, LabState::Connected);
            refresh_endpoints(sh, &e);
            return if ex { Ok(Ret::Int(0)) } else { Ok(Ret::None) };
        }
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(err) => {
            let n = errno_of(&err);
            if n == libc::EISCONN && e.st().connecting {
                // A non-blocking connect finished in the background.
                e.st().connecting = false;
                set_lab(sh, &e, LabState::Connected);
                refresh_endpoints(sh, &e);
                return if ex { Ok(Ret::Int(0)) } else { Ok(Ret::None) };
            }
            return fail(n);
        }
    }
    // The handshake is under way.
    set_lab(sh, &e, LabState::Connecting);
    refresh_endpoints(sh, &e);
    let timeout = e.st().timeout;
    if timeout == Some(Duration::ZERO) {
        e.st().connecting = true;
        return fail(libc::EINPROGRESS);
    }
    ctx.mark_pending(&[sock]);
    let ok = wait_ready(&e, Interest::WRITABLE, timeout)
        .await
        .map_err(|err| CallError::os(errno_of(&err), ""))?;
    if !ok {
        set_lab(sh, &e, before);
        return Err(timed_out(
            "the handshake did not finish",
            timeout.unwrap_or_default(),
        ));
    }
    match e.sock().take_error() {
        Ok(None) => {
            // The kernel marks the socket connected only when connect() is
            // called again after a non-blocking start (a blocking connect
            // does it inside the call). Without this, a second connect()
            // would return 0 instead of EISCONN as it does in Python.
            let _ = e.sock().connect(&SockAddr::from(sa));
            set_lab(sh, &e, LabState::Connected);
            refresh_endpoints(sh, &e);
            if ex { Ok(Ret::Int(0)) } else { Ok(Ret::None) }
        }
        Ok(Some(err)) | Err(err) => {
            // Reading SO_ERROR leaves the kernel's socket half-way (still
            // "connecting"); one more connect() resets it, as a blocking
            // connect would have, so the student can simply try again.
            let _ = e.sock().connect(&SockAddr::from(sa));
            set_lab(sh, &e, before);
            refresh_endpoints(sh, &e);
            fail(errno_of(&err))
        }
    }
}

fn send_explain(n: i32) -> &'static str {
    match n {
        libc::EPIPE => {
            "the connection is gone (the other side closed or reset it); nothing more can be sent"
        }
        libc::ECONNRESET => "the other side reset the connection (RST)",
        libc::ENOTCONN => "connect() first (or use sendto() with an address for UDP)",
        libc::EDESTADDRREQ => {
            "this UDP socket has no default peer: use sendto(data, address) or connect() first"
        }
        libc::EMSGSIZE => "a UDP datagram on loopback holds at most 65507 bytes",
        libc::ECONNREFUSED => {
            "an earlier datagram was answered with ICMP port unreachable: nothing listens there"
        }
        libc::EISCONN => "this socket is connected; use send()",
        _ => "",
    }
}

async fn op_send(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    data: Bytes,
    flags: i64,
    to: Option<SocketAddr>,
    all: bool,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    let dontwait = flags as i32 & libc::MSG_DONTWAIT != 0;
    let flags = (flags as i32) | libc::MSG_NOSIGNAL;
    let timeout = if dontwait {
        Some(Duration::ZERO)
    } else {
        e.st().timeout
    };
    // A blocking TCP send (no timeout) returns only once the kernel has
    // queued everything, as Linux's send(2) does; with a timeout, Python
    // waits once and sends what fits, so the count can be short.
    let whole = all || (timeout.is_none() && e.ty == SockType::Stream);
    let mut deadline = Deadline::new(timeout);
    let mut sent = 0usize;
    loop {
        let rest = &data[sent..];
        let r = match to {
            Some(sa) => e
                .sock()
                .send_to_with_flags(rest, &SockAddr::from(sa), flags),
            None => e.sock().send_with_flags(rest, flags),
        };
        match r {
            Ok(n) => {
                if n > 0 || rest.is_empty() || e.ty == SockType::Dgram {
                    data_event(sh, sock, Dir::Sent, &rest[..n], to, ctx.preview);
                }
                if to.is_some() {
                    refresh_endpoints(sh, &e);
                }
                sent += n;
                if !whole || sent >= data.len() {
                    return Ok(if all {
                        Ret::None
                    } else {
                        Ret::Int(sent as i64)
                    });
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                let total = data.len();
                deadline
                    .block(
                        ctx,
                        &e,
                        Interest::WRITABLE,
                        || {
                            if sent > 0 {
                                format!("the send buffer filled after {sent} bytes; the rest was not sent")
                            } else {
                                "the send buffer is full (see Send-Q); the receiver is not reading".into()
                            }
                        },
                        || format!("the buffer did not drain ({sent} of {total} bytes sent)"),
                    )
                    .await?;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            // send(2) reports what it queued before the error; sendall raises.
            Err(_) if !all && sent > 0 => return Ok(Ret::Int(sent as i64)),
            Err(err) => {
                let n = errno_of(&err);
                return Err(CallError::os(n, send_explain(n)));
            }
        }
    }
}

fn recv_into(
    s: &Socket,
    buf: &mut Vec<u8>,
    flags: i32,
    from: bool,
) -> io::Result<(usize, Option<SocketAddr>)> {
    let spare: &mut [MaybeUninit<u8>] = buf.spare_capacity_mut();
    let (n, addr) = if from {
        let (n, a) = s.recv_from_with_flags(spare, flags)?;
        (n, a.as_socket())
    } else {
        (s.recv_with_flags(spare, flags)?, None)
    };
    // SAFETY: the kernel initialised the first `n` bytes of the spare capacity.
    unsafe { buf.set_len(n) };
    Ok((n, addr))
}

async fn op_recv(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    bufsize: i64,
    flags: i64,
    from: bool,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    let method = if from { "recvfrom" } else { "recv" };
    if bufsize < 0 {
        return Err(CallError::other(
            "ValueError",
            format!("negative buffersize in {method}"),
            "",
        ));
    }
    if bufsize > MAX_RECV {
        return Err(CallError::other(
            "ValueError",
            format!("socklab limits {method}() to {MAX_RECV} bytes at a time"),
            "",
        ));
    }
    let mut buf: Vec<u8> = Vec::with_capacity(bufsize as usize);
    let timeout = if flags as i32 & libc::MSG_DONTWAIT != 0 {
        Some(Duration::ZERO)
    } else {
        e.st().timeout
    };
    let mut deadline = Deadline::new(timeout);
    loop {
        buf.clear();
        match recv_into(e.sock(), &mut buf, flags as i32, from) {
            Ok((n, addr)) => {
                if n > 0 || e.ty == SockType::Dgram {
                    data_event(sh, sock, Dir::Received, &buf, addr, ctx.preview);
                }
                let data = Bytes::from(buf);
                return Ok(match (from, addr) {
                    (true, Some(a)) => Ret::Datagram(data, a),
                    (true, None) => Ret::Datagram(data, unspecified(e.family)),
                    _ => Ret::Bytes(data),
                });
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                if bufsize == 0 {
                    return Ok(Ret::Bytes(Bytes::new()));
                }
                deadline
                    .block(
                        ctx,
                        &e,
                        Interest::READABLE,
                        || "nothing has arrived yet (Recv-Q is 0)".into(),
                        || "nothing arrived".into(),
                    )
                    .await?;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                let n = errno_of(&err);
                let explain = match n {
                    libc::ECONNRESET => {
                        "the other side reset the connection (RST): it closed with unread data, or aborted"
                    }
                    libc::ENOTCONN => {
                        "recv() needs a connected socket (accept() or connect() first)"
                    }
                    libc::ECONNREFUSED => {
                        "an earlier datagram was answered with ICMP port unreachable: nothing listens there"
                    }
                    libc::EINVAL => "this socket cannot receive (is it a listening socket?)",
                    _ => "",
                };
                return Err(CallError::os(n, explain));
            }
        }
    }
}

fn setsockopt(e: &SockEntry, level: i64, opt: i64, value: &OptVal) -> Result<(), CallError> {
    let fd = e.sock().as_raw_fd();
    let int_buf: libc::c_int;
    let (ptr, len) = match value {
        OptVal::Int(v) => {
            int_buf = (*v).clamp(i32::MIN as i64, i32::MAX as i64) as libc::c_int;
            (
                &int_buf as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>(),
            )
        }
        OptVal::Bytes(b) => (b.as_ptr() as *const libc::c_void, b.len()),
    };
    // SAFETY: ptr/len describe a live buffer for the duration of the call.
    let r = unsafe { libc::setsockopt(fd, level as i32, opt as i32, ptr, len as libc::socklen_t) };
    if r != 0 {
        let n = errno_of(&io::Error::last_os_error());
        let explain = match n {
            libc::ENOPROTOOPT => "the kernel knows no such option at this level",
            libc::EINVAL if opt == libc::SO_LINGER as i64 => {
                "SO_LINGER takes 8 bytes (struct linger: on, seconds), e.g. b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00'"
            }
            _ => "",
        };
        return Err(CallError::os(n, explain));
    }
    Ok(())
}

fn getsockopt(e: &SockEntry, level: i64, opt: i64, buflen: Option<i64>) -> Result<Ret, CallError> {
    let fd = e.sock().as_raw_fd();
    let cap = match buflen {
        None => std::mem::size_of::<libc::c_int>(),
        Some(n) if (0..=1024).contains(&n) => n as usize,
        Some(_) => {
            return Err(CallError::os(
                libc::EINVAL,
                "buflen must be between 0 and 1024",
            ));
        }
    };
    let mut buf = vec![0u8; cap.max(4)];
    let mut len = cap as libc::socklen_t;
    // SAFETY: buf has at least `len` bytes.
    let r = unsafe {
        libc::getsockopt(
            fd,
            level as i32,
            opt as i32,
            buf.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    };
    if r != 0 {
        let n = errno_of(&io::Error::last_os_error());
        return Err(CallError::os(
            n,
            if n == libc::ENOPROTOOPT {
                "the kernel knows no such option at this level"
            } else {
                ""
            },
        ));
    }
    match buflen {
        None => Ok(Ret::Int(
            i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as i64,
        )),
        Some(_) => {
            buf.truncate(len as usize);
            Ok(Ret::RawOpt(Bytes::from(buf)))
        }
    }
}

fn poll_now(entries: &[(Arc<SockEntry>, i16)]) -> Vec<i16> {
    let mut fds: Vec<libc::pollfd> = entries
        .iter()
        .map(|(e, ev)| libc::pollfd {
            fd: e.raw_fd,
            events: *ev,
            revents: 0,
        })
        .collect();
    // SAFETY: fds is a valid array of pollfd of the given length.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
    if r < 0 {
        return vec![0; entries.len()];
    }
    fds.iter().map(|p| p.revents).collect()
}

async fn op_select(
    ctx: &mut Ctx<'_>,
    rlist: Vec<SockId>,
    wlist: Vec<SockId>,
    xlist: Vec<SockId>,
    timeout: Option<f64>,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let timeout = match timeout {
        None => None,
        Some(t) if t.is_finite() && t >= 0.0 => Some(Duration::from_secs_f64(t.min(1e9))),
        Some(_) => {
            return Err(CallError::other(
                "ValueError",
                "timeout must be non-negative",
                "",
            ));
        }
    };
    let mut entries = Vec::new();
    for (list, ev) in [
        (&rlist, libc::POLLIN),
        (&wlist, libc::POLLOUT),
        (&xlist, libc::POLLPRI),
    ] {
        for id in list {
            let e = sh
                .get_sock(*id)
                .ok_or_else(|| CallError::os(libc::EBADF, "select() was given a closed socket"))?;
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
