//! The Events pane: state transitions and call results, newest last,
//! coloured by kind. The words come from `crate::describe` (called from
//! `update`, so the text is fixed when the event happens).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{fit, fmt_time, wrap};
use crate::app::{App, EvClass};
use crate::engine::text::sanitize;

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    if app.events.is_empty() {
        Line::styled(crate::tr!(app.lang, "ui.events_empty"), t.dim())
            .render(Rect { height: 1, ..area }, buf);
        return;
    }
    let h = area.height as usize;
    let end = app.events.len() - app.events_back.min(app.events.len() - 1);
    let show_time = area.width >= 40;
    // With the pane focused, the bottom row is the selected one (↑/↓ move
    // it); when the row is cut, its whole text is shown under it.
    let focused = app.focus == crate::keys::Pane::Events;
    let detail: Vec<String> = if focused {
        let e = &app.events[end - 1];
        let name = e
            .sock
            .map(|id| format!("{} ", sanitize(&app.session.model().name_of(id))))
            .unwrap_or_default();
        let time = if show_time {
            format!("{} ", fmt_time(e.t_us.saturating_sub(app.t0_us)))
        } else {
            String::new()
        };
        let whole = format!("{time}{name}{}", e.text);
        if unicode_width::UnicodeWidthStr::width(whole.as_str()) > area.width as usize {
            let mut rows = wrap(
                &format!("{name}{}", e.text),
                (area.width as usize).saturating_sub(2),
            );
            rows.truncate(h.saturating_sub(1).max(1));
            rows.into_iter().map(|r| format!("  {r}")).collect()
        } else {
            Vec::new()
        }
    } else {
        Vec::new()
    };
    let list_h = h.saturating_sub(detail.len()).max(1);
    let start = end.saturating_sub(list_h);
    for (i, row) in detail.iter().enumerate() {
        let y = area.y + (end - start + i) as u16;
        if y < area.bottom() {
            Line::styled(row.clone(), t.info()).render(Rect::new(area.x, y, area.width, 1), buf);
        }
    }
    for (i, e) in app.events.range(start..end).enumerate() {
        let mut style = match e.class {
            EvClass::Socket => Style::new(),
            EvClass::Lab => t.lab(),
            EvClass::Kernel => t.kernel(),
            EvClass::Started | EvClass::Waiting => t.warn(),
            EvClass::Endpoints | EvClass::Data | EvClass::Wire => Style::new(),
            EvClass::Capture => t.info(),
            EvClass::Ok => t.ok(),
            EvClass::Fail => t.error(),
            EvClass::Peer => t.peer(),
            EvClass::Notice => t.info(),
        };
        if e.peer_owned && e.class != EvClass::Peer {
            style = style.patch(t.dim());
        }
        let mut spans = Vec::new();
        let mut room = area.width as usize;
        if show_time {
            spans.push(Span::styled(
                format!("{} ", fmt_time(e.t_us.saturating_sub(app.t0_us))),
                t.dim(),
            ));
            room = room.saturating_sub(8);
        }
        if let Some(id) = e.sock {
            let name = sanitize(&app.session.model().name_of(id));
            let w = unicode_width::UnicodeWidthStr::width(name.as_str()) + 1;
            spans.push(Span::styled(
                format!("{} ", fit(&name, room.saturating_sub(1))),
                style.add_modifier(ratatui::style::Modifier::BOLD),
            ));
            room = room.saturating_sub(w);
        }
        spans.push(Span::styled(fit(&e.text, room), style));
        let line = Line::from(spans);
        let line = if focused && start + i + 1 == end {
            line.patch_style(t.selected())
        } else {
            line
        };
        line.render(Rect::new(area.x, area.y + i as u16, area.width, 1), buf);
    }
}
