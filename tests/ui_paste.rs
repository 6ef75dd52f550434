//! A block of lines pasted at the prompt (or typed ahead in one read of the
//! terminal) runs line by line, each after the one before it finished, on
//! REAL sockets over loopback: a blocking `accept()` holds the queue until a
//! client connects; a failing line stops it; Ctrl-C drops it.

mod ui_support;

use std::io::Read;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use socklab::app::queue::QUEUE_KEEP;
use socklab::app::{self, App, LineKind, Msg};
use socklab::engine::free_port;
use socklab::keys::Pane;
use ui_support::*;

fn paste(app: &mut App, text: &str) -> app::Effect {
    app::update(app, Msg::Paste(text.to_string()))
}

/// The lines the prompt echoed as run, in order.
fn ran(app: &App) -> Vec<String> {
    app.output
        .iter()
        .filter(|l| l.kind == LineKind::Input)
        .map(|l| l.text.trim_start_matches(">>> ").to_string())
        .collect()
}

fn said(app: &App, text: &str) -> bool {
    app.output.iter().any(|l| l.text.contains(text))
}

/// The program the Code pane shows, after its import lines.
fn program(app: &App) -> Vec<String> {
    app.session.code()[socklab::session::CODE_HEADER.len()..].to_vec()
}

fn srv_port(app: &App) -> u16 {
    app.session
        .model()
        .by_label("srv")
        .and_then(|r| r.local)
        .expect("srv is bound")
        .port()
}

const SERVER: &str = "srv = socket()\n\
    srv.bind((\"127.0.0.1\", 0))\n\
    srv.listen(1)\n\
    c, a = srv.accept()\n\
    c.sendall(b\"hi\")\n\
    c.close()\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_block_waits_for_its_blocking_accept_then_runs_on_in_order() {
    let (mut app, mut events) = app();
    paste(&mut app, SERVER);
    pump(&mut app, &mut events, "accept waiting", |a| {
        a.session
            .model()
            .by_label("srv")
            .is_some_and(|r| r.pending.is_some())
    })
    .await;
    // The lines after accept() wait: they did not run out of order (which
    // would be a NameError for `c`).
    assert_eq!(
        app.queue.lines,
        ["c.sendall(b\"hi\")", "c.close()"],
        "{:?}",
        app.output
    );
    assert!(app.queue.running.is_some());
    assert!(!said(&app, "NameError"), "{:?}", app.output);
    assert_eq!(
        ran(&app).last().map(String::as_str),
        Some("c, a = srv.accept()")
    );
    assert!(!program(&app).iter().any(|l| l.contains("sendall")));
    // Every pasted line is in the history at once, in order.
    assert_eq!(app.history, SERVER.lines().collect::<Vec<_>>());

    // An outside client connects: accept returns and the queue runs on.
    let port = srv_port(&app);
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let mut got = Vec::new();
        s.read_to_end(&mut got).expect("read");
        got
    });
    pump(&mut app, &mut events, "the queue ran out", |a| {
        !a.queue.busy() && a.session.pending().is_empty()
    })
    .await;
    assert_eq!(client.join().expect("client"), b"hi");
    assert_eq!(ran(&app), SERVER.lines().collect::<Vec<_>>());
    assert!(
        !app.output.iter().any(|l| l.kind == LineKind::Error),
        "{:?}",
        app.output
    );
    // The Code pane has the lines as they ran, in order.
    assert_eq!(program(&app), SERVER.lines().collect::<Vec<_>>());
    app.session.engine().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_typed_while_the_queue_waits_runs_at_once_and_can_unblock_it() {
    let (mut app, mut events) = app();
    let port = free_port().expect("port");
    paste(
        &mut app,
        &format!(
            "srv = socket()\nsrv.bind((\"127.0.0.1\", {port}))\nsrv.listen(1)\n\
             c, a = srv.accept()\nc.recv(100)\n"
        ),
    );
    pump(&mut app, &mut events, "accept waiting", |a| {
        a.queue.lines.len() == 1 && a.queue.running.is_some()
    })
    .await;
    // As every line does while another waits: a lab command or a client
    // typed by hand runs now, not after the queue.
    enter_line(
        &mut app,
        &format!(":peer greeter 127.0.0.1:{port} message=hey"),
    );
    pump(&mut app, &mut events, "recv returned", |a| {
        !a.queue.busy() && a.session.pending().is_empty()
    })
    .await;
    assert!(said(&app, "b'hey'"), "{:?}", app.output);
    assert_eq!(
        program(&app).last().map(String::as_str),
        Some("c.recv(100)")
    );
    app.session.engine().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_line_stops_the_queue_and_says_how_many_were_not_run() {
    let (mut app, mut events) = app();
    // Fails at once: a NameError.
    paste(&mut app, "x = 1\nnope\ny = 2\nz = 3\n");
    assert!(said(&app, "NameError"));
    assert!(said(&app, "queued lines not run: 2"), "{:?}", app.output);
    assert_eq!(ran(&app), ["x = 1", "nope"]);
    assert!(app.session.vars().contains_key("x"));
    assert!(!app.session.vars().contains_key("y"));
    assert!(!app.queue.busy());
    // Nothing is lost: the lines not run are in the history.
    assert_eq!(app.history, ["x = 1", "nope", "y = 2", "z = 3"]);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.input.value(), "z = 3");
    app.input = Default::default();

    // Fails later, in the kernel: connect() is refused.
    let closed = free_port().expect("port");
    paste(
        &mut app,
        &format!("s = socket()\ns.connect((\"127.0.0.1\", {closed}))\nw = 1\ns.close()\n"),
    );
    pump(&mut app, &mut events, "refused", |a| {
        !a.queue.busy() && a.session.pending().is_empty()
    })
    .await;
    assert!(said(&app, "ConnectionRefusedError"), "{:?}", app.output);
    assert!(said(&app, "queued lines not run: 2"));
    assert!(!app.session.vars().contains_key("w"));
    // A new paste runs: the stop does not stay behind.
    paste(&mut app, "v = 5\n");
    assert!(app.session.vars().contains_key("v"));
    app.session.engine().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_drops_the_queue_and_cancels_its_line() {
    let (mut app, mut events) = app();
    paste(&mut app, SERVER);
    pump(&mut app, &mut events, "accept waiting", |a| {
        a.queue.running.is_some() && a.queue.lines.len() == 2
    })
    .await;
    // Esc and typing lose nothing.
    key(&mut app, KeyCode::Esc);
    type_str(&mut app, "half");
    assert_eq!(app.queue.lines.len(), 2);
    let eff = ctrl(&mut app, 'c');
    assert!(!eff.quit);
    assert!(app.queue.lines.is_empty());
    assert!(said(&app, "queued lines dropped: 2"), "{:?}", app.output);
    pump(&mut app, &mut events, "accept cancelled", |a| {
        a.session.pending().is_empty()
    })
    .await;
    assert!(said(&app, "KeyboardInterrupt"));
    assert!(!app.queue.busy());
    assert_eq!(app.input.value(), "half");
    assert_eq!(app.history.last().map(String::as_str), Some("c.close()"));
    assert!(!program(&app).iter().any(|l| l.contains("sendall")));
    app.session.engine().shutdown();
}

#[tokio::test]
async fn blank_lines_comments_crlf_and_the_last_line_of_a_paste() {
    let (mut app, _events) = app();
    // A single line without a newline stays in the editor, not run.
    paste(&mut app, "a = 1");
    assert_eq!(app.input.value(), "a = 1");
    assert!(ran(&app).is_empty());
    // What is typed goes with the first pasted line; Windows line endings;
    // blank lines skipped, a comment shown in its place (it runs nothing and
    // stays out of the history); the text after the last break stays.
    app.input = Default::default();
    type_str(&mut app, "b = ");
    paste(&mut app, "2\r\n\r\n   \r\n# a comment\r\nc = 3\r\nd = ");
    assert_eq!(ran(&app), ["b = 2", "# a comment", "c = 3"]);
    assert_eq!(app.input.value(), "d = ");
    assert_eq!(app.history, ["b = 2", "c = 3"]);
    // A lone \r (what terminals send for a pasted newline) and a trailing newline.
    app.input = Default::default();
    paste(&mut app, "e = 4\rf = 5\r");
    assert_eq!(ran(&app)[3..], ["e = 4", "f = 5"]);
    assert!(app.input.is_empty());
    for v in ["b", "c", "e", "f"] {
        assert!(app.session.vars().contains_key(v), "{v}");
    }
}

#[tokio::test]
async fn the_queue_is_bounded_and_a_bigger_paste_is_refused_whole() {
    let (mut app, _events) = app();
    let text = "x = 1\n".repeat(QUEUE_KEEP + 1);
    paste(&mut app, &text);
    assert!(ran(&app).is_empty());
    assert!(app.history.is_empty());
    assert!(said(&app, "paste refused"), "{:?}", app.output);
    assert!(said(&app, &format!("at most {QUEUE_KEEP} lines")));
    // At the bound it runs.
    paste(&mut app, &"x = 1\n".repeat(QUEUE_KEEP));
    assert_eq!(ran(&app).len(), QUEUE_KEEP);
}

fn keys_of(text: &str) -> Vec<KeyEvent> {
    text.chars()
        .map(|c| match c {
            '\r' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
            c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_typed_ahead_in_one_read_wait_for_the_line_above() {
    let (mut app, mut events) = app();
    paste(
        &mut app,
        "srv = socket()\nsrv.bind((\"127.0.0.1\", 0))\nsrv.listen(1)\n",
    );
    pump(&mut app, &mut events, "listening", |a| {
        !a.queue.busy() && a.session.pending().is_empty()
    })
    .await;
    // No bracketed paste: the keys arrive in one read of the terminal.
    app::update(
        &mut app,
        Msg::Keys(keys_of("c, a = srv.accept()\rc.sendall(b'x')\rc.cl")),
    );
    assert!(!said(&app, "NameError"), "{:?}", app.output);
    assert_eq!(app.queue.lines, ["c.sendall(b'x')"]);
    assert_eq!(app.input.value(), "c.cl");
    let port = srv_port(&app);
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let mut b = [0u8; 1];
        s.read_exact(&mut b).expect("read");
        b
    });
    pump(&mut app, &mut events, "sendall ran", |a| {
        !a.queue.busy() && a.session.pending().is_empty()
    })
    .await;
    assert_eq!(&client.join().expect("client"), b"x");
    assert!(
        !app.output.iter().any(|l| l.kind == LineKind::Error),
        "{:?}",
        app.output
    );
    // The same keys one read at a time (typed by hand) run at once, as before.
    app::update(&mut app, Msg::Keys(keys_of("ose()\r")));
    assert_eq!(ran(&app).last().map(String::as_str), Some("c.close()"));
    // Keys in one read that are not plain text go one by one.
    app::update(
        &mut app,
        Msg::Keys(vec![
            KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE),
            KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE),
        ]),
    );
    assert!(app.input.is_empty());
    app.session.engine().shutdown();
}

/// The Prompt pane alone (its title row too) at a size, masked.
fn prompt_pane(app: &mut App, w: u16, h: u16) -> String {
    let buf = buffer(app, w, h);
    let r = app.frame.rect_of(Pane::Prompt).expect("prompt pane");
    mask(&text_in(&buf, r))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prompt_pane_shows_the_waiting_line_and_the_queue() {
    for (lang, tag) in [
        (socklab::settings::Lang::En, "en"),
        (socklab::settings::Lang::Ko, "ko"),
    ] {
        let (mut app, mut events) = app();
        app.lang = lang;
        paste(
            &mut app,
            &format!(
                "{SERVER}c2, a2 = srv.accept()\nc2.sendall(b\"a much longer line that is cut at the pane's edge in the preview\")\n"
            ),
        );
        pump(&mut app, &mut events, "accept waiting", |a| {
            a.queue.running.is_some() && a.queue.lines.len() == 4
        })
        .await;
        let small = prompt_pane(&mut app, 80, 24);
        assert!(small.contains("▶ c, a = srv.accept()"), "{small}");
        assert!(small.contains("(4)"), "{small}");
        insta::assert_snapshot!(format!("paste_queue_{tag}_80x24"), small);
        let big = prompt_pane(&mut app, 120, 36);
        assert!(big.contains("c.close()"), "{big}");
        insta::assert_snapshot!(format!("paste_queue_{tag}_120x36"), big);
        app.session.engine().shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_typed_while_the_queue_waits_drops_the_queue() {
    let (mut app, mut events) = app();
    paste(&mut app, SERVER);
    pump(&mut app, &mut events, "accept waiting", |a| {
        a.queue.running.is_some() && a.queue.lines.len() == 2
    })
    .await;
    enter_line(&mut app, ":reset");
    pump(&mut app, &mut events, "the queue dropped", |a| {
        !a.queue.busy()
    })
    .await;
    assert!(said(&app, "queued lines dropped: 2"), "{:?}", app.output);
    // Not run on the new lab (a NameError for `c` each).
    assert!(!said(&app, "NameError"), "{:?}", app.output);
    // A block that starts with :reset runs on after it.
    paste(&mut app, ":reset\nx = 1\n");
    assert!(app.session.vars().contains_key("x"));
    app.session.engine().shutdown();
}
