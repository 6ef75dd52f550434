//! The Code pane shows the program in Python, and `c` switches it to C.

mod ui_support;

use std::time::Duration;

use crossterm::event::KeyCode;
use socklab::app::{self, App, Msg};
use socklab::engine::Events;
use socklab::keys::Pane;
use ui_support::*;

async fn until_idle(app: &mut App, events: &mut Events) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !app.session.pending().is_empty() {
        let ev = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("call did not finish")
            .expect("engine stopped");
        app::update(app, Msg::Engine(ev));
    }
}

#[tokio::test]
async fn c_in_the_code_pane_switches_between_python_and_c() {
    let (mut app, mut events) = app();
    enter_line(&mut app, "srv = socket()");
    until_idle(&mut app, &mut events).await;
    enter_line(&mut app, "srv.bind(('127.0.0.1', 0))");
    until_idle(&mut app, &mut events).await;
    let s = screen(&mut app, 120, 40);
    assert!(s.contains("srv = socket()"), "{s}");
    assert!(s.contains("Code") && s.contains("Python · c: C"), "{s}");

    app.focus = Pane::Code;
    key(&mut app, KeyCode::Char('c'));
    let s = screen(&mut app, 120, 40);
    assert!(s.contains("C · c: Python"), "{s}");
    // It follows the end: the last call's C is on screen.
    assert!(s.contains("perror(\"bind\")"), "{s}");
    assert!(s.contains("return 0;"), "{s}");

    key(&mut app, KeyCode::Char('c'));
    let s = screen(&mut app, 120, 40);
    assert!(s.contains("srv.bind(('127.0.0.1', 0))"), "{s}");
    assert!(!s.contains("perror"), "{s}");
}
