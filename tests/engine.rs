//! The engine over real loopback sockets: every call on a real OS socket,
//! ports chosen by the OS.

mod common;

use std::time::Duration;

use common::*;
use socklab::engine::*;

#[tokio::test]
async fn round_trip_server_and_client() {
    let mut lab = Lab::new();
    let (srv, port) = lab.server(5).await;
    let cli = lab.tcp().await;
    // accept first: it must wait (pending) until the client connects.
    let acc = lab.start(Op::Accept { sock: srv });
    lab.wait_for(
        "accept pending",
        |e| matches!(e.kind, EventKind::CallPending { call, .. } if call == acc),
    )
    .await;
    lab.connect(cli, "127.0.0.1", port).await;
    let (conn, peer) = match lab.finish(acc).await.unwrap() {
        Ret::Accepted(c, a) => (c, a),
        r => panic!("{r:?}"),
    };
    let cli_port = lab.port_of(cli).await;
    assert_eq!(
        peer.port(),
        cli_port,
        "accept() reports the client's address"
    );
    assert_eq!(lab.ok(send_op(cli, b"hello\n")).await, Ret::Int(6));
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 1024)).await), b"hello\n");
    lab.ok(sendall_op(conn, b"HELLO\n")).await;
    assert_eq!(as_bytes(lab.ok(recv_op(cli, 1024)).await), b"HELLO\n");
    // The bytes are in the log, exactly, with direction.
    let sent: Vec<_> = lab
        .log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Data {
                sock,
                dir: Dir::Sent,
                data,
                ..
            } if *sock == cli => Some(data.to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec![b"hello\n".to_vec()]);
    lab.wait_model("both ends ESTABLISHED", |m| {
        m.sock(cli).unwrap().kernel == Some(TcpState::Established)
            && m.sock(conn).unwrap().kernel == Some(TcpState::Established)
            && m.sock(srv).unwrap().kernel == Some(TcpState::Listen)
    })
    .await;
    let m = &lab.model;
    assert_eq!(m.sock(srv).unwrap().lab, LabState::Listening);
    assert_eq!(m.sock(conn).unwrap().lab, LabState::Connected);
    assert_eq!(m.sock(cli).unwrap().peer.unwrap().port(), port);
    lab.ok(Op::Close { sock: cli }).await;
    assert_eq!(
        as_bytes(lab.ok(recv_op(conn, 1024)).await),
        b"",
        "EOF after the peer closed"
    );
}

#[tokio::test]
async fn connect_to_nothing_is_refused() {
    let mut lab = Lab::new();
    let port = free_port().unwrap();
    let cli = lab.tcp().await;
    let e = lab
        .err(Op::Connect {
            sock: cli,
            addr: addr("127.0.0.1", port),
        })
        .await;
    assert_eq!(e.errno, Some(libc::ECONNREFUSED));
    assert_eq!(e.exc, "ConnectionRefusedError");
    assert_eq!(
        en(&e),
        format!(
            "ConnectionRefusedError: [Errno 111] Connection refused — nothing is listening on 127.0.0.1:{port} (the SYN was answered with RST)"
        )
    );
    // connect_ex reports the errno instead of raising.
    let cli2 = lab.tcp().await;
    assert_eq!(
        lab.ok(Op::ConnectEx {
            sock: cli2,
            addr: addr("127.0.0.1", port)
        })
        .await,
        Ret::Int(111)
    );
}

#[tokio::test]
async fn double_bind_is_einval_and_busy_port_is_eaddrinuse() {
    let mut lab = Lab::new();
    let (_srv, port) = lab.server(1).await;
    let s = lab.tcp().await;
    let e = lab
        .err(Op::Bind {
            sock: s,
            addr: addr("127.0.0.1", port),
        })
        .await;
    assert_eq!(e.errno, Some(libc::EADDRINUSE));
    assert!(
        e.python()
            .starts_with("OSError: [Errno 98] Address already in use"),
        "{}",
        e.python()
    );
    lab.bind(s, "127.0.0.1", 0).await;
    let e = lab
        .err(Op::Bind {
            sock: s,
            addr: addr("127.0.0.1", 0),
        })
        .await;
    assert_eq!(e.errno, Some(libc::EINVAL));
    assert!(en(&e).contains("already bound"), "{}", e.python());
}

async fn time_wait_server(lab: &mut Lab, reuse_old: bool) -> u16 {
    // The server side closes first, so the server's port ends in TIME_WAIT.
    let srv = lab.tcp().await;
    if reuse_old {
        lab.setopt(srv, 1, 2, 1).await;
    }
    lab.bind(srv, "127.0.0.1", 0).await;
    lab.listen(srv, 1).await;
    let port = lab.port_of(srv).await;
    let cli = lab.tcp().await;
    lab.connect(cli, "127.0.0.1", port).await;
    let conn = lab.accept(srv).await;
    lab.ok(Op::Close { sock: conn }).await;
    lab.ok(Op::Close { sock: srv }).await;
    assert_eq!(as_bytes(lab.ok(recv_op(cli, 10)).await), b"");
    lab.ok(Op::Close { sock: cli }).await;
    lab.wait_model("TIME_WAIT entry for the server port", |m| {
        m.orphans
            .values()
            .any(|o| o.state == TcpState::TimeWait && o.tuple.local.port() == port)
    })
    .await;
    port
}

#[tokio::test]
async fn time_wait_blocks_rebind_unless_both_sockets_reuse() {
    let mut lab = Lab::new();
    // Old listener without SO_REUSEADDR: the new one fails even with it.
    let port = time_wait_server(&mut lab, false).await;
    let s = lab.tcp().await;
    let e = lab
        .err(Op::Bind {
            sock: s,
            addr: addr("127.0.0.1", port),
        })
        .await;
    assert_eq!(e.errno, Some(libc::EADDRINUSE), "{}", e.python());
    lab.setopt(s, 1, 2, 1).await;
    let e = lab
        .err(Op::Bind {
            sock: s,
            addr: addr("127.0.0.1", port),
        })
        .await;
    assert_eq!(
        e.errno,
        Some(libc::EADDRINUSE),
        "SO_REUSEADDR on the new socket only is not enough"
    );

    // Old listener with SO_REUSEADDR: a new socket with it binds.
    let port = time_wait_server(&mut lab, true).await;
    let plain = lab.tcp().await;
    let e = lab
        .err(Op::Bind {
            sock: plain,
            addr: addr("127.0.0.1", port),
        })
        .await;
    assert_eq!(e.errno, Some(libc::EADDRINUSE));
    let s = lab.tcp().await;
    lab.setopt(s, 1, 2, 1).await;
    lab.bind(s, "127.0.0.1", port).await;
    assert_eq!(
        lab.ok(Op::GetSockOpt {
            sock: s,
            level: 1,
            opt: 2,
            buflen: None
        })
        .await,
        Ret::Int(1)
    );
}

#[tokio::test]
async fn reset_and_broken_pipe() {
    let mut lab = Lab::new();
    let (_srv, cli, conn, _) = lab.pair().await;
    lab.ok(sendall_op(cli, b"unread data")).await;
    lab.wait_model("data waiting", |m| m.sock(conn).unwrap().recv_q == 11)
        .await;
    // Closing with unread data sends RST.
    lab.ok(Op::Close { sock: conn }).await;
    let e = lab.err(recv_op(cli, 100)).await;
    assert_eq!(e.errno, Some(libc::ECONNRESET));
    assert_eq!(e.exc, "ConnectionResetError");

    // Writing to a peer that is gone: the first send succeeds, later EPIPE.
    let (_srv, cli, conn, _) = lab.pair().await;
    lab.ok(Op::Close { sock: conn }).await;
    lab.wait_model("client sees FIN", |m| {
        m.sock(cli).unwrap().kernel == Some(TcpState::CloseWait)
    })
    .await;
    assert_eq!(lab.ok(send_op(cli, b"one")).await, Ret::Int(3));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = lab.err(send_op(cli, b"two")).await;
    assert!(
        e.errno == Some(libc::EPIPE) || e.errno == Some(libc::ECONNRESET),
        "{}",
        e.python()
    );
    let e = if e.errno == Some(libc::EPIPE) {
        e
    } else {
        lab.err(send_op(cli, b"three")).await
    };
    assert_eq!(e.errno, Some(libc::EPIPE));
    assert_eq!(e.exc, "BrokenPipeError");
}

#[tokio::test]
async fn blocking_io_error_and_timeout() {
    let mut lab = Lab::new();
    let (srv, cli, conn, _) = lab.pair().await;
    lab.ok(Op::SetBlocking {
        sock: conn,
        blocking: false,
    })
    .await;
    let e = lab.err(recv_op(conn, 10)).await;
    assert_eq!(e.exc, "BlockingIOError");
    assert_eq!(e.errno, Some(libc::EAGAIN));
    lab.ok(Op::SetBlocking {
        sock: srv,
        blocking: false,
    })
    .await;
    assert_eq!(
        lab.err(Op::Accept { sock: srv }).await.exc,
        "BlockingIOError"
    );

    lab.ok(Op::SetTimeout {
        sock: cli,
        timeout: Some(0.2),
    })
    .await;
    assert_eq!(
        lab.ok(Op::GetTimeout { sock: cli }).await,
        Ret::Timeout(Some(0.2))
    );
    let e = lab.err(recv_op(cli, 10)).await;
    assert_eq!(e.exc, "TimeoutError");
    assert_eq!(
        en(&e),
        "TimeoutError: timed out — nothing arrived within 0.2 s (settimeout)"
    );
}

#[tokio::test]
async fn pending_call_can_be_cancelled_and_others_keep_working() {
    let mut lab = Lab::new();
    let (srv, cli, conn, _) = lab.pair().await;
    let pending = lab.start(recv_op(conn, 10));
    lab.wait_for(
        "recv pending",
        |e| matches!(e.kind, EventKind::CallPending { call, .. } if call == pending),
    )
    .await;
    lab.wait_model("pending marker", |m| {
        m.sock(conn).unwrap().pending.is_some()
    })
    .await;
    // Another call on the same socket is refused while one waits.
    let e = lab.err(recv_op(conn, 10)).await;
    assert_eq!(e.exc, "LabError");
    // Other sockets keep working.
    lab.ok(Op::GetSockName { sock: srv }).await;
    assert!(lab.engine.cancel(pending));
    let e = lab.finish(pending).await.unwrap_err();
    assert_eq!(e.exc, "KeyboardInterrupt");
    lab.wait_model("marker gone", |m| m.sock(conn).unwrap().pending.is_none())
        .await;
    // The socket still works after the cancel.
    lab.ok(sendall_op(cli, b"x")).await;
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 10)).await), b"x");
}

#[tokio::test]
async fn tcp_merges_sends_udp_keeps_datagrams() {
    let mut lab = Lab::new();
    let (_srv, cli, conn, _) = lab.pair().await;
    lab.ok(send_op(cli, b"hello")).await;
    lab.ok(send_op(cli, b"world")).await;
    lab.wait_model("10 bytes queued", |m| m.sock(conn).unwrap().recv_q == 10)
        .await;
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 1024)).await), b"helloworld");

    let a = lab.socket(2, 2).await;
    let b = lab.socket(2, 2).await;
    lab.bind(b, "127.0.0.1", 0).await;
    let bport = lab.port_of(b).await;
    for msg in [&b"hello"[..], b"world"] {
        lab.ok(Op::SendTo {
            sock: a,
            data: bytes(msg),
            addr: addr("127.0.0.1", bport),
        })
        .await;
    }
    let first = lab
        .ok(Op::RecvFrom {
            sock: b,
            bufsize: 1024,
            flags: 0,
        })
        .await;
    let Ret::Datagram(d, from) = first else {
        panic!()
    };
    assert_eq!(&d[..], b"hello");
    assert_eq!(from.port(), lab.port_of(a).await);
    // A short buffer truncates the datagram; the rest is gone.
    assert_eq!(as_bytes(lab.ok(recv_op(b, 3)).await), b"wor");
    lab.ok(Op::SetBlocking {
        sock: b,
        blocking: false,
    })
    .await;
    assert_eq!(lab.err(recv_op(b, 10)).await.exc, "BlockingIOError");
}

#[tokio::test]
async fn connected_udp_reports_refusal_on_next_call() {
    let mut lab = Lab::new();
    let port = {
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        u.local_addr().unwrap().port()
    };
    let u = lab.socket(2, 2).await;
    lab.connect(u, "127.0.0.1", port).await;
    lab.ok(send_op(u, b"anyone?")).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = lab.err(recv_op(u, 10)).await;
    assert_eq!(e.errno, Some(libc::ECONNREFUSED), "{}", e.python());
    assert!(en(&e).contains("ICMP"), "{}", e.python());
}

#[tokio::test]
async fn half_close_states() {
    let mut lab = Lab::new();
    let (_srv, cli, conn, _) = lab.pair().await;
    lab.ok(Op::Shutdown { sock: cli, how: 1 }).await;
    lab.wait_model("FIN_WAIT2 / CLOSE_WAIT", |m| {
        m.sock(cli).unwrap().kernel == Some(TcpState::FinWait2)
            && m.sock(conn).unwrap().kernel == Some(TcpState::CloseWait)
    })
    .await;
    assert_eq!(
        lab.model.sock(cli).unwrap().lab,
        LabState::HalfClosed(Shut::Wr)
    );
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 10)).await), b"");
    // The other direction still works.
    lab.ok(sendall_op(conn, b"still here")).await;
    assert_eq!(as_bytes(lab.ok(recv_op(cli, 100)).await), b"still here");
    let e = lab.err(send_op(cli, b"x")).await;
    assert_eq!(e.errno, Some(libc::EPIPE));
}

#[tokio::test]
async fn time_wait_after_close_is_reported_without_descriptor() {
    let mut lab = Lab::new();
    let (_srv, cli, conn, _) = lab.pair().await;
    let cli_local = lab.model.sock(cli).unwrap().local.unwrap();
    lab.ok(Op::Close { sock: cli }).await;
    lab.ok(Op::Close { sock: conn }).await;
    lab.wait_model("client's connection in TIME_WAIT", |m| {
        m.orphans.values().any(|o| {
            o.state == TcpState::TimeWait && o.tuple.local == cli_local && o.origin == Some(cli)
        })
    })
    .await;
    assert!(lab.model.sock(cli).unwrap().closed);
}

#[tokio::test]
async fn accept_queue_grows_without_accept() {
    let mut lab = Lab::new();
    let (srv, port) = lab.server(1).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let c = lab.tcp().await;
        lab.start(Op::Connect {
            sock: c,
            addr: addr("127.0.0.1", port),
        });
        clients.push(c);
    }
    // backlog 1: two complete the handshake (backlog + 1), the third waits in SYN_SENT.
    lab.wait_model("accept queue 2, one client in SYN_SENT", |m| {
        m.sock(srv).unwrap().accept_q == Some(2)
            && m.sock(srv).unwrap().backlog == Some(1)
            && clients
                .iter()
                .filter(|c| m.sock(**c).unwrap().kernel == Some(TcpState::SynSent))
                .count()
                == 1
    })
    .await;
    let queued = lab
        .model
        .orphans
        .values()
        .filter(|o| o.origin == Some(srv) && o.state == TcpState::Established)
        .count();
    assert_eq!(
        queued, 2,
        "queued connections appear as descriptor-less entries"
    );
}

#[tokio::test]
async fn partial_send_against_slow_reader() {
    let mut lab = Lab::new();
    let port = free_port().unwrap();
    lab.engine
        .start_peer(
            PeerSpec::new("slowreader", &format!("127.0.0.1:{port}")).opt("start_ms", "60000"),
        )
        .unwrap();
    let cli = lab.tcp().await;
    lab.connect(cli, "127.0.0.1", port).await;
    lab.ok(Op::SetBlocking {
        sock: cli,
        blocking: false,
    })
    .await;
    let big = vec![b'x'; 16 << 20];
    let n = match lab
        .ok(Op::Send {
            sock: cli,
            data: bytes::Bytes::from(big.clone()),
            flags: 0,
        })
        .await
    {
        Ret::Int(n) => n,
        r => panic!("{r:?}"),
    };
    assert!(
        n > 0 && (n as usize) < big.len(),
        "send() sent {n} of {}",
        big.len()
    );
    let e = lab.err(send_op(cli, b"more")).await;
    assert_eq!(e.exc, "BlockingIOError");
    lab.wait_model("Send-Q holds what the kernel keeps", |m| {
        m.sock(cli).unwrap().send_q > 0
    })
    .await;
    // In blocking mode sendall waits (pending) instead.
    lab.ok(Op::SetBlocking {
        sock: cli,
        blocking: true,
    })
    .await;
    // As much again as the first send: a few bytes could still fit once the
    // kernel has grown its buffers, this cannot.
    let call = lab.start(Op::SendAll {
        sock: cli,
        data: bytes::Bytes::from(big),
        flags: 0,
    });
    lab.wait_for(
        "sendall pending",
        |e| matches!(e.kind, EventKind::CallPending { call: c, .. } if c == call),
    )
    .await;
    lab.engine.cancel(call);
}

#[tokio::test]
async fn loopback_only_unless_allowed() {
    let mut lab = Lab::new();
    let s = lab.tcp().await;
    let e = lab
        .err(Op::Bind {
            sock: s,
            addr: addr("0.0.0.0", 0),
        })
        .await;
    assert_eq!(e.exc, "LabError");
    assert!(en(&e).contains("--allow-remote"), "{}", e.python());
    let e = lab
        .err(Op::Connect {
            sock: s,
            addr: addr("192.0.2.1", 80),
        })
        .await;
    assert!(en(&e).contains("not a loopback address"), "{}", e.python());
    let e = lab
        .err(Op::Listen {
            sock: s,
            backlog: None,
        })
        .await;
    assert!(en(&e).contains("bind it to"), "{}", e.python());
    let e = lab
        .err(Op::Bind {
            sock: s,
            addr: addr("example.com", 80),
        })
        .await;
    assert_eq!(e.exc, "socket.gaierror");
    let e = lab
        .err(Op::Bind {
            sock: s,
            addr: addr("::1", 0),
        })
        .await;
    assert_eq!(e.exc, "socket.gaierror");
    let e = lab
        .err(Op::Bind {
            sock: s,
            addr: AddrArg {
                host: "127.0.0.1".into(),
                port: 70000,
            },
        })
        .await;
    assert_eq!(e.python(), "OverflowError: bind(): port must be 0-65535.");
}

#[tokio::test]
async fn closed_socket_is_ebadf_and_close_twice_is_fine() {
    let mut lab = Lab::new();
    let s = lab.tcp().await;
    lab.ok(Op::Close { sock: s }).await;
    lab.ok(Op::Close { sock: s }).await;
    let e = lab.err(Op::GetSockName { sock: s }).await;
    assert_eq!(e.errno, Some(libc::EBADF));
    assert_eq!(lab.ok(Op::Fileno { sock: s }).await, Ret::Int(-1));
}

#[tokio::test]
async fn fresh_socket_reports_close_and_limits_hold() {
    let mut lab = Lab::with(EngineConfig {
        max_sockets: 2,
        ..Default::default()
    });
    let a = lab.tcp().await;
    lab.wait_model("kernel CLOSE", |m| {
        m.sock(a).unwrap().kernel == Some(TcpState::Close)
    })
    .await;
    lab.tcp().await;
    let e = lab
        .err(Op::Socket {
            family: 2,
            ty: 1,
            proto: 0,
        })
        .await;
    assert!(en(&e).contains("limit"), "{}", e.python());
}

#[tokio::test]
async fn select_reports_the_ready_socket() {
    let mut lab = Lab::new();
    let (srv, port) = lab.server(5).await;
    let r = lab
        .ok(Op::Select {
            rlist: vec![srv],
            wlist: vec![],
            xlist: vec![],
            timeout: Some(0.0),
        })
        .await;
    assert_eq!(r, Ret::Select(vec![], vec![], vec![]));
    let call = lab.start(Op::Select {
        rlist: vec![srv],
        wlist: vec![],
        xlist: vec![],
        timeout: None,
    });
    lab.wait_for(
        "select pending",
        |e| matches!(e.kind, EventKind::CallPending { call: c, .. } if c == call),
    )
    .await;
    let cli = lab.tcp().await;
    lab.connect(cli, "127.0.0.1", port).await;
    assert_eq!(
        lab.finish(call).await.unwrap(),
        Ret::Select(vec![srv], vec![], vec![])
    );
}

#[tokio::test]
async fn ipv6_dual_stack() {
    let mut lab = Lab::new();
    let s = lab.socket(10, 1).await;
    lab.setopt(s, 41, 26, 0).await;
    lab.bind(s, "::1", 0).await;
    lab.listen(s, 5).await;
    let port = lab.port_of(s).await;
    let c = lab.socket(10, 1).await;
    lab.connect(c, "::1", port).await;
    let Ret::Accepted(_, from) = lab.ok(Op::Accept { sock: s }).await else {
        panic!()
    };
    assert!(from.is_ipv6());
}

#[tokio::test]
async fn connect_again_after_refusal_works_like_python() {
    let mut lab = Lab::new();
    let srv = lab.tcp().await;
    lab.bind(srv, "127.0.0.1", 0).await;
    let port = lab.port_of(srv).await;
    let cli = lab.tcp().await;
    let e = lab
        .err(Op::Connect {
            sock: cli,
            addr: addr("127.0.0.1", port),
        })
        .await;
    assert_eq!(e.errno, Some(libc::ECONNREFUSED));
    lab.listen(srv, 1).await;
    lab.connect(cli, "127.0.0.1", port).await;
    assert!(matches!(
        lab.ok(Op::Accept { sock: srv }).await,
        Ret::Accepted(..)
    ));
}

#[tokio::test]
async fn blocking_send_queues_everything_timeout_send_may_be_short() {
    let mut lab = Lab::new();
    let port = free_port().unwrap();
    lab.engine
        .start_peer(
            PeerSpec::new("slowreader", &format!("127.0.0.1:{port}"))
                .opt("start_ms", "0")
                .opt("chunk", "262144")
                .opt("interval_ms", "1"),
        )
        .unwrap();
    let cli = lab.tcp().await;
    lab.connect(cli, "127.0.0.1", port).await;
    // Blocking: more than the buffers hold, yet send() returns the whole count.
    let big = bytes::Bytes::from(vec![b'x'; 8 << 20]);
    let r = lab
        .ok(Op::Send {
            sock: cli,
            data: big.clone(),
            flags: 0,
        })
        .await;
    assert_eq!(r, Ret::Int(8 << 20));
    // MSG_DONTWAIT makes one call non-blocking.
    let (_srv, c2, _conn, _) = lab.pair().await;
    let e = lab
        .err(Op::Recv {
            sock: c2,
            bufsize: 10,
            flags: libc::MSG_DONTWAIT as i64,
        })
        .await;
    assert_eq!(e.exc, "BlockingIOError");
}

#[tokio::test]
async fn connect_twice_is_eisconn() {
    let mut lab = Lab::new();
    let (_srv, cli, _conn, port) = lab.pair().await;
    let e = lab
        .err(Op::Connect {
            sock: cli,
            addr: addr("127.0.0.1", port),
        })
        .await;
    assert_eq!(e.errno, Some(libc::EISCONN), "{}", e.python());
}

/// A fresh lab counts `#N` names from 1 again, while socket ids stay unique
/// (an old socket's late event can never land on a new one).
#[tokio::test]
async fn a_reset_lab_names_sockets_from_one_again() {
    let mut lab = Lab::new();
    let a = lab.tcp().await;
    let b = lab.tcp().await;
    lab.wait_model("two sockets", |m| m.sock(b).is_some()).await;
    assert_eq!(lab.model.name_of(a), "#1");
    assert_eq!(lab.model.name_of(b), "#2");
    lab.engine.reset();
    let c = lab.tcp().await;
    lab.wait_model("the new socket", |m| m.sock(c).is_some())
        .await;
    assert!(c > b, "ids are never reused");
    assert_eq!(lab.model.name_of(c), "#1", "a fresh lab starts at #1");
    let d = lab.tcp().await;
    lab.wait_model("one more", |m| m.sock(d).is_some()).await;
    assert_eq!(lab.model.name_of(d), "#2");
}

/// The error as an English-reading student sees it (Python's line and the lab's explanation).
fn en(e: &socklab::engine::CallError) -> String {
    socklab::describe::error_line(socklab::settings::Lang::En, e)
}

/// A call on a socket that is already closed reads with the socket's own
/// name (not a raw engine id): `conn.close()` twice says `conn` both times.
#[tokio::test]
async fn a_closed_socket_keeps_its_name_in_later_calls() {
    let mut lab = Lab::new();
    let _filler = lab.tcp().await;
    lab.engine.reset();
    let s = lab.tcp().await;
    lab.engine.set_label(s, "conn");
    lab.ok(Op::Close { sock: s }).await;
    let again = lab.start(Op::Close { sock: s });
    let e = lab
        .wait_for(
            "the second close",
            |e| matches!(&e.kind, EventKind::CallStarted { call, .. } if *call == again),
        )
        .await;
    let EventKind::CallStarted { text, .. } = &e.kind else {
        unreachable!()
    };
    assert!(text.starts_with("conn.close("), "{text}");
}
