//! Client peers: they connect to the student's server, retrying quietly while
//! nothing listens, then play their part.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::Interest;

use super::{LineBuf, PeerCtx};
use crate::engine::error::{CallError, Note};
use crate::engine::event::PeerNote;
use crate::engine::ops::{self, refresh_endpoints, set_lab};
use crate::engine::sock::SockEntry;
use crate::engine::text::unescape;
use crate::engine::types::*;

pub(crate) fn start(ctx: &PeerCtx, kind: &str) -> Result<(), CallError> {
    let message = unescape(&ctx.spec.get("message"))
        .map_err(|e| CallError::lab_note(e.with("peer", &ctx.name)))?;
    let count = if kind == "greeter" {
        ctx.spec.get_i64("count").clamp(1, 64)
    } else {
        1
    };
    for i in 1..=count {
        let label = if count > 1 {
            format!("{}#{i}", ctx.name)
        } else {
            ctx.name.clone()
        };
        let c = ctx.clone();
        let kind = kind.to_string();
        let message = Bytes::from(message.clone());
        ctx.spawn(async move {
            let sock = match connect(&c, &label).await {
                Ok(s) => s,
                Err(e) if count == 1 => {
                    c.fail(&e);
                    return;
                }
                Err(e) => {
                    c.error(&e);
                    return;
                }
            };
            let r = match kind.as_str() {
                "greeter" => greeter(&c, sock, message).await,
                "chat" => chat(&c, sock).await,
                "chunker" => chunker(&c, sock, message).await,
                "device" => device(&c, sock).await,
                "poller" => poller(&c, sock).await,
                _ => Ok(()),
            };
            if let Err(e) = r {
                c.error(&e);
            }
        });
    }
    Ok(())
}

/// Connect, retrying every retry_ms while refused. A try that is refused at
/// once uses a socket the lab never shows (a client waiting for the student's
/// server must not flood the log); a try that hangs (SYN dropped because the
/// accept queue is full) is adopted and shows as connecting, as it really is.
async fn connect(ctx: &PeerCtx, label: &str) -> Result<SockId, CallError> {
    tokio::time::sleep(Duration::from_millis(
        ctx.spec.get_i64("delay_ms").max(0) as u64
    ))
    .await;
    let retry = Duration::from_millis(ctx.spec.get_i64("retry_ms").clamp(10, 60_000) as u64);
    let tries = ctx.spec.get_i64("tries").max(0);
    let sa = socket2::SockAddr::from(ctx.addr);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let raw = ctx.raw_socket(SockType::Stream)?;
        let probe = SockEntry::new(0, 0, ctx.owner.clone(), ctx.family, SockType::Stream, raw)
            .map_err(|e| CallError::os(e.raw_os_error().unwrap_or(libc::EIO), ""))?;
        let err = match probe.sock().connect(&sa) {
            Ok(()) => None,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                let quick =
                    ops::wait_ready(&probe, Interest::WRITABLE, Some(Duration::from_millis(50)))
                        .await
                        .unwrap_or(false);
                if quick {
                    probe.sock().take_error().unwrap_or(None)
                } else {
                    let entry = ctx.adopt(probe, label)?;
                    set_lab(&ctx.sh, &entry, LabState::Connecting);
                    refresh_endpoints(&ctx.sh, &entry);
                    ctx.sh.poke_observer();
                    let _ = ops::wait_ready(&entry, Interest::WRITABLE, None).await;
                    let r = entry.sock().take_error().unwrap_or(None);
                    return finish(ctx, entry, r, label);
                }
            }
            Err(e) => Some(e),
        };
        match err {
            None => return finish(ctx, ctx.adopt(probe, label)?, None, label),
            Some(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                if tries > 0 && attempt >= tries {
                    return Err(CallError::os(
                        libc::ECONNREFUSED,
                        Note::new("explain.peer_gave_up")
                            .with("peer", label)
                            .with("addr", ctx.addr)
                            .with("tries", attempt),
                    ));
                }
                tokio::time::sleep(retry).await;
            }
            Some(e) => {
                return Err(CallError::os(
                    e.raw_os_error().unwrap_or(libc::EIO),
                    Note::new("explain.peer_cannot_connect")
                        .with("peer", label)
                        .with("addr", ctx.addr),
                ));
            }
        }
    }
}

/// After a try that the lab shows: connected, or closed and failed.
fn finish(
    ctx: &PeerCtx,
    entry: Arc<SockEntry>,
    err: Option<std::io::Error>,
    label: &str,
) -> Result<SockId, CallError> {
    match err {
        None => {
            set_lab(&ctx.sh, &entry, LabState::Connected);
            refresh_endpoints(&ctx.sh, &entry);
            ctx.sh.poke_observer();
            Ok(entry.id)
        }
        Some(e) => {
            ctx.sh.close_now(entry.id);
            Err(CallError::os(
                e.raw_os_error().unwrap_or(libc::EIO),
                Note::new("explain.peer_cannot_connect")
                    .with("peer", label)
                    .with("addr", ctx.addr),
            ))
        }
    }
}

async fn recv(ctx: &PeerCtx, sock: SockId) -> Result<Bytes, CallError> {
    match ctx
        .quiet(Op::Recv {
            sock,
            bufsize: 65536,
            flags: 0,
        })
        .await?
    {
        Ret::Bytes(b) => Ok(b),
        _ => Ok(Bytes::new()),
    }
}

async fn send(ctx: &PeerCtx, sock: SockId, data: impl Into<Bytes>) -> Result<(), CallError> {
    ctx.quiet(Op::SendAll {
        sock,
        data: data.into(),
        flags: 0,
    })
    .await
    .map(|_| ())
}

async fn close(ctx: &PeerCtx, sock: SockId) -> Result<(), CallError> {
    if ctx.sh.get_sock(sock).is_some() {
        ctx.logged(Op::Close { sock }).await?;
    }
    Ok(())
}

/// Read lines until EOF, reporting each, then close.
async fn read_lines_until_eof(ctx: &PeerCtx, sock: SockId) -> Result<(), CallError> {
    let mut lines = LineBuf::default();
    loop {
        let data = recv(ctx, sock).await?;
        if data.is_empty() {
            return close(ctx, sock).await;
        }
        for text in lines.push(&data) {
            ctx.note(PeerNote::Got { text });
        }
    }
}

async fn greeter(ctx: &PeerCtx, sock: SockId, message: Bytes) -> Result<(), CallError> {
    if !message.is_empty() {
        send(ctx, sock, message).await?;
    }
    let close_ms = ctx.spec.get_i64("close_ms");
    if close_ms >= 0 {
        let c = ctx.clone();
        ctx.spawn(async move {
            tokio::time::sleep(Duration::from_millis(close_ms as u64)).await;
            let _ = close(&c, sock).await;
        });
    }
    match read_lines_until_eof(ctx, sock).await {
        // Closed by the timer above while reading.
        Err(e) if e.is_errno(libc::EBADF) => Ok(()),
        other => other,
    }
}

async fn chat(ctx: &PeerCtx, sock: SockId) -> Result<(), CallError> {
    let lines: Vec<String> = ctx
        .spec
        .get("lines")
        .split('|')
        .map(str::to_string)
        .collect();
    let every = Duration::from_millis(ctx.spec.get_i64("interval_ms").max(0) as u64);
    let c = ctx.clone();
    ctx.spawn(async move {
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(every).await;
            }
            let mut bytes = unescape(line).unwrap_or_else(|_| line.as_bytes().to_vec());
            bytes.push(b'\n');
            if send(&c, sock, bytes).await.is_err() {
                return;
            }
        }
    });
    read_lines_until_eof(ctx, sock).await
}

async fn chunker(ctx: &PeerCtx, sock: SockId, message: Bytes) -> Result<(), CallError> {
    if ctx.spec.get("mode") == "burst" {
        let raw = ctx.spec.get("message");
        let mut all = Vec::new();
        for part in raw.split('|') {
            all.extend(unescape(part).map_err(|e| CallError::lab_note(e.with("peer", &ctx.name)))?);
        }
        ctx.note(PeerNote::Remark {
            note: Note::new("peer.burst").with("n", raw.split('|').count()),
        });
        send(ctx, sock, all).await?;
    } else {
        let pieces = ctx.spec.get_i64("pieces").clamp(1, 64) as usize;
        let pause = Duration::from_millis(ctx.spec.get_i64("pause_ms").max(0) as u64);
        let size = message.len().div_ceil(pieces).max(1);
        for (i, piece) in message.chunks(size).enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            send(ctx, sock, Bytes::copy_from_slice(piece)).await?;
        }
    }
    read_lines_until_eof(ctx, sock).await
}

/// What a device does with one command line: (reply, new LED state).
fn obey(line: &str, led: bool) -> (String, bool) {
    match line.trim().to_ascii_uppercase().as_str() {
        "LED ON" => ("OK LED ON".into(), true),
        "LED OFF" => ("OK LED OFF".into(), false),
        "STATUS" => (if led { "LED ON" } else { "LED OFF" }.into(), led),
        "PING" => ("PONG".into(), led),
        _ => ("ERR unknown command".into(), led),
    }
}

/// When the other end of our connection last sent bytes, if it is a lab socket.
fn other_end_sent_us(ctx: &PeerCtx, sock: SockId) -> Option<u64> {
    let me = ctx.sh.get_sock(sock)?;
    let (local, peer) = (me.local_addr()?, me.peer_addr()?);
    ctx.sh
        .all_socks()
        .into_iter()
        .find(|e| e.local_addr() == Some(peer) && e.peer_addr() == Some(local))
        .map(|e| e.st().last_sent_us)
}

async fn device(ctx: &PeerCtx, sock: SockId) -> Result<(), CallError> {
    let id = ctx.spec.get("id");
    send(ctx, sock, format!("HELLO {id}\n").into_bytes()).await?;
    let mut led = false;
    let mut lines = LineBuf::default();
    loop {
        let data = recv(ctx, sock).await?;
        let now = ctx.sh.now_us();
        if data.is_empty() {
            return close(ctx, sock).await;
        }
        for line in lines.push(&data) {
            if line.trim().is_empty() {
                continue;
            }
            if let Some(sent) = other_end_sent_us(ctx, sock).filter(|t| *t > 0 && *t <= now) {
                ctx.measure("latency_ms", (now - sent) as f64 / 1000.0, "ms");
            }
            ctx.note(PeerNote::Got { text: line.clone() });
            let (reply, new_led) = obey(&line, led);
            led = new_led;
            send(ctx, sock, format!("{reply}\n").into_bytes()).await?;
            ctx.note(PeerNote::Said { text: reply });
        }
    }
}

async fn poller(ctx: &PeerCtx, sock: SockId) -> Result<(), CallError> {
    let id = ctx.spec.get("id");
    let every = Duration::from_millis(ctx.spec.get_i64("interval_ms").clamp(10, 3_600_000) as u64);
    send(ctx, sock, format!("HELLO {id}\n").into_bytes()).await?;
    let mut led = false;
    let mut lines = LineBuf::default();
    let mut pending: std::collections::VecDeque<String> = Default::default();
    let (mut polls, mut empty) = (0u64, 0u64);
    loop {
        tokio::time::sleep(every).await;
        send(ctx, sock, &b"POLL\n"[..]).await?;
        let asked = ctx.sh.now_us();
        polls += 1;
        ctx.measure("polls", polls as f64, "");
        // One reply line per poll.
        let line = loop {
            if let Some(l) = pending.pop_front() {
                break l;
            }
            let data = recv(ctx, sock).await?;
            if data.is_empty() {
                return close(ctx, sock).await;
            }
            pending.extend(lines.push(&data));
        };
        if line.trim().eq_ignore_ascii_case("NONE") || line.trim().is_empty() {
            empty += 1;
            ctx.measure("empty_polls", empty as f64, "");
            continue;
        }
        ctx.measure(
            "latency_ms",
            (ctx.sh.now_us() - asked) as f64 / 1000.0,
            "ms",
        );
        ctx.note(PeerNote::Got { text: line.clone() });
        let (reply, new_led) = obey(&line, led);
        led = new_led;
        send(ctx, sock, format!("{reply}\n").into_bytes()).await?;
        ctx.note(PeerNote::Said { text: reply });
    }
}

#[cfg(test)]
mod tests {
    use super::obey;

    #[test]
    fn device_commands() {
        assert_eq!(obey("LED ON", false), ("OK LED ON".to_string(), true));
        assert_eq!(obey("status", true), ("LED ON".to_string(), true));
        assert_eq!(obey("PING", false).0, "PONG");
        assert_eq!(obey("dance", false).0, "ERR unknown command");
    }
}
