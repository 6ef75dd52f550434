//! Each pane rendered on its own from an app fed synthetic engine events
//! (the whole-app flows over real sockets are in ui_flow.rs).

mod ui_support;

use std::net::SocketAddr;

use bytes::Bytes;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use socklab::app::{self, App, Msg};
use socklab::engine::event::FourTuple;
use socklab::engine::*;
use socklab::ui;
use socklab::ui::lesson::{LessonView, StepStatus};
use ui_support::*;

struct Feed {
    seq: u64,
}

impl Feed {
    fn new() -> Feed {
        Feed { seq: 0 }
    }
    fn send(&mut self, app: &mut App, t_us: u64, kind: EventKind) {
        self.seq += 1;
        app::update(
            app,
            Msg::Engine(Event {
                seq: self.seq,
                t_us,
                kind,
            }),
        );
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("addr")
}

fn created(f: &mut Feed, app: &mut App, t: u64, sock: SockId, fd: i32, owner: Owner, label: &str) {
    f.send(
        app,
        t,
        EventKind::SocketCreated {
            sock,
            no: sock,
            fd,
            family: Family::V4,
            ty: SockType::Stream,
            owner,
        },
    );
    f.send(
        app,
        t,
        EventKind::SocketLabel {
            sock,
            label: label.into(),
        },
    );
}

fn lab(f: &mut Feed, app: &mut App, t: u64, sock: SockId, from: LabState, to: LabState) {
    f.send(app, t, EventKind::LabState { sock, from, to });
}

fn kernel(
    f: &mut Feed,
    app: &mut App,
    t: u64,
    sock: SockId,
    from: Option<TcpState>,
    to: Option<TcpState>,
) {
    f.send(app, t, EventKind::KernelState { sock, from, to });
}

fn ends(f: &mut Feed, app: &mut App, t: u64, sock: SockId, local: &str, peer: Option<&str>) {
    f.send(
        app,
        t,
        EventKind::Endpoints {
            sock,
            local: Some(sa(local)),
            peer: peer.map(sa),
        },
    );
}

fn data(f: &mut Feed, app: &mut App, t: u64, sock: SockId, dir: Dir, bytes: &[u8]) {
    f.send(
        app,
        t,
        EventKind::Data {
            sock,
            dir,
            data: Bytes::copy_from_slice(bytes),
            len: bytes.len(),
            addr: None,
        },
    );
}

/// A server that accepted a client peer, a client of the student, a
/// descriptor-less TIME_WAIT entry, a pending accept and some traffic.
fn lab_scene(app: &mut App) {
    use LabState::*;
    use TcpState::*;
    let f = &mut Feed::new();
    created(f, app, 1_000, 1, 5, Owner::Student, "srv");
    lab(f, app, 2_000, 1, Created, Bound);
    ends(f, app, 2_000, 1, "127.0.0.1:40001", None);
    lab(f, app, 3_000, 1, Bound, Listening);
    kernel(f, app, 3_000, 1, None, Some(Listen));
    f.send(
        app,
        3_100,
        EventKind::Queues {
            sock: 1,
            recv_q: 0,
            send_q: 5,
            accept_q: Some(1),
            backlog: Some(5),
        },
    );
    created(f, app, 4_000, 2, 6, Owner::peer("client"), "client");
    lab(f, app, 4_100, 2, Created, Connecting);
    kernel(f, app, 4_100, 2, None, Some(SynSent));
    ends(f, app, 4_200, 2, "127.0.0.1:51000", Some("127.0.0.1:40001"));
    lab(f, app, 4_300, 2, Connecting, Connected);
    kernel(f, app, 4_300, 2, Some(SynSent), Some(Established));
    f.send(
        app,
        5_000,
        EventKind::CallStarted {
            call: 7,
            sock: Some(1),
            owner: Owner::Student,
            method: "accept".into(),
            text: "srv.accept()".into(),
        },
    );
    f.send(
        app,
        5_000,
        EventKind::CallDone {
            call: 7,
            sock: Some(1),
            ret: Ret::Accepted(3, sa("127.0.0.1:51000")),
        },
    );
    created(f, app, 5_000, 3, 7, Owner::Student, "conn");
    ends(f, app, 5_000, 3, "127.0.0.1:40001", Some("127.0.0.1:51000"));
    lab(f, app, 5_000, 3, Created, Connected);
    kernel(f, app, 5_000, 3, None, Some(Established));
    data(f, app, 6_000, 2, Dir::Sent, b"hello\n");
    data(f, app, 6_100, 3, Dir::Received, b"hello\n");
    f.send(
        app,
        6_200,
        EventKind::Queues {
            sock: 3,
            recv_q: 0,
            send_q: 0,
            accept_q: None,
            backlog: None,
        },
    );
    f.send(
        app,
        7_000,
        EventKind::CallStarted {
            call: 8,
            sock: Some(1),
            owner: Owner::Student,
            method: "accept".into(),
            text: "srv.accept()".into(),
        },
    );
    f.send(
        app,
        7_000,
        EventKind::CallPending {
            call: 8,
            sock: Some(1),
        },
    );
    f.send(
        app,
        8_000,
        EventKind::Orphan {
            tuple: FourTuple {
                local: sa("127.0.0.1:40002"),
                remote: sa("127.0.0.1:51002"),
            },
            origin: Some(1),
            from: None,
            to: Some(TimeWait),
            recv_q: 0,
            send_q: 0,
        },
    );
    f.send(
        app,
        9_000,
        EventKind::Peer {
            peer: "client".into(),
            note: PeerNote::Got {
                text: "LED ON".into(),
            },
        },
    );
    f.send(
        app,
        9_500,
        EventKind::Notice {
            note: socklab::engine::Note::verbatim("peer client started"),
        },
    );
}

fn pane(app: &App, w: u16, h: u16, f: fn(&mut Buffer, Rect, &App)) -> String {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    f(&mut buf, area, app);
    text_of(&buf)
}

#[tokio::test]
async fn sockets_pane_narrow_and_wide() {
    let (mut app, _ev) = app();
    lab_scene(&mut app);
    insta::assert_snapshot!("sockets_80", pane(&app, 80, 7, ui::sockets::render));
    insta::assert_snapshot!("sockets_136", pane(&app, 136, 7, ui::sockets::render));
}

#[tokio::test]
async fn a_fresh_transition_shows_from_and_to_then_fades() {
    let (mut app, _ev) = app();
    let f = &mut Feed::new();
    created(f, &mut app, 0, 1, 5, Owner::Student, "cli");
    kernel(
        f,
        &mut app,
        1_000_000,
        1,
        Some(TcpState::SynSent),
        Some(TcpState::Established),
    );
    app.frozen_clock = Some(1_100_000);
    app::update(&mut app, Msg::Tick);
    assert!(app.animating());
    // Ticks redraw only when the look changes, not on every tick.
    app.frozen_clock = Some(1_200_000);
    assert!(!app::update(&mut app, Msg::Tick).redraw);
    app.frozen_clock = Some(1_000_000 + app::FADE_US / 2 + 1);
    assert!(app::update(&mut app, Msg::Tick).redraw, "strong → soft");
    app.frozen_clock = Some(1_100_000);
    app::update(&mut app, Msg::Tick);
    let area = Rect::new(0, 0, 136, 3);
    let mut buf = Buffer::empty(area);
    ui::sockets::render(&mut buf, area, &app);
    let text = text_of(&buf);
    assert!(text.contains("SYN_SENT→ESTABLISHED"), "{text}");
    let x = text
        .lines()
        .nth(1)
        .and_then(|l| l.find("SYN_SENT"))
        .expect("cell");
    let cell = &buf[(
        unicode_width::UnicodeWidthStr::width(&text.lines().nth(1).unwrap()[..x]) as u16,
        1,
    )];
    assert!(
        cell.modifier.contains(Modifier::REVERSED),
        "fresh change is highlighted"
    );

    app.frozen_clock = Some(1_000_000 + app::FADE_US + 1);
    let eff = app::update(&mut app, Msg::Tick);
    assert!(eff.redraw, "the end of a fade is drawn");
    assert!(!app.animating());
    let text = pane(&app, 136, 3, ui::sockets::render);
    assert!(!text.contains('→'), "{text}");
    assert!(text.contains("ESTABLISHED"));
    // Nothing left to fade: ticks no longer ask for frames.
    assert!(!app::update(&mut app, Msg::Tick).redraw);
}

#[tokio::test]
async fn closed_sockets_stay_dimmed_for_a_moment() {
    let (mut app, _ev) = app();
    let f = &mut Feed::new();
    created(f, &mut app, 0, 1, 5, Owner::Student, "old");
    f.send(&mut app, 1_000_000, EventKind::SocketClosed { sock: 1 });
    app.frozen_clock = Some(1_500_000);
    app::update(&mut app, Msg::Tick);
    let area = Rect::new(0, 0, 80, 3);
    let mut buf = Buffer::empty(area);
    ui::sockets::render(&mut buf, area, &app);
    assert!(text_of(&buf).contains("old"));
    assert!(buf[(0, 1)].modifier.contains(Modifier::DIM));
    app.frozen_clock = Some(1_000_000 + app::CLOSED_SHOW_US + 1);
    app::update(&mut app, Msg::Tick);
    assert!(!pane(&app, 80, 3, ui::sockets::render).contains("old"));
}

#[tokio::test]
async fn traffic_pane_text_hex_and_scrolling() {
    let (mut app, _ev) = app();
    lab_scene(&mut app);
    insta::assert_snapshot!("traffic_text", pane(&app, 60, 4, ui::traffic::render));
    app.traffic.hex = true;
    insta::assert_snapshot!("traffic_hex", pane(&app, 80, 6, ui::traffic::render));
    app.traffic.hex = false;

    // Scrolled back, new data does not move the view; End follows again.
    app.focus = socklab::keys::Pane::Traffic;
    key(&mut app, crossterm::event::KeyCode::Up);
    let before = pane(&app, 60, 1, ui::traffic::render);
    assert!(before.contains("client"), "{before}");
    let f = &mut Feed { seq: 1000 };
    data(f, &mut app, 10_000, 3, Dir::Sent, b"newer");
    assert_eq!(pane(&app, 60, 1, ui::traffic::render), before);
    assert!(ui::traffic::title_extra(&app).contains("2 newer below"));
    key(&mut app, crossterm::event::KeyCode::End);
    assert!(pane(&app, 60, 1, ui::traffic::render).contains("newer"));
}

#[tokio::test]
async fn traffic_history_is_capped_and_says_so() {
    let (mut app, _ev) = app();
    let f = &mut Feed::new();
    created(f, &mut app, 0, 1, 5, Owner::Student, "c");
    for i in 0..app::TRAFFIC_KEEP + 7 {
        data(
            f,
            &mut app,
            i as u64,
            1,
            Dir::Received,
            &vec![b'x'; 100_000][..(i % 3000)],
        );
    }
    assert_eq!(app.traffic.recs.len(), app::TRAFFIC_KEEP);
    assert_eq!(app.traffic.dropped, 7);
    assert!(
        app.traffic
            .recs
            .iter()
            .all(|r| r.data.len() <= app::TRAFFIC_BYTES)
    );
    assert!(ui::traffic::title_extra(&app).contains("7 older records dropped"));
    let text = pane(&app, 80, 2, ui::traffic::render);
    assert!(
        text.contains("bytes)"),
        "cut chunks say how much is missing: {text}"
    );
}

#[tokio::test]
async fn hostile_bytes_are_shown_escaped_and_change_nothing_else() {
    let (mut app, _ev) = app();
    lab_scene(&mut app);
    let clean = screen(&mut app, 100, 30);
    let f = &mut Feed { seq: 1000 };
    let evil: &[u8] = b"\x1b[2J\x1b]0;pwned\x07\x08\x08\x08\xff\xfe\xc3(\r\n\x9b31m";
    data(f, &mut app, 20_000, 3, Dir::Received, evil);
    let buf = buffer(&mut app, 100, 30);
    for cell in buf.content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(socklab::engine::text::is_unsafe_char),
            "raw control char in cell {:?}",
            cell.symbol()
        );
    }
    let dirty = text_of(&buf);
    assert!(dirty.contains(r"\x1b[2J\x1b]0;pwned\x07\x08"), "{dirty}");
    let wide = pane(&app, 120, 3, ui::traffic::render);
    assert!(
        wide.contains(r"\x1b[2J\x1b]0;pwned\x07\x08\x08\x08\xff\xfe\xc3(\r\n\x9b31m"),
        "{wide}"
    );
    // Only the Traffic pane's newest row may differ.
    let changed: Vec<(&str, &str)> = clean
        .lines()
        .zip(dirty.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert!(!changed.is_empty());
    for (_, b) in &changed {
        assert!(
            b.contains("conn") || b.contains("client") || b.contains("no bytes"),
            "unexpected change: {b}"
        );
    }
}

#[tokio::test]
async fn events_pane_lists_transitions_and_results() {
    let (mut app, _ev) = app();
    lab_scene(&mut app);
    insta::assert_snapshot!("events", pane(&app, 70, 20, ui::events::render));
}

#[tokio::test]
async fn lesson_pane_with_korean_text_and_checklist() {
    let (mut app, _ev) = app();
    app.lesson = Some(LessonView {
        title: "send와 recv".into(),
        text: "연결된 소켓으로 바이트를 보내고 받습니다. TCP에는 메시지 경계가 없습니다.".into(),
        steps: vec![
            ("서버 소켓 srv를 만드세요".into(), StepStatus::Done),
            (
                "srv를 127.0.0.1:{port}에 bind 하세요".into(),
                StepStatus::Current,
            ),
            ("listen 하세요".into(), StepStatus::Todo),
        ],
        hint: Some("srv.bind((\"127.0.0.1\", 40001))".into()),
        why_not: vec!["srv is still created, not bound".into()],
        footer: "lesson 6/20 · :next :prev :hint :reset".into(),
        lang: socklab::cli::Lang::Ko,
        ..Default::default()
    });
    let text = pane(&app, 40, 20, ui::lesson::render);
    insta::assert_snapshot!("lesson_ko", text);
    for l in text.lines() {
        assert!(unicode_width::UnicodeWidthStr::width(l) <= 40, "{l}");
    }
}

#[tokio::test]
async fn sandbox_lesson_pane_explains_how_to_start() {
    let (mut app, _ev) = app();
    let text = pane(&app, 60, 22, ui::lesson::render);
    assert!(text.contains("no lesson open"));
    assert!(text.contains(":peer"));
    assert!(text.contains("socket(AF_INET, SOCK_STREAM)"));
    let _ = &mut app;
}

#[tokio::test]
async fn help_overlay_lists_the_key_table() {
    let (mut app, _ev) = app();
    app.focus = socklab::keys::Pane::Sockets;
    key(&mut app, crossterm::event::KeyCode::Char('?'));
    assert!(app.help);
    let text = screen(&mut app, 80, 24);
    insta::assert_snapshot!("help_80x24", text);
    key(&mut app, crossterm::event::KeyCode::Esc);
    assert!(!app.help);
}

#[tokio::test]
async fn too_small_terminal_says_so() {
    let (mut app, _ev) = app();
    let text = screen(&mut app, 50, 12);
    assert!(
        text.contains("terminal too small (need 60×18, have 50×12)"),
        "{text}"
    );
    let text = screen(&mut app, 59, 30);
    assert!(text.contains("need 60×18"));
    assert!(!screen(&mut app, 60, 18).contains("too small"));
}

#[tokio::test]
async fn no_color_means_no_colours() {
    let (mut app, _ev) = app();
    lab_scene(&mut app);
    let buf = buffer(&mut app, 120, 40);
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
    app.theme = socklab::ui::theme::Theme { color: true };
    let buf = buffer(&mut app, 120, 40);
    assert!(buf.content().iter().any(|c| c.fg != Color::Reset));
}

#[tokio::test]
async fn whole_screen_with_the_scene() {
    let (mut app, _ev) = app();
    lab_scene(&mut app);
    insta::assert_snapshot!("scene_80x24", mask(&screen(&mut app, 80, 24)));
    insta::assert_snapshot!("scene_160x48", mask(&screen(&mut app, 160, 48)));
}
