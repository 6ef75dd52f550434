//! Lines waiting their turn: a pasted block, or lines typed ahead faster
//! than the screen read them, run one by one — each only after the one
//! before it has finished, as Python's REPL runs a paste.
//!
//! - A bracketed paste with line breaks ([`paste_lines`]): its complete
//!   lines join the queue (`\r\n` and `\r` taken as line breaks; blank
//!   lines skipped; comment lines shown in their place, running nothing),
//!   the text after the last break stays in the editor. Lines are added to
//!   the history when pasted, so nothing is lost.
//! - Keys that arrived in one read of the terminal and hold a line break
//!   ([`typed_ahead`]) are the same thing from a terminal without bracketed
//!   paste, and go the same way.
//! - [`pump`] runs the queue: it starts the next line when the line it waits
//!   for has finished. A line that fails (a Python error, a LabError) stops
//!   the queue, as `socklab run` stops at the first failing line: the lines
//!   after it are not run, and the prompt says how many (Up recalls them).
//! - Ctrl-C ([`cancel`]) drops the queue and cancels the line it waits for.
//!
//! A line typed by hand (its own read) is not queued: it runs at once, as
//! every line does while another waits ("blocking is visible, not frozen"),
//! so the student can type the client that a queued `accept()` waits for.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect, HISTORY_KEEP, LINE_LIMIT, LineKind};
use crate::engine::CallId;
use crate::keys::Pane;

/// Most lines waiting at once. History keeps more than this, so every line
/// a stopped queue did not run can still be recalled.
pub const QUEUE_KEEP: usize = HISTORY_KEEP / 2;

#[derive(Debug, Default)]
pub struct Queue {
    /// Lines waiting, the next to run first.
    pub lines: VecDeque<String>,
    /// The queue's line that runs now (it waits in a call); the next line
    /// starts when it has finished.
    pub running: Option<CallId>,
    /// The line run last failed: the queue stops before the next one.
    failed: bool,
}

impl Queue {
    /// Whether lines wait, or the queue's line is still running.
    pub fn busy(&self) -> bool {
        !self.lines.is_empty() || self.running.is_some()
    }
}

/// A pasted text's lines: line breaks as `\n`, `\r\n` or `\r`. The last
/// element is what follows the last break (empty after a trailing newline).
pub fn split_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['\n', '\r']) {
        out.push(&rest[..i]);
        let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + skip..];
    }
    out.push(rest);
    out
}

/// A line as the editor would hold it: leading tabs as four spaces each
/// (indentation still means something), other control characters dropped.
fn clean(line: &str) -> String {
    let indent = line.len() - line.trim_start_matches('\t').len();
    let mut out = "    ".repeat(indent);
    out.extend(line[indent..].chars().filter(|c| !c.is_control()));
    out
}

/// Blank lines and `# comments` run nothing (nor go to the history).
fn runs_something(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// Keys from one read of the terminal, as text, when they are a block
/// typed ahead: at the prompt, more than one key, only characters and line
/// breaks (Enter, or Ctrl-J for a bare `\n`), at least one break.
pub fn typed_ahead(app: &App, keys: &[KeyEvent]) -> Option<String> {
    if app.help || app.focus != Pane::Prompt || keys.len() < 2 {
        return None;
    }
    let mut text = String::new();
    let mut breaks = false;
    for k in keys {
        let plain = !k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match k.code {
            KeyCode::Enter if k.modifiers.is_empty() => {
                text.push('\n');
                breaks = true;
            }
            KeyCode::Char('j') if k.modifiers == KeyModifiers::CONTROL => {
                text.push('\n');
                breaks = true;
            }
            KeyCode::Char(c) if plain => text.push(c),
            _ => return None,
        }
    }
    // Past the line limit the keys go one by one: the editor says it is full.
    (breaks && app.input.len() + text.len() <= LINE_LIMIT).then_some(text)
}

/// A block pasted (or typed ahead) at the prompt, holding at least one line
/// break: its lines join the queue in order and the queue runs. Refused
/// whole, with a message, past the line limit or the queue's bound.
pub fn paste_lines(app: &mut App, text: &str) -> Effect {
    let lang = app.lang;
    let have = app.input.len();
    if have + text.len() > LINE_LIMIT {
        app.say(
            LineKind::Error,
            &crate::tr!(
                lang,
                "paste.refused_block",
                len = text.len(),
                limit = LINE_LIMIT,
                have = have
            ),
        );
        return Effect::REDRAW;
    }
    let mut pieces = split_lines(text);
    let last = pieces.pop().unwrap_or_default();
    // What was typed goes with the first line, as Enter would send it whole.
    let typed = app.input.value();
    let at = app.input.cursor_byte();
    let mut lines: Vec<String> = Vec::with_capacity(pieces.len());
    for (i, piece) in pieces.iter().enumerate() {
        let line = if i == 0 {
            format!("{}{}{}", &typed[..at], piece, &typed[at..])
        } else {
            piece.to_string()
        };
        lines.push(clean(&line));
    }
    // Blank lines go; a comment waits its turn to be shown, running nothing.
    lines.retain(|l| !l.trim().is_empty());
    if app.queue.lines.len() + lines.len() > QUEUE_KEEP {
        app.say(
            LineKind::Error,
            &crate::tr!(
                lang,
                "paste.refused_lines",
                n = lines.len(),
                max = QUEUE_KEEP,
                queued = app.queue.lines.len()
            ),
        );
        return Effect::REDRAW;
    }
    let rest = clean(last);
    let cursor = rest.chars().count();
    app.input = super::LineEdit::new(rest).with_cursor(cursor);
    app.hist_pos = None;
    app.completions.clear();
    for l in lines.iter().filter(|l| runs_something(l)) {
        remember(app, l);
    }
    app.queue.lines.extend(lines);
    pump(app)
}

/// Add a line to the history (not twice in a row).
pub(super) fn remember(app: &mut App, line: &str) {
    if !line.trim().is_empty() && app.history.last().map(String::as_str) != Some(line) {
        app.history.push(line.to_string());
        if app.history.len() > HISTORY_KEEP {
            app.history.remove(0);
        }
    }
}

/// How the queue's running line ended (its Outcome arrived).
pub(super) fn finished(app: &mut App, call: CallId, ok: bool) {
    if app.queue.running == Some(call) {
        app.queue.running = None;
        // Nothing left to stop when no line waits.
        app.queue.failed |= !ok && !app.queue.lines.is_empty();
    }
}

/// Run queued lines until one waits in a call, one fails, or none is left.
pub(super) fn pump(app: &mut App) -> Effect {
    let mut effect = Effect::REDRAW;
    loop {
        if let Some(call) = app.queue.running {
            if app.session.pending().iter().any(|(c, _)| *c == call) {
                return effect;
            }
            // Gone without an answer: a `:reset` (or another lesson) closed
            // the lab the queued lines were for; they are not run on a new one.
            app.queue.running = None;
            let n = app.queue.lines.len();
            app.queue.lines.clear();
            app.queue.failed = false;
            if n > 0 {
                let msg = crate::tr!(app.lang, "queue.dropped", n = n);
                app.say(LineKind::Info, &msg);
            }
            return effect;
        }
        if std::mem::take(&mut app.queue.failed) {
            let n = app.queue.lines.len();
            app.queue.lines.clear();
            if n > 0 {
                let msg = crate::tr!(app.lang, "queue.stopped", n = n);
                app.say(LineKind::Info, &msg);
            }
            return effect;
        }
        let Some(line) = app.queue.lines.pop_front() else {
            return effect;
        };
        app.say(
            LineKind::Input,
            &format!("{}{line}", crate::ui::prompt::PS1),
        );
        let result = app.session.submit(&line);
        match &result {
            super::Submitted::Started { call, .. } => app.queue.running = Some(*call),
            super::Submitted::Error(_) => app.queue.failed = true,
            _ => {}
        }
        let e = super::input::submitted(app, result);
        if e.quit || e.suspend {
            effect.quit |= e.quit;
            effect.suspend |= e.suspend;
            return effect;
        }
    }
}

/// Ctrl-C with lines queued: drop them, say how many, and cancel the line
/// they wait for. False when nothing was queued (Ctrl-C does what it did).
pub(super) fn cancel(app: &mut App) -> bool {
    if app.queue.lines.is_empty() {
        return false;
    }
    let n = app.queue.lines.len();
    app.queue.lines.clear();
    if let Some(call) = app.queue.running {
        app.session.cancel(call);
    }
    let msg = crate::tr!(app.lang, "queue.dropped", n = n);
    app.say(LineKind::Info, &msg);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_at_every_kind_of_break() {
        assert_eq!(split_lines("a\nb\n"), vec!["a", "b", ""]);
        assert_eq!(split_lines("a\r\nb\r\n"), vec!["a", "b", ""]);
        assert_eq!(split_lines("a\rb"), vec!["a", "b"]);
        assert_eq!(split_lines("a\n\nb"), vec!["a", "", "b"]);
        assert_eq!(split_lines("one"), vec!["one"]);
        // A lone \r then \n is one break, \n then \r two.
        assert_eq!(split_lines("a\n\rb"), vec!["a", "", "b"]);
    }

    #[test]
    fn cleaned_lines_keep_their_indent_and_lose_controls() {
        assert_eq!(clean("\tx = 1"), "    x = 1");
        assert_eq!(clean("x\u{1b}[2J = 1"), "x[2J = 1");
        assert!(!runs_something("   "));
        assert!(!runs_something("  # a comment"));
        assert!(runs_something("s.listen(5)  # backlog"));
    }
}
