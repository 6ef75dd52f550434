//! A socket's life: `socket`, `bind`, `listen`, `accept`, `connect`,
//! `shutdown`, `close`, and the names it has on each end.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;

use super::super::error::{Call, CallError, Facts, Note, explain};
use super::super::sock::SockEntry;
use super::super::types::*;
use super::policy::{Purpose, check_limit, resolve};
use super::state::{adopt, refresh_endpoints, set_lab, unspecified};
use super::wait::{Blocked, Deadline, timed_out, wait_ready};
use super::{Ctx, errno_of, get};

/// What the lab knows about `e`, for an explanation.
pub(super) fn facts(e: &SockEntry, addr: Option<SocketAddr>) -> Facts {
    let st = e.st();
    Facts {
        addr,
        local: st.local.filter(|a| a.port() != 0),
        shut_wr: st.shut.is_some_and(|s| matches!(s, Shut::Wr | Shut::RdWr)),
        shut_early: st.shut_early,
    }
}

fn os_err(call: Call, e: &SockEntry, addr: Option<SocketAddr>, err: &io::Error) -> CallError {
    let n = errno_of(err);
    CallError::os(n, explain(call, n, &facts(e, addr)))
}

pub(super) fn socket(
    ctx: &mut Ctx<'_>,
    family: i64,
    ty: i64,
    proto: i64,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    check_limit(sh, ctx.owner)?;
    let supported = match (family, ty) {
        (2, 1) => Some((Family::V4, Domain::IPV4, SockType::Stream, Type::STREAM, 6)),
        (2, 2) => Some((Family::V4, Domain::IPV4, SockType::Dgram, Type::DGRAM, 17)),
        (10, 1) => Some((Family::V6, Domain::IPV6, SockType::Stream, Type::STREAM, 6)),
        (10, 2) => Some((Family::V6, Domain::IPV6, SockType::Dgram, Type::DGRAM, 17)),
        _ => None,
    };
    let supported = supported.filter(|s| proto == 0 || proto == s.4);
    let Some((fam, domain, kind, stype, _)) = supported else {
        return Err(refused_socket(family, ty, proto));
    };
    let protocol = if kind == SockType::Stream {
        Protocol::TCP
    } else {
        Protocol::UDP
    };
    let s = Socket::new(domain, stype, Some(protocol))
        .map_err(|e| CallError::os(errno_of(&e), Note::new("explain.socket_refused")))?;
    let entry = adopt(sh, ctx.owner, fam, kind, s)?;
    Ok(Ret::Socket(entry.id))
}

/// A `socket()` socklab does not make: the kernel's own errno when the kernel
/// refuses it too (EINVAL for a bad type, EAFNOSUPPORT, EPROTONOSUPPORT, as
/// Python reports them), a LabError when only socklab does (AF_UNIX, raw).
fn refused_socket(family: i64, ty: i64, proto: i64) -> CallError {
    let (Ok(f), Ok(t), Ok(p)) = (
        i32::try_from(family),
        i32::try_from(ty),
        i32::try_from(proto),
    ) else {
        return CallError::os(libc::EINVAL, "");
    };
    // SAFETY: socket(2) with plain integers; a descriptor it returns is closed at once.
    let fd = unsafe { libc::socket(f, t, p) };
    if fd < 0 {
        let errno = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL);
        let why = match errno {
            libc::EAFNOSUPPORT => "explain.socket_family",
            libc::EINVAL | libc::ESOCKTNOSUPPORT => "explain.socket_type",
            libc::EPROTONOSUPPORT => "explain.socket_proto",
            _ => "explain.socket_refused",
        };
        return CallError::os(errno, Note::new(why));
    }
    // SAFETY: fd was just returned by socket(2) and is owned here.
    unsafe { libc::close(fd) };
    CallError::lab_note(Note::new("lab.socket_kinds"))
}

pub(super) fn bind(ctx: &mut Ctx<'_>, sock: SockId, addr: &AddrArg) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    let sa = resolve(sh, e.family, addr, Purpose::Bind, "bind")?;
    e.sock()
        .bind(&SockAddr::from(sa))
        .map_err(|err| os_err(Call::Bind, &e, Some(sa), &err))?;
    set_lab(sh, &e, LabState::Bound);
    refresh_endpoints(sh, &e);
    Ok(Ret::None)
}

pub(super) fn listen(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    backlog: Option<i64>,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    if e.ty == SockType::Dgram {
        return Err(CallError::os(
            libc::EOPNOTSUPP,
            explain(Call::Listen, libc::EOPNOTSUPP, &Facts::default()),
        ));
    }
    let unbound = e.local_addr().is_none_or(|a| a.port() == 0);
    if unbound && !sh.cfg.allow_remote {
        return Err(CallError::lab_note(Note::new("lab.listen_unbound")));
    }
    let backlog = backlog.unwrap_or(128).clamp(0, i32::MAX as i64) as i32;
    e.sock()
        .listen(backlog)
        .map_err(|err| os_err(Call::Listen, &e, None, &err))?;
    set_lab(sh, &e, LabState::Listening);
    refresh_endpoints(sh, &e);
    Ok(Ret::None)
}

pub(super) async fn accept(ctx: &mut Ctx<'_>, sock: SockId) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    if e.ty == SockType::Dgram {
        return Err(CallError::os(
            libc::EOPNOTSUPP,
            explain(Call::Accept, libc::EOPNOTSUPP, &Facts::default()),
        ));
    }
    // Checked before the connection leaves the accept queue: refusing it
    // afterwards would close a connection the client thinks is open.
    check_limit(sh, ctx.owner)?;
    let mut deadline = Deadline::new(e.st().timeout);
    let r = deadline
        .retry(
            ctx,
            &e,
            Interest::READABLE,
            || e.sock().accept(),
            Blocked {
                nonblocking: || Note::new("explain.eagain_accept"),
                what: || Note::new("explain.timeout_accept"),
            },
        )
        .await?;
    let (s, addr) = r.map_err(|err| os_err(Call::Accept, &e, None, &err))?;
    let new = adopt(sh, ctx.owner, e.family, SockType::Stream, s)?;
    set_lab(sh, &new, LabState::Connected);
    refresh_endpoints(sh, &new);
    let peer = addr.as_socket().unwrap_or_else(|| unspecified(e.family));
    Ok(Ret::Accepted(new.id, peer))
}

pub(super) async fn connect(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    addr: &AddrArg,
    ex: bool,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    let method = if ex { "connect_ex" } else { "connect" };
    let sa = resolve(sh, e.family, addr, Purpose::Connect, method)?;
    let call = if e.ty == SockType::Dgram {
        Call::ConnectUdp
    } else {
        Call::Connect
    };
    let before = e.st().lab;
    let fail = |n: i32| -> Result<Ret, CallError> {
        if ex {
            Ok(Ret::Int(n as i64))
        } else {
            Err(CallError::os(n, explain(call, n, &facts(&e, Some(sa)))))
        }
    };
    let done = |e: &SockEntry| -> Result<Ret, CallError> {
        // A shutdown made before connect() still holds (Linux keeps it).
        let shut = e.st().shut;
        set_lab(
            sh,
            e,
            shut.map_or(LabState::Connected, LabState::HalfClosed),
        );
        refresh_endpoints(sh, e);
        if ex { Ok(Ret::Int(0)) } else { Ok(Ret::None) }
    };
    match e.sock().connect(&SockAddr::from(sa)) {
        Ok(()) => return done(&e),
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(err) => {
            let n = errno_of(&err);
            if n == libc::EISCONN && e.st().connecting {
                // A non-blocking connect finished in the background.
                e.st().connecting = false;
                return done(&e);
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
            Note::new("explain.timeout_connect"),
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
            done(&e)
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

pub(super) fn shutdown(ctx: &mut Ctx<'_>, sock: SockId, how: i64) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    let Some(shut) = Shut::from_how(how) else {
        return Err(CallError::os(
            libc::EINVAL,
            explain(Call::Shutdown, libc::EINVAL, &Facts::default()),
        ));
    };
    let std_how = match shut {
        Shut::Rd => std::net::Shutdown::Read,
        Shut::Wr => std::net::Shutdown::Write,
        Shut::RdWr => std::net::Shutdown::Both,
    };
    let merge = |e: &SockEntry| {
        let mut st = e.st();
        let m = st.shut.map(|s| s.merge(shut)).unwrap_or(shut);
        st.shut = Some(m);
        m
    };
    if let Err(err) = e.sock().shutdown(std_how) {
        if err.raw_os_error() == Some(libc::ENOTCONN) && e.ty == SockType::Stream {
            // Linux records the shutdown even though it says ENOTCONN: a
            // later connect() succeeds, but send() fails with EPIPE. The lab
            // remembers it so that EPIPE can be explained, and shows it.
            merge(&e);
            e.st().shut_early = true;
        }
        return Err(os_err(Call::Shutdown, &e, None, &err));
    }
    let merged = merge(&e);
    set_lab(sh, &e, LabState::HalfClosed(merged));
    Ok(Ret::None)
}

pub(super) async fn close(ctx: &mut Ctx<'_>, sock: SockId) -> Result<Ret, CallError> {
    if let Some(entry) = ctx.sh.close_entry(sock, ctx.call) {
        // Wait (briefly) for cancelled tasks to drop their handles so the
        // descriptor is really closed when close() returns.
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

pub(super) fn getsockname(ctx: &mut Ctx<'_>, sock: SockId) -> Result<Ret, CallError> {
    let e = get(ctx.sh, sock)?;
    let a = e
        .sock()
        .local_addr()
        .map_err(|err| CallError::os(errno_of(&err), ""))?;
    Ok(Ret::Addr(
        a.as_socket().unwrap_or_else(|| unspecified(e.family)),
    ))
}

pub(super) fn getpeername(ctx: &mut Ctx<'_>, sock: SockId) -> Result<Ret, CallError> {
    let e = get(ctx.sh, sock)?;
    match e.peer_addr() {
        Some(a) => Ok(Ret::Addr(a)),
        None => Err(CallError::os(
            libc::ENOTCONN,
            Note::new("explain.not_connected_peer"),
        )),
    }
}
