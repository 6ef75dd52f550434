//! The Prompt pane: what was typed and answered (like Python's REPL), the
//! calls still waiting, Tab candidates, and the `>>> ` input line.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::fit;
use crate::app::{App, LineEdit, LineKind};
use crate::engine::text::sanitize;

pub const PS1: &str = ">>> ";

fn extra_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = Vec::new();
    for (_, text) in app.session.pending() {
        out.push(Line::styled(
            fit(
                &format!("… {} is waiting (C-c cancels)", sanitize(&text)),
                width,
            ),
            t.warn(),
        ));
    }
    if !app.completions.is_empty() {
        out.push(Line::styled(
            fit(&sanitize(&app.completions.join("  ")), width),
            t.info(),
        ));
    }
    out
}

/// A line cut into rows of at most `w` columns (at most 8 rows; the last
/// is cut with `…` by `fit` if the line is longer still).
fn wrap(text: &str, w: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    if w < 10 || text.width() <= w {
        return vec![text.to_string()];
    }
    let mut out = vec![String::new()];
    let mut used = 0;
    for c in text.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w && out.len() < 8 {
            out.push(String::new());
            used = 0;
        }
        used += cw;
        out.last_mut().expect("one row").push(c);
    }
    out
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    let w = area.width as usize;
    let extra = extra_lines(app, w);
    let h = area.height as usize;
    let out_rows = h.saturating_sub(1 + extra.len());
    let end = app.output.len() - app.output_back.min(app.output.len());
    // Long lines wrap (a traced program's call, its output): rows from the
    // newest line back until the pane is full.
    let mut rows: Vec<(String, LineKind)> = Vec::new();
    for l in app.output.range(..end).rev() {
        if rows.len() >= out_rows {
            break;
        }
        let mut parts = wrap(&l.text, w);
        // A line taller than the pane shows its beginning.
        if parts.len() > out_rows {
            parts.truncate(out_rows);
            if let Some(last) = parts.last_mut() {
                last.pop();
                last.push('…');
            }
        }
        while let Some(p) = parts.pop() {
            rows.push((p, l.kind));
        }
    }
    rows.truncate(out_rows);
    let mut y = area.y;
    for (text, kind) in rows.into_iter().rev() {
        let style = match kind {
            LineKind::Input => t.prompt(),
            LineKind::Echo => ratatui::style::Style::new(),
            LineKind::Error => t.error(),
            LineKind::Info => t.info(),
        };
        Line::styled(fit(&text, w), style).render(Rect::new(area.x, y, area.width, 1), buf);
        y += 1;
    }
    for l in extra.into_iter().take(h.saturating_sub(1)) {
        l.render(Rect::new(area.x, y, area.width, 1), buf);
        y += 1;
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
