//! Moving bytes: `send`, `sendall`, `sendto`, `recv`, `recvfrom`, for
//! streams and datagrams alike.

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use socket2::{SockAddr, Socket};
use tokio::io::Interest;

use super::super::error::{Call, CallError, Note, explain};
use super::super::types::*;
use super::setup::facts;
use super::state::{data_event, refresh_endpoints, unspecified};
use super::wait::{Blocked, Deadline};
use super::{Ctx, errno_of, get};

/// The most `recv()` may ask for in one call.
const MAX_RECV: i64 = 64 * 1024 * 1024;

/// The flags the lab passes on to the kernel. Others change what a call
/// returns in ways the lab does not model (MSG_TRUNC makes recv report a
/// datagram's full length, not what was copied), so they are refused.
const RECV_FLAGS: &[(i32, &str)] = &[
    (libc::MSG_PEEK, "MSG_PEEK"),
    (libc::MSG_DONTWAIT, "MSG_DONTWAIT"),
    (libc::MSG_WAITALL, "MSG_WAITALL"),
    (libc::MSG_OOB, "MSG_OOB"),
];
const SEND_FLAGS: &[(i32, &str)] = &[
    (libc::MSG_DONTWAIT, "MSG_DONTWAIT"),
    (libc::MSG_OOB, "MSG_OOB"),
    (libc::MSG_MORE, "MSG_MORE"),
    (libc::MSG_NOSIGNAL, "MSG_NOSIGNAL"),
];

/// `flags` as the kernel's int, if every bit is one the lab supports.
fn check_flags(method: &str, flags: i64, allowed: &[(i32, &str)]) -> Result<i32, CallError> {
    let Ok(f) = i32::try_from(flags) else {
        return Err(CallError::other(
            "OverflowError",
            if flags < 0 {
                "signed integer is less than minimum"
            } else {
                "signed integer is greater than maximum"
            },
            "",
        ));
    };
    let known = allowed.iter().fold(0, |acc, (bit, _)| acc | bit);
    if f & !known != 0 {
        let names: Vec<&str> = allowed.iter().map(|(_, n)| *n).collect();
        return Err(CallError::lab_note(
            Note::new("lab.flags_unsupported")
                .with("method", method)
                .with("flags", format!("{:#x}", f & !known))
                .with("known", names.join(", ")),
        ));
    }
    Ok(f)
}

pub(super) async fn send(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    data: Bytes,
    flags: i64,
    to: Option<SocketAddr>,
    all: bool,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    let method = match (all, to) {
        (true, _) => "sendall",
        (false, Some(_)) => "sendto",
        _ => "send",
    };
    let flags = check_flags(method, flags, SEND_FLAGS)? | libc::MSG_NOSIGNAL;
    let timeout = if flags & libc::MSG_DONTWAIT != 0 {
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
    let total = data.len();
    loop {
        let rest = &data[sent..];
        let so_far = sent;
        let r = deadline
            .retry(
                ctx,
                &e,
                Interest::WRITABLE,
                || match to {
                    Some(sa) => e
                        .sock()
                        .send_to_with_flags(rest, &SockAddr::from(sa), flags),
                    None => e.sock().send_with_flags(rest, flags),
                },
                Blocked {
                    nonblocking: || {
                        if so_far > 0 {
                            Note::new("explain.eagain_send_partial").with("sent", so_far)
                        } else {
                            Note::new("explain.eagain_send")
                        }
                    },
                    what: || {
                        Note::new("explain.timeout_send")
                            .with("sent", so_far)
                            .with("total", total)
                    },
                },
            )
            .await;
        match r? {
            Ok(n) => {
                if n > 0 || rest.is_empty() || e.ty == SockType::Dgram {
                    data_event(
                        sh,
                        sock,
                        Dir::Sent,
                        &rest[..n.min(rest.len())],
                        to,
                        ctx.preview,
                    );
                }
                if to.is_some() {
                    refresh_endpoints(sh, &e);
                }
                sent += n.min(rest.len());
                if !whole || sent >= total {
                    return Ok(if all {
                        Ret::None
                    } else {
                        Ret::Int(sent as i64)
                    });
                }
            }
            // send(2) reports what it queued before the error; sendall raises.
            Err(_) if !all && sent > 0 => return Ok(Ret::Int(sent as i64)),
            Err(err) => {
                let n = errno_of(&err);
                return Err(CallError::os(n, explain(Call::Send, n, &facts(&e, to))));
            }
        }
    }
}

/// One `recv` into the spare capacity of `buf`; `buf.len()` is what was
/// copied — never more than the buffer, whatever the kernel reports.
fn recv_into(
    s: &Socket,
    buf: &mut Vec<u8>,
    limit: usize,
    flags: i32,
    from: bool,
) -> io::Result<(usize, Option<SocketAddr>)> {
    let start = buf.len();
    // The allocator may give more capacity than was asked for: never read
    // more than `limit` bytes in all, as recv(bufsize) promises.
    let room = limit.saturating_sub(start);
    let spare: &mut [MaybeUninit<u8>] = &mut buf.spare_capacity_mut()[..room];
    let (n, addr) = if from {
        let (n, a) = s.recv_from_with_flags(spare, flags)?;
        (n, a.as_socket())
    } else {
        (s.recv_with_flags(spare, flags)?, None)
    };
    // With some flags (MSG_TRUNC) the kernel returns a length larger than
    // the buffer it filled; only `room` bytes were ever written.
    let n = n.min(room);
    // SAFETY: the kernel initialised the first `n` bytes of the spare
    // capacity, and `n` is at most its length.
    unsafe { buf.set_len(start + n) };
    Ok((n, addr))
}

pub(super) async fn recv(
    ctx: &mut Ctx<'_>,
    sock: SockId,
    bufsize: i64,
    flags: i64,
    from: bool,
) -> Result<Ret, CallError> {
    let sh = ctx.sh;
    let e = get(sh, sock)?;
    let method = if from { "recvfrom" } else { "recv" };
    let flags = check_flags(method, flags, RECV_FLAGS)?;
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
            "",
            Note::new("lab.recv_limit")
                .with("method", method)
                .with("max", MAX_RECV),
        ));
    }
    let bufsize = bufsize as usize;
    let mut buf: Vec<u8> = Vec::with_capacity(bufsize);
    let timeout = if flags & libc::MSG_DONTWAIT != 0 {
        Some(Duration::ZERO)
    } else {
        e.st().timeout
    };
    let peek = flags & libc::MSG_PEEK != 0;
    // MSG_WAITALL on a stream: Python's blocking recv waits until the buffer
    // is full (or EOF); the lab's sockets are non-blocking, so it loops.
    let fill = flags & libc::MSG_WAITALL != 0 && e.ty == SockType::Stream && !peek;
    let kflags = flags & !libc::MSG_WAITALL;
    // recv(0) never waits: it takes a datagram (or nothing) and returns b''.
    let timeout = if bufsize == 0 {
        Some(Duration::ZERO)
    } else {
        timeout
    };
    let mut deadline = Deadline::new(timeout);
    loop {
        let have = buf.len();
        let r = deadline
            .retry(
                ctx,
                &e,
                Interest::READABLE,
                || recv_into(e.sock(), &mut buf, bufsize, kflags, from),
                Blocked {
                    nonblocking: || {
                        if have > 0 {
                            Note::new("explain.eagain_recv_partial")
                                .with("have", have)
                                .with("size", bufsize)
                        } else {
                            Note::new("explain.eagain_recv")
                        }
                    },
                    what: || Note::new("explain.timeout_recv"),
                },
            )
            .await;
        let (n, addr) = match r {
            Ok(Ok(v)) => v,
            Ok(Err(err)) => {
                let n = errno_of(&err);
                return Err(CallError::os(n, explain(Call::Recv, n, &facts(&e, None))));
            }
            Err(err) if bufsize == 0 && err.is_errno(libc::EAGAIN) => {
                return Ok(Ret::Bytes(Bytes::new()));
            }
            Err(err) => return Err(err),
        };
        // Peeked bytes stay in the queue: they are shown when really read.
        if (n > 0 || e.ty == SockType::Dgram) && !peek {
            data_event(sh, sock, Dir::Received, &buf[have..], addr, ctx.preview);
        }
        if fill && n > 0 && buf.len() < bufsize {
            continue;
        }
        let data = Bytes::from(buf);
        return Ok(match (from, addr) {
            (true, Some(a)) => Ret::Datagram(data, a),
            (true, None) => Ret::Datagram(data, unspecified(e.family)),
            _ => Ret::Bytes(data),
        });
    }
}
