//! The Lesson pane mid-lesson, in English and Korean, at 80×24: a real
//! lesson file, its first step solved on real sockets, the second current.

mod ui_support;

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use socklab::cli::Lang;
use socklab::lesson::{LessonRun, load_dir};
use socklab::session::Submitted;
use socklab::ui;
use ui_support::{app, text_of};

fn pane(app: &socklab::app::App) -> String {
    let area = Rect::new(0, 0, 80, 24);
    let mut buf = Buffer::empty(area);
    ui::lesson::render(&mut buf, area, app);
    text_of(&buf)
}

#[tokio::test]
async fn lesson_pane_mid_lesson_in_english_and_korean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let lessons = load_dir(&dir).lessons;
    let lesson = lessons
        .iter()
        .find(|l| l.id == "send-recv")
        .expect("lesson 6");
    let (mut app, mut events) = app();
    let mut run = LessonRun::new(lesson, app.session.placeholders(), app.session.model());
    let port = app.session.placeholders()["port"].clone();
    for line in &lesson.steps[0].solution {
        let call = match app.session.submit(line) {
            Submitted::Started { call, .. } => call,
            other => panic!("{line}: {other:?}"),
        };
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(30), events.recv())
                .await
                .expect("an event")
                .expect("engine alive");
            run.on_event(&ev);
            if let Some(o) = app.session.on_event(&ev)
                && o.call == call
            {
                assert!(o.ok, "{line}: {:?}", o.error);
                break;
            }
        }
    }
    // The names the session gives sockets arrive as events after the results.
    while !run.is_done(0) {
        let ev = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("step 1 completes")
            .expect("engine alive");
        run.on_event(&ev);
        app.session.on_event(&ev);
    }
    assert_eq!(run.current(), 1, "step 2 is current");
    let mask = |s: String| s.replace(&port, "PORT");

    app.lesson = Some(run.view(Lang::En));
    let en = mask(pane(&app));
    assert!(en.contains("✓ 1."), "{en}");
    assert!(
        en.starts_with("▶ 2/5 "),
        "the current step comes first:\n{en}"
    );
    assert!(en.contains("not yet: "), "{en}");
    insta::assert_snapshot!("lesson_pane_en_80x24", en);

    run.hint(Lang::Ko);
    app.lesson = Some(run.view(Lang::Ko));
    let ko = mask(pane(&app));
    assert!(ko.contains("남은 일: ") && ko.contains("힌트: "), "{ko}");
    for l in ko.lines() {
        assert!(unicode_width::UnicodeWidthStr::width(l) <= 80, "{l}");
    }
    insta::assert_snapshot!("lesson_pane_ko_80x24", ko);
}
