//! Helpers shared by the UI tests: build an app on a real engine, feed it
//! keys and events, render it to a `TestBackend` as plain text.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use socklab::app::{self, App, Msg, Session};
use socklab::engine::{Engine, EngineConfig, Events};
use socklab::ui::theme::Theme;

/// An app over a fresh engine (needs a tokio runtime), colourless, with the
/// clock pinned far ahead so nothing is mid-fade in snapshots.
pub fn app() -> (App, Events) {
    let (engine, events) = Engine::start(EngineConfig::default());
    let mut app = App::new(Session::new(engine), Theme::plain());
    app.frozen_clock = Some(u64::MAX / 4);
    app.now_us = u64::MAX / 4;
    (app, events)
}

pub fn buffer(app: &mut App, w: u16, h: u16) -> Buffer {
    app::update(app, Msg::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    t.draw(|f| socklab::ui::draw(f, app)).expect("draw");
    let info = socklab::ui::frame_info(ratatui::layout::Rect::new(0, 0, w, h), app);
    app::update(app, Msg::Frame(info));
    t.backend().buffer().clone()
}

/// The screen as text, one line per row, trailing spaces cut.
pub fn screen(app: &mut App, w: u16, h: u16) -> String {
    text_of(&buffer(app, w, h))
}

pub fn text_of(buf: &Buffer) -> String {
    text_in(buf, buf.area)
}

/// The text of one rectangle of a buffer, one line per row, trailing spaces cut.
pub fn text_in(buf: &Buffer, r: ratatui::layout::Rect) -> String {
    let mut out = String::new();
    for y in r.y..r.bottom() {
        let mut line = String::new();
        let mut skip = 0;
        for x in r.x..r.right() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
            // Wide characters take two cells; the second holds nothing of its own.
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Apply engine events until `cond` holds; after 30 s, fail with the screen.
pub async fn pump(app: &mut App, events: &mut Events, what: &str, cond: impl Fn(&App) -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !cond(app) {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(ev)) => {
                app::update(app, Msg::Engine(ev));
            }
            Ok(None) => panic!("engine stopped while waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}; screen:\n{}",
                screen(app, 120, 40)
            ),
        }
    }
}

/// Type a line, press Enter, and wait until no call of the session waits.
pub async fn run(app: &mut App, events: &mut Events, line: &str) {
    enter_line(app, line);
    pump(app, events, line, |a| a.session.pending().is_empty()).await;
}

pub fn key(app: &mut App, code: KeyCode) -> app::Effect {
    app::update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ctrl(app: &mut App, c: char) -> app::Effect {
    app::update(
        app,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

pub fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Type a line at the prompt and press Enter.
pub fn enter_line(app: &mut App, s: &str) -> app::Effect {
    type_str(app, s);
    key(app, KeyCode::Enter)
}

/// Hide what changes from run to run (ports, fds, times) without moving
/// columns: each is replaced by a placeholder of the same width.
pub fn mask(screen: &str) -> String {
    use regex::{Captures, Regex};
    let same_width = |s: &str, fill: &str| -> String {
        let w = unicode_width::UnicodeWidthStr::width(s);
        let mut out = fill.to_string();
        while out.len() < w {
            out.insert(0, ' ');
        }
        out.chars().take(w.max(fill.len())).collect()
    };
    let times = Regex::new(r" *\d+\.\d{3}\b").expect("re");
    // ASCII word edges: a port followed by Korean (`9000에서`) is masked too.
    let ports = Regex::new(r"(?-u:\b)\d{5}(?-u:\b)").expect("re");
    let fds = Regex::new(r"fd(=| )\d+").expect("re");
    let mut lines: Vec<String> = screen
        .lines()
        .map(|l| {
            let l = ports.replace_all(l, "PPPPP");
            let l = times.replace_all(&l, |c: &Captures| same_width(&c[0], "t.ttt"));
            fds.replace_all(&l, |c: &Captures| format!("fd{}#", &c[1]))
                .to_string()
        })
        .collect();
    // The Sockets pane's fd column: blank it under its header until the next
    // pane. Counted in display columns (Korean text beside it is double width).
    let width = unicode_width::UnicodeWidthStr::width;
    let mut col: Option<usize> = None;
    for l in lines.iter_mut() {
        let head = l.find("name ").or_else(|| l.find("이름 "));
        if let Some(i) = head
            && let Some(j) = l[i..].find(" fd ")
            && l[i..i + j].split_whitespace().count() == 1
        {
            col = Some(width(&l[..i + j + 1]));
            continue;
        }
        if l.contains(" ───") {
            col = None;
        }
        if let Some(c) = col {
            // The byte offset where display column `c` starts, if one does.
            let mut at = None;
            let mut w = 0;
            for (b, ch) in l.char_indices() {
                if w == c {
                    at = Some(b);
                    break;
                }
                w += unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
            }
            if let Some(b) = at
                && l.len() >= b + 3
                && l.is_char_boundary(b + 3)
            {
                let cell = &l[b..b + 3];
                if cell.chars().any(|ch| ch.is_ascii_digit())
                    && cell.chars().all(|ch| ch.is_ascii_digit() || ch == ' ')
                {
                    l.replace_range(b..b + 3, "#  ");
                }
            }
        }
    }
    lines.join("\n") + "\n"
}

/// Blank a pane's inside in a screen text (for panes whose content depends
/// on timing, like the Events log; tests assert on it separately).
pub fn blank_pane(app: &App, screen: &str, pane: socklab::keys::Pane) -> String {
    let (w, h) = app.size;
    let lay = socklab::ui::layout::compute(ratatui::layout::Rect::new(0, 0, w, h), app);
    let Some(p) = lay.panes.iter().find(|p| p.pane == pane) else {
        return screen.to_string();
    };
    let r = socklab::ui::inner_of(p);
    let mut out = String::new();
    for (y, line) in screen.lines().enumerate() {
        let mut chars: Vec<char> = line.chars().collect();
        let y = y as u16;
        if y >= r.y && y < r.bottom() {
            chars.resize((w as usize).max(chars.len()), ' ');
            for c in chars.iter_mut().take(r.right() as usize).skip(r.x as usize) {
                *c = ' ';
            }
        }
        let s: String = chars.into_iter().collect();
        out.push_str(s.trim_end());
        out.push('\n');
    }
    out
}
