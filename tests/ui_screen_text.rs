//! Snapshots of what issue 10 asked to be readable: prompt output that
//! wraps instead of being cut, the 80×24 lesson layout, IPv6 rows in the
//! Sockets pane, and the Korean interface chrome.

mod ui_support;

use clap::Parser;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use socklab::app::{App, LineKind};
use socklab::cli::Cli;
use socklab::settings::Mode;
use ui_support::*;

#[tokio::test]
async fn prompt_output_wraps_with_an_indent() {
    let (mut app, _ev) = app();
    app.say(LineKind::Input, ">>> conn, addr = srv.accept()");
    app.say(
        LineKind::Echo,
        "conn = <socket fd=5 TCP/v4 127.0.0.1:40001 ⇄ 127.0.0.1:51234>, addr = ('127.0.0.1', 51234)",
    );
    app.say(LineKind::Input, ">>> cli.send(b\"x\")");
    app.say(
        LineKind::Error,
        "OSError: [Errno 32] Broken pipe (the lab knows: you shut down the writing side of cli with shutdown(SHUT_WR))",
    );
    let area = Rect::new(0, 0, 44, 12);
    let mut buf = Buffer::empty(area);
    socklab::ui::prompt::render(&mut buf, area, &app);
    let text = text_of(&buf);
    insta::assert_snapshot!("prompt_wrapped_44", text);
    assert!(text.contains("51234)"), "the end of the value is shown");
    assert!(!text.contains('…'), "nothing is cut:\n{text}");
}

fn learn(app: &mut App, lesson: &str, lang: &str, state: &std::path::Path) {
    let dir = format!("{}/lessons", env!("CARGO_MANIFEST_DIR"));
    let cli = Cli::parse_from([
        "socklab",
        "--lang",
        lang,
        "--lessons",
        &dir,
        "learn",
        lesson,
    ]);
    let store = socklab::lesson::progress::ProgressStore::in_dir(state);
    let hook = socklab::tui::lesson_hook(
        &cli,
        &Mode::Learn(Some(lesson.into())),
        &mut app.session,
        store,
    )
    .unwrap()
    .expect("a lesson hook");
    app.set_hook(hook);
}

#[tokio::test]
async fn the_lesson_at_80x24_shows_the_step_what_it_misses_and_the_hint() {
    let state = tempfile::tempdir().unwrap();
    let (mut app, mut events) = app();
    learn(&mut app, "6", "en", state.path());
    enter_line(&mut app, ":hint");
    enter_line(&mut app, ":check");
    pump(&mut app, &mut events, "peers", |_| true).await;
    let text = mask(&screen(&mut app, 80, 24));
    insta::assert_snapshot!("lesson_80x24", text);
    let v = app.lesson.clone().unwrap();
    let hint_start: String = v.hint.unwrap().chars().take(20).collect();
    assert!(text.contains(&hint_start), "the hint is on screen:\n{text}");
}

#[tokio::test]
async fn ipv6_rows_are_never_cut() {
    let (mut app, mut events) = app();
    let port = app.session.placeholders()["port"].clone();
    let port2 = app.session.placeholders()["port2"].clone();
    for line in [
        "s6 = socket(AF_INET6, SOCK_STREAM)".to_string(),
        format!("s6.bind((\"::1\", {port}))"),
        "s6.listen(5)".into(),
        "c6 = socket(AF_INET6, SOCK_STREAM)".into(),
        format!("c6.connect((\"::1\", {port}))"),
        "conn6, addr6 = s6.accept()".into(),
        "d = socket(AF_INET6, SOCK_STREAM)".into(),
        format!("d.bind((\"::ffff:127.0.0.1\", {port2}))"),
        "d.listen(5)".into(),
    ] {
        run(&mut app, &mut events, &line).await;
    }
    for w in [80u16, 120] {
        let area = Rect::new(0, 0, w, 6);
        let mut buf = Buffer::empty(area);
        socklab::ui::sockets::render(&mut buf, area, &app);
        let text = mask(&text_of(&buf));
        insta::assert_snapshot!(format!("ipv6_rows_{w}"), text);
        assert!(!text.contains("[::ff…"), "{text}");
        assert!(text.contains("TCP/v6"), "{text}");
    }
}

#[tokio::test]
async fn the_korean_interface_is_korean() {
    let state = tempfile::tempdir().unwrap();
    let (mut app, mut events) = app();
    app.lang = socklab::settings::Lang::Ko;
    learn(&mut app, "1", "ko", state.path());
    run(&mut app, &mut events, "s = socket()").await;
    pump(&mut app, &mut events, "s named", |a| {
        a.session.model().by_label("s").is_some()
    })
    .await;
    enter_line(&mut app, ":hnt");
    let text = mask(&screen(&mut app, 80, 24));
    insta::assert_snapshot!("korean_chrome_80x24", text);
    for word in ["레슨", "소켓", "프롬프트", "이벤트"] {
        assert!(text.contains(word), "{word}:\n{text}");
    }
    for english in [" Sockets ", " Prompt ", " Events ", "is not a lab command"] {
        assert!(!text.contains(english), "{english}:\n{text}");
    }
}

/// The Code pane's C view follows the session: each line that works shows
/// up in the C program as well (made once per change, not once per frame).
#[tokio::test]
async fn the_code_pane_in_c_follows_the_session() {
    let (mut app, mut events) = app();
    let port = app.session.placeholders()["port"].clone();
    run(&mut app, &mut events, "srv = socket()").await;
    app.focus = socklab::keys::Pane::Code;
    key(&mut app, ratatui::crossterm::event::KeyCode::Char('c'));
    let c_pane = |app: &App| {
        let area = Rect::new(0, 0, 100, 60);
        let mut buf = Buffer::empty(area);
        socklab::ui::code::render(&mut buf, area, app);
        text_of(&buf)
    };
    let before = c_pane(&app);
    assert!(before.contains("#include <sys/socket.h>"), "{before}");
    assert!(!before.contains("bind("), "{before}");
    app.focus = socklab::keys::Pane::Prompt;
    run(
        &mut app,
        &mut events,
        &format!("srv.bind((\"127.0.0.1\", {port}))"),
    )
    .await;
    let after = c_pane(&app);
    assert!(
        after.contains("bind(srv"),
        "the new line is in the C program:\n{after}"
    );
}

/// Reopened part way through a lesson, the student lands on the first step
/// not done, on a lab that really is in that state: the done steps' reference
/// lines run again, through the prompt's queue, on the fresh lab.
#[tokio::test]
async fn reopening_part_way_redoes_the_done_steps_and_lands_on_the_next() {
    let state = tempfile::tempdir().unwrap();
    let store = socklab::lesson::progress::ProgressStore::in_dir(state.path());
    let mut p = socklab::lesson::Progress::new();
    p.mark_step("listen-backlog", 0, 4);
    p.mark_step("listen-backlog", 1, 4);
    store.save(&mut p).unwrap();
    let (mut app, mut events) = app();
    learn(&mut app, "listen-backlog", "en", state.path());
    pump(&mut app, &mut events, "step 3 current, queue empty", |a| {
        a.lesson.as_ref().is_some_and(|v| v.current == 2) && !a.queue.busy()
    })
    .await;
    let said: Vec<String> = app.output.iter().map(|l| l.text.clone()).collect();
    assert!(
        said.iter()
            .any(|l| l.contains("you did steps 1–2 of this lesson last time")),
        "{said:#?}"
    );
    // The lab is the one steps 1 and 2 build: a listener with two clients
    // waiting in its accept queue (backlog 1, plus one).
    let m = app.session.model();
    let srv = m.by_label("srv").expect("srv").id;
    pump(&mut app, &mut events, "two in the accept queue", |a| {
        a.session.model().sock(srv).and_then(|r| r.accept_q) == Some(2)
    })
    .await;
    assert!(said.iter().any(|l| l.contains("c2.connect")), "{said:#?}");
}
