//! Session without real traffic: lines in, events (made up here) in, outcomes
//! and code out. The engine's own events are not read, so these tests show
//! exactly how the session reacts to each event.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use socklab::engine::{
    CallError, Engine, EngineConfig, Event, EventKind, Events, Family, Owner, Ret, SockType,
};
use socklab::session::{Outcome, Session, Submitted};

fn session() -> (Session, Events) {
    let (engine, rx) = Engine::start(EngineConfig::default());
    let mut ph = BTreeMap::new();
    ph.insert("port".to_string(), "9000".to_string());
    ph.insert("host".to_string(), "127.0.0.1".to_string());
    (Session::with_placeholders(engine, ph), rx)
}

fn ev(kind: EventKind) -> Event {
    Event {
        seq: 1,
        t_us: 1,
        kind,
    }
}

fn created(sock: u32, fd: i32) -> Event {
    ev(EventKind::SocketCreated {
        sock,
        no: sock,
        fd,
        family: Family::V4,
        ty: SockType::Stream,
        owner: Owner::Student,
    })
}

fn started(s: Submitted) -> u64 {
    match s {
        Submitted::Started { call, .. } => call,
        other => panic!("expected a call, got {other:?}"),
    }
}

fn done(sn: &mut Session, call: u64, ret: Ret) -> Outcome {
    sn.on_event(&ev(EventKind::CallDone {
        call,
        sock: None,
        ret,
    }))
    .expect("an outcome")
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Labels the session asked the engine to set, in order.
fn labels(rx: &mut Events) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let EventKind::SocketLabel { sock, label } = e.kind {
            out.push((sock, label));
        }
    }
    out
}

#[tokio::test]
async fn server_lines_bind_names_label_sockets_and_build_code() {
    let (mut sn, mut rx) = session();
    let text = match sn.submit("srv = socket.socket(socket.AF_INET, SOCK_STREAM)") {
        Submitted::Started { call, text } => {
            assert_eq!(sn.pending(), vec![(call, text.clone())]);
            sn.on_event(&created(1, 5));
            let out = done(&mut sn, call, Ret::Socket(1));
            assert!(out.ok);
            assert_eq!(out.echo.as_deref(), Some("srv = <socket fd=5 TCP/v4>"));
            text
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(text, "srv = socket.socket(socket.AF_INET, SOCK_STREAM)");
    assert!(sn.pending().is_empty());
    assert_eq!(sn.var_of(1).as_deref(), Some("srv"));
    assert_eq!(labels(&mut rx), vec![(1, "srv".to_string())]);

    let call = started(
        sn.submit(
            "srv.bind(({host}, {port}))"
                .replace("{host}", "\"{host}\"")
                .as_str(),
        ),
    );
    sn.on_event(&ev(EventKind::Endpoints {
        sock: 1,
        local: Some(addr("127.0.0.1:9000")),
        peer: None,
    }));
    let out = done(&mut sn, call, Ret::None);
    assert_eq!((out.ok, out.echo), (true, None));
    assert_eq!(out.text, "srv.bind((\"127.0.0.1\", 9000))");

    let call = started(sn.submit("conn, addr = srv.accept()   # waits"));
    // A second call on a waiting socket is refused, naming the waiting call.
    match sn.submit("srv.listen()") {
        Submitted::Error(e) => assert_eq!(
            e,
            "LabError: srv is still waiting in conn, addr = srv.accept()   # waits — one call per socket at a time: wait for it, or press Ctrl-C to cancel it"
        ),
        other => panic!("{other:?}"),
    }
    sn.on_event(&created(2, 6));
    sn.on_event(&ev(EventKind::Endpoints {
        sock: 2,
        local: Some(addr("127.0.0.1:9000")),
        peer: Some(addr("127.0.0.1:51234")),
    }));
    let out = done(&mut sn, call, Ret::Accepted(2, addr("127.0.0.1:51234")));
    assert_eq!(
        out.echo.as_deref(),
        Some(
            "conn = <socket fd=6 TCP/v4 127.0.0.1:9000 ⇄ 127.0.0.1:51234>, addr = ('127.0.0.1', 51234)"
        )
    );
    assert_eq!(labels(&mut rx), vec![(2, "conn".to_string())]);
    assert_eq!(sn.var_of(2).as_deref(), Some("conn"));

    let call = started(sn.submit("data = conn.recv(1024)"));
    let out = done(&mut sn, call, Ret::Bytes(Bytes::from_static(b"hello\n")));
    assert_eq!(out.echo.as_deref(), Some(r"data = b'hello\n'"));
    let call = started(sn.submit("conn.recv(1024)"));
    let out = done(&mut sn, call, Ret::Bytes(Bytes::from_static(b"\x1b[2J")));
    assert_eq!(out.echo.as_deref(), Some(r"b'\x1b[2J'"));

    assert_eq!(sn.submit("n = len(data)"), Submitted::Echo("n = 6".into()));
    assert_eq!(
        sn.code(),
        [
            "from socket import *",
            "from select import select",
            "srv = socket(AF_INET, SOCK_STREAM)",
            "srv.bind((\"127.0.0.1\", 9000))",
            "conn, addr = srv.accept()   # waits",
            "data = conn.recv(1024)",
            "conn.recv(1024)",
            "n = len(data)",
        ]
    );
}

#[tokio::test]
async fn failures_become_python_errors_and_are_not_code() {
    let (mut sn, _rx) = session();
    sn.on_event(&created(1, 5));
    let call = started(sn.submit("cli = socket()"));
    done(&mut sn, call, Ret::Socket(1));
    let call = started(sn.submit("cli.connect(('127.0.0.1', {port}))"));
    let out = sn
        .on_event(&ev(EventKind::CallFailed {
            call,
            sock: Some(1),
            error: CallError::os(111, "nothing is listening on 127.0.0.1:9000"),
        }))
        .unwrap();
    assert!(!out.ok);
    assert_eq!(
        out.error.as_deref(),
        Some(
            "ConnectionRefusedError: [Errno 111] Connection refused — nothing is listening on 127.0.0.1:9000"
        )
    );
    // The call finished (badly), so the socket takes calls again.
    let call = started(sn.submit("a, b, c = cli.accept()"));
    let out = done(&mut sn, call, Ret::Accepted(2, addr("127.0.0.1:1")));
    assert_eq!(
        out.error.as_deref(),
        Some("ValueError: not enough values to unpack (expected 3, got 2)")
    );
    assert_eq!(sn.code().len(), 3);
    assert!(sn.vars().get("a").is_none());
}

#[tokio::test]
async fn pure_lines_errors_and_lab_commands() {
    let (mut sn, _rx) = session();
    assert_eq!(sn.submit(""), Submitted::Nothing);
    assert_eq!(sn.submit("# a comment"), Submitted::Nothing);
    assert_eq!(sn.submit("import socket"), Submitted::Echo(String::new()));
    assert_eq!(
        sn.submit("msg = b'hi\\n' * 2"),
        Submitted::Echo(r"msg = b'hi\nhi\n'".into())
    );
    assert_eq!(sn.submit(">>> len(msg)"), Submitted::Echo("6".into()));
    assert_eq!(sn.submit("{port}"), Submitted::Echo("9000".into()));
    assert_eq!(
        sn.submit(":hint  more please"),
        Submitted::Lab {
            name: "hint".into(),
            args: "more please".into()
        }
    );
    match sn.submit("mgs") {
        Submitted::Error(e) => assert_eq!(
            e,
            "NameError: name 'mgs' is not defined. Did you mean: 'msg'?"
        ),
        other => panic!("{other:?}"),
    }
    match sn.submit("msg.sendall(") {
        Submitted::Error(e) => assert!(e.ends_with("SyntaxError: '(' was never closed"), "{e}"),
        other => panic!("{other:?}"),
    }
    match sn.submit(":peer nosuch 127.0.0.1:{port}") {
        Submitted::Error(e) => {
            assert!(e.starts_with("LabError: unknown peer kind 'nosuch'"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    match sn.submit(":stop ghost") {
        Submitted::Error(e) => assert!(e.starts_with("LabError: no peer named 'ghost'"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(sn.submit(":"), Submitted::Error(_)));
    assert_eq!(sn.code().len(), 5);
    assert_eq!(sn.code()[4], "9000");
    sn.reset();
    assert_eq!(sn.code().len(), 2);
    assert!(sn.vars().is_empty());
}

#[tokio::test]
async fn send_text_decodes_escapes_and_logs_a_sendall() {
    let (mut sn, _rx) = session();
    sn.on_event(&created(3, 7));
    let call = started(sn.submit("conn = socket()"));
    done(&mut sn, call, Ret::Socket(3));
    match sn.send_text(3, "LED ON\\r", true) {
        Submitted::Started { text, .. } => assert_eq!(text, r"conn.sendall(b'LED ON\r\n')"),
        other => panic!("{other:?}"),
    }
    // Busy now: the pending sendall holds the socket.
    assert!(matches!(sn.send_text(3, "x", false), Submitted::Error(_)));
    match sn.send_text(4, "x", false) {
        Submitted::Error(e) => assert!(e.contains("no variable"), "{e}"),
        other => panic!("{other:?}"),
    }
    let (mut sn, _rx) = session();
    let call = started(sn.submit("c = socket()"));
    done(&mut sn, call, Ret::Socket(1));
    match sn.send_text(1, "bad \\x4 escape", false) {
        Submitted::Error(e) => {
            assert!(e.ends_with("SyntaxError: truncated \\x4 escape — \\x needs exactly two hex digits, like \\x0a"), "{e}");
            assert!(e.contains("\n        ^^^\n"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(sn.pending().is_empty());
    match sn.send_text(1, "안녕 {port}", false) {
        Submitted::Started { text, .. } => {
            assert_eq!(text, r"c.sendall(b'\xec\x95\x88\xeb\x85\x95 {port}')")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn completions_offer_names_methods_and_commands() {
    let (mut sn, _rx) = session();
    let call = started(sn.submit("server = socket()"));
    done(&mut sn, call, Ret::Socket(1));
    sn.submit("data = b'x'");
    assert_eq!(sn.completions("ser", 3), vec!["server"]);
    assert_eq!(
        sn.completions("x = server.re", 13),
        vec!["recv", "recvfrom"]
    );
    assert_eq!(sn.completions("data.de", 7), vec!["decode"]);
    assert_eq!(
        sn.completions("SO_RE", 5),
        vec!["SO_REUSEADDR", "SO_REUSEPORT"]
    );
    assert_eq!(
        sn.completions("socket.SHUT_R", 13),
        vec!["SHUT_RD", "SHUT_RDWR"]
    );
    assert_eq!(sn.completions(":pe", 3), vec!["peer", "peers"]);
    assert_eq!(sn.completions(":peer ec", 8), vec!["echo"]);
    assert!(sn.completions("le", 2).contains(&"len".to_string()));
    // The cursor counts chars, and only what is before it matters.
    assert_eq!(sn.completions("연결 = ser", 8), vec!["server"]);
    assert_eq!(sn.completions("ser", 0).len(), sn.completions("", 0).len());
}

#[test]
fn placeholders_are_distinct_free_ports() {
    let ph = Session::fresh_placeholders();
    assert_eq!(ph["host"], "127.0.0.1");
    let ports: Vec<&String> = ["port", "port2", "port3", "port4", "port5"]
        .iter()
        .map(|k| &ph[*k])
        .collect();
    for p in &ports {
        assert!(p.parse::<u16>().unwrap() > 0);
    }
    let mut uniq = ports.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 5);
}

#[test]
fn labs_side_by_side_never_share_a_port() {
    // Threads making labs at once, as verify and the lesson tests do.
    let sets: Vec<Vec<String>> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                (0..20)
                    .flat_map(|_| {
                        let ph = Session::fresh_placeholders();
                        ["port", "port2", "port3", "port4", "port5"].map(|k| ph[k].clone())
                    })
                    .collect::<Vec<String>>()
            })
        })
        .map(|t| t.join().unwrap())
        .collect();
    let all: Vec<&String> = sets.iter().flatten().collect();
    let uniq: std::collections::HashSet<&&String> = all.iter().collect();
    assert_eq!(uniq.len(), all.len(), "800 ports, each given once");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever is typed, pasted into the send pane or completed, the
        /// session answers and does not panic.
        #[test]
        fn any_input_is_answered(line in ".{0,120}", cursor in 0usize..200, newline: bool) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (mut sn, _rx) = session();
                sn.on_event(&created(1, 5));
                let call = started(sn.submit("c = socket()"));
                done(&mut sn, call, Ret::Socket(1));
                let _ = sn.submit(&line);
                let _ = sn.completions(&line, cursor);
                let _ = sn.send_text(1, &line, newline);
            });
        }
    }
}

#[tokio::test]
async fn the_code_pane_is_bounded_and_a_full_one_refuses_clearly() {
    let (mut sn, _rx) = session();
    let line = format!("x = b'{}'", "a".repeat(60_000));
    let mut refused = None;
    for i in 0..400 {
        match sn.submit(&line) {
            Submitted::Echo(_) => {}
            Submitted::Error(e) => {
                refused = Some((i, e));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let (i, e) = refused.expect("the Code pane has a limit");
    assert!(
        e.contains("Code pane is full") && e.contains(":reset"),
        "{e}"
    );
    let bytes: usize = sn.code().iter().map(String::len).sum();
    assert!(bytes <= socklab::session::MAX_CODE + 100, "{bytes}");
    assert_eq!(sn.code().len(), i + 2, "every line that ran is in the code");
    // Nothing ran that is not recorded: x still holds the last recorded line's value.
    sn.reset();
    assert!(matches!(sn.submit("y = 1"), Submitted::Echo(_)));
}

#[tokio::test]
async fn socklabs_own_refusals_speak_the_students_language() {
    let (mut sn, _rx) = session();
    sn.set_lang(socklab::settings::Lang::Ko);
    assert_eq!(
        sn.submit("exit"),
        Submitted::Error("LabError: socklab을 끝내려면 :quit을 입력하세요".into())
    );
    assert_eq!(
        sn.submit("'a%s' % 'b'"),
        Submitted::Error(
            "LabError: socklab은 % 서식을 지원하지 않아요. 조각을 +로 이어 붙이세요".into()
        )
    );
    // Python's own errors stay as CPython prints them.
    assert_eq!(
        sn.submit("nosuch"),
        Submitted::Error("NameError: name 'nosuch' is not defined".into())
    );
    sn.set_lang(socklab::settings::Lang::En);
    assert_eq!(
        sn.submit("exit"),
        Submitted::Error("LabError: type :quit to leave socklab".into())
    );
}
