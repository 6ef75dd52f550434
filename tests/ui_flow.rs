//! Whole-app flows on REAL sockets over loopback: keys typed into the app,
//! events from the real engine, a Python client as the other end. Screens are
//! snapshotted at 80×24 and 160×48 with ports, fds and times masked.

mod ui_support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crossterm::event::KeyCode;
use socklab::app::{self, App, Msg};
use socklab::engine::{Events, LabState, TcpState, free_port};
use socklab::keys::Pane;
use ui_support::*;

/// Apply engine events until `cond` holds (or fail after 30 s), then let
/// the kernel observations settle so the screen is stable.
async fn pump(app: &mut App, events: &mut Events, what: &str, cond: impl Fn(&App) -> bool) {
    ui_support::pump(app, events, what, cond).await;
    settle(app, events).await;
}

async fn settle(app: &mut App, events: &mut Events) {
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(300), events.recv()).await {
        app::update(app, Msg::Engine(ev));
    }
}

fn lab_of(app: &App, name: &str) -> Option<LabState> {
    app.session.model().by_label(name).map(|r| r.lab)
}

fn kernel_of(app: &App, name: &str) -> Option<TcpState> {
    app.session.model().by_label(name).and_then(|r| r.kernel)
}

fn idle(app: &App) -> bool {
    app.session.pending().is_empty()
}

/// A Python client: connect, send `hello\n`, read until `bye\n`, close.
fn python_client(port: u16, payload: &str) -> Child {
    let script = format!(
        "import socket,time\n\
         s=socket.create_connection(('127.0.0.1',{port}))\n\
         s.sendall({payload})\n\
         buf=b''\n\
         while not buf.endswith(b'bye\\n'):\n    d=s.recv(100)\n    if not d: break\n    buf+=d\n\
         s.close()\n"
    );
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::null())
        .spawn()
        .expect("python3")
}

/// create, bind, listen, accept ← python connects and sends, recv, send, close.
async fn server_flow(w: u16, h: u16, tag: &str) {
    let (mut app, mut events) = app();
    let port = free_port().expect("port");
    enter_line(&mut app, "srv = socket(AF_INET, SOCK_STREAM)");
    pump(&mut app, &mut events, "srv", |a| {
        lab_of(a, "srv").is_some() && idle(a)
    })
    .await;
    enter_line(&mut app, &format!("srv.bind((\"127.0.0.1\", {port}))"));
    pump(&mut app, &mut events, "bound", |a| {
        lab_of(a, "srv") == Some(LabState::Bound) && idle(a)
    })
    .await;
    enter_line(&mut app, "srv.listen(5)");
    pump(&mut app, &mut events, "listening", |a| {
        kernel_of(a, "srv") == Some(TcpState::Listen) && idle(a)
    })
    .await;
    enter_line(&mut app, "conn, addr = srv.accept()");
    pump(&mut app, &mut events, "accept pending", |a| {
        a.session
            .model()
            .by_label("srv")
            .is_some_and(|r| r.pending.is_some())
    })
    .await;
    let waiting = mask(&screen(&mut app, w, h));
    let waiting = blank_pane(&app, &waiting, Pane::Events);
    assert!(waiting.contains("accept()…"), "{waiting}");
    assert!(waiting.contains("srv.accept() is waiting"), "{waiting}");
    insta::assert_snapshot!(format!("{tag}_1_accept_waiting"), waiting);

    let mut client = python_client(port, "b'hello\\n'");
    pump(&mut app, &mut events, "accepted", |a| {
        lab_of(a, "conn") == Some(LabState::Connected) && idle(a)
    })
    .await;
    enter_line(&mut app, "conn.recv(1024)");
    pump(&mut app, &mut events, "recv", |a| {
        idle(a) && a.output.iter().any(|l| l.text.contains("b'hello\\n'"))
    })
    .await;
    // The Send pane: raw text with an escape, \n added on Enter.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Send);
    type_str(&mut app, "by\\x65");
    key(&mut app, KeyCode::Enter);
    pump(&mut app, &mut events, "sendall", |a| {
        idle(a) && a.traffic.recs.iter().any(|r| r.data.as_ref() == b"bye\n")
    })
    .await;
    key(&mut app, KeyCode::Esc);
    let status = client.wait().expect("python");
    assert!(status.success());
    enter_line(&mut app, "conn.recv(1024)");
    pump(&mut app, &mut events, "eof", |a| {
        idle(a) && a.output.back().is_some_and(|l| l.text.contains("b''"))
    })
    .await;
    enter_line(&mut app, "conn.close()");
    pump(&mut app, &mut events, "closed", |a| {
        idle(a) && a.session.model().by_label("conn").is_some_and(|r| r.closed)
    })
    .await;
    let end = mask(&screen(&mut app, w, h));
    // The Events log and the ladder depend on when the kernel was looked at
    // and how it grouped ACKs; their pane is blanked, and checked below.
    let shown = blank_pane(&app, &end, Pane::Events);
    insta::assert_snapshot!(
        format!("{tag}_2_after_close"),
        blank_pane(&app, &shown, Pane::Wire)
    );
    let ladder = app
        .ladder()
        .expect("the connection was captured (tests run as root)");
    let labels: Vec<&str> = ladder.rows.iter().map(|r| r.label.as_str()).collect();
    assert!(labels[0].starts_with("SYN seq=0"), "{labels:?}");
    assert!(
        labels.iter().any(|l| l.contains("\"hello\\n\"")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.contains("\"bye\\n\"")),
        "{labels:?}"
    );
    assert!(
        labels.iter().filter(|l| l.starts_with("FIN")).count() == 2,
        "{labels:?}"
    );
    // The Events log depends on when the kernel was looked at; what must be there:
    let conn = app.session.model().by_label("conn").expect("conn").id;
    let said = |sock: Option<u32>, text: &str| {
        app.events
            .iter()
            .any(|e| e.sock == sock && e.text.contains(text))
    };
    let srv = app.session.model().by_label("srv").expect("srv").id;
    assert!(said(Some(srv), "bound → listening"));
    assert!(said(Some(srv), "kernel CLOSE → LISTEN"));
    assert!(said(Some(conn), "kernel ESTABLISHED → CLOSE_WAIT"));
    assert!(said(None, "conn.recv(1024) → b'hello\\n'"));
    assert!(said(Some(conn), "connected → closed"));
    // What the student built is a runnable program.
    let code = app.session.code().join("\n");
    for line in ["srv.listen(5)", "conn, addr = srv.accept()", "conn.close()"] {
        assert!(code.contains(line), "{code}");
    }
    app.session.engine().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_flow_80x24() {
    server_flow(80, 24, "flow_80x24").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_flow_160x48() {
    server_flow(160, 48, "flow_160x48").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_client_cannot_touch_the_screen() {
    let (mut app, mut events) = app();
    let port = free_port().expect("port");
    for line in [
        "srv = socket()".to_string(),
        format!("srv.bind((\"127.0.0.1\", {port}))"),
        "srv.listen(1)".to_string(),
    ] {
        let n = app.session.code().len();
        enter_line(&mut app, &line);
        pump(&mut app, &mut events, &line, |a| {
            idle(a) && a.session.code().len() > n
        })
        .await;
    }
    enter_line(&mut app, "conn, addr = srv.accept()");
    let evil = r"b'\x1b[2J\x1b[H\x1b]0;pwned\x07\x08\x08\x08\xff\xfe\xc3(\x9b31mbye\n'";
    let mut client = python_client(port, evil);
    pump(&mut app, &mut events, "accepted", |a| {
        lab_of(a, "conn") == Some(LabState::Connected) && idle(a)
    })
    .await;
    let before = screen(&mut app, 120, 40);
    enter_line(&mut app, "conn.recv(1024)");
    pump(&mut app, &mut events, "recv", |a| {
        idle(a) && !a.traffic.recs.is_empty()
    })
    .await;
    let buf = buffer(&mut app, 120, 40);
    for cell in buf.content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(socklab::engine::text::is_unsafe_char),
            "raw control character {:?} reached the screen",
            cell.symbol()
        );
    }
    let after = text_of(&buf);
    assert!(
        after.contains(r"\x1b[2J\x1b[H\x1b]0;pwned\x07\x08"),
        "{after}"
    );
    // Outside the Traffic, Events, Sockets and Prompt rows nothing moved.
    assert!(after.contains("Sandbox — no lesson open"));
    assert_eq!(
        before.lines().next(),
        after.lines().next(),
        "the top line is untouched"
    );
    assert!(after.contains(">>> conn.recv(1024)"));
    client.kill().ok();
    client.wait().ok();
    app.session.engine().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_a_pending_call_instead_of_quitting() {
    let (mut app, mut events) = app();
    let port = free_port().expect("port");
    for line in [
        "srv = socket()".to_string(),
        format!("srv.bind((\"127.0.0.1\", {port}))"),
        "srv.listen(1)".to_string(),
    ] {
        let n = app.session.code().len();
        enter_line(&mut app, &line);
        pump(&mut app, &mut events, &line, |a| {
            idle(a) && a.session.code().len() > n
        })
        .await;
    }
    enter_line(&mut app, "srv.accept()");
    pump(&mut app, &mut events, "pending", |a| !idle(a)).await;
    let eff = ctrl(&mut app, 'c');
    assert!(!eff.quit, "Ctrl-C with a pending call cancels it");
    pump(&mut app, &mut events, "cancelled", idle).await;
    assert!(
        app.output
            .iter()
            .any(|l| l.text.contains("KeyboardInterrupt")),
        "{:?}",
        app.output
    );
    assert!(
        ctrl(&mut app, 'c').quit,
        "then Ctrl-C at an idle prompt quits"
    );
    app.session.engine().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tab_completes_names_and_methods() {
    let (mut app, mut events) = app();
    enter_line(&mut app, "server = socket()");
    pump(&mut app, &mut events, "server", |a| {
        idle(a) && lab_of(a, "server").is_some()
    })
    .await;
    type_str(&mut app, "ser");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "server");
    type_str(&mut app, ".li");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "server.listen");
    ctrl(&mut app, 'u');
    type_str(&mut app, "server.se");
    key(&mut app, KeyCode::Tab);
    assert!(app.input.value().starts_with("server.se"));
    assert!(app.completions.len() > 1, "{:?}", app.completions);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("sendall"), "{text}");
    app.session.engine().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_pane_to_a_socket_chosen_in_the_sockets_pane() {
    let (mut app, mut events) = app();
    let port = free_port().expect("port");
    enter_line(&mut app, &format!(":peer echo 127.0.0.1:{port}"));
    enter_line(&mut app, "a = socket()");
    enter_line(&mut app, "b = socket()");
    pump(&mut app, &mut events, "sockets", |a| {
        idle(a) && lab_of(a, "b").is_some()
    })
    .await;
    for s in ["a", "b"] {
        enter_line(&mut app, &format!("{s}.connect((\"127.0.0.1\", {port}))"));
        pump(&mut app, &mut events, "connect", |a| {
            idle(a)
                && a.session
                    .model()
                    .by_label(s)
                    .is_some_and(|r| r.lab == LabState::Connected && r.peer.is_some())
        })
        .await;
    }
    // Newest connected socket is the default target; pick `a` on the Sockets pane.
    assert_eq!(
        app.current_target(),
        app.session.model().by_label("b").map(|r| r.id)
    );
    key(&mut app, KeyCode::BackTab); // Prompt -> Lesson
    key(&mut app, KeyCode::BackTab); // -> Code
    key(&mut app, KeyCode::BackTab); // -> Events
    key(&mut app, KeyCode::BackTab); // -> Wire
    key(&mut app, KeyCode::BackTab); // -> Traffic
    key(&mut app, KeyCode::BackTab); // -> Sockets
    assert_eq!(app.focus, Pane::Sockets);
    let row = app
        .socket_rows()
        .iter()
        .position(|r| r.label.as_deref() == Some("a"))
        .expect("row of a");
    key(&mut app, KeyCode::Home);
    for _ in 0..row {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.focus, Pane::Send);
    assert!(socklab::ui::send::title_extra(&app).starts_with("to a "));
    type_str(&mut app, "안녕\\t!");
    key(&mut app, KeyCode::Enter);
    pump(&mut app, &mut events, "echo", |a| {
        a.traffic
            .recs
            .iter()
            .filter(|r| r.data.as_ref() == "안녕\t!\n".as_bytes())
            .count()
            >= 3
    })
    .await;
    assert!(
        app.output
            .iter()
            .any(|l| l.text.starts_with(">>> a.sendall("))
    );
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("안녕\\t!\\n"), "{text}");
    app.session.engine().shutdown();
}

/// The side that closes first: its closed row gives way at once to the
/// `(no fd)` TIME_WAIT entry its connection left, so a short Sockets pane
/// shows the entry a lesson talks about (lesson 12) rather than a row that
/// only says "closed".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_socket_is_shown_by_the_kernel_entry_it_left() {
    let (mut app, mut events) = app();
    // The real clock: a closed row shows for a moment after its close.
    app.frozen_clock = None;
    app.now_us = 0;
    for line in [
        "srv = socket()",
        "srv.bind((\"127.0.0.1\", 0))",
        "srv.listen(5)",
    ] {
        enter_line(&mut app, line);
        pump(&mut app, &mut events, line, idle).await;
    }
    let port = app
        .session
        .model()
        .by_label("srv")
        .and_then(|r| r.local)
        .expect("bound")
        .port();
    for line in [
        "cli = socket()".to_string(),
        format!("cli.connect((\"127.0.0.1\", {port}))"),
        "conn, addr = srv.accept()".to_string(),
        "conn.close()".to_string(),
        "cli.close()".to_string(),
    ] {
        enter_line(&mut app, &line);
        pump(&mut app, &mut events, &line, idle).await;
    }
    pump(&mut app, &mut events, "TIME_WAIT entry", |a| {
        a.orphan_rows()
            .iter()
            .any(|o| o.state == TcpState::TimeWait)
    })
    .await;
    let conn = app.session.model().by_label("conn").map(|r| r.id);
    let rows: Vec<Option<String>> = app.socket_rows().iter().map(|r| r.label.clone()).collect();
    assert!(
        !app.socket_rows().iter().any(|r| Some(r.id) == conn),
        "conn's closed row gave way to its TIME_WAIT entry: {rows:?}"
    );
    // The listener, still open, is shown as ever.
    assert!(rows.iter().any(|l| l.as_deref() == Some("srv")), "{rows:?}");
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("TIME_WAIT"), "{text}");
    app.session.engine().shutdown();
}
