//! The wire, captured for real on loopback: every assertion is about
//! segments the kernel really sent. Tests run in parallel, so each one looks
//! only at segments with its own ports (each lab's filter already keeps only
//! its own, and OS-chosen ports never collide).

mod common;

use std::net::SocketAddr;

use common::*;
use socklab::engine::capture::{CaptureOff, CaptureStatus, IcmpKind, Proto, Segment};
use socklab::engine::*;

/// Segments with `port` at either end, in capture order.
fn segs(lab: &Lab, port: u16) -> Vec<Segment> {
    lab.model
        .wire
        .segments
        .iter()
        .filter(|s| s.from.port() == port || s.to.port() == port)
        .cloned()
        .collect()
}

fn labels(s: &[Segment]) -> Vec<String> {
    s.iter().map(|s| s.label()).collect()
}

/// Wait until at least `n` segments of `port` were captured.
async fn wait_segs(lab: &mut Lab, port: u16, what: &str, f: impl Fn(&[Segment]) -> bool) {
    lab.wait_model(what, |m| {
        let v: Vec<Segment> = m
            .wire
            .segments
            .iter()
            .filter(|s| s.from.port() == port || s.to.port() == port)
            .cloned()
            .collect();
        f(&v)
    })
    .await;
}

async fn capture_on(lab: &mut Lab) {
    lab.wait_model("capture on", |m| m.wire.status.is_some())
        .await;
    assert_eq!(
        lab.model.wire.status,
        Some(CaptureStatus::On),
        "we run as root: capture must work"
    );
}

#[tokio::test]
async fn handshake_is_syn_synack_ack_with_relative_numbers() {
    let mut lab = Lab::new();
    capture_on(&mut lab).await;
    let (srv, cli, conn, port) = lab.pair().await;
    wait_segs(&mut lab, port, "three segments", |s| s.len() >= 3).await;
    let s = segs(&lab, port);
    let l = labels(&s[..3]);
    assert_eq!(
        l,
        ["SYN seq=0", "SYN,ACK seq=0 ack=1", "ACK seq=1 ack=1"],
        "{s:#?}"
    );
    let cli_addr: SocketAddr = match lab.ok(Op::GetSockName { sock: cli }).await {
        Ret::Addr(a) => a,
        r => panic!("{r:?}"),
    };
    assert_eq!(s[0].from, cli_addr);
    assert_eq!(s[0].to.port(), port);
    assert_eq!(
        s[0].from_end.sock,
        Some(cli),
        "the SYN is from the client socket"
    );
    assert_eq!(s[1].from.port(), port);
    // Before accept() returns, the connection is the listener's: the ACK
    // reaches the listener's port (or `conn`, if accept() was quicker).
    assert!(
        [Some(srv), Some(conn)].contains(&s[2].to_end.sock),
        "{s:#?}"
    );
    assert_eq!(s[2].from_end.sock, Some(cli));
    let syn = s[0].tcp.unwrap();
    assert!(syn.options.mss.is_some(), "a SYN carries MSS: {syn:?}");
    assert!(syn.options.sack_permitted);
    assert!(syn.options.wscale.is_some());
    assert!(syn.options.timestamps.is_some());
    assert_ne!(syn.abs_seq, 0, "absolute numbers are kept too");
    assert!(s[..3].iter().all(|s| !s.tcp.unwrap().retransmission));
    // Stamped by the kernel as they passed, not when the capture read them:
    // the SYN and SYN-ACK crossed before connect() returned.
    let connect = lab
        .log
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::CallStarted {
                call,
                sock: Some(c),
                method,
                ..
            } if *c == cli && method == "connect" => Some(*call),
            _ => None,
        })
        .unwrap();
    let connected = lab
        .log
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::CallDone { call, .. } if *call == connect => Some(e.t_us),
            _ => None,
        })
        .unwrap();
    assert!(
        s[1].captured_us <= connected,
        "{} > {connected}",
        s[1].captured_us
    );
    assert!(s[0].captured_us <= s[1].captured_us && s[1].captured_us <= s[2].captured_us);
    // Each segment is its own event in the log, with its own seq.
    let in_log = lab
        .log
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Segment(x) if x.to.port() == port || x.from.port() == port))
        .count();
    assert!(in_log >= 3);
}

#[tokio::test]
async fn data_segments_carry_length_and_bytes() {
    let mut lab = Lab::new();
    capture_on(&mut lab).await;
    let (_srv, cli, conn, port) = lab.pair().await;
    lab.ok(send_op(cli, b"hello\n")).await;
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 100)).await), b"hello\n");
    lab.ok(send_op(conn, b"HELLO, WORLD\n")).await;
    assert_eq!(as_bytes(lab.ok(recv_op(cli, 100)).await), b"HELLO, WORLD\n");
    wait_segs(&mut lab, port, "both data segments", |s| {
        s.iter().filter(|s| s.len > 0).count() >= 2
    })
    .await;
    let s = segs(&lab, port);
    let data: Vec<&Segment> = s.iter().filter(|s| s.len > 0).collect();
    assert_eq!(data[0].len, 6);
    assert_eq!(&data[0].preview[..], b"hello\n");
    assert_eq!(data[0].label(), "PSH,ACK seq=1 ack=1 len=6");
    assert_eq!(data[0].from_end.sock, Some(cli));
    assert_eq!(data[1].len, 13);
    assert_eq!(&data[1].preview[..], b"HELLO, WORLD\n");
    assert_eq!(data[1].label(), "PSH,ACK seq=1 ack=7 len=13");
    assert_eq!(data[1].from_end.sock, Some(conn));
}

#[tokio::test]
async fn orderly_close_is_fin_ack_each_way() {
    let mut lab = Lab::new();
    capture_on(&mut lab).await;
    let (_srv, cli, conn, port) = lab.pair().await;
    lab.ok(Op::Close { sock: cli }).await;
    assert_eq!(as_bytes(lab.ok(recv_op(conn, 100)).await), b"");
    lab.ok(Op::Close { sock: conn }).await;
    wait_segs(&mut lab, port, "FIN each way and the last ACK", |s| {
        let fins: Vec<usize> = (0..s.len())
            .filter(|i| s[*i].tcp.is_some_and(|t| t.flags.fin))
            .collect();
        fins.len() >= 2 && s.len() > fins[1] + 1
    })
    .await;
    let s = segs(&lab, port);
    let l = labels(&s[3..]);
    // The server's close came later (after recv saw EOF), so its ACK of the
    // client's FIN usually went out alone; on a busy machine the kernel may
    // still be holding that delayed ACK when the server closes, and then the
    // server's FIN carries it. Both are an orderly close, FIN/ACK each way.
    let alone = [
        "FIN,ACK seq=1 ack=1",
        "ACK seq=1 ack=2",
        "FIN,ACK seq=1 ack=2",
        "ACK seq=2 ack=2",
    ];
    let carried = [
        "FIN,ACK seq=1 ack=1",
        "FIN,ACK seq=1 ack=2",
        "ACK seq=2 ack=2",
    ];
    assert!(l == alone || l == carried, "{s:#?}");
    let last = s.len() - 1;
    // The FIN of the closed client is still put down to it.
    assert_eq!(s[3].from_end.sock, Some(cli));
    assert_eq!(s[last - 1].from_end.sock, Some(conn));
    assert_eq!(
        s[last].from_end.sock,
        Some(cli),
        "the last ACK: the client is in TIME_WAIT"
    );
}

#[tokio::test]
async fn connect_to_a_closed_port_is_syn_then_rst() {
    let mut lab = Lab::new();
    capture_on(&mut lab).await;
    let port = free_port().unwrap();
    let cli = lab.tcp().await;
    lab.err(Op::Connect {
        sock: cli,
        addr: addr("127.0.0.1", port),
    })
    .await;
    wait_segs(&mut lab, port, "SYN and RST", |s| s.len() >= 2).await;
    let s = segs(&lab, port);
    assert_eq!(labels(&s), ["SYN seq=0", "RST,ACK seq=0 ack=1"], "{s:#?}");
    assert_eq!(s[0].from_end.sock, Some(cli));
    assert_eq!(s[1].to_end.sock, Some(cli));
    assert_eq!(s[1].from_end.sock, None, "nothing in the lab listens there");
}

#[tokio::test]
async fn full_backlog_shows_the_same_syn_again() {
    let mut lab = Lab::new();
    capture_on(&mut lab).await;
    let (_srv, port) = lab.server(0).await;
    // backlog 0 holds one connection; the next ones' SYNs are dropped and
    // sent again by the kernel (after 1 s).
    let mut clients = Vec::new();
    for _ in 0..3 {
        let c = lab.tcp().await;
        lab.ok(Op::SetBlocking {
            sock: c,
            blocking: false,
        })
        .await;
        let _ = lab
            .call(Op::Connect {
                sock: c,
                addr: addr("127.0.0.1", port),
            })
            .await;
        clients.push(c);
    }
    wait_segs(&mut lab, port, "a SYN marked as a retransmission", |s| {
        s.iter().any(|s| {
            s.tcp
                .is_some_and(|t| t.flags.syn && !t.flags.ack && t.retransmission)
        })
    })
    .await;
    let s = segs(&lab, port);
    let again = s
        .iter()
        .find(|s| s.tcp.is_some_and(|t| t.retransmission))
        .unwrap();
    let first = s
        .iter()
        .find(|x| x.from == again.from && x.tcp.is_some_and(|t| t.flags.syn))
        .unwrap();
    assert!(first.n < again.n);
    assert_eq!(
        first.tcp.unwrap().abs_seq,
        again.tcp.unwrap().abs_seq,
        "the same SYN"
    );
    assert_eq!(again.label(), "SYN seq=0 (retransmission)");
    assert!(clients.contains(&again.from_end.sock.unwrap()));
}

#[tokio::test]
async fn udp_to_a_closed_port_is_answered_by_icmp_port_unreachable() {
    let mut lab = Lab::new();
    capture_on(&mut lab).await;
    let port = free_port().unwrap();
    let u = lab.socket(2, 2).await;
    lab.ok(Op::Connect {
        sock: u,
        addr: addr("127.0.0.1", port),
    })
    .await;
    lab.ok(send_op(u, b"ping")).await;
    wait_segs(&mut lab, port, "datagram and ICMP", |s| s.len() >= 2).await;
    let s = segs(&lab, port);
    assert_eq!(s[0].proto, Proto::Udp);
    assert_eq!(s[0].len, 4);
    assert_eq!(&s[0].preview[..], b"ping");
    assert_eq!(s[0].from_end.sock, Some(u));
    assert_eq!(s[1].proto, Proto::Icmp);
    let icmp = s[1].icmp.unwrap();
    assert_eq!(icmp.kind, IcmpKind::PortUnreachable);
    assert_eq!(icmp.quoted, Some(Proto::Udp));
    assert!(!icmp.v6);
    // Drawn back to the sender: from the closed port to the lab socket.
    assert_eq!(s[1].from.port(), port);
    assert_eq!(s[1].to, s[0].from);
    assert_eq!(s[1].to_end.sock, Some(u));
    assert_eq!(s[1].label(), "ICMP port unreachable");
}

#[tokio::test]
async fn ipv6_handshake_and_icmpv6() {
    let mut lab = Lab::new();
    capture_on(&mut lab).await;
    let srv = lab.socket(10, 1).await;
    lab.ok(Op::Bind {
        sock: srv,
        addr: addr("::1", 0),
    })
    .await;
    lab.ok(Op::Listen {
        sock: srv,
        backlog: Some(5),
    })
    .await;
    let port = lab.port_of(srv).await;
    let cli = lab.socket(10, 1).await;
    lab.ok(Op::Connect {
        sock: cli,
        addr: addr("::1", port),
    })
    .await;
    wait_segs(&mut lab, port, "IPv6 handshake", |s| s.len() >= 3).await;
    let s = segs(&lab, port);
    assert_eq!(
        labels(&s[..3]),
        ["SYN seq=0", "SYN,ACK seq=0 ack=1", "ACK seq=1 ack=1"]
    );
    assert!(s[0].from.is_ipv6());
    assert_eq!(s[0].from_end.sock, Some(cli));
    let closed = free_port().unwrap();
    let u = lab.socket(10, 2).await;
    lab.ok(Op::Connect {
        sock: u,
        addr: addr("::1", closed),
    })
    .await;
    lab.ok(send_op(u, b"x")).await;
    wait_segs(&mut lab, closed, "ICMPv6", |s| s.len() >= 2).await;
    let s = segs(&lab, closed);
    let icmp = s[1].icmp.expect("ICMPv6 error");
    assert!(icmp.v6);
    assert_eq!(icmp.kind, IcmpKind::PortUnreachable);
    assert_eq!(s[1].to_end.sock, Some(u));
}

#[tokio::test]
async fn pcap_is_read_back_by_tcpdump_with_the_same_count() {
    let mut lab = Lab::new();
    capture_on(&mut lab).await;
    let (_srv, cli, conn, port) = lab.pair().await;
    lab.ok(send_op(cli, b"hello\n")).await;
    lab.ok(recv_op(conn, 100)).await;
    lab.ok(Op::Close { sock: cli }).await;
    lab.ok(Op::Close { sock: conn }).await;
    wait_segs(&mut lab, port, "a whole connection", |s| {
        s.iter()
            .filter(|s| s.tcp.is_some_and(|t| t.flags.fin))
            .count()
            >= 2
            && s.last()
                .is_some_and(|l| l.tcp.is_some_and(|t| !t.flags.fin))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.pcap");
    let out = lab.engine.export_pcap(&path).unwrap();
    let ours = lab.model.wire.segments.len();
    assert_eq!(out.frames, ours, "every captured segment is in the file");
    assert_eq!(out.forgotten, 0);
    let td = std::process::Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(&path)
        .output()
        .expect("tcpdump must be installed (apt-get install tcpdump)");
    assert!(
        td.status.success(),
        "{}",
        String::from_utf8_lossy(&td.stderr)
    );
    let text = String::from_utf8_lossy(&td.stdout);
    assert_eq!(text.lines().count(), ours, "{text}");
    assert!(
        text.contains(&format!(".{port} > ")) && text.contains("Flags [S.]"),
        "{text}"
    );
    assert!(text.contains("length 6"), "{text}");
    // And replayed through the same decoder, the file gives the same segments.
    let again = socklab::engine::capture::replay(&path).unwrap();
    let mine: Vec<String> = labels(&segs(&lab, port));
    let back: Vec<String> = again
        .iter()
        .filter(|s| s.from.port() == port || s.to.port() == port)
        .map(|s| s.label())
        .collect();
    assert_eq!(mine, back);
}

#[tokio::test]
async fn no_capture_when_switched_off() {
    let mut lab = Lab::with(EngineConfig {
        capture: false,
        ..EngineConfig::default()
    });
    let (_srv, _cli, _conn, _port) = lab.pair().await;
    assert!(lab.model.wire.segments.is_empty());
    assert_eq!(lab.model.wire.status, None);
    let _ = CaptureOff::NoCapNetRaw;
}

#[tokio::test]
async fn a_flood_is_counted_when_it_cannot_be_kept() {
    let mut lab = Lab::new();
    capture_on(&mut lab).await;
    let u = lab.socket(2, 2).await;
    lab.ok(Op::Bind {
        sock: u,
        addr: addr("127.0.0.1", 0),
    })
    .await;
    let port = lab.port_of(u).await;
    // Far more datagrams than the capture's queue holds, sent while the
    // engine cannot read them (this test's runtime has one thread).
    const N: u64 = 40_000;
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..N {
        tx.send_to(b"x", ("127.0.0.1", port)).unwrap();
    }
    let is_ours = |e: &Event| matches!(&e.kind, EventKind::Segment(s) if s.to.port() == port);
    let mut s = lab.log.iter().filter(|e| is_ours(e)).count() as u64;
    while s + lab.model.wire.dropped < N {
        lab.next("segments or the dropped count").await;
        s += is_ours(lab.log.last().unwrap()) as u64;
    }
    assert_eq!(
        s + lab.model.wire.dropped,
        N,
        "every datagram is either in the log or counted"
    );
    assert!(
        lab.model.wire.dropped > 0,
        "the flood did not fit: some were counted as dropped"
    );
    assert!(s > 0);
    assert!(lab.model.wire.segments.len() <= socklab::engine::model::KEEP_SEGMENTS);
    // The lab goes on working.
    let (_srv, _cli, _conn, _p) = lab.pair().await;
}
