//! The Send pane: raw text to the chosen connected socket (`sendall`), with
//! `\n \r \t \0 \xNN` escapes and an optional `\n` added on Enter.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::fit;
use crate::app::App;
use crate::engine::text::sanitize;

const PS: &str = "send> ";

pub fn title_extra(app: &App) -> String {
    let nl = if app.send_newline {
        crate::tr!(app.lang, "send.newline_on")
    } else {
        crate::tr!(app.lang, "send.newline_off")
    };
    match app.current_target() {
        Some(id) => {
            let m = app.session.model();
            let peer = m
                .sock(id)
                .and_then(|r| r.peer)
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            crate::tr!(
                app.lang,
                "send.to",
                name = m.name_of(id),
                peer = peer,
                nl = nl
            )
        }
        None => crate::tr!(app.lang, "send.nobody", nl = nl),
    }
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    let w = area.width as usize;
    let room = w.saturating_sub(PS.len());
    let value = app.send_input.value();
    let body = if value.is_empty() && app.focus != crate::keys::Pane::Send {
        Span::styled(
            fit(&crate::tr!(app.lang, "send.placeholder"), room),
            t.dim(),
        )
    } else {
        let (shown, _) = app.send_input.view(room);
        Span::raw(fit(&sanitize(&shown), room))
    };
    Line::from(vec![Span::styled(PS, t.prompt()), body])
        .render(Rect::new(area.x, area.bottom() - 1, area.width, 1), buf);
}

pub fn cursor(inner: Rect, app: &App) -> Option<Position> {
    super::prompt::line_cursor(inner, PS, &app.send_input)
}
