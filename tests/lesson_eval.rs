//! The check evaluator over hand-built event logs (the evaluator's real input).

use std::net::SocketAddr;

use bytes::Bytes;
use serde::Deserialize;
use socklab::engine::LabModel;
use socklab::engine::error::CallError;
use socklab::engine::event::{Event, EventKind, FourTuple, PeerNote};
use socklab::engine::types::{Dir, Family, LabState, Owner, Ret, SockType, TcpState};
use socklab::lesson::cond::{RawCheck, convert};
use socklab::lesson::{Cond, Evaluator};
use socklab::settings::Lang;
use toml::Spanned;

#[derive(Deserialize)]
struct Doc {
    check: Spanned<RawCheck>,
}

fn cond(src: &str) -> Cond {
    let d: Doc = toml::from_str(&format!("check = {src}")).expect("toml");
    let mut errs = Vec::new();
    let c = convert(&d.check, &mut errs);
    assert!(errs.is_empty(), "{errs:?}");
    c.unwrap()
}

/// A log being built, with the model and evaluator fed as it grows.
struct Lab {
    seq: u64,
    model: LabModel,
    ev: Evaluator,
}

fn addr(p: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], p))
}

impl Lab {
    fn new(check: &str) -> Lab {
        let model = LabModel::new();
        let ev = Evaluator::new(&cond(check), &model);
        Lab { seq: 0, model, ev }
    }
    fn push(&mut self, kind: EventKind) -> &mut Self {
        self.seq += 1;
        let e = Event {
            seq: self.seq,
            t_us: self.seq * 10,
            kind,
        };
        self.model.apply(&e);
        self.ev.feed(&e, &self.model);
        self
    }
    fn met(&self) -> bool {
        self.ev.met(&self.model)
    }
    fn why(&self) -> Vec<(String, String)> {
        self.ev
            .why_not(&self.model)
            .into_iter()
            .map(|w| (w.get(Lang::En), w.get(Lang::Ko)))
            .collect()
    }
    fn sock(&mut self, id: u32, owner: Owner) -> &mut Self {
        self.push(EventKind::SocketCreated {
            sock: id,
            no: id,
            fd: 10 + id as i32,
            family: Family::V4,
            ty: SockType::Stream,
            owner,
        })
    }
    fn label(&mut self, id: u32, l: &str) -> &mut Self {
        self.push(EventKind::SocketLabel {
            sock: id,
            label: l.into(),
        })
    }
    fn lab(&mut self, id: u32, from: LabState, to: LabState) -> &mut Self {
        self.push(EventKind::LabState { sock: id, from, to })
    }
    fn kernel(&mut self, id: u32, to: Option<TcpState>) -> &mut Self {
        self.push(EventKind::KernelState {
            sock: id,
            from: None,
            to,
        })
    }
    fn call(&mut self, call: u64, sock: Option<u32>, method: &str, text: &str) -> &mut Self {
        self.push(EventKind::CallStarted {
            call,
            sock,
            owner: Owner::Student,
            method: method.into(),
            text: text.into(),
        })
    }
    fn done(&mut self, call: u64, sock: Option<u32>, ret: Ret) -> &mut Self {
        self.push(EventKind::CallDone { call, sock, ret })
    }
    fn fail(&mut self, call: u64, sock: Option<u32>, error: CallError) -> &mut Self {
        self.push(EventKind::CallFailed { call, sock, error })
    }
    fn data(&mut self, id: u32, dir: Dir, b: &[u8]) -> &mut Self {
        self.push(EventKind::Data {
            sock: id,
            dir,
            data: Bytes::copy_from_slice(b),
            len: b.len(),
            addr: None,
        })
    }
    fn peer(&mut self, peer: &str, note: PeerNote) -> &mut Self {
        self.push(EventKind::Peer {
            peer: peer.into(),
            note,
        })
    }
}

#[test]
fn lab_state_ever_stays_true_after_close() {
    let mut l = Lab::new(r#"{ socket = "srv", lab = "listening" }"#);
    assert_eq!(l.why()[0].0, "there is no socket named srv yet");
    assert_eq!(l.why()[0].1, "아직 srv라는 소켓이 없어요");
    l.sock(1, Owner::Student).label(1, "srv");
    l.lab(1, LabState::Created, LabState::Bound);
    assert!(!l.met());
    assert_eq!(
        l.why()[0].0,
        "srv has not reached listening yet (now: bound)"
    );
    assert_eq!(
        l.why()[0].1,
        "srv가 아직 listening 상태가 아니에요 (지금: bound)"
    );
    l.lab(1, LabState::Bound, LabState::Listening);
    assert!(l.met());
    l.lab(1, LabState::Listening, LabState::Closed);
    l.push(EventKind::SocketClosed { sock: 1 });
    assert!(l.met(), "a past fact once true stays true");
    assert!(l.why().is_empty());
}

#[test]
fn bound_but_never_listening_does_not_pass() {
    let mut l = Lab::new(r#"{ socket = "srv", lab = "listening" }"#);
    l.sock(1, Owner::Student).label(1, "srv");
    l.lab(1, LabState::Created, LabState::Bound);
    l.kernel(1, Some(TcpState::Close));
    // Another socket listening does not count for srv.
    l.sock(2, Owner::Student).label(2, "other");
    l.lab(2, LabState::Created, LabState::Listening);
    // Nor does a peer's socket with the same label.
    l.sock(3, Owner::peer("echo")).label(3, "srv");
    l.lab(3, LabState::Created, LabState::Listening);
    assert!(!l.met());
}

#[test]
fn label_arriving_after_the_fact_still_counts() {
    let mut l = Lab::new(r#"{ socket = "conn", lab = "connected" }"#);
    l.sock(4, Owner::Student)
        .lab(4, LabState::Created, LabState::Connected);
    assert!(!l.met());
    l.label(4, "conn");
    assert!(l.met());
}

#[test]
fn kernel_now_versus_ever_and_orphans() {
    let mut ever = Lab::new(r#"{ socket = "cli", kernel = "TIME_WAIT" }"#);
    let mut now = Lab::new(r#"{ socket = "cli", kernel = "FIN_WAIT2", when = "now" }"#);
    for l in [&mut ever, &mut now] {
        l.sock(1, Owner::Student).label(1, "cli");
        l.kernel(1, Some(TcpState::Established));
        l.kernel(1, Some(TcpState::FinWait2));
    }
    assert!(now.met());
    assert!(!ever.met());
    assert_eq!(
        ever.why()[0].0,
        "cli has not reached TIME_WAIT yet (now: FIN_WAIT2)"
    );
    // The descriptor goes; the kernel keeps the connection in TIME_WAIT.
    for l in [&mut ever, &mut now] {
        l.kernel(1, None);
        l.push(EventKind::SocketClosed { sock: 1 });
        l.push(EventKind::Orphan {
            tuple: FourTuple {
                local: addr(50000),
                remote: addr(9000),
            },
            origin: Some(1),
            from: None,
            to: Some(TcpState::TimeWait),
            recv_q: 0,
            send_q: 0,
        });
    }
    assert!(ever.met(), "TIME_WAIT of cli's connection counts for cli");
    let mut now2 = Lab::new(r#"{ socket = "cli", kernel = "TIME_WAIT", when = "now" }"#);
    now2.sock(1, Owner::Student).label(1, "cli");
    now2.kernel(1, Some(TcpState::Established));
    assert!(!now2.met());
    now2.push(EventKind::SocketClosed { sock: 1 });
    now2.push(EventKind::Orphan {
        tuple: FourTuple {
            local: addr(50000),
            remote: addr(9000),
        },
        origin: Some(1),
        from: None,
        to: Some(TcpState::TimeWait),
        recv_q: 0,
        send_q: 0,
    });
    assert!(now2.met());
    now2.push(EventKind::Orphan {
        tuple: FourTuple {
            local: addr(50000),
            remote: addr(9000),
        },
        origin: Some(1),
        from: Some(TcpState::TimeWait),
        to: None,
        recv_q: 0,
        send_q: 0,
    });
    // A "now" condition is re-read from the model each time.
    assert!(!now2.met());
}

#[test]
fn queued_connection_does_not_make_the_listener_established() {
    let mut l = Lab::new(r#"{ socket = "srv", kernel = "ESTABLISHED" }"#);
    l.sock(1, Owner::Student).label(1, "srv");
    l.lab(1, LabState::Bound, LabState::Listening);
    l.kernel(1, Some(TcpState::Listen));
    l.push(EventKind::Orphan {
        tuple: FourTuple {
            local: addr(9000),
            remote: addr(50000),
        },
        origin: Some(1),
        from: None,
        to: Some(TcpState::Established),
        recv_q: 0,
        send_q: 0,
    });
    assert!(!l.met());
}

#[test]
fn count_needs_distinct_sockets() {
    let mut l = Lab::new(r#"{ socket = "*", owner = "client", kernel = "SYN_SENT", count = 2 }"#);
    l.sock(1, Owner::peer("client"));
    l.kernel(1, Some(TcpState::SynSent));
    l.kernel(1, Some(TcpState::Established));
    l.kernel(1, Some(TcpState::SynSent));
    assert!(!l.met());
    assert_eq!(
        l.why()[0].0,
        "only 1 of 2 sockets of client have reached SYN_SENT so far"
    );
    assert_eq!(
        l.why()[0].1,
        "SYN_SENT 상태에 이른 client의 소켓이 아직 2개 중 1개예요"
    );
    l.sock(2, Owner::Student);
    l.kernel(2, Some(TcpState::SynSent));
    assert!(!l.met(), "the student's socket is not the client's");
    l.sock(3, Owner::peer("client"));
    l.kernel(3, Some(TcpState::SynSent));
    assert!(l.met());
}

#[test]
fn seq_requires_order() {
    let check = r#"{ seq = [ { call = "connect", errno = "ECONNREFUSED" }, { socket = "srv", lab = "listening" } ] }"#;
    let refused = || CallError::os(libc::ECONNREFUSED, "nothing is listening");
    // Listening first, refused later: out of order.
    let mut l = Lab::new(check);
    l.sock(1, Owner::Student).label(1, "srv");
    l.lab(1, LabState::Bound, LabState::Listening);
    l.sock(2, Owner::Student).label(2, "cli");
    l.call(1, Some(2), "connect", "cli.connect(('127.0.0.1', 1))");
    l.fail(1, Some(2), refused());
    assert!(!l.met());
    assert_eq!(
        l.why()[0].0,
        "srv has not reached listening yet (now: listening) (after the part before it)"
    );
    // In order: refused, then a (new) listener.
    let mut l = Lab::new(check);
    l.sock(2, Owner::Student).label(2, "cli");
    l.call(1, Some(2), "connect", "cli.connect(('127.0.0.1', 1))");
    assert!(!l.met());
    assert_eq!(
        l.why()[0].0,
        "no connect() call has failed with ECONNREFUSED yet"
    );
    assert_eq!(
        l.why()[0].1,
        "아직 ECONNREFUSED로 실패한 connect() 호출이 없어요"
    );
    l.fail(1, Some(2), refused());
    l.sock(1, Owner::Student).label(1, "srv");
    l.lab(1, LabState::Bound, LabState::Listening);
    assert!(l.met());
}

#[test]
fn all_and_any() {
    let mut l = Lab::new(
        r#"{ all = [ { socket = "a", lab = "bound" }, { any = [ { socket = "b", lab = "bound" }, { socket = "c", lab = "bound" } ] } ] }"#,
    );
    l.sock(1, Owner::Student).label(1, "a");
    l.lab(1, LabState::Created, LabState::Bound);
    assert!(!l.met());
    let why = l.why();
    assert_eq!(why.len(), 1);
    assert!(why[0].0.starts_with("one of these: "), "{why:?}");
    assert!(why[0].1.starts_with("다음 중 하나: "), "{why:?}");
    l.sock(3, Owner::Student).label(3, "c");
    l.lab(3, LabState::Created, LabState::Bound);
    assert!(l.met());
}

#[test]
fn call_conditions() {
    let timeout = || CallError::other("TimeoutError", "timed out", "");
    let mut ok = Lab::new(r#"{ call = "connect", socket = "cli", ok = true }"#);
    let mut exc = Lab::new(r#"{ call = "recv", error = "TimeoutError" }"#);
    let mut pend = Lab::new(r#"{ call = "accept", pending = true }"#);
    let mut eof = Lab::new(r#"{ call = "recv", returned = "" }"#);
    let mut part = Lab::new(r#"{ call = "send", partial = true }"#);
    for l in [&mut ok, &mut exc, &mut pend, &mut eof, &mut part] {
        l.sock(1, Owner::Student).label(1, "cli");
        l.sock(2, Owner::Student).label(2, "srv");
        // A failed connect is not a successful one.
        l.call(1, Some(1), "connect", "cli.connect(('127.0.0.1', 9))");
        l.fail(1, Some(1), CallError::os(libc::ECONNREFUSED, ""));
        // recv returning data is not EOF.
        l.call(2, Some(1), "recv", "cli.recv(10)");
        l.done(2, Some(1), Ret::Bytes(Bytes::from_static(b"hi")));
        // accept that did not wait.
        l.call(3, Some(2), "accept", "srv.accept()");
        l.done(3, Some(2), Ret::Accepted(3, addr(5)));
        // send that sent everything.
        l.call(4, Some(1), "send", "cli.send(b'abc')");
        l.done(4, Some(1), Ret::Int(3));
    }
    for l in [&ok, &exc, &pend, &eof, &part] {
        assert!(!l.met(), "{:?}", l.why());
    }
    assert_eq!(ok.why()[0].0, "no cli.connect() call has succeeded yet");
    assert_eq!(ok.why()[0].1, "아직 성공한 cli.connect() 호출이 없어요");
    assert_eq!(eof.why()[0].0, "no recv() call has returned b'' yet");
    assert_eq!(
        exc.why()[0].1,
        "아직 TimeoutError가 발생한 recv() 호출이 없어요"
    );
    assert_eq!(pend.why()[0].0, "no accept() call has had to wait yet");
    assert_eq!(
        part.why()[0].0,
        "no send() call has sent only part of its data yet"
    );
    for l in [&mut ok, &mut exc, &mut pend, &mut eof, &mut part] {
        l.call(5, Some(1), "connect", "cli.connect(('127.0.0.1', 9))");
        l.done(5, Some(1), Ret::None);
        l.call(6, Some(1), "recv", "cli.recv(10)");
        l.fail(6, Some(1), timeout());
        l.call(7, Some(2), "accept", "srv.accept()");
        l.push(EventKind::CallPending {
            call: 7,
            sock: Some(2),
        });
        l.call(8, Some(1), "recv", "cli.recv(10)");
        l.done(8, Some(1), Ret::Bytes(Bytes::new()));
        l.call(9, Some(1), "send", "cli.send(b'x' * 100000)");
        l.done(9, Some(1), Ret::Int(65536));
    }
    for l in [&ok, &exc, &pend, &eof, &part] {
        assert!(l.met(), "{:?}", l.why());
    }
}

#[test]
fn connect_ex_errno_counts_as_the_errno() {
    let mut l = Lab::new(r#"{ call = "connect_ex", errno = "ECONNREFUSED" }"#);
    l.sock(1, Owner::Student).label(1, "c");
    l.call(1, Some(1), "connect_ex", "c.connect_ex(('127.0.0.1', 9))");
    l.done(1, Some(1), Ret::Int(0));
    assert!(!l.met());
    l.call(2, Some(1), "connect_ex", "c.connect_ex(('127.0.0.1', 9))");
    l.done(2, Some(1), Ret::Int(libc::ECONNREFUSED as i64));
    assert!(l.met());
}

#[test]
fn data_exact_contains_and_total() {
    let mut exact = Lab::new(r#"{ data = "sent", socket = "cli", bytes = "hello\\n" }"#);
    let mut has = Lab::new(r#"{ data = "received", socket = "conn", contains = "helloworld" }"#);
    let mut total = Lab::new(r#"{ data = "sent", socket = "cli", total_at_least = 10 }"#);
    for l in [&mut exact, &mut has, &mut total] {
        l.sock(1, Owner::Student).label(1, "cli");
        l.sock(2, Owner::Student).label(2, "conn");
        l.data(1, Dir::Sent, b"hello");
        l.data(1, Dir::Sent, b"\n");
        l.data(2, Dir::Received, b"hel");
        l.data(2, Dir::Received, b"lowor");
        l.data(1, Dir::Received, b"ld");
    }
    assert!(!exact.met(), "hello + \\n in two chunks is not one chunk");
    assert!(!has.met(), "bytes of another socket do not join the stream");
    assert!(!total.met());
    assert_eq!(total.why()[0].0, "cli has sent 6 of 10 bytes so far");
    assert_eq!(total.why()[0].1, "cli가 지금까지 보낸 바이트: 6 / 10");
    for l in [&mut exact, &mut has, &mut total] {
        l.data(2, Dir::Received, b"ld!");
        l.data(1, Dir::Sent, b"hello\n");
    }
    assert!(exact.met());
    assert!(has.met(), "contains spans chunk boundaries");
    assert!(total.met());
}

#[test]
fn peer_reports_and_missing_peer() {
    let mut l = Lab::new(r#"{ peer = "device", got = "LED ON" }"#);
    assert!(l.why()[0].0.contains("no peer named device has started"));
    l.peer(
        "device",
        PeerNote::Started {
            kind: "device".into(),
            addr: "127.0.0.1:1".into(),
        },
    );
    l.peer(
        "device",
        PeerNote::Got {
            text: "LED OFF".into(),
        },
    );
    l.peer(
        "other",
        PeerNote::Got {
            text: "LED ON".into(),
        },
    );
    assert!(!l.met());
    assert_eq!(l.why()[0].0, "device has not received \"LED ON\" yet");
    assert_eq!(l.why()[0].1, "device가 아직 \"LED ON\"을 받지 못했어요");
    l.peer(
        "device",
        PeerNote::Got {
            text: "LED ON".into(),
        },
    );
    assert!(l.met());
}

#[test]
fn orphan_by_port() {
    let mut l = Lab::new(r#"{ orphan = "TIME_WAIT", port = "9000" }"#);
    let ev = |local: u16, remote: u16| EventKind::Orphan {
        tuple: FourTuple {
            local: addr(local),
            remote: addr(remote),
        },
        origin: None,
        from: None,
        to: Some(TcpState::TimeWait),
        recv_q: 0,
        send_q: 0,
    };
    l.push(ev(50000, 9001));
    assert!(!l.met());
    l.push(ev(50001, 9000));
    assert!(l.met());
}

#[test]
fn queues_ever_and_now() {
    let mut ever = Lab::new(r#"{ socket = "srv", accept_queue = 2 }"#);
    let mut now = Lab::new(r#"{ socket = "srv", accept_queue = 2, when = "now" }"#);
    let q = |n| EventKind::Queues {
        sock: 1,
        recv_q: 0,
        send_q: 0,
        accept_q: Some(n),
        backlog: Some(1),
    };
    for l in [&mut ever, &mut now] {
        l.sock(1, Owner::Student).label(1, "srv");
        l.push(q(1));
    }
    assert_eq!(
        ever.why()[0].0,
        "srv's accept queue has not reached 2 yet (now: 1, highest so far: 1)"
    );
    for l in [&mut ever, &mut now] {
        l.push(q(2));
        l.push(q(0));
    }
    assert!(ever.met());
    assert!(!now.met());
}

#[test]
fn peer_said_and_measure_must_both_arrive() {
    let mut l = Lab::new(r#"{ peer = "poller", said = "OK LED ON", measure = "polls" }"#);
    l.peer(
        "poller",
        PeerNote::Started {
            kind: "poller".into(),
            addr: "127.0.0.1:1".into(),
        },
    );
    l.peer(
        "poller",
        PeerNote::Measure {
            name: "polls".into(),
            value: 1.0,
            unit: "".into(),
        },
    );
    assert!(!l.met());
    assert_eq!(l.why()[0].0, "poller has not said \"OK LED ON\" yet");
    assert_eq!(
        l.why()[0].1,
        "poller가 아직 \"OK LED ON\"이라고 답하지 않았어요"
    );
    l.peer(
        "poller",
        PeerNote::Said {
            text: "OK LED ON".into(),
        },
    );
    assert!(l.met());
}

#[test]
fn orphan_now_follows_the_kernel_table() {
    let mut l = Lab::new(r#"{ orphan = "TIME_WAIT", when = "now" }"#);
    let ev = |to| EventKind::Orphan {
        tuple: FourTuple {
            local: addr(50000),
            remote: addr(9000),
        },
        origin: None,
        from: None,
        to,
        recv_q: 0,
        send_q: 0,
    };
    l.push(ev(Some(TcpState::FinWait2)));
    assert!(!l.met());
    assert_eq!(
        l.why()[0].0,
        "no connection is in TIME_WAIT without a descriptor now"
    );
    l.push(ev(Some(TcpState::TimeWait)));
    assert!(l.met());
    l.push(ev(None));
    assert!(!l.met());
}

#[test]
fn never_breaks_for_good_and_not_follows_the_present() {
    let mut never = Lab::new(r#"{ never = [{ socket = "a", lab = "closed", when = "now" }] }"#);
    let mut not = Lab::new(r#"{ not = [{ socket = "a", lab = "listening", when = "now" }] }"#);
    for l in [&mut never, &mut not] {
        l.sock(1, Owner::Student).label(1, "a");
        assert!(l.met());
        l.lab(1, LabState::Created, LabState::Listening);
    }
    assert!(!not.met(), "a listens now");
    assert!(!not.why().is_empty());
    never.lab(1, LabState::Listening, LabState::Closed);
    not.lab(1, LabState::Listening, LabState::Closed);
    assert!(not.met(), "not follows what is true now");
    assert!(!never.met());
    never.sock(2, Owner::Student).label(2, "b");
    assert!(!never.met(), "never stays broken once its part held");
}

#[test]
fn queue_comparisons_exactly_and_at_most() {
    let q = |recv_q| EventKind::Queues {
        sock: 1,
        recv_q,
        send_q: 0,
        accept_q: None,
        backlog: None,
    };
    let mut least = Lab::new(r#"{ socket = "c", recv_q = 0, when = "now" }"#);
    let mut exact = Lab::new(r#"{ socket = "c", recv_q = 0, cmp = "exactly", when = "now" }"#);
    let mut most = Lab::new(r#"{ socket = "c", recv_q = 3, cmp = "at_most", when = "now" }"#);
    for l in [&mut least, &mut exact, &mut most] {
        l.sock(1, Owner::Student).label(1, "c");
        l.push(q(5));
    }
    assert!(least.met(), "at least 0 is always true");
    assert!(!exact.met());
    assert!(!most.met());
    assert!(exact.why()[0].0.contains("exactly 0"), "{:?}", exact.why());
    exact.push(q(0));
    most.push(q(2));
    assert!(exact.met());
    assert!(most.met());
}

#[test]
fn a_socket_on_another_port_is_named_as_such() {
    let mut l = Lab::new(r#"{ socket = "s", lab = "bound", port = "4321" }"#);
    l.sock(1, Owner::Student).label(1, "s");
    l.lab(1, LabState::Created, LabState::Bound);
    assert!(!l.met(), "s has no endpoint on port 4321");
    assert_eq!(
        l.why(),
        vec![(
            "s is not on port 4321 (see its endpoints in the Sockets pane)".to_string(),
            "s는 4321번 포트의 소켓이 아니에요 (소켓 창에서 끝점을 보세요)".to_string()
        )]
    );
}

#[test]
fn family_narrows_sockets_and_says_why() {
    let mut l = Lab::new(r#"{ socket = "c6", lab = "connected", family = "AF_INET6" }"#);
    l.sock(1, Owner::Student).label(1, "c6");
    l.lab(1, LabState::Created, LabState::Connected);
    assert!(!l.met(), "an IPv4 socket named c6 does not count");
    assert!(
        l.why()[0].0.contains("is not an AF_INET6 socket"),
        "{:?}",
        l.why()
    );
    l.push(EventKind::SocketCreated {
        sock: 2,
        no: 2,
        fd: 20,
        family: Family::V6,
        ty: SockType::Stream,
        owner: Owner::Student,
    });
    l.label(2, "c6")
        .lab(2, LabState::Created, LabState::Connected);
    assert!(l.met());
}

#[test]
fn a_socket_keeps_every_name_it_had() {
    let mut l = Lab::new(r#"{ socket = "srv", lab = "listening" }"#);
    l.sock(1, Owner::Student).label(1, "srv").label(1, "s");
    l.lab(1, LabState::Created, LabState::Listening);
    assert!(l.met(), "srv = socket(); s = srv: still srv");
}
