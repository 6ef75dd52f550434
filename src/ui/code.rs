//! The Code pane: the student's successful lines as a runnable Python
//! program, growing as they go; follows the end unless scrolled back.
//! `c` shows the same program in C (what `:export c` writes).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::fit;
use crate::app::App;
use crate::engine::text::sanitize;
use crate::export::Lang;

/// The program as the pane shows it now (the C one is made in `update`,
/// once per change, not once per frame).
fn shown(app: &App) -> &[String] {
    match app.code_lang {
        Lang::Python => app.session.code(),
        Lang::C => &app.code_c.1,
    }
}

/// How many lines the pane's program has (for scrolling).
pub fn line_count(app: &App) -> usize {
    shown(app).len()
}

/// `Python · c: C` in the pane's title.
pub fn title_extra(app: &App) -> String {
    format!(
        "{} · c: {}",
        app.code_lang.name(),
        app.code_lang.other().name()
    )
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    let code = shown(app);
    if code.is_empty() {
        Line::styled(crate::tr!(app.lang, "code.empty"), t.dim())
            .render(Rect { height: 1, ..area }, buf);
        return;
    }
    let h = area.height as usize;
    let end = code.len() - app.code_back.min(code.len() - 1);
    let start = end.saturating_sub(h);
    let num_w = end.to_string().len();
    for (i, line) in code[start..end].iter().enumerate() {
        let n = start + i + 1;
        let room = (area.width as usize).saturating_sub(num_w + 1);
        let style = if line.trim_start().starts_with('#')
            || line.trim_start().starts_with("/*")
            || line.starts_with("import")
            || line.starts_with("from")
        {
            t.dim()
        } else {
            ratatui::style::Style::new()
        };
        Line::from(vec![
            Span::styled(format!("{n:>num_w$} "), t.dim()),
            Span::styled(fit(&sanitize(line), room), style),
        ])
        .render(Rect::new(area.x, area.y + i as u16, area.width, 1), buf);
    }
}
