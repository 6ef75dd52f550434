//! Socket options (`setsockopt` / `getsockopt`) and Python's timeouts
//! (`settimeout`, `gettimeout`, `setblocking`).

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use bytes::Bytes;

use super::super::error::{Call, CallError, Facts, Note, explain};
use super::super::types::*;
use super::policy::check_option;
use super::{Ctx, errno_of, get};

/// A number the C call takes as `int`: out of range is Python's OverflowError.
fn c_int(v: i64) -> Result<libc::c_int, CallError> {
    libc::c_int::try_from(v).map_err(|_| {
        CallError::other(
            "OverflowError",
            if v < 0 {
                "signed integer is less than minimum"
            } else {
                "signed integer is greater than maximum"
            },
            "",
        )
    })
}

fn opt_error(opt: i32) -> CallError {
    let n = errno_of(&io::Error::last_os_error());
    let explain = match n {
        libc::EINVAL if opt == libc::SO_LINGER => Note::new("explain.so_linger_size"),
        _ => explain(Call::SockOpt, n, &Facts::default()),
    };
    CallError::os(n, explain)
}

pub(super) fn setsockopt(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    level: i64,
    opt: i64,
    value: &OptVal,
) -> Result<Ret, CallError> {
    let e = get(ctx.sh, sock)?;
    let (level, opt) = (c_int(level)?, c_int(opt)?);
    check_option(ctx.sh, level, opt)?;
    let fd = e.sock().as_raw_fd();
    let int_buf: libc::c_int;
    let (ptr, len) = match value {
        OptVal::Int(v) => {
            int_buf = c_int(*v)?;
            (
                &int_buf as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>(),
            )
        }
        OptVal::Bytes(b) => (b.as_ptr() as *const libc::c_void, b.len()),
    };
    let len = libc::socklen_t::try_from(len)
        .map_err(|_| CallError::os(libc::EINVAL, Note::new("explain.option_too_long")))?;
    // SAFETY: `ptr` points at `len` initialised bytes (`int_buf` or the
    // bytes value), both alive until the call returns; the kernel only reads.
    let r = unsafe { libc::setsockopt(fd, level, opt, ptr, len) };
    if r != 0 {
        return Err(opt_error(opt));
    }
    Ok(Ret::None)
}

pub(super) fn getsockopt(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    level: i64,
    opt: i64,
    buflen: Option<i64>,
) -> Result<Ret, CallError> {
    let e = get(ctx.sh, sock)?;
    let (level, opt) = (c_int(level)?, c_int(opt)?);
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
    // SAFETY: `buf` has at least `len` writable bytes, and `len` is a valid
    // socklen_t the kernel updates with the size it wrote (≤ the given len).
    let r = unsafe {
        libc::getsockopt(
            fd,
            level,
            opt,
            buf.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    };
    if r != 0 {
        return Err(opt_error(opt));
    }
    match buflen {
        None => Ok(Ret::Int(
            i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as i64,
        )),
        Some(_) => {
            buf.truncate((len as usize).min(cap));
            Ok(Ret::RawOpt(Bytes::from(buf)))
        }
    }
}

/// Seconds as Python takes them for a timeout; None blocks forever.
pub(super) fn timeout_arg(v: Option<f64>, what: &str) -> Result<Option<Duration>, CallError> {
    match v {
        None => Ok(None),
        // Duration::from_secs_f64 panics past u64 seconds: a billion seconds
        // (31 years) is as good as forever.
        Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(Duration::from_secs_f64(v.min(1e9)))),
        Some(_) => Err(CallError::other("ValueError", what, "")),
    }
}

pub(super) fn settimeout(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    timeout: Option<f64>,
) -> Result<Ret, CallError> {
    let e = get(ctx.sh, sock)?;
    e.st().timeout = timeout_arg(timeout, "Timeout value out of range")?;
    Ok(Ret::None)
}

pub(super) fn gettimeout(ctx: &mut Ctx<'_>, sock: SockId) -> Result<Ret, CallError> {
    let e = get(ctx.sh, sock)?;
    let t = e.st().timeout;
    Ok(Ret::Timeout(t.map(|d| d.as_secs_f64())))
}

pub(super) fn setblocking(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    blocking: bool,
) -> Result<Ret, CallError> {
    let e = get(ctx.sh, sock)?;
    e.st().timeout = if blocking { None } else { Some(Duration::ZERO) };
    Ok(Ret::None)
}
