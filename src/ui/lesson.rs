//! The Lesson pane: a lesson's text, its steps as a checklist, the hint and
//! what is still missing. Lessons hand over a plain [`LessonView`]; with none
//! (the sandbox) the pane explains the lab and how to start.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::app::App;
use crate::engine::text::sanitize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStatus {
    Done,
    Current,
    Todo,
}

/// Everything the Lesson pane shows, already in the student's language and
/// with placeholders filled in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LessonView {
    pub title: String,
    pub text: String,
    pub steps: Vec<(String, StepStatus)>,
    /// Shown after `:hint`.
    pub hint: Option<String>,
    /// Why the current step is not done yet, one reason a line.
    pub why_not: Vec<String>,
    /// e.g. "lesson 3/20 · :next :prev :hint :reset".
    pub footer: String,
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    let t = &app.theme;
    let lines: Vec<Line> = match &app.lesson {
        Some(v) => lesson_lines(v, app),
        None => sandbox_lines(app),
    };
    let _ = t;
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((app.lesson_scroll.min(u16::MAX as usize) as u16, 0))
        .render(area, buf);
}

fn text_lines(text: &str) -> Vec<Line<'static>> {
    text.lines().map(|l| Line::raw(sanitize(l))).collect()
}

fn lesson_lines(v: &LessonView, app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = vec![Line::styled(sanitize(&v.title), t.header())];
    out.extend(text_lines(&v.text));
    if !v.steps.is_empty() {
        out.push(Line::raw(""));
    }
    for (i, (text, status)) in v.steps.iter().enumerate() {
        let (mark, style) = match status {
            StepStatus::Done => ("✓", t.ok()),
            StepStatus::Current => ("▶", t.warn().add_modifier(Modifier::BOLD)),
            StepStatus::Todo => ("·", t.dim()),
        };
        let text_style = match status {
            StepStatus::Todo => t.dim(),
            StepStatus::Current => ratatui::style::Style::new().add_modifier(Modifier::BOLD),
            StepStatus::Done => ratatui::style::Style::new(),
        };
        let mut first = true;
        for l in text.lines() {
            let prefix = if first {
                format!("{mark} {}. ", i + 1)
            } else {
                "     ".to_string()
            };
            out.push(Line::from(vec![
                Span::styled(prefix, style),
                Span::styled(sanitize(l), text_style),
            ]));
            first = false;
        }
    }
    if !v.why_not.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled("Not done yet:", t.warn()));
        for w in &v.why_not {
            out.push(Line::styled(format!("  – {}", sanitize(w)), t.warn()));
        }
    }
    if let Some(h) = &v.hint {
        out.push(Line::raw(""));
        out.push(Line::styled("Hint:", t.info().add_modifier(Modifier::BOLD)));
        for l in h.lines() {
            out.push(Line::styled(format!("  {}", sanitize(l)), t.info()));
        }
    }
    if !v.footer.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled(sanitize(&v.footer), t.dim()));
    }
    out
}

fn sandbox_lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let ph = app.session.placeholders();
    let port = ph.get("port").cloned().unwrap_or_else(|| "PORT".into());
    let port2 = ph.get("port2").cloned().unwrap_or_else(|| "PORT2".into());
    let code = |s: String| Line::styled(format!("  {s}"), t.prompt());
    vec![
        Line::styled("Sandbox — no lesson open", t.header()),
        Line::raw(
            "Each line you type at >>> is a real socket call on this machine's \
             loopback (127.0.0.1); the panes show what your program and the \
             kernel do.",
        ),
        Line::raw(""),
        Line::raw("A server, and a built-in client that connects to it:"),
        code("srv = socket(AF_INET, SOCK_STREAM)".into()),
        code(format!("srv.bind((\"127.0.0.1\", {port}))")),
        code("srv.listen(5)".into()),
        code(format!(":peer greeter 127.0.0.1:{port}")),
        code("conn, addr = srv.accept()".into()),
        code("conn.recv(1024)".into()),
        Line::raw(""),
        Line::raw("Or a client of a built-in server:"),
        code(format!(":peer echo 127.0.0.1:{port2}")),
        code("cli = socket()".into()),
        code(format!("cli.connect((\"127.0.0.1\", {port2}))")),
        code("cli.sendall(b\"hello\\n\")".into()),
        Line::raw(""),
        Line::styled(
            ":peers lists peers, :stop NAME stops one, :reset starts over. \
             Lessons: quit (:quit) and run `socklab learn`. F1 or ? shows every key.",
            t.dim(),
        ),
    ]
}
