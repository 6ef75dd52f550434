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
    // A traced program stopped before a call: what it is about to do, and
    // the keys that let it go on, instead of everything else.
    let held = crate::app::trace::held_line(app).filter(|_| !app.help);
    let right = match (&app.lesson, pending) {
        _ if held.is_some() => String::new(),
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
    if let Some(line) = &held {
        // The keys always fit; the call is cut (…) only if it is very long
        // (the prompt's output has it whole).
        let hints = keys::trace_hints();
        let keys_w: usize = hints
            .iter()
            .map(|(k, h)| format!(" {k} {h} ").width() + 1)
            .sum();
        let room = (area.width as usize).saturating_sub(keys_w + 1);
        let mut spans = vec![Span::styled(
            format!(" {}", super::fit(line, room)),
            t.warn(),
        )];
        for (key, help) in hints {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(format!(" {key} "), t.header()));
            spans.push(Span::raw(format!("{help} ")));
        }
        Line::from(spans).render(area, buf);
        return;
    }
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
