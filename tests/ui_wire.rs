//! The Wire pane. Snapshots replay a small pcap captured by socklab itself
//! (`tests/data/two-connections.pcap`: `socklab run --pcap` of a client
//! talking to the echo peer, then a bulk send into the discard peer), so the
//! ladder is the same on every run; a real-socket test checks the states
//! placed beside the arrows on a live capture.

mod common;
mod ui_support;

use std::collections::HashMap;
use std::net::SocketAddr;

use crossterm::event::KeyCode;
use socklab::app::{self, App, Msg};
use socklab::engine::capture::{CaptureOff, CaptureStatus, Segment, replay};
use socklab::engine::*;
use ui_support::*;

const PCAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/two-connections.pcap"
);

fn event(seq: u64, kind: EventKind) -> Event {
    Event { seq, t_us: 0, kind }
}

/// The captured segments, named as the lab named their ends when they were
/// captured (the pcap holds only addresses).
fn segments() -> Vec<Segment> {
    let mut segs = replay(std::path::Path::new(PCAP)).expect("the committed pcap replays");
    assert_eq!(segs.len(), 33, "every packet of the pcap decodes");
    // The client's port is whatever the kernel chose then: name by server port.
    let mut names: HashMap<SocketAddr, &str> = HashMap::new();
    for s in &segs {
        let server = [47001u16, 47002].contains(&s.to.port());
        if server && s.tcp.is_some_and(|t| t.flags.syn && !t.flags.ack) {
            let (client, srv) = if s.to.port() == 47001 {
                ("cli", "echo.conn1")
            } else {
                ("bulk", "discard.conn1")
            };
            names.insert(s.from, client);
            names.insert(s.to, srv);
        }
    }
    for s in &mut segs {
        s.from_end.label = names.get(&s.from).map(|n| n.to_string());
        s.to_end.label = names.get(&s.to).map(|n| n.to_string());
    }
    segs
}

/// An app whose model holds the replayed capture, with the Wire focused.
async fn wired() -> App {
    let (mut app, _events) = app();
    let mut seq = 1;
    app::update(
        &mut app,
        Msg::Engine(event(
            seq,
            EventKind::Capture {
                status: CaptureStatus::On,
            },
        )),
    );
    for s in segments() {
        seq += 1;
        app::update(
            &mut app,
            Msg::Engine(event(seq, EventKind::Segment(Box::new(s)))),
        );
    }
    while app.focus != socklab::keys::Pane::Wire {
        key(&mut app, KeyCode::Tab);
    }
    app
}

/// The sandbox's example ports change from run to run.
fn times_masked(s: &str) -> String {
    mask(s)
}

#[tokio::test]
async fn ladder_80x24_newest_connection_collapses_the_bulk() {
    let mut app = wired().await;
    let l = app.ladder().expect("a ladder");
    assert_eq!((l.number, l.of), (2, 2), "the newest connection first");
    assert_eq!(l.left.name, "bulk");
    assert_eq!(l.right.name, "discard.conn1");
    // Handshake, the bulk as runs, FIN each way: fewer rows than segments.
    let runs: Vec<_> = l.rows.iter().filter(|r| r.count > 1).collect();
    assert!(!runs.is_empty(), "{:#?}", l.rows);
    assert!(runs[0].label.contains("segments"), "{}", runs[0].label);
    assert!(l.rows.len() < 22, "{} rows", l.rows.len());
    let s = times_masked(&screen(&mut app, 80, 24));
    assert!(s.contains("SYN seq=0"), "{s}");
    assert!(s.contains("FIN,ACK"), "{s}");
    insta::assert_snapshot!("wire_80x24", s);
}

#[tokio::test]
async fn ladder_120x36_other_connection_and_header() {
    let mut app = wired().await;
    key(&mut app, KeyCode::Char('c'));
    let l = app.ladder().expect("a ladder");
    assert_eq!((l.number, l.left.name.as_str()), (1, "cli"));
    let labels: Vec<&str> = l.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels[0], "SYN seq=0 win=65495 mss=65495");
    assert_eq!(labels[1], "SYN,ACK seq=0 ack=1 win=65483 mss=65495");
    assert_eq!(labels[2], "ACK seq=1 ack=1");
    assert_eq!(labels[3], "PSH,ACK seq=1 ack=1 len=6 \"hello\\n\"");
    assert!(l.rows[0].rightward && !l.rows[1].rightward);
    key(&mut app, KeyCode::Char('h'));
    let s = times_masked(&screen(&mut app, 120, 36));
    assert!(
        s.contains("segment #10"),
        "the header of the newest row: {s}"
    );
    assert!(s.contains("flags ACK"), "{s}");
    insta::assert_snapshot!("wire_120x36_header", s);
    // Absolute numbers on request.
    key(&mut app, KeyCode::Char('a'));
    let l = app.ladder().unwrap();
    assert!(!l.rows[0].label.contains("seq=0 "), "{}", l.rows[0].label);
}

#[tokio::test]
async fn ladder_200x60_has_a_row_of_its_own() {
    let mut app = wired().await;
    // Typing at the prompt: the Wire stays in view on a big screen anyway.
    while app.focus != socklab::keys::Pane::Prompt {
        key(&mut app, KeyCode::Tab);
    }
    let s = times_masked(&screen(&mut app, 200, 60));
    assert!(s.contains(" Wire "), "{s}");
    assert!(s.contains(" Traffic "), "{s}");
    assert!(s.contains(" Events "), "{s}");
    insta::assert_snapshot!("wire_200x60", s);
}

#[tokio::test]
async fn the_wire_stays_in_front_while_the_student_types() {
    let mut app = wired().await;
    key(&mut app, KeyCode::Esc); // back to the prompt
    let s = screen(&mut app, 80, 24);
    assert!(
        s.contains("discard.conn1"),
        "the ladder is still shown: {s}"
    );
    // Looking at Traffic puts Traffic back in the slot.
    while app.focus != socklab::keys::Pane::Traffic {
        key(&mut app, KeyCode::Tab);
    }
    key(&mut app, KeyCode::Esc);
    let s = screen(&mut app, 80, 24);
    assert!(!s.contains("discard.conn1 127"), "{s}");
}

#[tokio::test]
async fn without_capture_the_pane_says_why_and_how() {
    let (mut app, _events) = app();
    app::update(
        &mut app,
        Msg::Engine(event(
            1,
            EventKind::Capture {
                status: CaptureStatus::Unavailable {
                    why: CaptureOff::NoCapNetRaw,
                    detail: "Operation not permitted".into(),
                },
            },
        )),
    );
    while app.focus != socklab::keys::Pane::Wire {
        key(&mut app, KeyCode::Tab);
    }
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("CAP_NET_RAW"), "{s}");
    assert!(s.contains("setcap cap_net_raw+ep"), "{s}");
    assert!(s.contains("--netns"), "{s}");
    assert!(!s.contains("SYN"), "nothing is made up: {s}");
}

/// A live capture: the side that closes first ends in TIME_WAIT, beside the
/// last ACK; the other side's CLOSE_WAIT beside the first FIN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_states_sit_beside_the_segments() {
    let mut lab = common::Lab::new();
    lab.wait_for("capture", |e| {
        matches!(
            &e.kind,
            EventKind::Capture {
                status: CaptureStatus::On
            }
        )
    })
    .await;
    let (_srv, cli, conn, _port) = lab.pair().await;
    lab.engine.set_label(cli, "cli");
    lab.engine.set_label(conn, "conn");
    lab.ok(Op::Close { sock: cli }).await;
    lab.wait_model("conn in CLOSE_WAIT", |m| {
        m.sock(conn)
            .is_some_and(|r| r.kernel == Some(TcpState::CloseWait))
    })
    .await;
    lab.ok(Op::Close { sock: conn }).await;
    lab.wait_model("TIME_WAIT and 4 close segments", |m| {
        m.orphans.values().any(|o| o.state == TcpState::TimeWait)
            && m.wire
                .segments
                .iter()
                .filter(|s| s.tcp.is_some_and(|t| t.flags.fin))
                .count()
                >= 2
    })
    .await;
    let st = socklab::app::wire::WireState::default();
    let l = socklab::app::wire::ladder(&lab.model, &st, Some(cli)).expect("ladder");
    assert_eq!(l.left.name, "cli");
    let left: Vec<&String> = l.rows.iter().flat_map(|r| &r.left_state).collect();
    let right: Vec<&String> = l.rows.iter().flat_map(|r| &r.right_state).collect();
    assert!(left.iter().any(|s| *s == "TIME_WAIT"), "{:#?}", l.rows);
    assert!(right.iter().any(|s| *s == "CLOSE_WAIT"), "{:#?}", l.rows);
    // TIME_WAIT is placed at or after the client's FIN, never before it.
    let fin = l
        .rows
        .iter()
        .position(|r| r.rightward && r.label.starts_with("FIN"))
        .expect("the client's FIN");
    let tw = l
        .rows
        .iter()
        .position(|r| r.left_state.iter().any(|s| s == "TIME_WAIT"))
        .unwrap();
    assert!(tw >= fin, "{:#?}", l.rows);
    // The same connection seen from the server's socket keeps the client
    // (the side that sent the SYN) on the left: the ladder never flips when
    // another row of the Sockets pane becomes the selected one.
    let from_conn = socklab::app::wire::ladder(&lab.model, &st, Some(conn)).expect("ladder");
    assert_eq!(from_conn.left.name, "cli");
    assert_eq!(from_conn.right.name, "conn");
    assert_eq!(from_conn.rows.len(), l.rows.len());
}
