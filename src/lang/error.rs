//! The one error type of the command language, rendered like Python's.

use std::fmt;

use unicode_width::UnicodeWidthStr;

use crate::engine::Note;
use crate::engine::text::sanitize;
use crate::settings::Lang;

/// A Python-style error: `NameError: name 'x' is not defined`. Syntax errors
/// also carry the column span and the line, for a caret under the spot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LangError {
    /// The exception class: `SyntaxError`, `TypeError`, `NameError`, ...
    pub exc: String,
    pub message: String,
    /// Columns (chars, from 0) the error points at: start, end (exclusive).
    pub span: Option<(usize, usize)>,
    /// The line the span refers to.
    pub source: Option<String>,
    /// socklab's own words as a catalogue key, worded in the student's
    /// language by [`LangError::in_lang`] (`message` holds them in English).
    pub note: Option<Box<Noted>>,
}

/// socklab's own words in an error: the whole message, or an explanation
/// after Python's own message (`No module named 'os' — socklab has only …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Noted {
    /// What CPython itself would print ("" when socklab words it all).
    pub python: String,
    /// socklab's words, one after another (`… in bytes literal`).
    pub notes: Vec<Note>,
}

impl Noted {
    fn words(&self, lang: Lang) -> String {
        let said: String = self
            .notes
            .iter()
            .map(|n| crate::i18n::note(lang, n))
            .collect();
        match (self.python.is_empty(), said.is_empty()) {
            (true, _) => said,
            (false, true) => self.python.clone(),
            (false, false) => format!("{} — {said}", self.python),
        }
    }
}

/// Longest stretch of the source line shown above a caret.
const WINDOW: usize = 80;

impl LangError {
    pub fn new(exc: &str, message: impl Into<String>) -> LangError {
        LangError {
            exc: exc.to_string(),
            message: message.into(),
            span: None,
            source: None,
            note: None,
        }
    }

    pub fn syntax(message: impl Into<String>, start: usize, end: usize) -> LangError {
        LangError::new("SyntaxError", message).at(start, end)
    }

    pub fn type_error(message: impl Into<String>) -> LangError {
        LangError::new("TypeError", message)
    }

    pub fn value_error(message: impl Into<String>) -> LangError {
        LangError::new("ValueError", message)
    }

    /// socklab's own refusals (not something Python would say).
    pub fn lab(message: impl Into<String>) -> LangError {
        LangError::new("LabError", message)
    }

    /// socklab's own refusal, worded from the catalogue (`lang.*` keys).
    pub fn lab_note(note: Note) -> LangError {
        LangError::noted("LabError", note)
    }

    /// A Python exception whose message is socklab's own, worded from the
    /// catalogue: `SyntaxError: 'class' is not supported in socklab — …`.
    pub fn noted(exc: &str, note: Note) -> LangError {
        LangError::new(exc, "").explained(note)
    }

    /// [`LangError::noted`] for a `SyntaxError` at a span.
    pub fn syntax_note(note: Note, start: usize, end: usize) -> LangError {
        LangError::noted("SyntaxError", note).at(start, end)
    }

    /// Python's own message followed by socklab's explanation, worded from
    /// the catalogue: `No module named 'os' — socklab has only socket and select`.
    pub fn explained(mut self, note: Note) -> LangError {
        let mut noted = match self.note.take() {
            Some(n) => *n,
            None => Noted {
                python: std::mem::take(&mut self.message),
                notes: Vec::new(),
            },
        };
        if !note.is_empty() {
            noted.notes.push(note);
        }
        self.message = noted.words(Lang::En);
        self.note = Some(Box::new(noted));
        self
    }

    /// The error with socklab's own words in `lang` (Python's own
    /// messages stay as CPython prints them).
    pub fn in_lang(mut self, lang: Lang) -> LangError {
        if let Some(n) = &self.note {
            self.message = n.words(lang);
        }
        self
    }

    pub fn at(mut self, start: usize, end: usize) -> LangError {
        self.span = Some((start, end.max(start + 1)));
        self
    }

    /// Attach the line (only if no line is attached yet).
    pub fn in_line(mut self, line: &str) -> LangError {
        if self.source.is_none() {
            self.source = Some(line.to_string());
        }
        self
    }

    /// The last line alone: `TypeError: …`.
    pub fn headline(&self) -> String {
        if self.message.is_empty() {
            sanitize(&self.exc)
        } else {
            sanitize(&format!("{}: {}", self.exc, self.message))
        }
    }

    /// Python's rendering; with a span and a source line, the caret form:
    /// ```text
    ///   File "<stdin>", line 1
    ///     srv.bind(("127.0.0.1", 9000)
    ///             ^
    /// SyntaxError: '(' was never closed
    /// ```
    pub fn render(&self) -> String {
        self.render_at(1)
    }

    /// [`LangError::render`] for line `line` of a script.
    pub fn render_at(&self, line: usize) -> String {
        let (Some((start, end)), Some(src)) = (self.span, &self.source) else {
            return self.headline();
        };
        let chars: Vec<char> = src.chars().collect();
        let start = start.min(chars.len());
        let end = end.clamp(start + 1, chars.len().max(start) + 1);
        // Long lines: show a window around the error so the caret stays on screen.
        let from = if chars.len() > WINDOW {
            start.saturating_sub(WINDOW / 2)
        } else {
            0
        };
        let to = (from + WINDOW).min(chars.len());
        let mut shown = String::new();
        if from > 0 {
            shown.push('…');
        }
        let before: String = chars[from..start.min(to).max(from)].iter().collect();
        let marked: String = chars[start.min(to)..end.min(to)].iter().collect();
        let rest: String = chars[end.min(to)..to].iter().collect();
        let before = sanitize(&before);
        let marked = sanitize(&marked);
        shown.push_str(&before);
        shown.push_str(&marked);
        shown.push_str(&sanitize(&rest));
        if to < chars.len() {
            shown.push('…');
        }
        let pad = before.width() + usize::from(from > 0);
        let carets = marked.width().clamp(1, WINDOW);
        format!(
            "  File \"<stdin>\", line {line}\n    {shown}\n    {}{}\n{}",
            " ".repeat(pad),
            "^".repeat(carets),
            self.headline()
        )
    }
}

impl fmt::Display for LangError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for LangError {}

/// The closest candidate to a misspelt name, as Python's "Did you mean" picks it.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = name.to_lowercase();
    // Edits a name of this length may be away from what was meant; short
    // names get few, or every one-letter name would "mean" another.
    let allowed = match lower.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        6..=9 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let cl = c.to_lowercase();
        let d = strsim::osa_distance(&lower, &cl);
        // Dropped or doubled letters (`recieve` for `recv`, `sock` for
        // `socket`) keep one name inside the other.
        let inside = cl.chars().count().min(lower.chars().count()) >= 3
            && (subsequence(&cl, &lower) || subsequence(&lower, &cl));
        if (d <= allowed || inside && d <= 4) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Whether `small`'s letters appear in `big` in order.
fn subsequence(small: &str, big: &str) -> bool {
    let mut it = big.chars();
    small.chars().all(|c| it.any(|b| b == c))
}

/// `. Did you mean: 'x'?` or nothing.
pub fn suggestion<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match did_you_mean(name, candidates) {
        Some(s) => format!(". Did you mean: '{s}'?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_span() {
        let e = LangError::syntax("'(' was never closed", 8, 9)
            .in_line("srv.bind((\"127.0.0.1\", 9000)");
        assert_eq!(
            e.render(),
            "  File \"<stdin>\", line 1\n    srv.bind((\"127.0.0.1\", 9000)\n            ^\nSyntaxError: '(' was never closed"
        );
    }

    #[test]
    fn caret_counts_display_width_of_korean() {
        let e = LangError::syntax("invalid syntax", 3, 4).in_line("안녕 $");
        assert!(e.render().contains("\n         ^\n"), "{}", e.render());
    }

    #[test]
    fn long_lines_are_windowed_and_controls_escaped() {
        let line = format!("{}$\x1b", "x".repeat(1000));
        let e = LangError::syntax("invalid syntax", 1000, 1001).in_line(&line);
        let r = e.render();
        assert!(r.lines().all(|l| l.chars().count() < 100), "{r}");
        assert!(!r.contains('\x1b'));
        let lines: Vec<&str> = r.lines().collect();
        let caret = lines[2].find('^').unwrap();
        assert_eq!(lines[1].chars().nth(caret), Some('$'));
    }

    #[test]
    fn socklabs_words_follow_the_language_and_pythons_stay() {
        let e = LangError::new("ModuleNotFoundError", "No module named 'os'")
            .explained(Note::new("lang.only_socket_select"));
        let en = "ModuleNotFoundError: No module named 'os' — socklab has only socket and select";
        assert_eq!(e.headline(), en);
        let ko = e.clone().in_lang(Lang::Ko).headline();
        let head = "ModuleNotFoundError: No module named 'os' — ";
        assert!(ko.starts_with(head), "{ko}");
        assert!(ko[head.len()..].contains("socket"), "{ko}");
        assert_ne!(ko, en);
        assert_eq!(e.in_lang(Lang::Ko).in_lang(Lang::En).headline(), en);
        // Several notes follow one another (an escape, then where it is).
        let e = LangError::syntax_note(Note::new("lang.esc_octal"), 0, 2)
            .explained(Note::new("lang.in_bytes_literal"));
        assert!(
            e.message.ends_with("or \\xNN in bytes literal"),
            "{}",
            e.message
        );
        assert!(e.in_lang(Lang::Ko).headline().starts_with("SyntaxError: "));
    }

    #[test]
    fn suggestions_pick_the_close_name() {
        let c = ["server", "socket", "select", "AF_INET"];
        assert_eq!(did_you_mean("sever", c).as_deref(), Some("server"));
        assert_eq!(did_you_mean("af_inet", c).as_deref(), Some("AF_INET"));
        assert_eq!(did_you_mean("zzzzzz", c), None);
        assert_eq!(did_you_mean("sever", ["srv", "select"]), None);
        assert_eq!(did_you_mean("sock", c).as_deref(), Some("socket"));
        assert_eq!(did_you_mean("x", ["n", "s"]), None);
        assert_eq!(did_you_mean("t", ["str", "dev"]), None);
        assert_eq!(did_you_mean("c6", ["cli6"]), None);
        assert_eq!(did_you_mean("mgs", ["msg"]).as_deref(), Some("msg"));
        assert_eq!(
            suggestion("recieve", ["recv", "recvfrom", "send"]),
            ". Did you mean: 'recv'?"
        );
    }
}
