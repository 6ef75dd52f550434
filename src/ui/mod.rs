//! Drawing: a pure function of `&App`, one module per pane.

pub mod code;
pub mod events;
pub mod help;
pub mod layout;
pub mod lesson;
pub mod prompt;
pub mod send;
pub mod sockets;
pub mod status;
pub use crate::app::theme;
pub mod traffic;
pub mod wire;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::app::App;
use crate::keys::Pane;
use layout::PaneRect;

/// What a frame of this size looks like, for the app (`Msg::Frame`): where
/// each pane is and how long the scrolled texts are.
pub fn frame_info(area: Rect, app: &App) -> crate::app::FrameInfo {
    let lay = layout::compute(area, app);
    let lesson_rows = lay
        .panes
        .iter()
        .find(|p| p.pane == Pane::Lesson)
        .map(|p| {
            let inner = inner_of(p);
            lesson::rows(app, inner.width as usize, inner.height as usize)
        })
        .unwrap_or(0);
    crate::app::FrameInfo {
        panes: lay.panes.iter().map(|p| (p.pane, p.rect)).collect(),
        lesson_rows,
        help_rows: help::lines(app).len(),
        help_visible: help::visible_rows(area),
    }
}

/// Draw the whole screen.
pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    let lay = layout::compute(area, app);
    let buf = f.buffer_mut();
    if let Some((w, h)) = lay.too_small {
        too_small(buf, area, w, h, app.lang);
        return;
    }
    for p in &lay.panes {
        render_pane(buf, p, app);
    }
    status::render(buf, lay.status, app);
    if app.help {
        help::render(buf, area, app);
        return;
    }
    if let Some(p) = lay.panes.iter().find(|p| p.pane == app.focus) {
        let r = inner_of(p);
        if r.height == 0 || r.width == 0 {
            return;
        }
        let pos = match app.focus {
            Pane::Prompt => prompt::cursor(r, app),
            Pane::Send => send::cursor(r, app),
            _ => None,
        };
        if let Some(pos) = pos {
            f.set_cursor_position(pos);
        }
    }
}

fn render_pane(buf: &mut Buffer, p: &PaneRect, app: &App) {
    // The Wire's ladder is built once a frame, for its title and its body.
    let ladder = if p.pane == Pane::Wire {
        app.ladder()
    } else {
        None
    };
    // And the Lesson's text, for its title (more below?) and its body.
    let lesson_text = if p.pane == Pane::Lesson {
        lesson::text_for(app, inner_of(p))
    } else {
        Vec::new()
    };
    let extra = match p.pane {
        Pane::Wire => wire::title_extra(app, ladder.as_ref()),
        Pane::Lesson => {
            let below = lesson::more_below(app, lesson_text.len(), inner_of(p).height);
            lesson_title(app, below)
        }
        pane => title_extra(pane, app),
    };
    let inner = pane_block(buf, p, app, &extra);
    match p.pane {
        Pane::Lesson => lesson::render_text(buf, inner, app, lesson_text),
        Pane::Sockets => sockets::render(buf, inner, app),
        Pane::Traffic => traffic::render(buf, inner, app),
        Pane::Events => events::render(buf, inner, app),
        Pane::Wire => wire::render(buf, inner, app, ladder.as_ref()),
        Pane::Code => code::render(buf, inner, app),
        Pane::Prompt => prompt::render(buf, inner, app),
        Pane::Send => send::render(buf, inner, app),
    }
}

fn title_extra(pane: Pane, app: &App) -> String {
    match pane {
        Pane::Traffic => traffic::title_extra(app),
        Pane::Prompt if app.output_back > 0 => {
            crate::tr!(app.lang, "ui.lines_below", n = app.output_back.to_string())
        }
        Pane::Send => send::title_extra(app),
        Pane::Code => code::title_extra(app),
        Pane::Events if app.events_back > 0 => {
            crate::tr!(app.lang, "ui.newer_below", n = app.events_back.to_string())
        }
        Pane::Events if app.events_dropped > 0 => {
            crate::tr!(
                app.lang,
                "ui.older_dropped",
                n = app.events_dropped.to_string()
            )
        }
        _ => String::new(),
    }
}

/// The Lesson pane's title: the lesson's, after a marker when its text goes
/// on below the pane's edge (first, so a narrow rule cuts the title rather
/// than the marker). `below` comes from this frame's size, never the last one.
fn lesson_title(app: &App, below: bool) -> String {
    let title = match &app.lesson {
        Some(v) => v.title.clone(),
        None => crate::tr!(app.lang, "ui.sandbox"),
    };
    if !below {
        return title;
    }
    let key = if app.focus == Pane::Lesson {
        "lesson.more_below_here"
    } else {
        "lesson.more_below"
    };
    format!("{} · {title}", crate::tr!(app.lang, key))
}

/// The inside of a pane's frame (what `pane_block` leaves).
pub fn inner_of(p: &PaneRect) -> Rect {
    let r = p.rect;
    let dx = u16::from(p.left_edge).min(r.width);
    Rect::new(
        r.x + dx,
        r.y + 1.min(r.height),
        r.width - dx,
        r.height.saturating_sub(1),
    )
}

/// A pane's frame: a title rule on top (tabs when two panes share the slot),
/// a separator on the left when it sits beside another pane. Returns the inside.
pub fn pane_block(buf: &mut Buffer, p: &PaneRect, app: &App, extra: &str) -> Rect {
    let focused = app.focus == p.pane;
    let t = &app.theme;
    let mut spans = vec![Span::styled(
        format!(" {} ", p.pane.title_in(app.lang)),
        t.title(focused),
    )];
    for other in [p.shares_with, p.shares_also].into_iter().flatten() {
        spans.push(Span::styled(
            format!(" {} ", other.title_in(app.lang)),
            t.dim(),
        ));
    }
    if !extra.is_empty() {
        spans.push(Span::styled(
            format!(" {} ", crate::engine::text::sanitize(extra)),
            t.dim(),
        ));
    }
    let borders = if p.left_edge {
        Borders::TOP | Borders::LEFT
    } else {
        Borders::TOP
    };
    // The separator meets the title rule of the pane to its left.
    let set = ratatui::symbols::border::Set {
        top_left: p.corner,
        ..ratatui::symbols::border::PLAIN
    };
    let block = Block::new()
        .borders(borders)
        .border_set(set)
        .border_style(t.border(focused))
        .title(Line::from(spans));
    let inner = block.inner(p.rect);
    block.render(p.rect, buf);
    inner
}

fn too_small(buf: &mut Buffer, area: Rect, w: u16, h: u16, lang: crate::settings::Lang) {
    let msg = crate::tr!(
        lang,
        "ui.too_small",
        need = format!("{w}×{h}"),
        have = format!("{}×{}", area.width, area.height)
    );
    let y = area.y + area.height / 2;
    let r = Rect::new(
        area.x,
        y.min(area.bottom().saturating_sub(1)),
        area.width,
        1.min(area.height),
    );
    Paragraph::new(msg)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .render(r, buf);
}

/// Cut `s` to at most `width` columns, ending in `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    // One pass that stops at the edge: a long line costs the width, not its length.
    let mut used = 0;
    // Where the text is cut when it does not fit: the last char boundary
    // leaving a column for the ellipsis.
    let mut cut = 0;
    for (i, c) in s.char_indices() {
        let cw = c.width().unwrap_or(0);
        if used + cw > width {
            if width == 0 {
                return String::new();
            }
            let mut out = s[..cut].to_string();
            out.push('…');
            return out;
        }
        used += cw;
        if used < width {
            cut = i + c.len_utf8();
        }
    }
    s.to_string()
}

/// Word-wrap to `width` display columns (CJK measured at its real width);
/// a word wider than the line is broken between characters.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let ww = word.width();
        let gap = usize::from(!line.is_empty());
        if used + gap + ww <= width {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += gap + ww;
            continue;
        }
        if ww > width && used + gap < width {
            // Too long for any line: it starts here and is broken.
            if gap == 1 {
                line.push(' ');
                used += 1;
            }
        } else if !line.is_empty() {
            out.push(std::mem::take(&mut line));
            used = 0;
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > width {
                out.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += cw;
        }
    }
    out.push(line);
    out
}

/// Pad or cut to exactly `width` columns.
pub fn pad(s: &str, width: usize) -> String {
    let s = fit(s, width);
    let w = s.width();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// Text from `escape_display` with its escapes (`\n`, `\x1b`, `\u202e`) styled
/// apart from the literal text, cut to `width` columns (ending in `…`).
pub fn escaped_spans(escaped: &str, width: usize, text: Style, esc: Style) -> Vec<Span<'static>> {
    // Split into pieces: an escape stays whole so it is never cut in half.
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    let mut i = 0;
    let mut lit_start = 0;
    let bytes = escaped.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if lit_start < i {
                pieces.push((&escaped[lit_start..i], false));
            }
            let n = match bytes.get(i + 1) {
                Some(b'x') => 4,
                Some(b'u') => 6,
                Some(_) => 2,
                None => 1,
            };
            let end = (i + n).min(bytes.len());
            pieces.push((&escaped[i..end], true));
            i = end;
            lit_start = i;
        } else {
            i += 1;
        }
    }
    if lit_start < bytes.len() {
        pieces.push((&escaped[lit_start..], false));
    }
    let total: usize = pieces.iter().map(|(p, _)| p.width()).sum();
    let room = if total <= width {
        width
    } else {
        width.saturating_sub(1)
    };
    let mut spans = Vec::new();
    let mut used = 0;
    for (p, is_esc) in pieces {
        let pw = p.width();
        if used + pw <= room {
            spans.push(Span::styled(p.to_string(), if is_esc { esc } else { text }));
            used += pw;
            continue;
        }
        if !is_esc {
            let cut = fit(p, room - used + 1);
            let cut = cut.trim_end_matches('…');
            if !cut.is_empty() {
                spans.push(Span::styled(cut.to_string(), text));
            }
        }
        break;
    }
    if total > width && width > 0 {
        spans.push(Span::styled("…", esc));
    }
    spans
}

/// `12.345` seconds since the lab started, right-aligned in 7 columns.
pub fn fmt_time(t_us: u64) -> String {
    let s = t_us as f64 / 1e6;
    if s < 1000.0 {
        format!("{s:>7.3}")
    } else {
        format!("{s:>7.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_measures_cjk_and_breaks_long_words() {
        let lines = wrap("srv를 127.0.0.1:{port}에 bind 하세요", 20);
        assert_eq!(lines, vec!["srv를", "127.0.0.1:{port}에", "bind 하세요"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 5), vec![""]);
        for l in wrap("연결된 소켓으로 바이트를 보내고 받습니다.", 9) {
            assert!(l.width() <= 9, "{l}");
        }
    }

    #[test]
    fn fit_measures_display_width() {
        assert_eq!(fit("hello", 5), "hello");
        assert_eq!(fit("hello!", 5), "hell…");
        assert_eq!(fit("안녕하세요", 6), "안녕…");
        assert_eq!(pad("안녕", 6), "안녕  ");
    }

    #[test]
    fn escaped_spans_keep_escapes_whole_and_fit() {
        let s = crate::engine::text::escape_display(b"hi\x1b[2J\n");
        let spans = escaped_spans(&s, 40, Style::new(), Style::new());
        let text: String = spans.iter().map(|s| s.content.to_string()).collect();
        assert_eq!(text, "hi\\x1b[2J\\n");
        let spans = escaped_spans(&s, 6, Style::new(), Style::new());
        let text: String = spans.iter().map(|s| s.content.to_string()).collect();
        assert!(text.width() <= 6, "{text}");
        assert!(text.ends_with('…'));
    }
}
