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
    let mut spans = vec![Span::styled(
        format!(" {} ", app.focus.title_in(app.lang)),
        t.title(true),
    )];
    let mut used = spans[0].width();
    let hints: Vec<(String, String)> = keys::hints(app.focus, app.help)
        .into_iter()
        .map(|(key, help)| (key.to_string(), keys::word(help, app.lang)))
        .collect();
    let right = match (&app.lesson, pending) {
        _ if held.is_some() => String::new(),
        (_, n) if n > 0 => format!(
            " {} ",
            crate::tr!(app.lang, "ui.calls_waiting", n = n.to_string())
        ),
        (Some(v), _) => {
            let footer = crate::engine::text::sanitize(&v.footer);
            footer_that_fits(
                &footer,
                area.width as usize - used.min(area.width as usize),
                &hints,
            )
        }
        (None, _) => format!(" {} ", crate::tr!(app.lang, "ui.sandbox")),
    };
    let right_w = right.width();
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
    for (key, help) in hints {
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

/// How many key hints to keep beside the lesson's footer: the first ones
/// (run, complete, history) matter more than the footer's list of commands.
const MIN_HINTS: usize = 3;

/// How many of `hints` fit in `room` columns, in order (as `render` lays them).
fn hints_fitting(hints: &[(String, String)], room: usize) -> usize {
    let mut used = 0;
    let mut n = 0;
    for (key, help) in hints {
        let w = format!(" {key} {help} ").width() + 2;
        if used + w > room {
            break;
        }
        used += w;
        n += 1;
    }
    n
}

/// The lesson's footer (`lesson 6 (7 of 21) · Step 1 of 5 · :hint · …`),
/// padded, with its last `·` parts dropped while they would push the first
/// key hints off a narrow line. Whole parts go, never part of a word; the
/// lesson and the step always stay.
fn footer_that_fits(footer: &str, room: usize, hints: &[(String, String)]) -> String {
    let parts: Vec<&str> = footer.split(" · ").collect();
    let want = MIN_HINTS.min(hints.len());
    let mut keep = parts.len();
    loop {
        let right = format!(" {} ", parts[..keep].join(" · "));
        let left = room.saturating_sub(right.width() + 1);
        if keep <= 2 || hints_fitting(hints, left) >= want {
            return right;
        }
        keep -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(words: &[(&str, &str)]) -> Vec<(String, String)> {
        words
            .iter()
            .map(|(k, h)| (k.to_string(), h.to_string()))
            .collect()
    }

    #[test]
    fn the_footer_gives_way_to_the_first_key_hints() {
        let ko = hints(&[
            ("Enter", "실행"),
            ("Tab", "완성"),
            ("↑", "기록"),
            ("C-c", "취소/종료"),
        ]);
        let footer = "레슨 1 (2/21) · 2/4단계 · :hint · :solution · :reset · :next";
        let room = 80 - " 프롬프트 ".width();
        let right = footer_that_fits(footer, room, &ko);
        assert!(right.starts_with(" 레슨 1 (2/21) · 2/4단계"), "{right}");
        assert!(!right.contains(":next"), "{right}");
        let left = room - right.width() - 1;
        assert!(hints_fitting(&ko, left) >= MIN_HINTS, "{right}");
        // Wide enough: the whole footer stays.
        assert_eq!(footer_that_fits(footer, 200, &ko), format!(" {footer} "));
        // Never less than the lesson and its step, even with no room at all.
        assert_eq!(
            footer_that_fits(footer, 10, &ko),
            " 레슨 1 (2/21) · 2/4단계 "
        );
    }
}
