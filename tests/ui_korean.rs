//! The interface in Korean (`--lang ko`), read as a student reads it at 80×24
//! and 120×36: the sandbox with a socket, an error with its explanation in
//! Korean after Python's own line, and the Wire pane when capture is not
//! permitted. Snapshots are read by eye; the assertions keep the rules:
//! no English left in the chrome, Python's line verbatim, commands verbatim.

mod ui_support;

use crossterm::event::KeyCode;
use socklab::app::{self, Msg};
use socklab::engine::capture::{CaptureOff, CaptureStatus};
use socklab::engine::{Event, EventKind};
use socklab::settings::Lang;
use ui_support::*;

/// English words of the chrome that must not be left on a Korean screen.
const ENGLISH: &[&str] = &[
    " Sockets ",
    " Prompt ",
    " Events ",
    " Traffic ",
    "name fd kind",
    "no bytes have moved",
    "text to sendall",
    "no connected socket",
    "Sandbox",
    "nothing is listening",
    "the SYN was answered",
    "is waiting",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_and_an_error_in_korean() {
    let (mut app, mut events) = app();
    app.lang = Lang::Ko;
    let port = app.session.placeholders()["port"].clone();
    run(&mut app, &mut events, "s = socket()").await;
    // Nothing listens on the lab's fresh port: refused.
    run(
        &mut app,
        &mut events,
        &format!("s.connect((\"127.0.0.1\", {port}))"),
    )
    .await;
    pump(&mut app, &mut events, "s named", |a| {
        a.session.model().by_label("s").is_some()
    })
    .await;
    for (w, h) in [(80u16, 24u16), (120, 36)] {
        let text = mask(&screen(&mut app, w, h));
        insta::assert_snapshot!(format!("korean_sandbox_error_{w}x{h}"), text);
        // Python's line as Python prints it, then the explanation in Korean.
        assert!(
            text.contains("ConnectionRefusedError: [Errno 111] Connection refused —"),
            "{text}"
        );
        assert!(text.contains("listen하는 소켓이 없어요"), "{text}");
        for word in [
            "소켓",
            "프롬프트",
            "이벤트",
            "트래픽",
            "보내기",
            "이름",
            "커널",
        ] {
            assert!(text.contains(word), "{word} at {w}x{h}:\n{text}");
        }
        for english in ENGLISH {
            assert!(!text.contains(english), "{english:?} at {w}x{h}:\n{text}");
        }
        // The status line keeps its first key hints.
        let last = text.lines().last().unwrap_or_default();
        assert!(
            last.contains("Enter 실행") && last.contains("Tab 완성"),
            "{last}"
        );
    }
}

#[tokio::test]
async fn the_wire_pane_without_capture_in_korean() {
    let (mut app, _events) = app();
    app.lang = Lang::Ko;
    app::update(
        &mut app,
        Msg::Engine(Event {
            seq: 1,
            t_us: 0,
            kind: EventKind::Capture {
                status: CaptureStatus::Unavailable {
                    why: CaptureOff::NoCapNetRaw,
                    detail: "Operation not permitted".into(),
                },
            },
        }),
    );
    while app.focus != socklab::keys::Pane::Wire {
        key(&mut app, KeyCode::Tab);
    }
    for (w, h) in [(80u16, 24u16), (120, 36)] {
        let text = mask(&screen(&mut app, w, h));
        insta::assert_snapshot!(format!("korean_wire_off_{w}x{h}"), text);
        assert!(text.contains("권한"), "{text}");
        // Commands stay as they are typed.
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("sudo setcap cap_net_raw+ep"), "{text}");
        assert!(flat.contains("socklab --netns"), "{text}");
        assert!(!text.contains("not permitted here"), "{text}");
    }
}
