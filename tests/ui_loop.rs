//! The real main loop (`tui::run`) head-less: keys come from a channel, the
//! screen is a `TestBackend`.

mod ui_support;

use std::io;
use std::time::Duration;

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use futures::channel::mpsc::{UnboundedSender, unbounded};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use socklab::app::App;
use socklab::engine::Events;
use socklab::tui::{self, Exit};
use ui_support::text_of;

type Input = UnboundedSender<io::Result<TermEvent>>;

struct Run {
    tx: Input,
    done: tokio::task::JoinHandle<(Exit, String, usize, App)>,
}

/// Start the loop on a TestBackend; `stop` ends it like SIGTERM would.
fn start(w: u16, h: u16, stop: tokio::sync::oneshot::Receiver<()>) -> Run {
    let (tx, rx) = unbounded();
    let (mut app, events): (App, Events) = ui_support::app();
    app.size = (w, h);
    let done = tokio::task::spawn_local(async move {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("backend");
        let exit = tui::run(&mut term, &mut app, rx, events, async {
            let _ = stop.await;
        })
        .await
        .expect("loop");
        let frames = term.get_frame().count();
        let screen = text_of(term.backend().buffer());
        (exit, screen, frames, app)
    });
    Run { tx, done }
}

fn key(tx: &Input, code: KeyCode, mods: KeyModifiers) {
    tx.unbounded_send(Ok(TermEvent::Key(KeyEvent::new(code, mods))))
        .expect("send");
}

fn typed(tx: &Input, s: &str) {
    for c in s.chars() {
        key(tx, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn local() -> tokio::task::LocalSet {
    tokio::task::LocalSet::new()
}

#[tokio::test]
async fn colon_quit_ends_the_loop() {
    local()
        .run_until(async {
            let (_keep, stop) = tokio::sync::oneshot::channel();
            let r = start(80, 24, stop);
            typed(&r.tx, ":quit");
            key(&r.tx, KeyCode::Enter, KeyModifiers::NONE);
            let (exit, _, _, _) = r.done.await.expect("task");
            assert_eq!(exit, Exit::Quit);
        })
        .await;
}

#[tokio::test]
async fn q_types_at_the_prompt_but_quits_elsewhere() {
    local()
        .run_until(async {
            let (_keep, stop) = tokio::sync::oneshot::channel();
            let r = start(80, 24, stop);
            typed(&r.tx, "q");
            settle().await;
            assert!(!r.done.is_finished(), "q at the prompt is a letter");
            key(&r.tx, KeyCode::Tab, KeyModifiers::NONE); // non-empty line: completion, not focus
            key(&r.tx, KeyCode::Esc, KeyModifiers::NONE);
            key(&r.tx, KeyCode::BackTab, KeyModifiers::NONE); // Prompt -> Lesson
            typed(&r.tx, "q");
            let (exit, screen, _, app) = r.done.await.expect("task");
            assert_eq!(exit, Exit::Quit);
            assert_eq!(app.input.value(), "q");
            assert!(screen.contains(">>> q"), "{screen}");
        })
        .await;
}

#[tokio::test]
async fn ctrl_c_clears_a_typed_line_then_quits_at_an_idle_prompt() {
    local()
        .run_until(async {
            let (_keep, stop) = tokio::sync::oneshot::channel();
            let r = start(80, 24, stop);
            typed(&r.tx, "half a li");
            key(&r.tx, KeyCode::Char('c'), KeyModifiers::CONTROL);
            settle().await;
            assert!(!r.done.is_finished());
            key(&r.tx, KeyCode::Char('c'), KeyModifiers::CONTROL);
            let (exit, _, _, app) = r.done.await.expect("task");
            assert_eq!(exit, Exit::Quit);
            assert!(app.output.iter().any(|l| l.text == "KeyboardInterrupt"));
            assert_eq!(app.input.value(), "");
        })
        .await;
}

#[tokio::test]
async fn a_stop_signal_ends_the_loop() {
    local()
        .run_until(async {
            let (stop_tx, stop) = tokio::sync::oneshot::channel();
            let r = start(80, 24, stop);
            settle().await;
            stop_tx.send(()).expect("stop");
            let (exit, _, _, _) = r.done.await.expect("task");
            assert_eq!(exit, Exit::Stopped);
        })
        .await;
}

#[tokio::test]
async fn a_click_focuses_the_pane_under_it() {
    local()
        .run_until(async {
            let (_keep, stop) = tokio::sync::oneshot::channel();
            let r = start(80, 24, stop);
            // Row 8 is inside the Sockets pane at 80×24.
            r.tx.unbounded_send(Ok(TermEvent::Mouse(MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column: 10,
                row: 8,
                modifiers: KeyModifiers::NONE,
            })))
            .expect("send");
            settle().await;
            drop(r.tx);
            let (_, screen, _, app) = r.done.await.expect("task");
            assert_eq!(app.focus, socklab::keys::Pane::Sockets);
            let status = screen.lines().last().expect("status line");
            assert!(status.starts_with(" Sockets "), "{status}");
            assert!(status.contains("q quit"), "{status}");
        })
        .await;
}

#[tokio::test]
async fn an_idle_screen_draws_nothing() {
    local()
        .run_until(async {
            let (_keep, stop) = tokio::sync::oneshot::channel();
            let r = start(80, 24, stop);
            settle().await;
            typed(&r.tx, "x");
            tokio::time::sleep(Duration::from_millis(600)).await;
            typed(&r.tx, "y");
            settle().await;
            drop(r.tx);
            let (_, screen, frames, _) = r.done.await.expect("task");
            assert!(screen.contains(">>> xy"));
            // First frame + one per key (+ engine start-up at most).
            assert!(frames <= 5, "{frames} frames for two keys");
        })
        .await;
}

#[tokio::test]
async fn resize_to_too_small_and_back() {
    local()
        .run_until(async {
            let (_keep, stop) = tokio::sync::oneshot::channel();
            let r = start(80, 24, stop);
            r.tx.unbounded_send(Ok(TermEvent::Resize(40, 10)))
                .expect("send");
            settle().await;
            drop(r.tx);
            let (_, _, _, app) = r.done.await.expect("task");
            assert_eq!(app.size, (40, 10));
        })
        .await;
}
