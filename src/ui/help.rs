//! The `?` overlay: every key (from the key table) and every lab command.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::pad;
use crate::app::App;
use crate::keys;

/// Lab commands and what they do (the prompt's `:` commands).
pub const LAB_COMMANDS: &[(&str, &str)] = &[
    (":help", "this screen"),
    (":quit", "leave socklab"),
    (":clear", "clear the prompt, traffic and events panes"),
    (
        ":peer KIND HOST:PORT",
        "start a built-in peer (echo, upper, greeter, chat, …)",
    ),
    (":peers", "list running peers"),
    (":stop NAME", "stop a peer"),
    (
        ":reset",
        "start over (lesson: from step 1; sandbox: close everything)",
    ),
    (":next :prev", "next / previous lesson"),
    (":hint :solution", "show the hint / the reference solution"),
    (":check", "say what the current step still needs"),
    (":lesson NAME", "open a lesson"),
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
            out.push(Line::styled(format!("Keys — {scope}"), t.header()));
            last_scope = scope;
        }
        out.push(Line::from(vec![
            Span::styled(format!("  {}", pad(&keys, 16)), t.prompt()),
            Span::raw(help),
        ]));
    }
    out.push(Line::raw(""));
    out.push(Line::styled(
        "Typing in the prompt and send panes",
        t.header(),
    ));
    out.push(Line::raw(
        "  letters type text; C-a C-e C-w C-u C-k edit as in a shell",
    ));
    out.push(Line::raw(""));
    out.push(Line::styled("Lab commands (type at >>>)", t.header()));
    for (c, h) in LAB_COMMANDS {
        out.push(Line::from(vec![
            Span::styled(format!("  {}", pad(c, 22)), t.prompt()),
            Span::raw(*h),
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
        .title(Span::styled(" Keys and commands ", app.theme.title(true)))
        .title_bottom(Line::from(" ↑↓ scroll · Esc closes ").right_aligned());
    Paragraph::new(lines)
        .block(block)
        .scroll((scroll as u16, 0))
        .render(r, buf);
}
