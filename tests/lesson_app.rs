//! Lessons in the lab screen: the app driven by real keys over real sockets,
//! with the lesson hook that `socklab learn` plugs in.

mod ui_support;

use clap::Parser;
use socklab::app::App;
use socklab::cli::Cli;
use socklab::lesson::StepStatus;
use socklab::settings::Mode;
use ui_support::*;

fn current_step(app: &App) -> Option<usize> {
    app.lesson
        .as_ref()?
        .steps
        .iter()
        .position(|(_, s)| *s == StepStatus::Current)
}

fn output(app: &App) -> String {
    app.output
        .iter()
        .map(|l| l.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_lesson_runs_in_the_app_from_first_step_to_the_next_lesson() {
    let state = tempfile::tempdir().unwrap();
    let lessons = format!("{}/lessons", env!("CARGO_MANIFEST_DIR"));
    let cli = Cli::parse_from([
        "socklab",
        "--lang",
        "en",
        "--lessons",
        &lessons,
        "learn",
        "1",
    ]);
    let (mut app, mut events) = app();
    let store = socklab::lesson::progress::ProgressStore::in_dir(state.path());
    let hook = socklab::tui::lesson_hook(
        &cli,
        &Mode::Learn(Some("1".into())),
        &mut app.session,
        store,
    )
    .unwrap()
    .expect("a lesson hook");
    app.set_hook(hook);
    assert_eq!(app.lesson.as_ref().unwrap().title, "The socket object");
    assert_eq!(current_step(&app), Some(0));

    // Any correct route: the check looks at what happened, not at the text.
    enter_line(&mut app, "s = socket(family=AF_INET)");
    pump(&mut app, &mut events, "step 2", |a| {
        current_step(a) == Some(1)
    })
    .await;

    // :solution puts the reference call in the prompt and does not run it.
    enter_line(&mut app, ":solution");
    assert_eq!(app.input.value(), "d = socket()");
    assert!(!app.session.vars().contains_key("d"));
    // :hint answers under the prompt and in the pane.
    app.input = Default::default();
    enter_line(&mut app, ":hint");
    assert!(output(&app).contains("hint: "), "{}", output(&app));
    assert!(app.lesson.as_ref().unwrap().hint.is_some());
    // :check says what is missing.
    enter_line(&mut app, ":check");
    assert!(
        output(&app).contains("there is no socket named d yet"),
        "{}",
        output(&app)
    );

    // :reset starts the lesson again on a fresh lab.
    enter_line(&mut app, ":reset");
    assert_eq!(current_step(&app), Some(0));
    assert!(app.session.vars().is_empty(), "names are gone after :reset");

    // Solve it all through the solutions.
    for line in [
        "s = socket(AF_INET, SOCK_STREAM)",
        "d = socket()",
        "s.getsockname()",
        "d.close()",
    ] {
        enter_line(&mut app, line);
        pump(&mut app, &mut events, line, |a| {
            a.session.pending().is_empty()
        })
        .await;
    }
    pump(&mut app, &mut events, "lesson complete", |a| {
        a.lesson
            .as_ref()
            .is_some_and(|v| v.steps.iter().all(|(_, s)| *s == StepStatus::Done))
    })
    .await;
    pump(&mut app, &mut events, "the completion message", |a| {
        output(a).contains("Lesson complete! :next opens the next lesson.")
    })
    .await;
    // :solution on a finished lesson gives no line: it says where to go.
    app.input = Default::default();
    let said = app.output.len();
    enter_line(&mut app, ":solution");
    assert_eq!(app.input.value(), "", "no solution line in the prompt");
    assert!(
        app.output.iter().skip(said).any(|l| l
            .text
            .contains("Lesson complete! :next opens the next lesson.")),
        "{}",
        output(&app)
    );
    let saved = std::fs::read_to_string(state.path().join("progress.json")).unwrap();
    assert!(saved.contains("socket-object"), "{saved}");

    // :next opens the next lesson on a fresh lab, and progress follows.
    enter_line(&mut app, ":next");
    assert_eq!(app.lesson.as_ref().unwrap().title, "Endpoints and bind");
    assert_eq!(current_step(&app), Some(0));
    let saved = std::fs::read_to_string(state.path().join("progress.json")).unwrap();
    assert!(
        saved.contains("\"current\": \"bind\"") || saved.contains("\"current\":\"bind\""),
        "{saved}"
    );
}
