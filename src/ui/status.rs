//! The status line: the focused pane and the keys that work there (from the
//! key table), and on the right what the lab is doing.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use crate::app::App;
use crate::keys;

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    let t = &app.theme;
    let pending = app.session.pending().len();
    let right = match (&app.lesson, pending) {
        (_, n) if n > 0 => format!(
            " {} ",
            crate::tr!(app.lang, "ui.calls_waiting", n = n.to_string())
        ),
        (Some(v), _) => format!(" {} ", crate::engine::text::sanitize(&v.footer)),
        (None, _) => format!(" {} ", crate::tr!(app.lang, "ui.sandbox")),
    };
    let right_w = right.width();
    let mut spans = vec![Span::styled(
        format!(" {} ", app.focus.title_in(app.lang)),
        t.title(true),
    )];
    let mut used = spans[0].width();
    let room = (area.width as usize).saturating_sub(right_w + 1);
    for (key, help) in keys::hints(app.focus, app.help) {
        let help = keys::word(help, app.lang);
        let item = format!(" {key} {help} ");
        let w = item.width() + 1;
        if used + w > room {
            break;
        }
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {key} "), t.header()));
        spans.push(Span::raw(format!("{help} ")));
        used += w + 1;
    }
    Line::from(spans).render(area, buf);
    if (area.width as usize) > right_w + used {
        let x = area.right() - right_w as u16;
        buf.set_string(
            x,
            area.y,
            right,
            if pending > 0 { t.warn() } else { t.dim() },
        );
    }
}
