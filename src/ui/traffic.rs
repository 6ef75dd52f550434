//! The Traffic pane: every chunk sent and received, newest last, with every
//! control byte escaped; or a hexdump of each chunk. Only the visible records
//! are formatted, so the cost follows the pane's height, not the history.

use pretty_hex::{HexConfig, config_hex};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{escaped_spans, fit, fmt_time, pad};
use crate::app::{App, TrafficRec};
use crate::engine::Dir;
use crate::engine::text::{escape_display, sanitize};

/// Most hexdump rows shown for one chunk.
const HEX_ROWS: usize = 8;

pub fn title_extra(app: &App) -> String {
    let t = &app.traffic;
    let mut parts = Vec::new();
    if t.hex {
        parts.push(crate::tr!(app.lang, "traffic.hex"));
    }
    if t.back > 0 {
        parts.push(crate::tr!(app.lang, "traffic.newer_below", n = t.back));
    }
    if t.dropped > 0 {
        parts.push(crate::tr!(app.lang, "traffic.dropped", n = t.dropped));
    }
    parts.join(" · ")
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let t = &app.theme;
    let recs = &app.traffic.recs;
    if recs.is_empty() {
        Line::styled(crate::tr!(app.lang, "traffic.empty"), t.dim())
            .render(Rect { height: 1, ..area }, buf);
        return;
    }
    let end = recs.len() - app.traffic.back.min(recs.len() - 1);
    let height = area.height as usize;
    let hex_w = if area.width >= 80 { 16 } else { 8 };
    // Walk back from the newest visible record until the pane is full.
    let mut blocks: Vec<Vec<Line>> = Vec::new();
    let mut used = 0;
    for rec in recs.range(..end).rev() {
        let lines = if app.traffic.hex {
            hex_lines(rec, area.width as usize, hex_w, app)
        } else {
            vec![text_line(rec, area.width as usize, app)]
        };
        used += lines.len();
        blocks.push(lines);
        if used >= height {
            break;
        }
    }
    let mut lines: Vec<Line> = blocks.into_iter().rev().flatten().collect();
    // The newest record's last line sits on the bottom row; cut from the top.
    if lines.len() > height {
        lines.drain(..lines.len() - height);
    }
    for (i, line) in lines.into_iter().enumerate() {
        line.render(Rect::new(area.x, area.y + i as u16, area.width, 1), buf);
    }
}

fn head_spans(rec: &TrafficRec, app: &App) -> Vec<Span<'static>> {
    let t = &app.theme;
    let (arrow, st) = match rec.dir {
        Dir::Sent => ("→", t.sent()),
        Dir::Received => ("←", t.received()),
    };
    let name_style = if rec.peer_owned {
        t.peer()
    } else {
        Style::new()
    };
    let mut spans = vec![
        Span::styled(fmt_time(rec.t_us.saturating_sub(app.t0_us)), t.dim()),
        Span::raw(" "),
        Span::styled(pad(&sanitize(&rec.name), 10), name_style),
        Span::raw(" "),
        Span::styled(arrow, st),
        Span::raw(format!(" {:>5} ", rec.len)),
    ];
    if let Some(a) = rec.addr {
        // A datagram says where it came from or went.
        let a = if a.ip().is_loopback() {
            format!(":{}", a.port())
        } else {
            a.to_string()
        };
        spans.push(Span::styled(format!("{a} "), t.dim()));
    }
    spans
}

fn text_line(rec: &TrafficRec, width: usize, app: &App) -> Line<'static> {
    let t = &app.theme;
    let mut spans = head_spans(rec, app);
    let head_w: usize = spans.iter().map(|s| s.width()).sum();
    let room = width.saturating_sub(head_w);
    let text = escape_display(&rec.data);
    // Bytes the pane did not keep: say so rather than pretend the chunk ended.
    // (Only where it leaves room for the bytes themselves; the length column
    // already says how long the chunk was.)
    let more = if rec.len > rec.data.len() && room >= 40 {
        let n = rec.len - rec.data.len();
        format!(" ({})", crate::tr!(app.lang, "traffic.not_kept", n = n))
    } else {
        String::new()
    };
    let room = room.saturating_sub(more.len());
    spans.extend(escaped_spans(&text, room, Style::new(), t.escape()));
    if !more.is_empty() {
        spans.push(Span::styled(more, t.dim()));
    }
    Line::from(spans)
}

fn hex_lines(rec: &TrafficRec, width: usize, per_row: usize, app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = vec![Line::from(head_spans(rec, app))];
    let cfg = HexConfig {
        title: false,
        ascii: true,
        width: per_row,
        group: 4,
        chunk: 1,
        max_bytes: per_row * HEX_ROWS,
        display_offset: 0,
    };
    let dump = config_hex(&rec.data.as_ref(), cfg);
    for l in dump.lines().take(HEX_ROWS) {
        // pretty-hex prints only printable ASCII; sanitize anyway, it costs nothing.
        out.push(Line::styled(
            fit(&format!("  {}", sanitize(l)), width),
            t.escape(),
        ));
    }
    let shown = (per_row * HEX_ROWS).min(rec.data.len());
    if rec.len > shown {
        out.push(Line::styled(
            format!(
                "  {}",
                crate::tr!(app.lang, "traffic.more_bytes", n = rec.len - shown)
            ),
            t.dim(),
        ));
    }
    out
}
