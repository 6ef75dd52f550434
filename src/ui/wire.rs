//! The Wire pane: the captured segments of one connection as a ladder — a
//! vertical line per endpoint, one arrow per segment (or per collapsed run of
//! data), the time on the left and the kernel state each end entered beside
//! the arrow before it. Only the visible rows are laid out.
//!
//! Where capture is not permitted it says why and how to turn it on; it
//! never draws a segment that was not captured.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use unicode_width::UnicodeWidthStr;

use super::fit;
use crate::app::App;
use crate::app::wire::{Ladder, Row, Tone, header_lines};
use crate::engine::capture::{CaptureOff, CaptureStatus, Proto};
use crate::engine::text::sanitize;

/// The state columns beside the lanes, where the pane is wide enough.
const STATE_W: usize = 11;

/// The command that lets socklab capture (as the student types it).
const SETCAP: &str = "sudo setcap cap_net_raw+ep \"$(command -v socklab)\"";

/// `ladder` is `app.ladder()`, built once per frame by the caller for both
/// the title and the body.
pub fn title_extra(app: &App, ladder: Option<&Ladder>) -> String {
    let lang = app.lang;
    let mut parts = Vec::new();
    if let Some(l) = ladder {
        let proto = match l.proto {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Icmp => "ICMP",
        };
        parts.push(tr!(
            lang,
            "wire.which",
            n = l.number,
            of = l.of,
            proto = proto
        ));
    }
    if app.wire.absolute {
        parts.push(tr!(lang, "wire.absolute"));
    }
    if app.wire.back > 0 {
        parts.push(tr!(lang, "wire.newer_below", n = app.wire.back));
    }
    let w = &app.session.model().wire;
    if w.dropped > 0 {
        parts.push(tr!(lang, "wire.lost", n = w.dropped));
    }
    parts.join(" · ")
}

fn wrapped(buf: &mut Buffer, area: Rect, lines: Vec<Line<'static>>) {
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App, ladder: Option<&Ladder>) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let t = &app.theme;
    let lang = app.lang;
    let wire = &app.session.model().wire;
    match &wire.status {
        Some(CaptureStatus::Unavailable { why, detail }) => {
            let mut lines = vec![Line::styled(
                match why {
                    CaptureOff::NoCapNetRaw => tr!(lang, "wire.off_perm"),
                    CaptureOff::NoLoopback => tr!(lang, "wire.off_lo"),
                    CaptureOff::Failed => tr!(lang, "wire.off_failed", detail = sanitize(detail)),
                },
                t.warn(),
            )];
            if *why == CaptureOff::NoCapNetRaw {
                // The commands stand on lines of their own, as typed.
                lines.push(Line::raw(tr!(lang, "wire.how_setcap")));
                lines.push(Line::styled(format!("  {SETCAP}"), t.prompt()));
                lines.push(Line::raw(tr!(lang, "wire.how_netns")));
                lines.push(Line::styled("  socklab --netns", t.prompt()));
                lines.push(Line::raw(tr!(lang, "wire.how_rest")));
            }
            wrapped(buf, area, lines);
            return;
        }
        None => {
            Line::styled(tr!(lang, "wire.starting"), t.dim()).render(area, buf);
            return;
        }
        _ => {}
    }
    let Some(ladder) = ladder else {
        wrapped(
            buf,
            area,
            vec![Line::styled(tr!(lang, "wire.empty"), t.dim())],
        );
        return;
    };
    let header_h = if app.wire.header { 5 } else { 0 };
    let body_h = (area.height as usize).saturating_sub(1 + header_h);
    let w = area.width as usize;
    let geo = Geometry::new(w);
    heads(buf, area, ladder, &geo, app);
    // Rows from the newest visible one back, until the body is full.
    let end = ladder
        .rows
        .len()
        .saturating_sub(app.wire.back.min(ladder.rows.len().saturating_sub(1)));
    let mut blocks: Vec<Vec<Line<'static>>> = Vec::new();
    let mut used = 0;
    for row in ladder.rows[..end].iter().rev() {
        let lines = row_lines(row, &geo, app);
        used += lines.len();
        blocks.push(lines);
        if used >= body_h {
            break;
        }
    }
    let mut lines: Vec<Line> = blocks.into_iter().rev().flatten().collect();
    if lines.len() > body_h {
        lines.drain(..lines.len() - body_h);
    }
    for (i, line) in lines.into_iter().enumerate() {
        line.render(Rect::new(area.x, area.y + 1 + i as u16, area.width, 1), buf);
    }
    if header_h > 0
        && let Some(row) = end.checked_sub(1).and_then(|i| ladder.rows.get(i))
        && let Some(seg) = app.session.model().wire.segments.get(row.seg)
    {
        let y = area.y + area.height - header_h as u16;
        let rule = format!("── {} ", tr!(lang, "wire.header_of", n = seg.n));
        let rule = format!("{rule}{}", "─".repeat(w.saturating_sub(rule.width())));
        Line::styled(fit(&rule, w), t.dim()).render(Rect::new(area.x, y, area.width, 1), buf);
        let text: Vec<Line> = header_lines(seg, &ladder.left, &ladder.right, app.t0_us, lang)
            .into_iter()
            .map(Line::raw)
            .collect();
        wrapped(
            buf,
            Rect::new(area.x, y + 1, area.width, header_h as u16 - 1),
            text,
        );
    }
}

/// Where things go across the pane.
struct Geometry {
    /// Time column (and the space after it).
    time_w: usize,
    /// State columns (0: states go after the label).
    state_w: usize,
    /// The lanes' columns.
    left: usize,
    right: usize,
}

impl Geometry {
    fn new(w: usize) -> Geometry {
        let time_w = 8;
        let state_w = if w >= 76 { STATE_W } else { 0 };
        let left = time_w + state_w + usize::from(state_w > 0);
        let right = w
            .saturating_sub(state_w + usize::from(state_w > 0) + 1)
            .max(left + 4);
        Geometry {
            time_w,
            state_w,
            left,
            right,
        }
    }

    /// Room for an arrow's label between the lanes.
    fn arrow_w(&self) -> usize {
        self.right.saturating_sub(self.left + 1)
    }
}

fn heads(buf: &mut Buffer, area: Rect, l: &Ladder, g: &Geometry, app: &App) {
    let t = &app.theme;
    let w = area.width as usize;
    let end = |e: &crate::app::wire::LadderEnd| {
        if e.name.is_empty() {
            e.addr.to_string()
        } else {
            format!("{} {}", e.name, e.addr)
        }
    };
    let left = end(&l.left);
    let right = end(&l.right);
    let mut s = " ".repeat(g.left);
    s.push_str(&left);
    let room = (g.right + 1).saturating_sub(s.width() + 2);
    if right.width() <= room {
        let pad = (g.right + 1).saturating_sub(s.width() + right.width());
        s.push_str(&" ".repeat(pad));
        s.push_str(&right);
    } else {
        s.push_str("  ⇄ ");
        s.push_str(&right);
    }
    Line::styled(fit(&s, w), t.header()).render(Rect::new(area.x, area.y, area.width, 1), buf);
}

fn tone_style(tone: Tone, app: &App) -> Style {
    let t = &app.theme;
    match tone {
        Tone::Plain => Style::new(),
        Tone::Control => t.lab(),
        Tone::Reset | Tone::Error => t.error(),
        Tone::Retransmission => t.warn(),
    }
}

/// One row: the arrow line, then one more line for each further state an
/// end entered (nothing a student must read is cut off at the lanes).
fn row_lines(row: &Row, g: &Geometry, app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let style = tone_style(row.tone, app);
    let aw = g.arrow_w();
    let mut label = row.label.clone();
    if g.state_w == 0 {
        // No state columns: the states follow the label.
        let mut states = Vec::new();
        for (side, list) in [("◀", &row.left_state), ("▶", &row.right_state)] {
            if !list.is_empty() {
                states.push(format!("{side} {}", list.join("→")));
            }
        }
        if !states.is_empty() {
            label = format!("{label}  [{}]", states.join(", "));
        }
    }
    let label = fit(&label, aw.saturating_sub(3).max(1));
    let fill = aw.saturating_sub(label.width() + 3);
    let arrow = if row.rightward {
        format!("─{label} {}▶", "─".repeat(fill))
    } else {
        format!("◀{} {label}─", "─".repeat(fill))
    };
    // Times count from the start of this lab, as in Traffic and Events.
    let time = format!("{} ", super::fmt_time(row.t_us.saturating_sub(app.t0_us)));
    let lane = || Span::styled("│", t.dim());
    let state = |list: &[String], i: usize, right: bool| -> Span<'static> {
        let s = list.get(i).cloned().unwrap_or_default();
        let s = if right {
            format!(" {}", fit(&s, g.state_w))
        } else {
            format!("{:>w$} ", fit(&s, g.state_w), w = g.state_w)
        };
        Span::styled(s, t.kernel())
    };
    let mut first = vec![Span::styled(time, t.dim())];
    if g.state_w > 0 {
        first.push(state(&row.left_state, 0, false));
    }
    first.push(lane());
    first.push(Span::styled(arrow, style));
    first.push(lane());
    if g.state_w > 0 {
        first.push(state(&row.right_state, 0, true));
    }
    let mut lines = vec![Line::from(first)];
    if g.state_w > 0 {
        let more = row.left_state.len().max(row.right_state.len());
        for i in 1..more {
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(g.time_w)),
                state(&row.left_state, i, false),
                lane(),
                Span::raw(" ".repeat(aw)),
                lane(),
                state(&row.right_state, i, true),
            ]));
        }
    }
    lines
}
