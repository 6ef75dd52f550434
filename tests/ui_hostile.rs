//! The whole app (`update` plus a `TestBackend` draw) under hostile input:
//! pastes and typing past the line limit, numbers wider than their column,
//! and a property test of random keys, pastes (up to a few MiB), resizes
//! (down to 1×1 and 0 rows) and engine events that must never panic nor let
//! anything the app holds grow past its limit.

mod ui_support;

use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use socklab::app::{
    self, App, EVENTS_KEEP, HISTORY_KEEP, LINE_LIMIT, LineKind, Msg, OUTPUT_KEEP, OUTPUT_LINE_KEEP,
    TRAFFIC_KEEP,
};
use socklab::engine::{
    Dir, Event, EventKind, Events, Family, LabState, Owner, SockType, free_port,
};
use socklab::keys::Pane;
use ui_support::*;

fn errors(app: &App, needle: &str) -> usize {
    app.output
        .iter()
        .filter(|l| l.kind == LineKind::Error && l.text.contains(needle))
        .count()
}

#[tokio::test]
async fn a_paste_past_the_line_limit_is_refused_whole_with_a_message() {
    let (mut app, _ev) = app();
    type_str(&mut app, "x = 1");
    let big = "y".repeat(LINE_LIMIT * 2);
    app::update(&mut app, Msg::Paste(big));
    assert_eq!(app.input.value(), "x = 1", "nothing of it was inserted");
    assert_eq!(errors(&app, "paste refused"), 1, "{:?}", app.output);
    let said = &app.output.back().expect("message").text;
    assert!(said.contains(&LINE_LIMIT.to_string()), "{said}");
    // Up to the limit a paste goes in whole.
    app.input = Default::default();
    let fits = "a".repeat(LINE_LIMIT);
    app::update(&mut app, Msg::Paste(fits));
    assert_eq!(app.input.len(), LINE_LIMIT);
    // A block of lines holds to the same limit, all of it: refused whole,
    // nothing run and nothing left in the editor.
    app.input = Default::default();
    let block = "s = socket()\n".repeat(LINE_LIMIT / 13 + 1);
    app::update(&mut app, Msg::Paste(block));
    assert!(app.input.is_empty());
    assert!(app.queue.lines.is_empty());
    assert!(app.session.pending().is_empty());
    assert_eq!(errors(&app, "paste refused"), 2, "{:?}", app.output.back());
    assert!(!app.output.iter().any(|l| l.text.starts_with(">>> ")));
    // The Send pane holds to the same limit.
    app.focus = Pane::Send;
    app::update(&mut app, Msg::Paste("z".repeat(5 << 20)));
    assert!(app.send_input.is_empty());
    assert_eq!(errors(&app, "paste refused"), 3);
}

#[tokio::test]
async fn typing_stops_at_the_line_limit_and_says_so_once() {
    let (mut app, _ev) = app();
    for _ in 0..LINE_LIMIT + 50 {
        key(&mut app, KeyCode::Char('x'));
    }
    assert_eq!(app.input.len(), LINE_LIMIT);
    assert_eq!(
        errors(&app, "the line is full"),
        1,
        "said once, not per key"
    );
    // Room again after deleting: typing goes on.
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Char('z'));
    assert!(app.input.value().ends_with('z'));
    assert_eq!(app.input.len(), LINE_LIMIT);
    // The whole line still submits (the language reads up to the same limit).
    key(&mut app, KeyCode::Enter);
    assert!(app.input.is_empty());
    assert_eq!(app.history.len(), 1);
}

#[tokio::test]
async fn queue_numbers_are_never_cut() {
    let (mut app, mut events) = app();
    let port = free_port().expect("port");
    for line in [
        "srv = socket()".to_string(),
        format!("srv.bind((\"127.0.0.1\", {port}))"),
        "srv.listen(5)".into(),
        "c = socket()".into(),
        format!("c.connect((\"127.0.0.1\", {port}))"),
        "conn, addr = srv.accept()".into(),
        // Unread: it waits in conn's receive queue.
        "c.send(b\"x\" * 300000)".into(),
    ] {
        enter_line(&mut app, &line);
        pump(&mut app, &mut events, &line, |a| {
            a.session.pending().is_empty()
        })
        .await;
    }
    pump(&mut app, &mut events, "a six-digit RecvQ", |a| {
        a.session
            .model()
            .by_label("conn")
            .is_some_and(|r| r.recv_q >= 100_000)
    })
    .await;
    let q = app.session.model().by_label("conn").expect("conn").recv_q;
    for (w, h) in [(160, 48), (136, 40), (100, 30), (80, 24)] {
        let s = screen(&mut app, w, h);
        let lines: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
        let at = |l: &[char], x: usize, what: &str| {
            l.get(x..x + what.len())
                .is_some_and(|c| c.iter().copied().eq(what.chars()))
        };
        // The Sockets pane's header row, its name column, and conn's row under it.
        let (hy, hx) = lines
            .iter()
            .enumerate()
            .find_map(|(y, l)| {
                let t: String = l.iter().collect();
                (t.contains("kernel") && t.contains("lab"))
                    .then(|| (0..l.len()).find(|x| at(l, *x, "name ")).map(|x| (y, x)))
                    .flatten()
            })
            .unwrap_or_else(|| panic!("no Sockets header at {w}:\n{s}"));
        let header: Option<String> = Some(lines[hy].iter().collect());
        let row: String = lines[hy + 1..]
            .iter()
            .find(|l| at(l, hx, "conn "))
            .unwrap_or_else(|| panic!("no conn row at {w}:\n{s}"))
            .iter()
            .collect();
        if header.is_some_and(|h| h.contains("RecvQ")) {
            assert!(
                row.contains(&format!(" {q} ")),
                "RecvQ {q} in full at {w} columns: {row}\n{s}"
            );
        } else {
            assert!(w < 136, "RecvQ shown at {w} columns:\n{s}");
        }
    }
}

/// One thing that happens to the app.
#[derive(Clone, Debug)]
enum Step {
    Key(KeyCode, KeyModifiers),
    Type(String),
    /// A paste of `len` bytes made of `unit` repeated.
    Paste(usize, &'static str),
    Resize(u16, u16),
    Line(&'static str),
    Engine(EventKind),
    /// Apply what the real engine has sent so far.
    Pump,
    Draw,
}

fn key_code() -> impl Strategy<Value = KeyCode> {
    prop_oneof![
        any::<char>().prop_map(KeyCode::Char),
        prop::sample::select(vec!['a', 'q', '?', 'h', 'j', 'k', ':', '(', '"', ' '])
            .prop_map(KeyCode::Char),
        prop::sample::select(vec![
            KeyCode::Enter,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Esc,
            KeyCode::F(1),
        ]),
    ]
}

fn modifiers() -> impl Strategy<Value = KeyModifiers> {
    prop::sample::select(vec![
        KeyModifiers::NONE,
        KeyModifiers::NONE,
        KeyModifiers::SHIFT,
        KeyModifiers::CONTROL,
        KeyModifiers::ALT,
    ])
}

fn engine_event() -> impl Strategy<Value = EventKind> {
    let sock = 0u32..6;
    prop_oneof![
        (sock.clone(), any::<bool>()).prop_map(|(sock, dgram)| EventKind::SocketCreated {
            sock,
            no: sock,
            fd: 3 + sock as i32,
            family: Family::V4,
            ty: if dgram {
                SockType::Dgram
            } else {
                SockType::Stream
            },
            owner: if sock % 2 == 0 {
                Owner::Student
            } else {
                Owner::peer("echo")
            },
        }),
        (sock.clone(), "[a-z\u{1b}\u{202e}]{0,40}")
            .prop_map(|(sock, label)| EventKind::SocketLabel { sock, label }),
        (
            sock.clone(),
            any::<u32>(),
            any::<u32>(),
            any::<Option<u32>>(),
            any::<Option<u32>>()
        )
            .prop_map(
                |(sock, recv_q, send_q, accept_q, backlog)| EventKind::Queues {
                    sock,
                    recv_q,
                    send_q,
                    accept_q,
                    backlog,
                }
            ),
        (sock.clone(), 0usize..7).prop_map(|(sock, to)| EventKind::LabState {
            sock,
            from: LabState::Created,
            to: [
                LabState::Created,
                LabState::Bound,
                LabState::Listening,
                LabState::Connecting,
                LabState::Connected,
                LabState::Closed,
                LabState::Connected,
            ][to],
        }),
        (sock.clone(), any::<bool>(), 0usize..(3 << 20), any::<u8>()).prop_map(
            |(sock, sent, len, b)| EventKind::Data {
                sock,
                dir: if sent { Dir::Sent } else { Dir::Received },
                data: Bytes::from(vec![b; len.min(64 * 1024)]),
                len,
                addr: None,
            }
        ),
        sock.prop_map(|sock| EventKind::SocketClosed { sock }),
        "[ -~\u{1b}\n]{0,200}".prop_map(|text| EventKind::Notice {
            note: socklab::engine::Note::verbatim(text)
        }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (key_code(), modifiers()).prop_map(|(k, m)| Step::Key(k, m)),
        3 => "[ -~가-힣\u{301}\u{1b}\t]{0,300}".prop_map(Step::Type),
        2 => (0usize..(4 << 20), prop::sample::select(vec!["x", "한", "a\nb", "\u{1b}[2J", "e\u{301}", "\r\n"]))
            .prop_map(|(n, u)| Step::Paste(n, u)),
        1 => (LINE_LIMIT - 8..LINE_LIMIT + 8).prop_map(|n| Step::Paste(n, "x")),
        2 => (0u16..300, 0u16..120).prop_map(|(w, h)| Step::Resize(w, h)),
        1 => prop::sample::select(vec![(1u16, 1u16), (0, 0), (80, 0), (1, 24), (2, 2)])
            .prop_map(|(w, h)| Step::Resize(w, h)),
        2 => prop::sample::select(vec![
            "s = socket()",
            "u = socket(AF_INET, SOCK_DGRAM)",
            "s.bind((\"127.0.0.1\", 0))",
            "s.listen(1)",
            "b = b\"x\" * 60000",
            "s.close()",
            ":clear",
            ":help",
            ":next",
            ":bogus",
            "nonsense((",
        ])
        .prop_map(Step::Line),
        3 => engine_event().prop_map(Step::Engine),
        1 => Just(Step::Pump),
        2 => Just(Step::Draw),
    ]
}

fn draw(app: &mut App) {
    let (w, h) = app.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("backend");
    t.draw(|f| socklab::ui::draw(f, app)).expect("draw");
}

/// Everything the app holds stays within its limits.
fn check_limits(app: &App) -> Result<(), TestCaseError> {
    prop_assert!(app.input.len() <= LINE_LIMIT, "prompt {}", app.input.len());
    prop_assert!(
        app.send_input.len() <= LINE_LIMIT,
        "send {}",
        app.send_input.len()
    );
    prop_assert!(app.history.len() <= HISTORY_KEEP);
    prop_assert!(app.history.iter().all(|l| l.len() <= LINE_LIMIT));
    prop_assert!(app.output.len() <= OUTPUT_KEEP);
    // A kept line is cut to OUTPUT_LINE_KEEP bytes, then escaped (at most
    // six bytes for one) with a note of the length.
    prop_assert!(
        app.output
            .iter()
            .all(|l| l.text.len() <= OUTPUT_LINE_KEEP * 6 + 64)
    );
    prop_assert!(app.events.len() <= EVENTS_KEEP);
    prop_assert!(app.traffic.recs.len() <= TRAFFIC_KEEP);
    prop_assert!(
        app.traffic
            .recs
            .iter()
            .all(|r| r.data.len() <= app::TRAFFIC_BYTES)
    );
    prop_assert!(!app.input.value().chars().any(char::is_control));
    prop_assert!(!app.send_input.value().chars().any(char::is_control));
    Ok(())
}

fn apply(app: &mut App, events: &mut Events, seq: &mut u64, step: Step) {
    match step {
        Step::Key(code, mods) => {
            // Ctrl-Z only asks the loop to suspend; the app itself goes on.
            let eff = app::update(app, Msg::Key(KeyEvent::new(code, mods)));
            if eff.quit {
                // Quitting is the loop's business: the app is still usable.
            }
        }
        Step::Type(s) => type_str(app, &s),
        Step::Paste(len, unit) => {
            let mut s = unit.repeat(len / unit.len() + 1);
            let mut end = len.min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            let before = (
                app.input.value().to_string(),
                app.send_input.value().to_string(),
            );
            let refused_before = errors(app, "paste refused");
            let block = app.focus == Pane::Prompt && s.contains(['\n', '\r']);
            let rest = s.rsplit(['\n', '\r']).next().unwrap_or("").to_string();
            app::update(app, Msg::Paste(s));
            let after = (
                app.input.value().to_string(),
                app.send_input.value().to_string(),
            );
            assert!(app.queue.lines.len() <= socklab::app::queue::QUEUE_KEEP);
            if block {
                // Lines at the prompt run (or wait their turn); what follows
                // the last break stays in the editor — or it was all refused.
                assert!(
                    errors(app, "paste refused") > refused_before || after.0 == rest,
                    "a pasted block leaves its last line in the editor: {:?}",
                    after.0
                );
            } else if after == before
                && len > 0
                && app.focus.takes_text()
                && !unit.starts_with('\u{1b}')
            {
                // Either it went in, or nothing changed and the student was told.
                assert!(
                    errors(app, "paste refused") > refused_before
                        || app
                            .output
                            .back()
                            .is_some_and(|l| l.text.contains("paste refused")),
                    "an unchanged line after a paste of {len} says why"
                );
            }
        }
        Step::Resize(w, h) => {
            app::update(app, Msg::Resize(w, h));
        }
        Step::Line(l) => {
            app.input = Default::default();
            app.focus = Pane::Prompt;
            app.help = false;
            enter_line(app, l);
        }
        Step::Engine(kind) => {
            *seq += 1;
            let t_us = *seq * 1000;
            app::update(
                app,
                Msg::Engine(Event {
                    seq: *seq,
                    t_us,
                    kind,
                }),
            );
        }
        Step::Pump => {
            while let Ok(ev) = events.try_recv() {
                app::update(app, Msg::Engine(ev));
            }
        }
        Step::Draw => draw(app),
    }
}

#[test]
fn random_keys_pastes_resizes_and_events_never_panic_nor_pass_a_limit() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _in = rt.enter();
    let cases = std::env::var("SOCKLAB_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(step(), 1..40), |steps| {
            let (mut app, mut events) = app();
            // The live clock, as on a real screen (fades, closing rows).
            app.frozen_clock = None;
            app.now_us = 0;
            let mut seq = 1_000_000;
            for s in steps {
                apply(&mut app, &mut events, &mut seq, s);
                check_limits(&app)?;
            }
            draw(&mut app);
            check_limits(&app)?;
            Ok(())
        })
        .expect("property");
}
