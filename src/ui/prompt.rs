//! The Prompt pane: what was typed and answered (like Python's REPL), the
//! calls still waiting, the lines queued after them (a paste), Tab
//! candidates, and the `>>> ` input line.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::{fit, wrap};
use crate::app::{App, LineEdit, LineKind};
use crate::engine::text::sanitize;
use crate::settings::Lang;

pub const PS1: &str = ">>> ";

/// How far a wrapped line's continuation is indented.
const INDENT: &str = "    ";

/// `text` wrapped to `width`: never cut at the pane's edge; the rows after
/// the first are indented so a long value reads as one. At most `max_rows`
/// rows: a line longer than the pane ends in a row saying how much is left.
pub fn wrap_out(text: &str, width: usize, max_rows: usize, lang: Lang) -> Vec<String> {
    if text.width() <= width {
        return vec![text.to_string()];
    }
    if width <= INDENT.len() + 4 {
        return wrap(text, width.max(1))
            .into_iter()
            .take(max_rows.max(1))
            .collect();
    }
    let mut out = Vec::new();
    let mut rest: &str = text;
    while !rest.is_empty() {
        if out.len() + 1 >= max_rows.max(1) && rest.width() > width - INDENT.len() {
            let left = rest.chars().count();
            let more = crate::tr!(lang, "ui.more_characters", n = left);
            out.push(format!("{INDENT}{more}"));
            break;
        }
        let first = out.is_empty();
        let room = if first { width } else { width - INDENT.len() };
        // One row needs no more of the text than this.
        let look: String = rest.chars().take((room + 1) * 4).collect();
        let head = wrap(&look, room).into_iter().next().unwrap_or_default();
        if head.is_empty() || !rest.starts_with(&head) {
            out.push(format!("{INDENT}{}", super::fit(rest, room)));
            break;
        }
        out.push(if first {
            head.clone()
        } else {
            format!("{INDENT}{head}")
        });
        rest = &rest[head.len()..];
        rest = rest.strip_prefix(' ').unwrap_or(rest);
    }
    out
}

/// Most rows the queue takes under the prompt's output.
const QUEUE_ROWS: usize = 4;

/// The calls still waiting (the queue's own line last, marked), then the
/// queued lines — dimmed, at most `queue_rows` rows, with their count — and
/// the Tab candidates.
fn extra_lines(app: &App, width: usize, queue_rows: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = Vec::new();
    let queued = &app.queue.lines;
    let running = app.queue.running.filter(|_| !queued.is_empty());
    let mut pending = app.session.pending();
    // The line the queue waits for comes last, right above the queue.
    pending.sort_by_key(|(c, _)| Some(*c) == running);
    for (call, text) in pending {
        let key = if Some(call) == running {
            "prompt.queue_running"
        } else {
            "prompt.waiting"
        };
        for row in wrap_out(
            &crate::tr!(app.lang, key, call = sanitize(&text)),
            width,
            3,
            app.lang,
        ) {
            out.push(Line::styled(row, t.warn()));
        }
    }
    out.extend(queue_lines(app, width, queue_rows));
    if !app.completions.is_empty() {
        out.push(Line::styled(
            fit(&sanitize(&app.completions.join("  ")), width),
            t.info(),
        ));
    }
    out
}

/// `⋯ queued (3): cli = socket()` and the lines after it, one a row; the
/// last row says how many more there are when they do not all fit.
fn queue_lines(app: &App, width: usize, rows: usize) -> Vec<Line<'static>> {
    let queued = &app.queue.lines;
    if queued.is_empty() || rows == 0 {
        return Vec::new();
    }
    let head = crate::tr!(app.lang, "prompt.queued", n = queued.len());
    let pad = " ".repeat(head.width());
    let shown = rows.min(queued.len());
    (0..shown)
        .map(|i| {
            let lead = if i == 0 { head.as_str() } else { pad.as_str() };
            let more = if i + 1 == shown && shown < queued.len() {
                crate::tr!(app.lang, "prompt.queued_more", n = queued.len() - shown)
            } else {
                String::new()
            };
            let room = width.saturating_sub(lead.width() + more.width());
            let text = format!("{lead}{}{more}", fit(&sanitize(&queued[i]), room));
            Line::styled(fit(&text, width), app.theme.dim())
        })
        .collect()
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    let w = area.width as usize;
    let h = area.height as usize;
    // The queue shows in at most half the rows above the input line (one
    // at least), so the output of the line that runs stays in view.
    let queue_rows = QUEUE_ROWS.min((h.saturating_sub(1) / 2).max(1));
    let mut extra = extra_lines(app, w, queue_rows);
    // The newest of the waiting lines stay when there are too many.
    let keep_extra = h.saturating_sub(1);
    if extra.len() > keep_extra {
        extra.drain(..extra.len() - keep_extra);
    }
    let out_rows = h.saturating_sub(1 + extra.len());
    let end = app.output.len() - app.output_back.min(app.output.len());
    // From the newest line up, wrapped, until the rows are full.
    let mut rows: Vec<Line> = Vec::new();
    for l in app.output.range(..end).rev() {
        if rows.len() >= out_rows {
            break;
        }
        let style = match l.kind {
            LineKind::Input => t.prompt(),
            LineKind::Echo => ratatui::style::Style::new(),
            LineKind::Error => t.error(),
            LineKind::Info => t.info(),
        };
        for r in wrap_out(&l.text, w, out_rows, app.lang).into_iter().rev() {
            rows.push(Line::styled(r, style));
        }
    }
    rows.truncate(out_rows);
    rows.reverse();
    for (y, l) in (area.y..).zip(rows.into_iter().chain(extra)) {
        l.render(Rect::new(area.x, y, area.width, 1), buf);
    }
    let y = area.bottom() - 1;
    let room = w.saturating_sub(PS1.len());
    let (shown, _) = app.input.view(room);
    Line::from(vec![
        Span::styled(PS1, t.prompt()),
        Span::raw(fit(&sanitize(&shown), room)),
    ])
    .render(Rect::new(area.x, y, area.width, 1), buf);
}

pub fn cursor(inner: Rect, app: &App) -> Option<Position> {
    line_cursor(inner, PS1, &app.input)
}

/// Where the terminal cursor goes on a one-row input line under `ps`.
pub fn line_cursor(inner: Rect, ps: &str, line: &LineEdit) -> Option<Position> {
    if inner.width == 0 || inner.height == 0 {
        return None;
    }
    let room = (inner.width as usize).saturating_sub(ps.width());
    let (_, col) = line.view(room);
    let x = inner.x as usize + ps.width() + col;
    Some(Position::new(
        x.min(inner.right() as usize - 1) as u16,
        inner.bottom() - 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_wraps_with_an_indent_and_loses_nothing() {
        let text = "conn = <socket fd=5 TCP/v4 127.0.0.1:40001 ⇄ 127.0.0.1:51234>, addr = ('127.0.0.1', 51234)";
        let rows = wrap_out(text, 40, 10, Lang::En);
        assert!(rows.len() > 1);
        for r in &rows {
            assert!(r.width() <= 40, "{r}");
        }
        for r in &rows[1..] {
            assert!(r.starts_with(INDENT), "{r}");
        }
        let joined: String = rows
            .iter()
            .map(|r| r.trim_start())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(joined, text);
        assert_eq!(wrap_out("short", 40, 1, Lang::En), vec!["short"]);
        let long_word = "x".repeat(100);
        let rows = wrap_out(&long_word, 30, 10, Lang::En);
        assert_eq!(
            rows.iter().map(|r| r.trim_start().len()).sum::<usize>(),
            100
        );
        // Longer than the pane: its start stays, and the rest is counted.
        let rows = wrap_out(&"y".repeat(32 * 1024), 80, 4, Lang::En);
        assert_eq!(rows.len(), 4);
        assert!(rows[0].starts_with("yyyy"));
        assert!(rows[3].contains("more characters"), "{}", rows[3]);
    }
}
