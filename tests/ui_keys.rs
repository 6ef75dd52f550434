//! Keys and lab commands through `app::update`, and the lesson hook.

mod ui_support;

use std::cell::RefCell;
use std::rc::Rc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use socklab::app::{self, LessonHook, LineKind, Msg, Session};
use socklab::engine::Event;
use socklab::keys::Pane;
use socklab::ui::lesson::{LessonView, StepStatus};
use ui_support::*;

#[tokio::test]
async fn tab_and_shift_tab_cycle_every_pane() {
    let (mut app, _ev) = app();
    assert_eq!(app.focus, Pane::Prompt, "the prompt has focus at start");
    let mut seen = vec![app.focus];
    for _ in 0..Pane::ORDER.len() {
        if app.focus == Pane::Prompt {
            // Tab on an empty prompt moves on (otherwise it completes).
            assert!(app.input.value().is_empty());
        }
        key(&mut app, KeyCode::Tab);
        seen.push(app.focus);
    }
    assert_eq!(seen.first(), seen.last());
    for p in Pane::ORDER {
        assert!(seen.contains(&p), "{p:?} reachable");
    }
    app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    );
    assert_eq!(app.focus, Pane::Lesson);
}

#[tokio::test]
async fn history_walks_back_and_forth_and_keeps_the_draft() {
    let (mut app, _ev) = app();
    enter_line(&mut app, "# one");
    enter_line(&mut app, "# two");
    type_str(&mut app, "dra");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.input.value(), "# two");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.input.value(), "# one");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.input.value(), "# one");
    key(&mut app, KeyCode::Down);
    assert_eq!(app.input.value(), "# two");
    key(&mut app, KeyCode::Down);
    assert_eq!(app.input.value(), "dra");
}

#[tokio::test]
async fn editing_keys_come_from_the_table() {
    let (mut app, _ev) = app();
    type_str(&mut app, "srv.bind x");
    ctrl(&mut app, 'w');
    assert_eq!(app.input.value(), "srv.bind ");
    key(&mut app, KeyCode::Home);
    type_str(&mut app, ">");
    assert_eq!(app.input.value(), ">srv.bind ");
    ctrl(&mut app, 'u');
    assert_eq!(app.input.value(), "");
}

#[tokio::test]
async fn lab_commands_in_the_sandbox() {
    let (mut app, _ev) = app();
    enter_line(&mut app, ":next");
    let last = app.output.back().expect("line");
    assert_eq!(last.kind, LineKind::Info);
    assert!(last.text.contains("no lesson open"), "{}", last.text);
    enter_line(&mut app, ":bogus");
    let last = app.output.back().expect("line");
    assert_eq!(last.kind, LineKind::Error);
    assert!(last.text.contains(":bogus is not a lab command"));
    enter_line(&mut app, ":hnt");
    let last = app.output.back().expect("line");
    assert!(last.text.contains("Did you mean :hint?"), "{}", last.text);
    enter_line(&mut app, ":peer ehco 127.0.0.1:0");
    let last = app.output.back().expect("line");
    assert!(last.text.contains("Did you mean: 'echo'?"), "{}", last.text);
    enter_line(&mut app, ":help");
    assert!(app.help);
    key(&mut app, KeyCode::Esc);
    enter_line(&mut app, ":clear");
    assert!(app.output.is_empty());
    assert!(enter_line(&mut app, ":quit").quit);
}

#[tokio::test]
async fn text_typed_in_the_send_pane_stays_there() {
    let (mut app, _ev) = app();
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Send);
    type_str(&mut app, "q?hi");
    assert_eq!(app.send_input.value(), "q?hi");
    assert_eq!(app.input.value(), "");
    ctrl(&mut app, 'n');
    assert!(!app.send_newline);
    // Nothing connected: Enter explains instead of sending.
    key(&mut app, KeyCode::Enter);
    let last = app.output.back().expect("line");
    assert_eq!(last.kind, LineKind::Error);
    assert!(last.text.contains("connect() or accept()"));
    assert!(
        socklab::ui::send::title_extra(&app).contains("no connected socket · +\\n off"),
        "{}",
        socklab::ui::send::title_extra(&app)
    );
}

#[derive(Default)]
struct Seen {
    events: usize,
    commands: Vec<String>,
}

struct FakeLesson(Rc<RefCell<Seen>>);

impl LessonHook for FakeLesson {
    fn on_event(&mut self, _s: &Session, _ev: &Event) {
        self.0.borrow_mut().events += 1;
    }
    fn command(&mut self, _s: &mut Session, name: &str, args: &str) -> Vec<String> {
        self.0.borrow_mut().commands.push(format!("{name} {args}"));
        vec![format!("did {name}")]
    }
    fn view(&self, _s: &Session) -> LessonView {
        let n = self.0.borrow().commands.len();
        LessonView {
            title: "fake".into(),
            text: format!("{n} commands"),
            steps: vec![("one".into(), StepStatus::Current)],
            hint: None,
            why_not: vec![],
            footer: "lesson 1/1".into(),
            ..Default::default()
        }
    }
}

#[tokio::test]
async fn a_lesson_hook_gets_commands_and_events_and_fills_the_pane() {
    let (mut app, _ev) = app();
    let seen = Rc::new(RefCell::new(Seen::default()));
    app.set_hook(Box::new(FakeLesson(seen.clone())));
    enter_line(&mut app, ":hint");
    enter_line(&mut app, ":lesson send-recv");
    assert_eq!(seen.borrow().commands, vec!["hint ", "lesson send-recv"]);
    assert_eq!(app.output.back().expect("line").text, "did lesson");
    app::update(
        &mut app,
        Msg::Engine(Event {
            seq: 1,
            t_us: 5,
            kind: socklab::engine::EventKind::Notice {
                note: socklab::engine::Note::verbatim("x"),
            },
        }),
    );
    assert_eq!(seen.borrow().events, 1);
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("2 commands"), "{text}");
    assert!(
        text.contains("▶ 1/1 one"),
        "the current step leads the pane: {text}"
    );
    assert!(text.contains("lesson 1/1"), "footer on the status line");
}

/// The README's key list is the key table: every binding is there.
#[test]
fn the_readme_lists_every_key() {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    assert!(text.contains("## Keys"), "the README has a Keys section");
    for (scope, keys, help) in socklab::keys::help_rows() {
        let keys: Vec<String> = keys.split(' ').map(|k| format!("`{k}`")).collect();
        let row = format!("| {scope} | {} | {help} |", keys.join(" "));
        assert!(text.contains(&row), "README lacks: {row}");
    }
}

#[tokio::test]
async fn page_up_scrolls_back_through_the_prompt_output() {
    let (mut app, _ev) = app();
    for i in 0..12 {
        enter_line(&mut app, &format!(":nothing{i}"));
    }
    let text = screen(&mut app, 80, 24);
    assert!(text.contains(":nothing11 is not"), "{text}");
    assert!(!text.contains(">>> :nothing3"), "{text}");
    key(&mut app, KeyCode::PageUp);
    key(&mut app, KeyCode::PageUp);
    let text = screen(&mut app, 80, 24);
    assert!(!text.contains(":nothing11 is not"), "{text}");
    assert!(text.contains("lines below · PgDn"), "{text}");
    // Typing a new line shows the newest output again.
    enter_line(&mut app, ":again");
    let text = screen(&mut app, 80, 24);
    assert!(text.contains(":again is not"), "{text}");
}
