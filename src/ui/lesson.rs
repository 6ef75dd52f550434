//! The Lesson pane: a lesson's text, its steps as a checklist, the hint and
//! what is still missing. Lessons hand over a plain [`LessonView`]; with none
//! (the sandbox) the pane explains the lab and how to start.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use unicode_width::UnicodeWidthStr;

use super::wrap;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::App;
use crate::engine::text::sanitize;

/// The lesson module's view (`LessonRun::view`) is what this pane draws:
/// title, text, steps with their status, hint, why-not lines and footer,
/// already in the student's language with placeholders filled in.
pub use crate::lesson::{LessonView, StepStatus};

/// The pane's text wrapped for a pane of this size: made once a frame, for
/// the title (does it go on below the edge?) and the body.
pub fn text_for(app: &App, area: Rect) -> Vec<Line<'static>> {
    wrapped(app, area.width as usize, area.height < 12)
}

/// Whether `rows` of text go on below a pane `height` tall at the scroll
/// position the app keeps.
pub fn more_below(app: &App, rows: usize, height: u16) -> bool {
    let max = rows.saturating_sub(height as usize);
    app.lesson_scroll.min(max) < max
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    render_text(buf, area, app, text_for(app, area));
}

/// [`render`] with the text already wrapped by [`text_for`] for this area.
pub fn render_text(buf: &mut Buffer, area: Rect, app: &App, lines: Vec<Line<'static>>) {
    if area.width == 0 {
        return;
    }
    // Never past the end: the last row stays at the bottom.
    let max = lines.len().saturating_sub(area.height as usize);
    let scroll = app.lesson_scroll.min(max);
    Paragraph::new(lines)
        .scroll((scroll.min(u16::MAX as usize) as u16, 0))
        .render(area, buf);
}

/// Rows the pane's text takes in a pane of this size (for scrolling), as
/// `render` wraps it.
pub fn rows(app: &App, width: usize, height: usize) -> usize {
    wrapped(app, width, height < 12).len()
}

/// Rows the current step needs on top (title, step, what it misses, the
/// hint): the layout gives the pane at least these on a small screen.
pub fn head_rows(app: &App, width: usize) -> usize {
    let Some(v) = &app.lesson else { return 0 };
    let items = lesson_items(v, app);
    let head = items
        .iter()
        .position(|i| i.text.is_empty())
        .unwrap_or(items.len());
    lines_of(items.into_iter().take(head), width).len()
}

fn wrapped(app: &App, width: usize, compact: bool) -> Vec<Line<'static>> {
    let items = match &app.lesson {
        Some(v) => lesson_items(v, app),
        None if compact => sandbox_compact(app),
        None => sandbox_items(app),
    };
    lines_of(items, width)
}

fn lines_of(items: impl IntoIterator<Item = Item>, width: usize) -> Vec<Line<'static>> {
    // Wrapped here rather than by Paragraph, so wide (Korean) characters at
    // the end of a line move to the next one instead of being cut.
    let mut lines: Vec<Line> = Vec::new();
    for it in items {
        let first_w = it.prefix.width();
        let room = width.saturating_sub(first_w).max(1);
        for (i, l) in wrap(&it.text, room).into_iter().enumerate() {
            let prefix = if i == 0 {
                it.prefix.clone()
            } else {
                " ".repeat(first_w)
            };
            lines.push(Line::from(vec![
                Span::styled(prefix, it.prefix_style),
                Span::styled(l, it.style),
            ]));
        }
    }
    lines
}

/// One paragraph of the pane, before wrapping.
struct Item {
    prefix: String,
    prefix_style: Style,
    text: String,
    style: Style,
}

fn item(text: &str, style: Style) -> Item {
    Item {
        prefix: String::new(),
        prefix_style: style,
        text: sanitize(text),
        style,
    }
}

fn blank() -> Item {
    item("", Style::new())
}

/// The current step comes first, with what it still misses and the hint:
/// at 80×24 the pane has a few lines, and they must say what to do now. The
/// lesson's text and the whole checklist follow (scroll to read them).
fn lesson_items(v: &LessonView, app: &App) -> Vec<Item> {
    let t = &app.theme;
    // The title is on the pane's frame already; every row here is the lesson's.
    let mut out = Vec::new();
    let current = v.steps.iter().position(|(_, s)| *s == StepStatus::Current);
    if let Some(i) = current {
        let (text, _) = &v.steps[i];
        let label = format!("▶ {}/{} ", i + 1, v.steps.len());
        push_para(
            &mut out,
            &label,
            t.warn().add_modifier(Modifier::BOLD),
            text,
            Style::new().add_modifier(Modifier::BOLD),
        );
        for w in &v.why_not {
            let label = format!("  {} ", crate::tr!(v.lang, "lesson.not_yet"));
            push_para(&mut out, &label, t.warn(), w, t.warn());
        }
        if let Some(h) = &v.hint {
            let label = format!("  {} ", crate::tr!(v.lang, "lesson.hint"));
            push_para(
                &mut out,
                &label,
                t.info().add_modifier(Modifier::BOLD),
                h,
                t.info(),
            );
        }
    } else if !v.footer.is_empty() {
        out.push(item(&v.footer, t.ok().add_modifier(Modifier::BOLD)));
    }
    out.push(blank());
    out.extend(v.text.lines().map(|l| item(l, Style::new())));
    if !v.steps.is_empty() {
        out.push(blank());
    }
    for (i, (text, status)) in v.steps.iter().enumerate() {
        let (mark, mark_style, style) = match status {
            StepStatus::Done => ("✓", t.ok(), Style::new()),
            StepStatus::Current => ("▶", t.warn().add_modifier(Modifier::BOLD), Style::new()),
            StepStatus::Todo => ("·", t.dim(), t.dim()),
        };
        push_para(
            &mut out,
            &format!("{mark} {}. ", i + 1),
            mark_style,
            text,
            style,
        );
    }
    if !v.footer.is_empty() {
        out.push(blank());
        out.push(item(&v.footer, t.dim()));
    }
    out
}

/// A paragraph (possibly several source lines) after a label; later lines
/// are indented under the first.
fn push_para(out: &mut Vec<Item>, label: &str, label_style: Style, text: &str, style: Style) {
    for (j, l) in text.lines().enumerate() {
        out.push(Item {
            prefix: if j == 0 {
                label.to_string()
            } else {
                " ".repeat(label.width())
            },
            prefix_style: label_style,
            text: sanitize(l),
            style,
        });
    }
}

/// The sandbox text for a short pane: the calls to try come first.
fn sandbox_compact(app: &App) -> Vec<Item> {
    let t = &app.theme;
    let port = app
        .session
        .placeholders()
        .get("port")
        .cloned()
        .unwrap_or_else(|| "PORT".into());
    let code = |s: String| Item {
        prefix: "  ".into(),
        prefix_style: Style::new(),
        text: s,
        style: t.prompt(),
    };
    vec![
        item(&crate::tr!(app.lang, "sandbox.compact_head"), t.header()),
        code(format!(
            "srv = socket(AF_INET, SOCK_STREAM)   srv.bind((\"127.0.0.1\", {port}))"
        )),
        code(format!(
            "srv.listen(5)   :peer greeter 127.0.0.1:{port}   conn, addr = srv.accept()"
        )),
        item(&crate::tr!(app.lang, "sandbox.compact_keys"), t.dim()),
    ]
}

fn sandbox_items(app: &App) -> Vec<Item> {
    let t = &app.theme;
    let ph = app.session.placeholders();
    let port = ph.get("port").cloned().unwrap_or_else(|| "PORT".into());
    let port2 = ph.get("port2").cloned().unwrap_or_else(|| "PORT2".into());
    let code = |s: &str| Item {
        prefix: "  ".into(),
        prefix_style: Style::new(),
        text: s.to_string(),
        style: t.prompt(),
    };
    vec![
        item(&crate::tr!(app.lang, "sandbox.title"), t.header()),
        item(&crate::tr!(app.lang, "sandbox.intro"), Style::new()),
        blank(),
        item(&crate::tr!(app.lang, "sandbox.server"), Style::new()),
        code("srv = socket(AF_INET, SOCK_STREAM)"),
        code(&format!("srv.bind((\"127.0.0.1\", {port}))")),
        code("srv.listen(5)"),
        code(&format!(":peer greeter 127.0.0.1:{port}")),
        code("conn, addr = srv.accept()"),
        code("conn.recv(1024)"),
        blank(),
        item(&crate::tr!(app.lang, "sandbox.client"), Style::new()),
        code(&format!(":peer echo 127.0.0.1:{port2}")),
        code("cli = socket()"),
        code(&format!("cli.connect((\"127.0.0.1\", {port2}))")),
        code("cli.sendall(b\"hello\\n\")"),
        blank(),
        item(&crate::tr!(app.lang, "sandbox.more"), t.dim()),
    ]
}
