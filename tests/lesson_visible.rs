//! What a lesson step talks about is on the screen: for every lesson and
//! step, at 80×24 and 120×36, after the step's reference solution ran in the
//! app, every socket the step's check names has a row in the Sockets pane
//! (not hidden behind "+N more") and every column its text names is shown.

mod ui_support;

use std::time::{Duration, Instant};

use clap::Parser;
use socklab::app::{self, App, Msg};
use socklab::cli::Cli;
use socklab::engine::Events;
use socklab::keys::Pane;
use socklab::lesson::{StepStatus, named_columns};
use socklab::settings::Mode;
use ui_support::*;

/// Take events until `cond` holds or `wait` passes; says whether it held.
async fn pump_until(
    app: &mut App,
    events: &mut Events,
    wait: Duration,
    cond: impl Fn(&App) -> bool,
) -> bool {
    let deadline = Instant::now() + wait;
    while !cond(app) {
        match tokio::time::timeout_at(deadline.into(), events.recv()).await {
            Ok(Some(ev)) => {
                app::update(app, Msg::Engine(ev));
            }
            _ => return cond(app),
        }
    }
    true
}

/// Take what arrives until things are quiet for a moment.
async fn settle(app: &mut App, events: &mut Events) {
    let cap = Instant::now() + Duration::from_millis(300);
    while Instant::now() < cap {
        match tokio::time::timeout(Duration::from_millis(40), events.recv()).await {
            Ok(Some(ev)) => {
                app::update(app, Msg::Engine(ev));
            }
            _ => break,
        }
    }
}

fn step_done(app: &App, i: usize) -> bool {
    app.lesson
        .as_ref()
        .is_some_and(|v| v.steps.get(i).is_some_and(|(_, s)| *s == StepStatus::Done))
}

/// The Sockets pane's rows (header first) as text.
fn sockets_rows(app: &mut App, w: u16, h: u16) -> (Vec<String>, String) {
    let text = screen(app, w, h);
    let r = app.frame.rect_of(Pane::Sockets).expect("a Sockets pane");
    let lines: Vec<&str> = text.lines().collect();
    let x = r.x as usize;
    let rows = (r.y as usize + 1..(r.y + r.height) as usize)
        .map(|y| {
            let l: String = lines[y].chars().skip(x).take(r.width as usize).collect();
            l.trim_start_matches('│').to_string()
        })
        .collect();
    (rows, text)
}

#[test]
fn every_step_shows_its_sockets_and_columns() {
    let dir = format!("{}/lessons", env!("CARGO_MANIFEST_DIR"));
    let rep = socklab::lesson::load_dir(std::path::Path::new(&dir));
    assert!(rep.lessons.len() >= 20, "{:?}", rep.problems);
    // Each lesson on its own lab and thread: most of the time is waiting.
    let threads: Vec<_> = rep
        .lessons
        .into_iter()
        .map(|lesson| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(one_lesson(lesson, dir))
            })
        })
        .collect();
    let failures: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("lesson thread"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

async fn one_lesson(lesson: socklab::lesson::Lesson, dir: String) -> Vec<String> {
    let mut failures = Vec::new();
    {
        let state = tempfile::tempdir().unwrap();
        let order = lesson.order.to_string();
        let cli = Cli::parse_from([
            "socklab",
            "--lang",
            "en",
            "--lessons",
            &dir,
            "learn",
            &order,
        ]);
        let (mut app, mut events) = app();
        let store = socklab::lesson::progress::ProgressStore::in_dir(state.path());
        let hook = socklab::tui::lesson_hook(
            &cli,
            &Mode::Learn(Some(order.clone())),
            &mut app.session,
            store,
        )
        .unwrap()
        .expect("a lesson hook");
        app.set_hook(hook);
        settle(&mut app, &mut events).await;
        for (i, step) in lesson.steps.iter().enumerate() {
            let lines = step
                .solution
                .iter()
                .filter(|l| !l.trim().is_empty())
                .count();
            for _ in 0..lines {
                enter_line(&mut app, ":solution");
                let line = app.input.value().to_string();
                key(&mut app, crossterm::event::KeyCode::Enter);
                // A call that waits for a later line gives way after a while.
                pump_until(&mut app, &mut events, Duration::from_secs(12), |a| {
                    a.session.pending().iter().all(|(_, t)| *t != line) || step_done(a, i)
                })
                .await;
                settle(&mut app, &mut events).await;
            }
            let done = pump_until(&mut app, &mut events, Duration::from_secs(5), |a| {
                step_done(a, i)
            })
            .await;
            settle(&mut app, &mut events).await;
            if !done {
                failures.push(format!(
                    "{} step {}: not done after its solution",
                    lesson.id,
                    i + 1
                ));
                break;
            }
            let mut socks = Vec::new();
            step.check.student_labels(&mut socks);
            let cols = named_columns(&step.text.en);
            for (w, h) in [(80u16, 24u16), (120, 36)] {
                let (rows, text) = sockets_rows(&mut app, w, h);
                let header = rows.first().cloned().unwrap_or_default();
                for s in &socks {
                    // Only sockets that exist (a check may name one that must not).
                    if !app
                        .session
                        .model()
                        .socks
                        .values()
                        .any(|r| r.label.as_deref() == Some(s.as_str()) && !r.closed)
                    {
                        continue;
                    }
                    if !rows
                        .iter()
                        .skip(1)
                        .any(|r| r.split_whitespace().next() == Some(s))
                    {
                        failures.push(format!(
                            "{} step {} at {w}×{h}: socket {s} is not on screen:\n{text}",
                            lesson.id,
                            i + 1
                        ));
                    }
                }
                // A kernel entry without a descriptor in a state the step's
                // text names (lesson 12's TIME_WAIT) has its row too.
                for o in app.orphan_rows() {
                    let n = o.state.name();
                    let named = step.text.en.contains(n).then_some(n);
                    if let Some(n) = named
                        && !rows.iter().skip(1).any(|r| r.contains(n))
                    {
                        failures.push(format!(
                            "{} step {} at {w}×{h}: the (no fd) {n} row is not on screen:\n{text}",
                            lesson.id,
                            i + 1
                        ));
                    }
                }
                for c in &cols {
                    let head = socklab::ui::sockets::header_of(c, socklab::settings::Lang::En)
                        .expect("a column");
                    if !header.split_whitespace().any(|h| h == head) {
                        failures.push(format!(
                            "{} step {} at {w}×{h}: column {head} is not on screen:\n{text}",
                            lesson.id,
                            i + 1
                        ));
                    }
                }
            }
        }
        if lesson
            .steps
            .iter()
            .any(|s| s.text.en.contains("latency_ms"))
        {
            // Every peer measurement reaches the Events pane: lesson 19
            // compares the device's (push) and the poller's latency_ms.
            let measured: Vec<&str> = app
                .events
                .iter()
                .map(|e| e.text.as_str())
                .filter(|t| t.contains("measured latency_ms"))
                .collect();
            for who in ["device", "poller"] {
                if !measured.iter().any(|t| t.contains(who)) {
                    failures.push(format!(
                        "{}: no latency_ms from the {who} in the Events pane: {measured:?}",
                        lesson.id
                    ));
                }
            }
        }
    }
    failures
}
