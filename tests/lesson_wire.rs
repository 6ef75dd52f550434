//! The `segment` check: over hand-built logs (flags, ends, count, payload,
//! capture off), over real captures of loopback (a refused connect, the
//! resetter, a full backlog, ICMP port unreachable), and where a lesson may
//! put it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use socklab::engine::capture::{End, Icmp, IcmpKind, Proto, Segment, TcpFlags, TcpOptions, TcpSeg};
use socklab::engine::event::{Event, EventKind};
use socklab::engine::types::{Family, Owner, SockType};
use socklab::engine::{CaptureOff, CaptureStatus, Engine, EngineConfig, Events, LabModel};
use socklab::lesson::cond::{RawCheck, convert};
use socklab::lesson::{Cond, Evaluator};
use socklab::session::{Session, Submitted};
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

fn errors(src: &str) -> String {
    let d: Doc = toml::from_str(&format!("check = {src}")).expect("toml");
    let mut errs = Vec::new();
    let _ = convert(&d.check, &mut errs);
    errs.into_iter()
        .map(|e| e.1)
        .collect::<Vec<_>>()
        .join(" | ")
}

fn addr(p: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], p))
}

fn flags(s: &str) -> TcpFlags {
    let mut f = TcpFlags::default();
    for w in s.split(',') {
        match w {
            "SYN" => f.syn = true,
            "ACK" => f.ack = true,
            "FIN" => f.fin = true,
            "RST" => f.rst = true,
            "PSH" => f.psh = true,
            _ => panic!("{w}"),
        }
    }
    f
}

fn end(sock: Option<u32>, label: Option<&str>, peer: Option<&str>) -> End {
    End {
        sock,
        peer: peer.map(str::to_string),
        label: label.map(str::to_string),
    }
}

fn tcp(f: &str, from: End, to: End, retransmission: bool, payload: &[u8]) -> Segment {
    Segment {
        n: 0,
        captured_us: 0,
        proto: Proto::Tcp,
        from: addr(40000),
        to: addr(50000),
        from_end: from,
        to_end: to,
        tcp: Some(TcpSeg {
            flags: flags(f),
            seq: 0,
            ack: None,
            abs_seq: 0,
            abs_ack: 0,
            window: 65535,
            options: TcpOptions::default(),
            retransmission,
        }),
        icmp: None,
        len: payload.len() as u32,
        preview: Bytes::copy_from_slice(payload),
    }
}

/// A log being built, the model and evaluator fed as it grows.
struct Log {
    seq: u64,
    model: LabModel,
    ev: Evaluator,
}

impl Log {
    fn new(check: &str) -> Log {
        let model = LabModel::new();
        let ev = Evaluator::new(&cond(check), &model);
        Log { seq: 0, model, ev }
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
    fn on(&mut self) -> &mut Self {
        self.push(EventKind::Capture {
            status: CaptureStatus::On,
        })
    }
    fn off(&mut self) -> &mut Self {
        self.push(EventKind::Capture {
            status: CaptureStatus::Unavailable {
                why: CaptureOff::NoCapNetRaw,
                detail: "opening an AF_PACKET socket on lo: EPERM".into(),
            },
        })
    }
    fn seg(&mut self, s: Segment) -> &mut Self {
        self.push(EventKind::Segment(Box::new(s)))
    }
    fn sock(&mut self, id: u32, label: &str) -> &mut Self {
        self.push(EventKind::SocketCreated {
            sock: id,
            no: id,
            fd: 10 + id as i32,
            family: Family::V4,
            ty: SockType::Stream,
            owner: Owner::Student,
        });
        self.push(EventKind::SocketLabel {
            sock: id,
            label: label.into(),
        })
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
}

#[test]
fn flags_match_as_written_with_ack_free_but_for_the_opening_syn() {
    let cases = [
        ("SYN", "SYN", true),
        ("SYN", "SYN,ACK", false),
        ("SYN,ACK", "SYN,ACK", true),
        ("SYN,ACK", "SYN", false),
        ("RST", "RST", true),
        ("RST", "RST,ACK", true),
        ("RST-ACK", "RST", false),
        ("FIN", "FIN,ACK", true),
        ("FIN", "FIN,PSH,ACK", true),
        ("FIN", "ACK", false),
        ("FIN", "RST,ACK", false),
        ("ACK", "ACK", true),
        ("ACK", "FIN,ACK", false),
        ("PSH,ACK", "PSH,ACK", true),
    ];
    for (want, have, ok) in cases {
        let mut l = Log::new(&format!(r#"{{ segment = "{want}" }}"#));
        l.on()
            .seg(tcp(have, End::default(), End::default(), false, b""));
        assert_eq!(l.met(), ok, "segment = {want:?} on {have}");
    }
}

#[test]
fn ends_are_named_by_variable_or_peer_even_when_the_name_comes_later() {
    let check = r#"{ segment = "RST", from = "resetter", to = "cli" }"#;
    let mut l = Log::new(check);
    l.on();
    // A RST to cli from someone else, and one from the resetter to another socket.
    l.sock(1, "cli").sock(2, "other");
    l.seg(tcp(
        "RST",
        end(None, None, Some("greeter")),
        end(Some(1), Some("cli"), None),
        false,
        b"",
    ));
    l.seg(tcp(
        "RST,ACK",
        end(None, None, Some("resetter")),
        end(Some(2), Some("other"), None),
        false,
        b"",
    ));
    assert!(!l.met());
    assert_eq!(
        l.why(),
        vec![(
            "no RST from resetter to cli seen on the wire yet (watch the Wire pane)".to_string(),
            "아직 resetter에서 cli로 가는 RST가 와이어에 보이지 않았어요 (와이어 창을 보세요)"
                .to_string()
        )]
    );
    // A segment of socket 3 before its variable exists (accepted, then named).
    l.seg(tcp(
        "RST,ACK",
        end(None, None, Some("resetter")),
        end(Some(3), None, None),
        false,
        b"",
    ));
    assert!(!l.met());
    l.sock(3, "cli");
    assert!(l.met(), "socket 3 is cli now: its RST counts");
}

#[test]
fn count_retransmission_and_payload_narrow_it() {
    let mut l = Log::new(r#"{ segment = "SYN", from = "c3", retransmission = true, count = 2 }"#);
    l.on().sock(1, "c3");
    let c3 = || end(Some(1), Some("c3"), None);
    l.seg(tcp("SYN", c3(), End::default(), false, b""));
    l.seg(tcp("SYN", c3(), End::default(), true, b""));
    assert!(!l.met());
    assert!(l.why()[0].0.contains("only 1 of 2"), "{:?}", l.why());
    l.seg(tcp("SYN", c3(), End::default(), true, b""));
    assert!(l.met());

    let mut l = Log::new(r#"{ segment = "PSH,ACK", payload = 'hello\n' }"#);
    l.on();
    l.seg(tcp(
        "PSH,ACK",
        End::default(),
        End::default(),
        false,
        b"hello",
    ));
    l.seg(tcp(
        "PSH,ACK",
        End::default(),
        End::default(),
        false,
        b"hello\nworld",
    ));
    assert!(!l.met());
    l.seg(tcp(
        "PSH,ACK",
        End::default(),
        End::default(),
        false,
        b"hello\n",
    ));
    assert!(l.met());

    let mut l = Log::new(r#"{ segment = "UDP", len = 4 }"#);
    l.on();
    let mut u = tcp("ACK", End::default(), End::default(), false, b"pong!");
    u.proto = Proto::Udp;
    u.tcp = None;
    l.seg(u.clone());
    assert!(!l.met());
    u.len = 4;
    l.seg(u);
    assert!(l.met());
}

#[test]
fn icmp_port_unreachable_is_its_own_shape() {
    let mut l = Log::new(r#"{ segment = "ICMP port unreachable", to = "u" }"#);
    l.on().sock(1, "u");
    let mut s = tcp(
        "ACK",
        End::default(),
        end(Some(1), Some("u"), None),
        false,
        b"",
    );
    s.proto = Proto::Icmp;
    s.tcp = None;
    s.icmp = Some(Icmp {
        v6: false,
        kind: IcmpKind::Unreachable,
        ty: 3,
        code: 1,
        quoted: Some(Proto::Udp),
    });
    l.seg(s.clone());
    assert!(!l.met(), "host unreachable is not port unreachable");
    s.icmp.as_mut().unwrap().kind = IcmpKind::PortUnreachable;
    s.icmp.as_mut().unwrap().code = 3;
    l.seg(s);
    assert!(l.met());
}

#[test]
fn without_the_capture_the_step_counts_on_its_other_evidence_and_says_so() {
    let check =
        r#"{ all = [{ socket = "cli", lab = "closed" }, { segment = "FIN", from = "cli" }] }"#;
    // Before the engine says anything: waiting, not met.
    let mut l = Log::new(check);
    l.sock(1, "cli");
    l.push(EventKind::LabState {
        sock: 1,
        from: socklab::engine::types::LabState::Created,
        to: socklab::engine::types::LabState::Closed,
    });
    assert!(!l.met());
    assert!(
        l.why()
            .iter()
            .any(|w| w.0.starts_with("waiting for the capture"))
    );

    // Capture on: the closed socket alone is not enough.
    let mut on = Log::new(check);
    on.on().sock(1, "cli");
    on.push(EventKind::LabState {
        sock: 1,
        from: socklab::engine::types::LabState::Created,
        to: socklab::engine::types::LabState::Closed,
    });
    assert!(!on.met());
    assert_eq!(on.why().len(), 1);
    assert!(on.why()[0].0.starts_with("no FIN from cli"));

    // Capture off: not met until the other evidence holds, and the why
    // lines say the wire part is counted on it; then met.
    let mut off = Log::new(check);
    off.off().sock(1, "cli");
    assert!(!off.met());
    let why = off.why();
    assert_eq!(why.len(), 2, "{why:?}");
    assert_eq!(why[0].0, "cli has not reached closed yet (now: created)");
    assert_eq!(
        why[1].0,
        "capture is off (no CAP_NET_RAW): the wire part of this step is counted on the other evidence"
    );
    assert_eq!(
        why[1].1,
        "캡처가 꺼져 있어요(CAP_NET_RAW 권한이 없어요). 이 단계의 와이어 부분은 다른 증거로 인정해요"
    );
    off.push(EventKind::LabState {
        sock: 1,
        from: socklab::engine::types::LabState::Created,
        to: socklab::engine::types::LabState::Closed,
    });
    assert!(off.met());
    assert!(off.why().is_empty());
}

#[test]
fn mistakes_in_a_segment_check_are_reported() {
    let e = errors(r#"{ segment = "SNY" }"#);
    assert!(e.contains("did you mean \"SYN\""), "{e}");
    assert!(errors(r#"{ segment = "ICMP port unreachble" }"#).contains("unknown segment"));
    assert!(errors(r#"{ segment = "" }"#).contains("empty"));
    assert!(errors(r#"{ segment = "RST", form = "cli" }"#).contains("unknown field `form`"));
    assert!(errors(r#"{ segment = "RST", form = "cli" }"#).contains("did you mean \"from\""));
    assert!(errors(r#"{ segment = "UDP", retransmission = true }"#).contains("TCP segments only"));
    assert!(errors(r#"{ segment = "RST", count = 0 }"#).contains("between 1 and 1000"));
    assert!(errors(r#"{ segment = "PSH,ACK", len = 3, payload = "ab" }"#).contains("disagree"));
    assert!(errors(r#"{ segment = "RST", retransmission = "yes" }"#).contains("retransmission"));
    assert!(errors(r#"{ segment = "RST", to = "" }"#).contains("to is empty"));
}

fn lesson_problems(check: &str) -> Vec<String> {
    let src = format!(
        "id = \"w\"\norder = 0\ntitle = {{ en = \"T\", ko = \"T\" }}\ntext = {{ en = \"t\", ko = \"t\" }}\n\n[[steps]]\ntext = {{ en = \"`cli` connects.\", ko = \"`cli` 연결\" }}\nhint = {{ en = \"h\", ko = \"h\" }}\nsolution = ['cli = socket()', 'cli.connect((\"127.0.0.1\", {{port}}))']\ncheck = {check}\n"
    );
    match socklab::lesson::load::parse(std::path::Path::new("w.toml"), &src) {
        Ok(_) => Vec::new(),
        Err(p) => p.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn a_segment_check_needs_other_evidence_beside_it() {
    let ok = r#"{ all = [{ call = "connect", errno = "ECONNREFUSED" }, { segment = "RST", to = "cli" }] }"#;
    assert_eq!(lesson_problems(ok), Vec::<String>::new());
    let seq =
        r#"{ seq = [{ call = "connect", socket = "cli" }, { segment = "RST", to = "cli" }] }"#;
    assert_eq!(lesson_problems(seq), Vec::<String>::new());
    for alone in [
        r#"{ segment = "RST", to = "cli" }"#,
        r#"{ any = [{ call = "connect", socket = "cli" }, { segment = "RST" }] }"#,
        r#"{ all = [{ segment = "SYN" }, { segment = "RST" }] }"#,
    ] {
        let p = lesson_problems(alone).join("\n");
        assert!(
            p.contains("beside a check that is not about the wire"),
            "{alone}: {p}"
        );
    }
    let neg =
        r#"{ all = [{ call = "connect", socket = "cli" }, { never = [{ segment = "RST" }] }] }"#;
    assert!(
        lesson_problems(neg)
            .join("\n")
            .contains("inside `not` or `never`")
    );
    let who =
        r#"{ all = [{ call = "connect", socket = "cli" }, { segment = "RST", to = "nobody" }] }"#;
    assert!(
        lesson_problems(who)
            .join("\n")
            .contains("names \"nobody\" as a segment's end")
    );
}

// ---- Real captures on loopback (we run as root here and in CI) ----

struct Real {
    session: Session,
    events: Events,
    ev: Vec<Evaluator>,
}

impl Real {
    fn new(checks: &[&str]) -> (Real, Engine) {
        let (engine, events) = Engine::start(EngineConfig::default());
        let session = Session::new(engine.clone());
        let ev = checks
            .iter()
            .map(|c| {
                let c = cond(c).map_strings(&|s| session.expand(s));
                Evaluator::new(&c, session.model())
            })
            .collect();
        (
            Real {
                session,
                events,
                ev,
            },
            engine,
        )
    }
    fn port(&self, name: &str) -> String {
        self.session.placeholders()[name].clone()
    }
    fn take(&mut self, ev: &Event) {
        self.session.on_event(ev);
        for e in &mut self.ev {
            e.feed(ev, self.session.model());
        }
    }
    /// Run one line (placeholders filled) and take events until its call
    /// finished and things are quiet.
    async fn line(&mut self, line: &str) {
        let line = self.session.expand(line);
        let call = match self.session.submit(&line) {
            Submitted::Started { call, .. } => Some(call),
            Submitted::Error(e) => panic!("{line}: {e}"),
            _ => None,
        };
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let waiting = call.is_some_and(|c| self.session.pending().iter().any(|p| p.0 == c));
            match tokio::time::timeout(Duration::from_millis(150), self.events.recv()).await {
                Ok(Some(ev)) => self.take(&ev),
                _ if !waiting => return,
                _ => {}
            }
            assert!(Instant::now() < deadline, "{line} did not finish");
        }
    }
    /// Take events until check `i` is met (or `secs` pass).
    async fn until(&mut self, i: usize, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.met(i) && Instant::now() < deadline {
            if let Ok(Some(ev)) =
                tokio::time::timeout(Duration::from_millis(50), self.events.recv()).await
            {
                self.take(&ev);
            }
        }
        self.met(i)
    }
    fn met(&self, i: usize) -> bool {
        self.ev[i].met(self.session.model())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connect_is_a_syn_from_cli_answered_by_rst_to_cli() {
    let (mut r, engine) = Real::new(&[
        r#"{ segment = "SYN", from = "cli" }"#,
        r#"{ segment = "RST", to = "cli" }"#,
        r#"{ segment = "RST", from = "cli" }"#,
        r#"{ segment = "SYN,ACK" }"#,
    ]);
    r.line("cli = socket()").await;
    r.line(r#"cli.connect(("127.0.0.1", {port}))"#).await;
    assert!(
        r.until(1, 3).await,
        "the RST to cli: {:?}",
        r.session.model().wire
    );
    assert!(r.met(0));
    assert!(!r.met(2), "cli sent no RST");
    assert!(!r.met(3), "nothing answered SYN,ACK");
    assert!(r.session.model().wire.on());
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resetter_resets_and_an_orderly_close_shows_fin_each_way() {
    let (mut r, engine) = Real::new(&[
        r#"{ segment = "RST", from = "resetter", to = "cli" }"#,
        r#"{ segment = "FIN", from = "c2", to = "conn" }"#,
        r#"{ segment = "FIN", from = "conn", to = "c2" }"#,
        r#"{ segment = "PSH,ACK", from = "c2", payload = 'hi\n' }"#,
        r#"{ segment = "FIN", from = "resetter" }"#,
    ]);
    r.line(":peer resetter 127.0.0.1:{port}").await;
    r.line("cli = socket()").await;
    r.line(r#"cli.connect(("127.0.0.1", {port}))"#).await;
    r.line(r#"cli.sendall(b"hello\n")"#).await;
    assert!(r.until(0, 3).await, "the resetter's RST");

    r.line("srv = socket()").await;
    r.line(r#"srv.bind(("127.0.0.1", {port2}))"#).await;
    r.line("srv.listen(1)").await;
    r.line("c2 = socket()").await;
    r.line(r#"c2.connect(("127.0.0.1", {port2}))"#).await;
    r.line("conn, addr = srv.accept()").await;
    r.line(r#"c2.sendall(b"hi\n")"#).await;
    assert!(r.until(3, 3).await, "c2's data segment");
    assert!(!r.met(1), "no FIN yet");
    r.line("c2.close()").await;
    assert!(r.until(1, 3).await, "c2's FIN");
    assert!(!r.met(2), "conn has not closed");
    // Read first: closing with unread data would reset instead.
    r.line("conn.recv(1024)").await;
    r.line("conn.close()").await;
    assert!(r.until(2, 3).await, "conn's FIN");
    assert!(!r.met(4), "the resetter never sent FIN");
    let _ = r.port("port");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_backlog_drops_the_syn_and_it_is_sent_again() {
    let (mut r, engine) = Real::new(&[
        r#"{ segment = "SYN", from = "c3", retransmission = true }"#,
        r#"{ segment = "SYN", from = "c1", retransmission = true }"#,
    ]);
    r.line("srv = socket()").await;
    r.line(r#"srv.bind(("127.0.0.1", {port}))"#).await;
    r.line("srv.listen(0)").await;
    r.line("c1 = socket()").await;
    r.line(r#"c1.connect(("127.0.0.1", {port}))"#).await;
    r.line("c3 = socket()").await;
    // Pending: the queue is full (backlog 0 holds one).
    let line = r.session.expand(r#"c3.connect(("127.0.0.1", {port}))"#);
    assert!(matches!(r.session.submit(&line), Submitted::Started { .. }));
    assert!(r.until(0, 8).await, "c3's SYN sent again");
    assert!(!r.met(1), "c1 got in at once");
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_udp_send_to_nothing_comes_back_as_icmp_port_unreachable() {
    let (mut r, engine) = Real::new(&[
        r#"{ segment = "ICMP port unreachable", to = "u" }"#,
        r#"{ segment = "UDP", from = "u", payload = "ping" }"#,
        r#"{ segment = "ICMP port unreachable", to = "v" }"#,
    ]);
    r.line("u = socket(AF_INET, SOCK_DGRAM)").await;
    r.line(r#"u.connect(("127.0.0.1", {port}))"#).await;
    r.line(r#"u.send(b"ping")"#).await;
    assert!(r.until(0, 3).await, "{:?}", r.session.model().wire.segments);
    assert!(r.met(1));
    // An echo answers: no ICMP for v.
    r.line(":peer udpecho 127.0.0.1:{port2}").await;
    r.line("v = socket(AF_INET, SOCK_DGRAM)").await;
    r.line(r#"v.connect(("127.0.0.1", {port2}))"#).await;
    r.line(r#"v.send(b"ping")"#).await;
    r.line("v.recv(1024)").await;
    assert!(!r.until(2, 1).await);
    engine.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_labs_side_by_side_see_only_their_own_segments() {
    // As verify runs lessons: each lab its own engine and its own ports.
    let (mut a, ea) = Real::new(&[r#"{ segment = "RST" }"#]);
    let (mut b, eb) = Real::new(&[r#"{ segment = "RST" }"#, r#"{ segment = "SYN,ACK" }"#]);
    assert_ne!(a.port("port"), b.port("port"));
    b.line("srv = socket()").await;
    b.line(r#"srv.bind(("127.0.0.1", {port}))"#).await;
    b.line("srv.listen(1)").await;
    a.line("cli = socket()").await;
    a.line(r#"cli.connect(("127.0.0.1", {port}))"#).await;
    assert!(a.until(0, 3).await, "a's own RST");
    b.line("c = socket()").await;
    b.line(r#"c.connect(("127.0.0.1", {port}))"#).await;
    assert!(b.until(1, 3).await, "b's own handshake");
    assert!(!b.until(0, 1).await, "b saw a's RST");
    let pa: u16 = a.port("port").parse().unwrap();
    let pb: u16 = b.port("port").parse().unwrap();
    let ports = |r: &Real| -> Vec<(u16, u16)> {
        r.session
            .model()
            .wire
            .segments
            .iter()
            .map(|s| (s.from.port(), s.to.port()))
            .collect()
    };
    assert!(
        ports(&b).iter().all(|(f, t)| *f != pa && *t != pa),
        "{:?}",
        ports(&b)
    );
    assert!(
        ports(&a).iter().all(|(f, t)| *f != pb && *t != pb),
        "{:?}",
        ports(&a)
    );
    ea.shutdown();
    eb.shutdown();
}
