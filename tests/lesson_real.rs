//! Checks over a real engine's events: a LessonRun fed by a head-less Session
//! on loopback, as the app and `verify` use it.

use std::time::{Duration, Instant};

use socklab::cli::Lang;
use socklab::engine::{Engine, EngineConfig, Events};
use socklab::lesson::LessonRun;
use socklab::lesson::load::parse;
use socklab::session::{Session, Submitted};

const LESSON: &str = r#"
id = "real"
order = 0
title = { en = "Real", ko = "진짜" }
text = { en = "t", ko = "t" }

[[steps]]
text = { en = "Listen with srv on {port}.", ko = "srv로 {port}에서 listen." }
hint = { en = "h", ko = "h" }
solution = ['srv = socket()', 'srv.bind(("127.0.0.1", {port}))', 'srv.listen(1)']
check = { socket = "srv", lab = "listening" }

[[steps]]
text = { en = "Close it while LISTEN holds.", ko = "닫기" }
hint = { en = "h", ko = "h" }
solution = ['srv.close()']
check = { all = [ { socket = "srv", kernel = "LISTEN", when = "now" }, { socket = "srv", lab = "closed" } ] }
"#;

struct Lab {
    session: Session,
    events: Events,
    run: LessonRun,
}

impl Lab {
    /// Run one line and take events until its call finished and things are quiet.
    async fn line(&mut self, line: &str) {
        let call = match self.session.submit(line) {
            Submitted::Started { call, .. } => Some(call),
            Submitted::Error(e) => panic!("{line}: {e}"),
            _ => None,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let waiting = call.is_some_and(|c| self.session.pending().iter().any(|p| p.0 == c));
            let wait = if waiting {
                Duration::from_millis(100)
            } else {
                Duration::from_millis(150)
            };
            match tokio::time::timeout(wait, self.events.recv()).await {
                Ok(Some(ev)) => {
                    self.session.on_event(&ev);
                    self.run.on_event(&ev);
                }
                _ if !waiting => return,
                _ => {}
            }
            assert!(Instant::now() < deadline, "{line} did not finish");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_is_not_listening_and_now_conditions_follow_the_kernel() {
    let lesson = parse(std::path::Path::new("real.toml"), LESSON).unwrap();
    let (engine, events) = Engine::start(EngineConfig::default());
    let session = Session::new(engine.clone());
    let run = LessonRun::new(&lesson, session.placeholders(), session.model());
    let port = session.placeholders()["port"].clone();
    let mut lab = Lab {
        session,
        events,
        run,
    };
    assert_eq!(
        lab.run.view(Lang::En).steps[0].0,
        format!("Listen with srv on {port}.")
    );

    lab.line("srv = socket()").await;
    lab.line(&format!("srv.bind(('127.0.0.1', {port}))")).await;
    // The shortcut: bound, never listening.
    assert!(!lab.run.is_done(0));
    assert_eq!(
        lab.run.why_not(Lang::En),
        ["srv has not reached listening yet (now: bound)"]
    );
    assert_eq!(
        lab.run.why_not(Lang::Ko),
        ["srv가 아직 listening 상태가 아니에요 (지금: bound)"]
    );

    lab.line("srv.listen(1)").await;
    assert!(lab.run.is_done(0));
    assert_eq!(lab.run.current(), 1);
    // LISTEN now and closed ever cannot both hold: after close the listener
    // is gone from the kernel, so "now" is false once "closed" is true.
    lab.line("srv.close()").await;
    assert!(lab.run.is_done(0), "a done step stays done after close");
    assert!(!lab.run.is_done(1));
    let why = lab.run.why_not(Lang::En);
    assert_eq!(why, ["srv is not in LISTEN now (now: closed)"]);
    engine.shutdown();
}
