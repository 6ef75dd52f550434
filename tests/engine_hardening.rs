//! Regression tests for the engine's hardening (issue 7), on real loopback
//! sockets: no byte beyond what the kernel copied, numbers that do not fit a
//! C int are refused, options that reach past loopback are refused, and a
//! peer that hit the socket limit recovers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::*;
use socklab::engine::*;

async fn udp_bound(lab: &mut Lab) -> (SockId, u16) {
    let u = lab.socket(2, 2).await;
    lab.bind(u, "127.0.0.1", 0).await;
    let port = lab.port_of(u).await;
    (u, port)
}

#[tokio::test]
async fn recv_never_hands_back_more_than_it_read() {
    let mut lab = Lab::new();
    let (u, port) = udp_bound(&mut lab).await;
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(&[b'x'; 60_000], ("127.0.0.1", port)).unwrap();
    // MSG_TRUNC (32) makes the kernel return the datagram's full length:
    // before the fix, recv(1, MSG_TRUNC) handed back 60 000 bytes of heap.
    let e = lab
        .err(Op::Recv {
            sock: u,
            bufsize: 1,
            flags: libc::MSG_TRUNC as i64,
        })
        .await;
    assert_eq!(e.exc, "LabError", "{}", e.python());
    assert!(en(&e).contains("MSG_PEEK"), "{}", e.python());
    // The datagram is still there; a plain recv(1) gives exactly one byte.
    assert_eq!(as_bytes(lab.ok(recv_op(u, 1)).await), b"x");
    // Every data event is as long as what recv returned.
    for ev in &lab.log {
        if let EventKind::Data {
            dir: Dir::Received,
            len,
            data,
            ..
        } = &ev.kind
        {
            assert_eq!(*len, 1);
            assert_eq!(data.len(), 1);
        }
    }
    // Other unknown bits are refused too; the supported ones work.
    let e = lab
        .err(Op::Recv {
            sock: u,
            bufsize: 10,
            flags: 0x4000_0000,
        })
        .await;
    assert_eq!(e.exc, "LabError");
    tx.send_to(b"peek", ("127.0.0.1", port)).unwrap();
    let peeked = lab
        .ok(Op::Recv {
            sock: u,
            bufsize: 10,
            flags: libc::MSG_PEEK as i64,
        })
        .await;
    assert_eq!(as_bytes(peeked), b"peek");
    assert_eq!(as_bytes(lab.ok(recv_op(u, 10)).await), b"peek");
}

#[tokio::test]
async fn msg_waitall_waits_for_the_whole_buffer() {
    let mut lab = Lab::new();
    let (_srv, cli, conn, _) = lab.pair().await;
    lab.ok(send_op(cli, b"abc")).await;
    let call = lab.start(Op::Recv {
        sock: conn,
        bufsize: 6,
        flags: libc::MSG_WAITALL as i64,
    });
    lab.wait_for(
        "recv pending for the rest",
        |e| matches!(e.kind, EventKind::CallPending { call: c, .. } if c == call),
    )
    .await;
    lab.ok(send_op(cli, b"def")).await;
    assert_eq!(as_bytes(lab.finish(call).await.unwrap()), b"abcdef");
}

#[tokio::test]
async fn sockopt_numbers_that_do_not_fit_an_int_overflow() {
    let mut lab = Lab::new();
    let s = lab.tcp().await;
    // 4294967297 = 2**32 + 1: truncated to 1 (SOL_SOCKET) it set SO_REUSEADDR.
    for (level, opt, value) in [
        (4_294_967_297i64, 2i64, 1i64),
        (1, 4_294_967_298, 1),
        (1, 2, 4_294_967_297),
        (1, 2, -4_294_967_297),
    ] {
        let e = lab
            .err(Op::SetSockOpt {
                sock: s,
                level,
                opt,
                value: OptVal::Int(value),
            })
            .await;
        assert_eq!(e.exc, "OverflowError", "{}", e.python());
    }
    let e = lab
        .err(Op::GetSockOpt {
            sock: s,
            level: 4_294_967_297,
            opt: 2,
            buflen: None,
        })
        .await;
    assert_eq!(e.exc, "OverflowError");
    let v = lab
        .ok(Op::GetSockOpt {
            sock: s,
            level: 1,
            opt: 2,
            buflen: None,
        })
        .await;
    assert_eq!(v, Ret::Int(0), "SO_REUSEADDR must still be off");
}

#[tokio::test]
async fn options_that_reach_past_loopback_are_refused() {
    let mut lab = Lab::new();
    let s = lab.tcp().await;
    let e = lab
        .err(Op::SetSockOpt {
            sock: s,
            level: libc::SOL_SOCKET as i64,
            opt: libc::SO_BINDTODEVICE as i64,
            value: OptVal::Bytes(b"lo".to_vec()),
        })
        .await;
    assert_eq!(e.exc, "LabError");
    assert!(en(&e).contains("--allow-remote"), "{}", e.python());
    let u = lab.socket(2, 2).await;
    let e = lab
        .err(Op::SetSockOpt {
            sock: u,
            level: libc::SOL_SOCKET as i64,
            opt: libc::SO_BROADCAST as i64,
            value: OptVal::Int(1),
        })
        .await;
    assert_eq!(e.exc, "LabError");
    // With --allow-remote the kernel decides.
    let mut open = Lab::with(EngineConfig {
        allow_remote: true,
        ..EngineConfig::default()
    });
    let u = open.socket(2, 2).await;
    open.setopt(u, libc::SOL_SOCKET as i64, libc::SO_BROADCAST as i64, 1)
        .await;
}

#[tokio::test]
async fn epipe_after_own_shutdown_says_so() {
    let mut lab = Lab::new();
    let (_srv, cli, _conn, _) = lab.pair().await;
    lab.ok(Op::Shutdown { sock: cli, how: 1 }).await;
    let e = lab.err(send_op(cli, b"late")).await;
    assert_eq!(e.errno, Some(libc::EPIPE));
    assert!(en(&e).contains("shutdown(SHUT_WR)"), "{}", e.python());
    assert!(!en(&e).contains("other side"), "{}", e.python());
    // shutdown() before connect(): ENOTCONN, but the kernel keeps it.
    let (_srv2, port) = lab.server(5).await;
    let early = lab.tcp().await;
    let e = lab
        .err(Op::Shutdown {
            sock: early,
            how: 1,
        })
        .await;
    assert_eq!(e.errno, Some(libc::ENOTCONN));
    lab.connect(early, "127.0.0.1", port).await;
    assert_eq!(
        lab.model.sock(early).unwrap().lab,
        LabState::HalfClosed(Shut::Wr),
        "the kept shutdown shows after connect()"
    );
    let e = lab.err(send_op(early, b"x")).await;
    assert_eq!(e.errno, Some(libc::EPIPE));
    assert!(en(&e).contains("before it was connected"), "{}", e.python());
}

fn notes(lab: &Lab, peer: &str) -> Vec<PeerNote> {
    lab.log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Peer { peer: p, note } if p == peer => Some(note.clone()),
            _ => None,
        })
        .collect()
}

// Multi-threaded: the outside clients block their thread on std sockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_at_the_socket_limit_waits_and_recovers() {
    let mut lab = Lab::with(EngineConfig {
        max_sockets: 16,
        ..EngineConfig::default()
    });
    let port = free_port().unwrap();
    lab.engine
        .start_peer(PeerSpec::new("echo", &format!("127.0.0.1:{port}")))
        .unwrap();
    // More outside clients than the peer may hold sockets for.
    let clients: Vec<TcpStream> = (0..24)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    lab.wait_for("the peer to pause", |e| {
        matches!(
            &e.kind,
            EventKind::Peer {
                note: PeerNote::Paused { .. },
                ..
            }
        )
    })
    .await;
    // The student still has room for their own sockets.
    let mine = lab.tcp().await;
    lab.ok(Op::Close { sock: mine }).await;
    drop(clients);
    lab.wait_for("the peer to go on", |e| {
        matches!(
            &e.kind,
            EventKind::Peer {
                note: PeerNote::Resumed,
                ..
            }
        )
    })
    .await;
    // A new client is served: the peer did not wedge.
    let got = tokio::task::spawn_blocking(move || {
        let mut c = TcpStream::connect(("127.0.0.1", port))?;
        c.set_read_timeout(Some(WAIT))?;
        c.write_all(b"still here\n")?;
        let mut got = [0u8; 11];
        c.read_exact(&mut got).map(|_| got)
    })
    .await
    .unwrap();
    match got {
        Ok(got) => assert_eq!(&got, b"still here\n"),
        Err(e) => {
            lab.drain();
            panic!("no echo: {e}; log:\n{}", lab.dump());
        }
    }
    assert!(lab.engine.peers().iter().any(|(n, _, _)| n == "echo"));
    assert!(
        !notes(&lab, "echo")
            .iter()
            .any(|n| matches!(n, PeerNote::Stopped { .. })),
        "the peer must not stop"
    );
}

/// The error as an English-reading student sees it (Python's line and the lab's explanation).
fn en(e: &socklab::engine::CallError) -> String {
    socklab::describe::error_line(socklab::settings::Lang::En, e)
}
