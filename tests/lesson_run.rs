//! A lesson in progress: step flow, peers to start, hint, solution, view.

use std::collections::BTreeMap;

use socklab::cli::Lang;
use socklab::engine::LabModel;
use socklab::engine::event::{Event, EventKind};
use socklab::engine::types::{Family, LabState, Owner, SockType};
use socklab::lesson::load::parse;
use socklab::lesson::{LessonRun, StepStatus};

const LESSON: &str = r#"
id = "flow"
order = 3
title = { en = "Flow", ko = "흐름" }
text = { en = "Port {port}.", ko = "포트 {port}." }

[[setup]]
peer = "echo"
addr = "127.0.0.1:{port2}"

[[steps]]
text = { en = "Make srv.", ko = "srv를 만드세요." }
hint = { en = "Use socket().", ko = "socket()을 쓰세요." }
solution = ['srv = socket()', 'srv.bind(("127.0.0.1", {port}))']
check = { socket = "srv", lab = "bound" }

[[steps]]
text = { en = "Listen.", ko = "listen 하세요." }
hint = { en = "listen()", ko = "listen()" }
solution = ['srv.listen(1)']
check = { socket = "srv", lab = "listening" }

[[steps.setup]]
peer = "greeter"
addr = "127.0.0.1:{port}"
name = "client"

[[steps]]
text = { en = "Close.", ko = "닫으세요." }
hint = { en = "close()", ko = "close()" }
solution = ['srv.close()']
check = { socket = "srv", lab = "closed" }
"#;

struct Feed {
    seq: u64,
    run: LessonRun,
}

impl Feed {
    fn push(&mut self, kind: EventKind) -> Vec<usize> {
        self.seq += 1;
        self.run.on_event(&Event {
            seq: self.seq,
            t_us: self.seq,
            kind,
        })
    }
    fn state(&mut self, from: LabState, to: LabState) -> Vec<usize> {
        self.push(EventKind::LabState { sock: 1, from, to })
    }
}

fn start() -> Feed {
    let lesson = parse(std::path::Path::new("flow.toml"), LESSON).unwrap();
    let mut ph = BTreeMap::new();
    ph.insert("port".to_string(), "5001".to_string());
    ph.insert("port2".to_string(), "5002".to_string());
    Feed {
        seq: 0,
        run: LessonRun::new(&lesson, &ph, &LabModel::new()),
    }
}

#[test]
fn steps_advance_and_step_peers_are_handed_out_once() {
    let mut f = start();
    let peers = f.run.take_peers();
    assert_eq!(peers.len(), 1);
    assert_eq!(
        (peers[0].kind.as_str(), peers[0].addr.as_str()),
        ("echo", "127.0.0.1:5002")
    );
    assert!(f.run.take_peers().is_empty());

    f.push(EventKind::SocketCreated {
        sock: 1,
        no: 1,
        fd: 3,
        family: Family::V4,
        ty: SockType::Stream,
        owner: Owner::Student,
    });
    f.push(EventKind::SocketLabel {
        sock: 1,
        label: "srv".into(),
    });
    assert_eq!(f.run.current(), 0);
    assert_eq!(f.state(LabState::Created, LabState::Bound), [0]);
    assert_eq!(f.run.current(), 1);
    let peers = f.run.take_peers();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].name.as_deref(), Some("client"));
    assert_eq!(peers[0].addr, "127.0.0.1:5001");

    let v = f.run.view(Lang::En);
    assert_eq!(v.title, "Flow");
    assert_eq!(v.text, "Port 5001.");
    assert_eq!(
        v.steps.iter().map(|s| s.1).collect::<Vec<_>>(),
        [StepStatus::Done, StepStatus::Current, StepStatus::Todo]
    );
    assert_eq!(
        v.why_not,
        ["srv has not reached listening yet (now: bound)"]
    );
    assert_eq!(v.footer, "Step 2 of 3 · :hint · :solution · :reset · :next");
    assert_eq!(v.hint, None);

    // Out of order: closing without listening finishes step 3, not step 2.
    assert_eq!(f.state(LabState::Bound, LabState::Closed), [2]);
    assert!(!f.run.finished());
    assert_eq!(f.run.current(), 1);
    let v = f.run.view(Lang::Ko);
    assert_eq!(
        v.why_not,
        ["srv가 아직 listening 상태가 아니에요 (지금: closed)"]
    );
    assert_eq!(v.footer, "2/3단계 · :hint · :solution · :reset · :next");
}

#[test]
fn finishing_says_so_and_offers_the_next_lesson() {
    let mut f = start();
    f.push(EventKind::SocketCreated {
        sock: 1,
        no: 1,
        fd: 3,
        family: Family::V4,
        ty: SockType::Stream,
        owner: Owner::Student,
    });
    f.push(EventKind::SocketLabel {
        sock: 1,
        label: "srv".into(),
    });
    f.state(LabState::Created, LabState::Bound);
    f.state(LabState::Bound, LabState::Listening);
    f.state(LabState::Listening, LabState::Closed);
    assert!(f.run.finished());
    assert_eq!(f.run.done_steps(), [0, 1, 2]);
    let mut p = socklab::lesson::Progress::new();
    f.run.record(&mut p);
    assert_eq!(p.current.as_deref(), Some("flow"));
    assert!(p.lesson("flow").unwrap().complete);
    assert_eq!(
        f.run.view(Lang::En).footer,
        "Lesson complete — :next for the next lesson"
    );
    assert_eq!(f.run.view(Lang::Ko).footer, "레슨 완료 — 다음 레슨은 :next");
    assert!(f.run.view(Lang::En).why_not.is_empty());

    // :reset starts over and hands out the lesson's peers again.
    f.run.restart(&LabModel::new());
    assert!(!f.run.finished());
    assert_eq!(f.run.current(), 0);
    assert_eq!(f.run.take_peers().len(), 1);
}

#[test]
fn hint_solution_next_prev() {
    let mut f = start();
    assert_eq!(f.run.view(Lang::Ko).hint, None);
    assert_eq!(f.run.hint(Lang::Ko).as_deref(), Some("socket()을 쓰세요."));
    assert_eq!(
        f.run.view(Lang::Ko).hint.as_deref(),
        Some("socket()을 쓰세요.")
    );
    assert_eq!(f.run.solution().as_deref(), Some("srv = socket()"));
    assert_eq!(
        f.run.solution().as_deref(),
        Some(r#"srv.bind(("127.0.0.1", 5001))"#)
    );
    assert_eq!(f.run.solution().as_deref(), Some("srv = socket()"));
    assert!(f.run.next_step());
    assert_eq!(
        f.run.view(Lang::En).hint,
        None,
        "the hint belongs to its step"
    );
    assert_eq!(f.run.solution().as_deref(), Some("srv.listen(1)"));
    assert_eq!(f.run.take_peers().len(), 2, "lesson peer + step 2's peer");
    assert!(f.run.next_step());
    assert!(!f.run.next_step());
    assert!(f.run.prev_step());
    assert_eq!(f.run.current(), 1);
    assert!(f.run.take_peers().is_empty());
}
