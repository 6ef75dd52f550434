//! Server peers: they bind and listen (synchronously, so a busy port is an
//! error at once), then serve each connection in its own task.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::Interest;

use super::PeerCtx;
use crate::engine::error::{CallError, Note};
use crate::engine::event::PeerNote;
use crate::engine::ops::{self, set_lab};
use crate::engine::types::*;

pub(crate) fn start(ctx: &PeerCtx, kind: &str) -> Result<(), CallError> {
    let ty = if kind == "udpecho" {
        SockType::Dgram
    } else {
        SockType::Stream
    };
    let sock = ctx.new_socket(ty)?;
    ctx.label(sock, &ctx.name);
    let entry = ctx
        .sh
        .get_sock(sock)
        .ok_or_else(|| CallError::lab_note(Note::new("lab.peer_socket_gone")))?;
    if kind == "slowreader" {
        // Set before listen so accepted sockets inherit the small buffer and
        // the window the kernel advertises stays small.
        let rcvbuf = ctx.spec.get_i64("rcvbuf").clamp(1024, 1 << 24) as usize;
        entry
            .sock()
            .set_recv_buffer_size(rcvbuf)
            .map_err(|e| CallError::os(e.raw_os_error().unwrap_or(libc::EIO), "SO_RCVBUF"))?;
    }
    let sa = socket2::SockAddr::from(ctx.addr);
    entry.sock().bind(&sa).map_err(|e| {
        let n = e.raw_os_error().unwrap_or(libc::EIO);
        let key = if n == libc::EADDRINUSE {
            "explain.peer_addr_in_use"
        } else {
            "explain.peer_cannot_bind"
        };
        let explain = Note::new(key)
            .with("peer", &ctx.name)
            .with("addr", ctx.addr);
        CallError::os(n, explain)
    })?;
    set_lab(&ctx.sh, &entry, LabState::Bound);
    ops::refresh_endpoints(&ctx.sh, &entry);
    if ty == SockType::Dgram {
        let c = ctx.clone();
        ctx.spawn(async move { udp_echo(c, sock).await });
        return Ok(());
    }
    let backlog = if kind == "neveraccept" {
        ctx.spec.get_i64("backlog").clamp(0, 4096) as i32
    } else {
        128
    };
    entry
        .sock()
        .listen(backlog)
        .map_err(|e| CallError::os(e.raw_os_error().unwrap_or(libc::EIO), "listen"))?;
    set_lab(&ctx.sh, &entry, LabState::Listening);
    ops::refresh_endpoints(&ctx.sh, &entry);
    if kind == "neveraccept" {
        return Ok(());
    }
    let c = ctx.clone();
    let kind = kind.to_string();
    ctx.spawn(async move { accept_loop(c, sock, kind).await });
    Ok(())
}

/// An accept that failed for a reason that passes: the lab's socket limit
/// (room comes back as sockets close) or the kernel's own resource limits.
fn passes(e: &CallError) -> bool {
    e.exc == "LabError"
        || [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::ENOMEM,
            libc::ECONNABORTED,
            libc::EPROTO,
        ]
        .iter()
        .any(|n| e.is_errno(*n))
}

async fn accept_loop(ctx: PeerCtx, listener: SockId, kind: String) {
    let mut n = 0;
    let mut paused = false;
    loop {
        let r = ctx.logged(Op::Accept { sock: listener }).await;
        if paused && !matches!(&r, Err(e) if passes(e)) {
            paused = false;
            ctx.note(PeerNote::Resumed);
        }
        match r {
            Ok(Ret::Accepted(conn, _)) => {
                n += 1;
                ctx.label(conn, &format!("{}.conn{n}", ctx.name));
                let c = ctx.clone();
                let kind = kind.clone();
                ctx.spawn(async move {
                    let r = serve(&c, conn, &kind).await;
                    if let Err(e) = r {
                        c.error(&e);
                    }
                    // Gone already if the peer closed it on purpose.
                    if c.sh.get_sock(conn).is_some() {
                        let _ = c.logged(Op::Close { sock: conn }).await;
                    }
                });
            }
            Ok(_) => {}
            // An ICMP error from an earlier reply; the socket goes on working.
            Err(e) if e.is_errno(libc::ECONNREFUSED) => {}
            Err(e) if passes(&e) => {
                if !paused {
                    paused = true;
                    ctx.note(PeerNote::Paused {
                        message: e.python(),
                        explain: e.explain.clone(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                ctx.fail(&e);
                return;
            }
        }
    }
}

async fn recv(ctx: &PeerCtx, sock: SockId, n: i64) -> Result<Bytes, CallError> {
    match ctx
        .quiet(Op::Recv {
            sock,
            bufsize: n,
            flags: 0,
        })
        .await?
    {
        Ret::Bytes(b) => Ok(b),
        _ => Ok(Bytes::new()),
    }
}

async fn send_all(ctx: &PeerCtx, sock: SockId, data: Bytes) -> Result<(), CallError> {
    ctx.quiet(Op::SendAll {
        sock,
        data,
        flags: 0,
    })
    .await
    .map(|_| ())
}

async fn serve(ctx: &PeerCtx, conn: SockId, kind: &str) -> Result<(), CallError> {
    match kind {
        "echo" | "upper" => {
            let delay = ctx.spec.get_i64("delay_ms").max(0) as u64;
            loop {
                let data = recv(ctx, conn, 65536).await?;
                if data.is_empty() {
                    return Ok(());
                }
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                let out = if kind == "upper" {
                    Bytes::from(data.to_ascii_uppercase())
                } else {
                    data
                };
                send_all(ctx, conn, out).await?;
            }
        }
        "discard" => {
            let size = ctx.spec.get_i64("bufsize").clamp(1, 16 << 20);
            let op = || Op::Recv {
                sock: conn,
                bufsize: size,
                flags: 0,
            };
            // A sink keeps a glimpse of each chunk, not the chunk.
            let preview = ctx.spec.get_i64("preview").clamp(0, 1 << 20) as usize;
            while let Ok(Ret::Bytes(b)) = ctx.quiet_glimpse(op(), preview).await {
                if b.is_empty() {
                    return Ok(());
                }
            }
            Ok(())
        }
        "slowreader" => {
            let chunk = ctx.spec.get_i64("chunk").clamp(1, 1 << 20);
            let every = Duration::from_millis(ctx.spec.get_i64("interval_ms").max(1) as u64);
            tokio::time::sleep(Duration::from_millis(
                ctx.spec.get_i64("start_ms").max(0) as u64
            ))
            .await;
            loop {
                if recv(ctx, conn, chunk).await?.is_empty() {
                    return Ok(());
                }
                tokio::time::sleep(every).await;
            }
        }
        "resetter" => {
            let entry = ctx
                .sh
                .get_sock(conn)
                .ok_or_else(|| CallError::lab_note(Note::new("lab.peer_socket_gone")))?;
            let _ = ops::wait_ready(&entry, Interest::READABLE, None).await;
            drop(entry);
            tokio::time::sleep(Duration::from_millis(
                ctx.spec.get_i64("delay_ms").max(0) as u64
            ))
            .await;
            ctx.note(PeerNote::Remark {
                note: Note::new("peer.closing_unread"),
            });
            ctx.logged(Op::Close { sock: conn }).await.map(|_| ())
        }
        _ => Ok(()),
    }
}

async fn udp_echo(ctx: PeerCtx, sock: SockId) {
    loop {
        let r = ctx
            .quiet(Op::RecvFrom {
                sock,
                bufsize: 65535,
                flags: 0,
            })
            .await;
        match r {
            Ok(Ret::Datagram(data, from)) => {
                let addr = AddrArg {
                    host: from.ip().to_string(),
                    port: from.port() as i64,
                };
                if let Err(e) = ctx.quiet(Op::SendTo { sock, data, addr }).await {
                    ctx.error(&e);
                }
            }
            Ok(_) => {}
            // An ICMP error from an earlier reply; the socket goes on working.
            Err(e) if e.is_errno(libc::ECONNREFUSED) => {}
            Err(e) => {
                ctx.fail(&e);
                return;
            }
        }
    }
}
