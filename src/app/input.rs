//! Keys, mouse and lines typed: what the prompt, the send pane, scrolling
//! and lab commands do to the app. Part of `update` (see `app.rs`).

use crossterm::event::{KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use tui_input::InputRequest;

use super::*;
use crate::keys::{self, Action, Pane};

pub(super) fn on_key(app: &mut App, key: KeyEvent) -> Effect {
    // Ctrl-Z works over the help too; the loop gives the terminal back.
    if keys::lookup(&key, app.focus, false) == Some(Action::Suspend) {
        return Effect::SUSPEND;
    }
    let Some(action) = keys::lookup(&key, app.focus, app.help) else {
        if app.help {
            return Effect::NONE;
        }
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if let (true, crossterm::event::KeyCode::Char(c), true) =
            (app.focus.takes_text(), key.code, plain)
        {
            app.completions.clear();
            edit(app, InputRequest::InsertChar(c));
            return Effect::REDRAW;
        }
        return Effect::NONE;
    };
    if !matches!(action, Action::Complete) {
        app.completions.clear();
    }
    if app.help {
        match action {
            Action::Up => app.help_scroll = app.help_scroll.saturating_sub(1),
            Action::Down => {
                // The overlay shows the screen's height less its frame and the status line.
                let max = app.frame.help_rows.saturating_sub(app.frame.help_visible);
                app.help_scroll = (app.help_scroll + 1).min(max);
            }
            _ => app.help = false,
        }
        return Effect::REDRAW;
    }
    match action {
        Action::Quit => return Effect::QUIT,
        Action::Suspend => return Effect::SUSPEND,
        Action::Interrupt => {
            if super::queue::cancel(app) {
                // The queue is dropped and the line it waited for cancelled.
            } else if !app.session.pending().is_empty() {
                app.session.cancel_latest();
            } else if app.focus.takes_text() && !focused_input(app).value().is_empty() {
                // Like Python: Ctrl-C on a half-typed line abandons the line.
                let line = focused_input(app).value().to_string();
                app.say(LineKind::Input, &format!(">>> {line}"));
                app.say(LineKind::Error, "KeyboardInterrupt");
                focused_input(app).reset();
            } else {
                return Effect::QUIT;
            }
        }
        Action::NextFocus => app.focus = app.focus.next(),
        Action::PrevFocus => app.focus = app.focus.prev(),
        Action::FocusPrompt => app.focus = Pane::Prompt,
        Action::ToggleHelp => {
            app.help = !app.help;
            app.help_scroll = 0;
        }
        Action::CloseHelp => app.help = false,
        Action::Complete => complete(app),
        Action::Submit => {
            if app.focus == Pane::Send {
                return submit_send(app);
            }
            return submit_prompt(app);
        }
        Action::HistoryPrev => history(app, true),
        Action::HistoryNext => history(app, false),
        Action::Edit(req) => edit(app, req),
        Action::Up => scroll(app, app.focus, 1, true),
        Action::Down => scroll(app, app.focus, 1, false),
        Action::PageUp => scroll(app, app.focus, page(app), true),
        Action::PageDown => scroll(app, app.focus, page(app), false),
        Action::Top => scroll(app, app.focus, usize::MAX / 2, true),
        Action::Bottom => scroll(app, app.focus, usize::MAX / 2, false),
        Action::ToggleHex => app.traffic.hex = !app.traffic.hex,
        Action::WireNextConn => {
            app.wire.conv_back += 1;
            app.wire.back = 0;
        }
        Action::WireHeader => app.wire.header = !app.wire.header,
        Action::WireAbsolute => app.wire.absolute = !app.wire.absolute,
        Action::ToggleCodeLang => {
            app.code_lang = app.code_lang.other();
            app.code_back = 0;
        }
        Action::TargetPrev | Action::TargetNext => {
            let targets = app.send_targets();
            if !targets.is_empty() {
                let cur = app.current_target();
                let i = targets.iter().position(|t| Some(*t) == cur).unwrap_or(0);
                let n = targets.len();
                let j = if action == Action::TargetPrev {
                    (i + n - 1) % n
                } else {
                    (i + 1) % n
                };
                app.send_target = Some(targets[j]);
            }
        }
        Action::ToggleNewline => app.send_newline = !app.send_newline,
        Action::TraceStep | Action::TraceGo | Action::TraceUntil => super::trace::key(app, action),
        Action::SendToSelected => {
            let rows = app.table_rows();
            if let Some(super::TableRow::Sock(r)) = rows.get(app.sock_sel) {
                let id = r.id;
                if app.send_targets().contains(&id) {
                    app.send_target = Some(id);
                    app.focus = Pane::Send;
                } else {
                    let said = tr!(app.lang, "send.not_yours", sock = r.name());
                    app.say(LineKind::Info, &said);
                }
            }
        }
    }
    Effect::REDRAW
}

fn focused_input(app: &mut App) -> &mut LineEdit {
    if app.focus == Pane::Send {
        &mut app.send_input
    } else {
        &mut app.input
    }
}

fn edit(app: &mut App, req: InputRequest) {
    if focused_input(app).handle(req) == Edit::Full {
        // Said once while the student keeps typing, not once a key.
        let msg = full_message(app.lang, app.focus);
        if app.output.back().is_none_or(|l| l.text != msg) {
            app.say(LineKind::Error, &msg);
        }
    }
}

fn big_data_hint(lang: crate::settings::Lang, focus: Pane) -> String {
    if focus == Pane::Send {
        crate::tr!(lang, "input.big_from_prompt")
    } else {
        crate::tr!(lang, "input.big_in_code")
    }
}

fn full_message(lang: crate::settings::Lang, focus: Pane) -> String {
    crate::tr!(
        lang,
        "input.line_full",
        limit = LINE_LIMIT,
        hint = big_data_hint(lang, focus)
    )
}

/// A paste goes into the focused line whole, or — past the line limit — not
/// at all, with a message; it never waits on the size of the paste. At the
/// prompt, a paste of several lines runs them one by one (`app/queue.rs`).
pub(super) fn on_paste(app: &mut App, text: &str) -> Effect {
    if !app.focus.takes_text() {
        return Effect::NONE;
    }
    app.completions.clear();
    let focus = app.focus;
    if focus == Pane::Prompt && text.contains(['\n', '\r']) {
        // Several lines: each runs after the one before (`app/queue.rs`).
        return super::queue::paste_lines(app, text);
    }
    let input = focused_input(app);
    let have = input.len();
    // The Send pane's text is one line: a pasted newline becomes a space.
    let edit = if have + text.len() > input.limit() && text.len() > 4 * input.limit() {
        // Far too big whatever it holds: refuse without looking at it.
        Edit::Full
    } else {
        let one_line: String = text
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        input.insert_str(&one_line)
    };
    if edit == Edit::Full {
        app.say(
            LineKind::Error,
            &crate::tr!(
                app.lang,
                "input.paste_refused",
                len = text.len(),
                limit = LINE_LIMIT,
                have = have,
                hint = big_data_hint(app.lang, focus)
            ),
        );
    }
    Effect::REDRAW
}

/// A page is the pane's height (less a row, to keep the reader's place).
fn page(app: &App) -> usize {
    match app.frame.inner_height(app.focus) {
        Some(h) => h.saturating_sub(1).max(1),
        None => (app.size.1 as usize / 3).max(1),
    }
}

fn scroll(app: &mut App, pane: Pane, n: usize, up: bool) {
    let bump = |v: usize, max: usize| {
        if up {
            v.saturating_add(n).min(max)
        } else {
            v.saturating_sub(n)
        }
    };
    match pane {
        Pane::Traffic => {
            let max = app.traffic.recs.len().saturating_sub(1);
            app.traffic.back = bump(app.traffic.back, max);
        }
        Pane::Events => {
            let max = app.events.len().saturating_sub(1);
            app.events_back = bump(app.events_back, max);
        }
        Pane::Wire => {
            let max = app.ladder().map_or(0, |l| l.rows.len().saturating_sub(1));
            app.wire.back = bump(app.wire.back, max);
        }
        Pane::Code => {
            let max = crate::ui::code::line_count(app).saturating_sub(1);
            app.code_back = bump(app.code_back, max);
        }
        Pane::Lesson => {
            // The lesson reads top-down, so "up" moves towards the start.
            app.lesson_scroll = if up {
                app.lesson_scroll.saturating_sub(n)
            } else {
                app.lesson_scroll
                    .saturating_add(n)
                    .min(app.lesson_scroll_max())
            };
        }
        Pane::Sockets => {
            let rows = app.table_rows().len();
            let max = rows.saturating_sub(1);
            app.sock_sel = if up {
                app.sock_sel.saturating_sub(n)
            } else {
                app.sock_sel.saturating_add(n).min(max)
            };
        }
        Pane::Prompt => {
            let max = app.output.len().saturating_sub(1);
            app.output_back = bump(app.output_back, max);
        }
        Pane::Send => {}
    }
}

fn history(app: &mut App, back: bool) {
    if app.history.is_empty() {
        return;
    }
    let pos = match (app.hist_pos, back) {
        (None, true) => {
            app.hist_draft = app.input.value().to_string();
            Some(app.history.len() - 1)
        }
        (None, false) => None,
        (Some(p), true) => Some(p.saturating_sub(1)),
        (Some(p), false) if p + 1 < app.history.len() => Some(p + 1),
        (Some(_), false) => None,
    };
    app.hist_pos = pos;
    let text = match pos {
        Some(p) => app.history[p].clone(),
        None => std::mem::take(&mut app.hist_draft),
    };
    app.input = LineEdit::new(text);
}

fn complete(app: &mut App) {
    let line = app.input.value().to_string();
    if line.trim().is_empty() {
        app.focus = app.focus.next();
        return;
    }
    // The session completes the identifier before the cursor (a char index).
    let cursor_chars = app.input.cursor();
    let byte_cursor = line
        .char_indices()
        .nth(cursor_chars)
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    let before = &line[..byte_cursor];
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map(|(i, _)| i)
        .unwrap_or(byte_cursor);
    let word = &line[start..byte_cursor];
    let cands: Vec<String> = app.session.completions(&line, cursor_chars);
    if cands.is_empty() {
        app.completions.clear();
        return;
    }
    let fill = if cands.len() == 1 {
        cands[0].clone()
    } else {
        common_prefix(&cands)
    };
    if fill.len() >= word.len() && fill.starts_with(word) {
        let new_line = format!("{}{}{}", &line[..start], fill, &line[byte_cursor..]);
        let cursor = line[..start].chars().count() + fill.chars().count();
        app.input = LineEdit::new(new_line).with_cursor(cursor);
    }
    app.completions = if cands.len() > 1 { cands } else { Vec::new() };
}

fn common_prefix(words: &[String]) -> String {
    let first = &words[0];
    let mut n = first.len();
    for w in &words[1..] {
        n = n.min(
            first
                .char_indices()
                .zip(w.chars())
                .take_while(|((_, a), b)| a == b)
                .map(|((i, a), _)| i + a.len_utf8())
                .last()
                .unwrap_or(0),
        );
    }
    first[..n].to_string()
}

fn submit_prompt(app: &mut App) -> Effect {
    let line = app.input.value().to_string();
    app.input.reset();
    app.hist_pos = None;
    super::queue::remember(app, &line);
    app.say(LineKind::Input, &format!(">>> {line}"));
    app.session.set_lang(app.lang);
    let result = app.session.submit(&line);
    submitted(app, result)
}

fn submit_send(app: &mut App) -> Effect {
    let Some(target) = app.current_target() else {
        let msg = crate::tr!(app.lang, "send.nothing");
        app.say(LineKind::Error, &msg);
        return Effect::REDRAW;
    };
    let text = app.send_input.value().to_string();
    app.send_input.reset();
    let result = app.session.send_text(target, &text, app.send_newline);
    if let Submitted::Started { text, .. } = &result {
        app.say(LineKind::Input, &format!(">>> {text}"));
    }
    submitted(app, result)
}

pub(super) fn submitted(app: &mut App, result: Submitted) -> Effect {
    match result {
        Submitted::Nothing => {}
        Submitted::Echo(text) => app.say(LineKind::Echo, &text),
        Submitted::Error(text) => app.say(LineKind::Error, &text),
        Submitted::Started { call, .. } => {
            app.last_typed = Some(call);
        }
        Submitted::Lab { name, args } => return lab_command(app, &name, &args),
    }
    Effect::REDRAW
}

/// `:export pcap FILE`: what was captured, for Wireshark and tcpdump.
fn export(app: &mut App, what: &str, file: &str) -> (LineKind, String) {
    let lang = app.lang;
    if file.is_empty() {
        return (LineKind::Error, tr!(lang, "export.usage"));
    }
    match what {
        "pcap" => {
            let wire = &app.session.model().wire;
            if !wire.on() {
                return (LineKind::Error, tr!(lang, "export.no_capture"));
            }
            match app.session.engine().export_pcap(std::path::Path::new(file)) {
                Ok(done) => (
                    LineKind::Info,
                    tr!(
                        lang,
                        "export.pcap_done",
                        n = done.frames,
                        file = crate::engine::text::sanitize(file)
                    ),
                ),
                Err(e) => (
                    LineKind::Error,
                    tr!(
                        lang,
                        "export.failed",
                        file = crate::engine::text::sanitize(file),
                        error = e
                    ),
                ),
            }
        }
        other => (
            LineKind::Error,
            tr!(
                lang,
                "export.unknown",
                what = crate::engine::text::sanitize(other)
            ),
        ),
    }
}

fn lab_command(app: &mut App, name: &str, args: &str) -> Effect {
    match name {
        "quit" | "q" | "exit" => return Effect::QUIT,
        "help" => {
            app.help = true;
            app.help_scroll = 0;
        }
        "export" => {
            let (what, file) = args
                .trim()
                .split_once(char::is_whitespace)
                .unwrap_or((args.trim(), ""));
            let line = export(app, what, file.trim());
            app.say(line.0, &line.1);
        }
        "clear" => {
            app.output.clear();
            app.traffic = Traffic {
                hex: app.traffic.hex,
                ..Traffic::default()
            };
            app.events.clear();
            app.events_dropped = 0;
            app.events_back = 0;
        }
        n if LESSON_COMMANDS.contains(&n) => {
            if let Some(mut hook) = app.hook.take() {
                let lines = hook.command(&mut app.session, n, args);
                if let Some(text) = hook.take_prompt() {
                    let cursor = text.chars().count();
                    app.input = LineEdit::new(text).with_cursor(cursor);
                    app.focus = Pane::Prompt;
                }
                app.refresh_lesson(hook.as_mut());
                if matches!(n, "check" | "reset" | "next" | "prev" | "lesson") {
                    app.lesson_scroll = 0;
                }
                app.hook = Some(hook);
                for l in lines {
                    app.say(LineKind::Info, &l);
                }
            } else if n == "reset" {
                app.session.reset();
                app.clear_lab();
                let msg = crate::tr!(app.lang, "lab.reset");
                app.say(LineKind::Info, &msg);
            } else {
                let msg = crate::tr!(app.lang, "lab.no_lesson", name = n);
                app.say(LineKind::Info, &msg);
            }
        }
        other => {
            let known = ["quit", "exit", "help", "clear", "peer", "peers", "stop"]
                .into_iter()
                .chain(LESSON_COMMANDS.iter().copied());
            let msg = match crate::lang::error::did_you_mean(other, known) {
                Some(near) => crate::tr!(app.lang, "lab.unknown_near", name = other, near = near),
                None => crate::tr!(app.lang, "lab.unknown", name = other),
            };
            app.say(LineKind::Error, &msg)
        }
    }
    Effect::REDRAW
}

/// Mouse: a click focuses the pane under it; the wheel scrolls it.
pub(super) fn on_mouse(app: &mut App, m: MouseEvent) -> Effect {
    if app.help {
        return Effect::NONE;
    }
    let hit = app
        .frame
        .panes
        .iter()
        .find(|(_, r)| r.contains(ratatui::layout::Position::new(m.column, m.row)))
        .map(|(p, _)| *p);
    let Some(pane) = hit else {
        return Effect::NONE;
    };
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            app.focus = pane;
            Effect::REDRAW
        }
        MouseEventKind::ScrollUp => {
            scroll(app, pane, 3, true);
            Effect::REDRAW
        }
        MouseEventKind::ScrollDown => {
            scroll(app, pane, 3, false);
            Effect::REDRAW
        }
        _ => Effect::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_of_candidates() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&w(&["send", "sendall", "sendto"])), "send");
        assert_eq!(common_prefix(&w(&["AF_INET", "AF_INET6"])), "AF_INET");
        assert_eq!(common_prefix(&w(&["recv", "bind"])), "");
    }
}
