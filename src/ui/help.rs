//! The `?` overlay: every key (from the key table) and every lab command.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::pad;
use crate::app::App;
use crate::keys;

/// Lab commands and what they do (the prompt's `:` commands).
/// (command, catalogue key under `cmd.`).
pub const LAB_COMMANDS: &[(&str, &str)] = &[
    (":help", "help"),
    (":quit", "quit"),
    (":clear", "clear"),
    (":peer KIND HOST:PORT", "peer"),
    (":peers", "peers"),
    (":stop NAME", "stop"),
    (":reset", "reset"),
    (":next :prev", "next"),
    (":hint :solution", "hint"),
    (":check", "check"),
    (":lesson NAME", "lesson"),
];

pub fn lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = Vec::new();
    let mut last_scope = "";
    for (scope, keys, help) in keys::help_rows() {
        if scope != last_scope {
            if !last_scope.is_empty() {
                out.push(Line::raw(""));
            }
            last_scope = scope;
            let scope = match keys::Scope::from_label(scope) {
                Some(keys::Scope::Only(p)) => p.title_in(app.lang),
                _ => keys::word(scope, app.lang),
            };
            out.push(Line::styled(
                crate::tr!(app.lang, "help.keys", scope = scope),
                t.header(),
            ));
        }
        out.push(Line::from(vec![
            Span::styled(format!("  {}", pad(&keys, 16)), t.prompt()),
            Span::raw(keys::word(help, app.lang)),
        ]));
    }
    out.push(Line::raw(""));
    out.push(Line::styled(
        crate::tr!(app.lang, "help.typing"),
        t.header(),
    ));
    out.push(Line::raw(format!(
        "  {}",
        crate::tr!(app.lang, "help.typing_text")
    )));
    out.push(Line::raw(""));
    out.push(Line::styled(
        crate::tr!(app.lang, "help.commands"),
        t.header(),
    ));
    for (c, h) in LAB_COMMANDS {
        out.push(Line::from(vec![
            Span::styled(format!("  {}", pad(c, 22)), t.prompt()),
            Span::raw({
                let key = format!("cmd.{h}");
                crate::tr!(app.lang, key.as_str())
            }),
        ]));
    }
    out
}

/// Rows of text the overlay shows on a screen of this size.
pub fn visible_rows(area: Rect) -> usize {
    area.height.saturating_sub(1).saturating_sub(2) as usize
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    // Narrow screens get the whole width: slivers of panes beside it only confuse.
    let w = if area.width <= 90 { area.width } else { 80 };
    let h = area.height.saturating_sub(1);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y, w, h);
    Clear.render(r, buf);
    let lines = lines(app);
    let inner_h = h.saturating_sub(2) as usize;
    let max_scroll = lines.len().saturating_sub(inner_h);
    let scroll = app.help_scroll.min(max_scroll);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(app.theme.border(true))
        .title(Span::styled(
            format!(" {} ", crate::tr!(app.lang, "help.title")),
            app.theme.title(true),
        ))
        .title_bottom(
            Line::from(format!(" {} ", crate::tr!(app.lang, "help.bottom"))).right_aligned(),
        );
    Paragraph::new(lines)
        .block(block)
        .scroll((scroll as u16, 0))
        .render(r, buf);
}
