//! Cost of drawing one frame at 200×60 with 100 000 traffic records fed
//! through the app (the history the Traffic pane keeps is capped; drawing
//! must cost what the visible rows cost). Run: `cargo bench --bench render`.
//! Target (DESIGN.md): < 2 ms a frame. Reported as median and p99.

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use socklab::app::{self, App, Msg};
use socklab::engine::*;
use socklab::session::Session;
use socklab::ui;
use socklab::ui::theme::Theme;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let (engine, _events) = Engine::start(EngineConfig::default());
    let mut app = App::new(Session::new(engine.clone()), Theme::plain());
    app::update(&mut app, Msg::Resize(200, 60));
    let mut seq = 0;
    let mut ev = |kind: EventKind, app: &mut App| {
        seq += 1;
        app::update(
            app,
            Msg::Engine(Event {
                seq,
                t_us: seq * 10,
                kind,
            }),
        );
    };
    for sock in 1..=2 {
        ev(
            EventKind::SocketCreated {
                sock,
                no: sock,
                fd: 10 + sock as i32,
                family: Family::V4,
                ty: SockType::Stream,
                owner: Owner::Student,
            },
            &mut app,
        );
    }
    let line =
        bytes::Bytes::from_static(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n\x1b[2J");
    let fed = Instant::now();
    for i in 0..100_000u64 {
        let (sock, dir) = if i % 2 == 0 {
            (1, Dir::Sent)
        } else {
            (2, Dir::Received)
        };
        ev(
            EventKind::Data {
                sock,
                dir,
                data: line.clone(),
                len: line.len(),
                addr: None,
            },
            &mut app,
        );
    }
    let fed = fed.elapsed();
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    for (label, hex) in [("text", false), ("hexdump", true)] {
        app.traffic.hex = hex;
        let mut times = Vec::new();
        for _ in 0..300 {
            let t = Instant::now();
            term.draw(|f| ui::draw(f, &app)).unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        let p = |q: usize| times[(times.len() - 1) * q / 100];
        println!(
            "frame 200×60, 100 000 records ({label:7}): median {:.3} ms, p99 {:.3} ms (target < 2 ms)",
            ms(p(50)),
            ms(p(99))
        );
    }
    // One keystroke in a fresh sandbox at 120×36: its update and its frame,
    // what the latency bench's keystroke-to-screen pays on top of the floor.
    {
        let mut app = App::new(Session::new(engine.clone()), Theme::plain());
        app::update(&mut app, Msg::Resize(120, 36));
        let mut term = Terminal::new(TestBackend::new(120, 36)).unwrap();
        term.draw(|f| ui::draw(f, &app)).unwrap();
        let mut times = Vec::new();
        for i in 0..600 {
            let c = if i % 40 == 39 { '\u{8}' } else { 'x' };
            let key = if c == 'x' {
                crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('x'))
            } else {
                crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Backspace)
            };
            let t = Instant::now();
            app::update(&mut app, Msg::Key(key));
            let frame = term.draw(|f| ui::draw(f, &app)).unwrap();
            let info = ui::frame_info(frame.area, &app);
            app::update(&mut app, Msg::Frame(info));
            times.push(t.elapsed());
        }
        times.sort();
        let p = |q: usize| times[(times.len() - 1) * q / 100];
        println!(
            "one keystroke, sandbox 120×36 (update + frame): median {:.3} ms, p99 {:.3} ms",
            ms(p(50)),
            ms(p(99))
        );
    }
    println!(
        "feeding 100 000 Data events through update: {:.1} ms ({:.2} µs each)",
        ms(fed),
        fed.as_secs_f64() * 1e6 / 100_000.0
    );
    engine.shutdown();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
