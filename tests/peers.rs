//! Built-in peers on real loopback sockets.

mod common;

use common::*;
use socklab::engine::*;

fn peer_notes(lab: &Lab, name: &str) -> Vec<PeerNote> {
    lab.log
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Peer { peer, note } if peer == name => Some(note.clone()),
            _ => None,
        })
        .collect()
}

async fn wait_note(lab: &mut Lab, name: &str, f: impl Fn(&PeerNote) -> bool) -> PeerNote {
    let ev = lab
        .wait_for(
            &format!("a note from {name}"),
            |e| matches!(&e.kind, EventKind::Peer { peer, note } if peer == name && f(note)),
        )
        .await;
    match ev.kind {
        EventKind::Peer { note, .. } => note,
        _ => unreachable!(),
    }
}

async fn accept(lab: &mut Lab, srv: SockId) -> SockId {
    match lab.ok(Op::Accept { sock: srv }).await {
        Ret::Accepted(c, _) => c,
        r => panic!("{r:?}"),
    }
}

async fn connect_to(lab: &mut Lab, port: u16) -> SockId {
    let c = lab.tcp().await;
    lab.ok(Op::Connect {
        sock: c,
        addr: addr("127.0.0.1", port),
    })
    .await;
    c
}

#[tokio::test]
async fn echo_and_upper_servers() {
    let mut lab = Lab::new();
    let port = free_port().unwrap();
    let name = lab
        .engine
        .start_peer(PeerSpec::new("echo", &format!("127.0.0.1:{port}")))
        .unwrap();
    assert_eq!(name, "echo");
    let c = connect_to(&mut lab, port).await;
    lab.ok(sendall_op(c, b"ping\n")).await;
    assert_eq!(as_bytes(lab.ok(recv_op(c, 100)).await), b"ping\n");
    // The peer's sockets are in the lab, marked with its name.
    lab.wait_model("echo's accepted socket", |m| {
        m.live()
            .any(|r| r.owner == Owner::peer("echo") && r.lab == LabState::Connected)
    })
    .await;
    // A second peer of the same kind gets a distinct name; a busy port is an error.
    let e = lab
        .engine
        .start_peer(PeerSpec::new("echo", &format!("127.0.0.1:{port}")))
        .unwrap_err();
    assert_eq!(e.errno, Some(libc::EADDRINUSE));
    let port2 = free_port().unwrap();
    let up = lab
        .engine
        .start_peer(PeerSpec::new("upper", &format!("127.0.0.1:{port2}")))
        .unwrap();
    let c2 = connect_to(&mut lab, port2).await;
    lab.ok(sendall_op(c2, b"shout")).await;
    assert_eq!(as_bytes(lab.ok(recv_op(c2, 100)).await), b"SHOUT");
    assert!(lab.engine.stop_peer(&up));
    assert_eq!(
        as_bytes(lab.ok(recv_op(c2, 100)).await),
        b"",
        "stopping a peer closes its sockets"
    );
}

#[tokio::test]
async fn greeter_clients_connect_when_the_server_listens() {
    let mut lab = Lab::new();
    let srv = lab.tcp().await;
    lab.ok(Op::Bind {
        sock: srv,
        addr: addr("127.0.0.1", 0),
    })
    .await;
    let port = lab.port_of(srv).await;
    // Started before listen(): the greeter retries quietly.
    lab.engine
        .start_peer(
            PeerSpec::new("greeter", &format!("127.0.0.1:{port}"))
                .opt("message", "hi\\n")
                .opt("retry_ms", "20"),
        )
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    lab.ok(Op::Listen {
        sock: srv,
        backlog: Some(5),
    })
    .await;
    let conn = accept(&mut lab, srv).await;
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 100)).await), b"hi\n");
    lab.ok(sendall_op(conn, b"welcome\n")).await;
    assert_eq!(
        wait_note(&mut lab, "greeter", |n| matches!(n, PeerNote::Got { .. })).await,
        PeerNote::Got {
            text: "welcome".into()
        }
    );
    lab.ok(Op::Close { sock: conn }).await;
    // The greeter closes when the student does: its socket goes.
    lab.wait_model("greeter closed", |m| {
        m.socks
            .values()
            .any(|r| r.owner == Owner::peer("greeter") && r.closed)
    })
    .await;
    // Refused tries made no call events.
    let refused = lab
        .log
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::CallFailed { error, .. } if error.errno == Some(libc::ECONNREFUSED)))
        .count();
    assert_eq!(refused, 0);
}

#[tokio::test]
async fn chunker_splits_and_bursts() {
    let mut lab = Lab::new();
    let (srv, port) = lab.server(5).await;
    lab.engine
        .start_peer(
            PeerSpec::new("chunker", &format!("127.0.0.1:{port}"))
                .opt("message", "hello world\\n")
                .opt("pieces", "3")
                .opt("pause_ms", "150"),
        )
        .unwrap();
    let conn = accept(&mut lab, srv).await;
    let first = as_bytes(lab.ok(recv_op(conn, 1024)).await);
    assert_eq!(first, b"hell", "the first piece arrives alone");
    let mut rest = Vec::new();
    while rest.len() < 8 {
        rest.extend(as_bytes(lab.ok(recv_op(conn, 1024)).await));
    }
    assert_eq!(rest, b"o world\n");

    let (srv, port) = lab.server(5).await;
    lab.engine
        .start_peer(
            PeerSpec::new("chunker", &format!("127.0.0.1:{port}"))
                .opt("mode", "burst")
                .opt("message", "one\\n|two\\n|three\\n"),
        )
        .unwrap();
    let conn = accept(&mut lab, srv).await;
    lab.wait_model("all 14 bytes queued", |m| {
        m.sock(conn).is_some_and(|r| r.recv_q == 14)
    })
    .await;
    assert_eq!(
        as_bytes(lab.ok(recv_op(conn, 1024)).await),
        b"one\ntwo\nthree\n"
    );
}

#[tokio::test]
async fn device_obeys_pushed_commands_and_measures_latency() {
    let mut lab = Lab::new();
    let (srv, port) = lab.server(5).await;
    lab.engine
        .start_peer(PeerSpec::new("device", &format!("127.0.0.1:{port}")))
        .unwrap();
    let conn = accept(&mut lab, srv).await;
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 100)).await), b"HELLO lamp\n");
    lab.ok(sendall_op(conn, b"LED ON\n")).await;
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 100)).await), b"OK LED ON\n");
    let notes = peer_notes(&lab, "device");
    assert!(
        notes.contains(&PeerNote::Got {
            text: "LED ON".into()
        }),
        "{notes:?}"
    );
    assert!(notes.contains(&PeerNote::Said {
        text: "OK LED ON".into()
    }));
    let latency = notes.iter().find_map(|n| match n {
        PeerNote::Measure { name, value, .. } if name == "latency_ms" => Some(*value),
        _ => None,
    });
    let latency = latency.expect("a latency measurement");
    assert!((0.0..1000.0).contains(&latency), "{latency}");
}

#[tokio::test]
async fn poller_asks_and_obeys_replies() {
    let mut lab = Lab::new();
    let (srv, port) = lab.server(5).await;
    lab.engine
        .start_peer(PeerSpec::new("poller", &format!("127.0.0.1:{port}")).opt("interval_ms", "50"))
        .unwrap();
    let conn = accept(&mut lab, srv).await;
    let mut got = Vec::new();
    while !got.ends_with(b"POLL\n") {
        got.extend(as_bytes(lab.ok(recv_op(conn, 100)).await));
    }
    assert!(got.starts_with(b"HELLO lamp\n"));
    lab.ok(sendall_op(conn, b"NONE\n")).await;
    wait_note(
        &mut lab,
        "poller",
        |n| matches!(n, PeerNote::Measure { name, .. } if name == "empty_polls"),
    )
    .await;
    lab.ok(sendall_op(conn, b"LED ON\n")).await;
    wait_note(
        &mut lab,
        "poller",
        |n| matches!(n, PeerNote::Got { text } if text == "LED ON"),
    )
    .await;
    wait_note(
        &mut lab,
        "poller",
        |n| matches!(n, PeerNote::Measure { name, .. } if name == "latency_ms"),
    )
    .await;
}

#[tokio::test]
async fn resetter_resets_and_neveraccept_queues() {
    let mut lab = Lab::new();
    let port = free_port().unwrap();
    lab.engine
        .start_peer(PeerSpec::new("resetter", &format!("127.0.0.1:{port}")).opt("delay_ms", "0"))
        .unwrap();
    let c = connect_to(&mut lab, port).await;
    lab.ok(sendall_op(c, b"you will not read this")).await;
    let e = lab.err(recv_op(c, 100)).await;
    assert_eq!(e.errno, Some(libc::ECONNRESET), "{}", e.python());

    let port = free_port().unwrap();
    lab.engine
        .start_peer(PeerSpec::new("neveraccept", &format!("127.0.0.1:{port}")).opt("backlog", "1"))
        .unwrap();
    for _ in 0..2 {
        connect_to(&mut lab, port).await;
    }
    lab.wait_model("never-accept queue holds 2", |m| {
        m.live()
            .any(|r| r.owner == Owner::peer("neveraccept") && r.accept_q == Some(2))
    })
    .await;
}

#[tokio::test]
async fn udp_echo_and_discard() {
    let mut lab = Lab::new();
    let port = {
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        u.local_addr().unwrap().port()
    };
    lab.engine
        .start_peer(PeerSpec::new("udpecho", &format!("127.0.0.1:{port}")))
        .unwrap();
    let u = lab.socket(2, 2).await;
    lab.ok(Op::SendTo {
        sock: u,
        data: bytes(b"dgram"),
        addr: addr("127.0.0.1", port),
    })
    .await;
    let Ret::Datagram(d, from) = lab
        .ok(Op::RecvFrom {
            sock: u,
            bufsize: 100,
            flags: 0,
        })
        .await
    else {
        panic!()
    };
    assert_eq!((&d[..], from.port()), (&b"dgram"[..], port));

    let port = free_port().unwrap();
    lab.engine
        .start_peer(PeerSpec::new("discard", &format!("127.0.0.1:{port}")))
        .unwrap();
    let c = connect_to(&mut lab, port).await;
    lab.ok(Op::SendAll {
        sock: c,
        data: bytes::Bytes::from(vec![7u8; 4 << 20]),
        flags: 0,
    })
    .await;
    // The sink reads everything: its Data events add up to exactly 4 MiB.
    let total = |lab: &Lab| -> usize {
        lab.log
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Data {
                    dir: Dir::Received,
                    len,
                    sock,
                    ..
                } if lab
                    .model
                    .sock(*sock)
                    .is_some_and(|r| r.owner == Owner::peer("discard")) =>
                {
                    Some(*len)
                }
                _ => None,
            })
            .sum()
    };
    while total(&lab) < 4 << 20 {
        lab.next("more bytes at the sink").await;
    }
    assert_eq!(total(&lab), 4 << 20);
}

#[tokio::test]
async fn peer_limits_and_bad_specs() {
    let mut lab = Lab::with(EngineConfig {
        max_peers: 1,
        ..Default::default()
    });
    let p = free_port().unwrap();
    lab.engine
        .start_peer(PeerSpec::new("echo", &format!("127.0.0.1:{p}")))
        .unwrap();
    let e = lab
        .engine
        .start_peer(PeerSpec::new("echo", "127.0.0.1:1"))
        .unwrap_err();
    assert!(en(&e).contains("limit"), "{}", e.python());
    lab.engine.reset();
    let e = lab
        .engine
        .start_peer(PeerSpec::new("echo", "10.1.2.3:80"))
        .unwrap_err();
    assert!(en(&e).contains("loopback"), "{}", e.python());
    let e = lab
        .engine
        .start_peer(PeerSpec::new("echo", "nonsense"))
        .unwrap_err();
    assert!(en(&e).contains("HOST:PORT"), "{}", e.python());
    lab.drain();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_falls_behind_costs_bounded_memory() {
    let mut lab = Lab::new();
    let port = free_port().unwrap();
    // 16 KiB reads: every chunk fits a preview, so without the bound the log
    // would hold every byte.
    lab.engine
        .start_peer(
            PeerSpec::new("discard", &format!("127.0.0.1:{port}"))
                .opt("bufsize", "16384")
                .opt("preview", "16384"),
        )
        .unwrap();
    let c = lab.tcp().await;
    let call = lab.engine.call(
        Owner::Student,
        Op::Connect {
            sock: c,
            addr: addr("127.0.0.1", port),
        },
    );
    lab.finish(call).await.unwrap();
    // Send 128 MiB, not reading a single event while it moves.
    let total = 128usize << 20;
    lab.engine.call(
        Owner::Student,
        Op::SendAll {
            sock: c,
            data: bytes::Bytes::from(vec![1u8; total]),
            flags: 0,
        },
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let mut kept = 0usize;
    let mut moved = 0usize;
    while moved < 2 * total {
        lab.next("data events").await;
        if let Some(Event {
            kind: EventKind::Data { data, len, .. },
            ..
        }) = lab.log.last()
        {
            kept += data.len();
            moved += len;
        }
    }
    assert_eq!(moved, 2 * total, "lengths stay exact (sent + received)");
    assert!(
        kept <= total / 2,
        "previews are bounded while the reader is behind: kept {kept}"
    );
}

#[tokio::test]
async fn a_peer_closing_while_it_reads_sends_fin() {
    let mut lab = Lab::new();
    let (srv, port) = lab.server(5).await;
    lab.engine
        .start_peer(PeerSpec::new("greeter", &format!("127.0.0.1:{port}")).opt("close_ms", "100"))
        .unwrap();
    let conn = accept(&mut lab, srv).await;
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 100)).await), b"hello\n");
    // The greeter is blocked in its own recv when its timer closes the socket.
    assert_eq!(
        as_bytes(lab.ok(recv_op(conn, 100)).await),
        b"",
        "EOF: the FIN arrived"
    );
}

/// The error as an English-reading student sees it.
fn en(e: &socklab::engine::CallError) -> String {
    socklab::describe::error_line(socklab::settings::Lang::En, e)
}
