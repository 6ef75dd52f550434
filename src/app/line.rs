//! One line being typed (the prompt, the Send pane): the text and a byte
//! cursor, with a hard size limit.
//!
//! It replaces `tui_input::Input`, whose every key recounted and re-measured
//! the whole line (typing 32 KB took over a minute, a 5 MiB paste froze the
//! screen for many minutes). Here an edit costs what it touches — the
//! character or word at the cursor, or the text inserted — and drawing looks
//! only at the columns around the cursor ([`LineEdit::view`]). The line never
//! grows past its limit: an insert that would pass it is refused whole.
//!
//! The requests are `tui_input`'s [`InputRequest`], so the key table stays as
//! it is. Movement and deletion step over one character together with the
//! zero-width marks after it (an accent typed as its own code point).

use tui_input::InputRequest;
use unicode_width::UnicodeWidthChar;

/// The most a line holds, in bytes: the language reads no longer line.
pub const LINE_LIMIT: usize = crate::lang::lexer::MAX_LINE;

/// What an edit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    Changed,
    Unchanged,
    /// Refused: the line would pass its limit. Nothing changed.
    Full,
}

#[derive(Clone, Debug)]
pub struct LineEdit {
    value: String,
    /// Byte offset of the cursor, always on a char boundary.
    cursor: usize,
    limit: usize,
}

impl Default for LineEdit {
    fn default() -> Self {
        LineEdit {
            value: String::new(),
            cursor: 0,
            limit: LINE_LIMIT,
        }
    }
}

fn width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// A character the line never holds (it would reach the terminal as a control).
fn refused_char(c: char) -> bool {
    c.is_control()
}

fn is_word(c: char) -> bool {
    !c.is_whitespace() && !c.is_ascii_punctuation()
}

impl LineEdit {
    /// A line holding `value`, the cursor at its end. Control characters are
    /// dropped and the text is cut at the limit (on a char boundary).
    pub fn new(value: String) -> LineEdit {
        let mut value: String = if value.chars().any(refused_char) {
            value.chars().filter(|c| !refused_char(*c)).collect()
        } else {
            value
        };
        if value.len() > LINE_LIMIT {
            let mut end = LINE_LIMIT;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
        }
        LineEdit {
            cursor: value.len(),
            value,
            limit: LINE_LIMIT,
        }
    }

    /// The same line with the cursor after `chars` characters.
    pub fn with_cursor(mut self, chars: usize) -> LineEdit {
        self.cursor = self
            .value
            .char_indices()
            .nth(chars)
            .map_or(self.value.len(), |(i, _)| i);
        self
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn len(&self) -> usize {
        self.value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The cursor as a byte offset.
    pub fn cursor_byte(&self) -> usize {
        self.cursor
    }

    /// The cursor as a count of characters before it.
    pub fn cursor(&self) -> usize {
        self.value[..self.cursor].chars().count()
    }

    pub fn reset(&mut self) {
        self.value = String::new();
        self.cursor = 0;
    }

    /// Insert text at the cursor, all of it or (past the limit) none of it.
    /// Control characters are not inserted.
    pub fn insert_str(&mut self, text: &str) -> Edit {
        let clean: std::borrow::Cow<str> = if text.chars().any(refused_char) {
            text.chars().filter(|c| !refused_char(*c)).collect()
        } else {
            text.into()
        };
        if clean.is_empty() {
            return Edit::Unchanged;
        }
        if self.value.len() + clean.len() > self.limit {
            return Edit::Full;
        }
        self.value.insert_str(self.cursor, &clean);
        self.cursor += clean.len();
        Edit::Changed
    }

    /// Where the character cluster before `at` starts: one character and
    /// the zero-width marks that follow it.
    fn prev_boundary(&self, at: usize) -> Option<usize> {
        let mut it = self.value[..at].char_indices().rev();
        let mut start = None;
        for (i, c) in it.by_ref() {
            start = Some(i);
            if width(c) > 0 {
                break;
            }
        }
        start
    }

    /// Where the cluster at `at` ends.
    fn next_boundary(&self, at: usize) -> Option<usize> {
        let mut it = self.value[at..].char_indices();
        let (_, first) = it.next()?;
        let mut end = at + first.len_utf8();
        for (i, c) in it {
            if width(c) > 0 {
                break;
            }
            end = at + i + c.len_utf8();
        }
        Some(end)
    }

    fn prev_word(&self) -> usize {
        // Back over what separates words, then over the word itself.
        let mut start = self.cursor;
        let mut in_word = false;
        for (i, c) in self.value[..self.cursor].char_indices().rev() {
            if is_word(c) {
                in_word = true;
            } else if in_word {
                break;
            }
            start = i;
        }
        start
    }

    fn next_word(&self) -> usize {
        let after = &self.value[self.cursor..];
        let mut it = after.char_indices().peekable();
        // Over the rest of this word, then to the start of the next one.
        while it.next_if(|(_, c)| is_word(*c)).is_some() {}
        while it.next_if(|(_, c)| !is_word(*c)).is_some() {}
        self.cursor + it.peek().map_or(after.len(), |(i, _)| *i)
    }

    pub fn handle(&mut self, req: InputRequest) -> Edit {
        use InputRequest::*;
        let before = (self.cursor, self.value.len());
        match req {
            InsertChar(c) => {
                if refused_char(c) {
                    return Edit::Unchanged;
                }
                if self.value.len() + c.len_utf8() > self.limit {
                    return Edit::Full;
                }
                self.value.insert(self.cursor, c);
                self.cursor += c.len_utf8();
                return Edit::Changed;
            }
            SetCursor(n) => *self = std::mem::take(self).with_cursor(n),
            GoToPrevChar => {
                if let Some(p) = self.prev_boundary(self.cursor) {
                    self.cursor = p;
                }
            }
            GoToNextChar => {
                if let Some(n) = self.next_boundary(self.cursor) {
                    self.cursor = n;
                }
            }
            GoToPrevWord => self.cursor = self.prev_word(),
            GoToNextWord => self.cursor = self.next_word(),
            GoToStart => self.cursor = 0,
            GoToEnd => self.cursor = self.value.len(),
            DeletePrevChar => {
                if let Some(p) = self.prev_boundary(self.cursor) {
                    self.value.replace_range(p..self.cursor, "");
                    self.cursor = p;
                }
            }
            DeleteNextChar => {
                if let Some(n) = self.next_boundary(self.cursor) {
                    self.value.replace_range(self.cursor..n, "");
                }
            }
            DeletePrevWord => {
                let p = self.prev_word();
                self.value.replace_range(p..self.cursor, "");
                self.cursor = p;
            }
            DeleteNextWord => {
                let n = self.next_word();
                self.value.replace_range(self.cursor..n, "");
            }
            DeleteLine => self.reset(),
            DeleteTillEnd => self.value.truncate(self.cursor),
            DeleteFromStart => {
                self.value.replace_range(..self.cursor, "");
                self.cursor = 0;
            }
            // No kill ring: nothing to yank.
            Yank => {}
        }
        if (self.cursor, self.value.len()) == before {
            Edit::Unchanged
        } else {
            Edit::Changed
        }
    }

    /// What a one-row view `room` columns wide shows, and the cursor's column
    /// in it. The cursor stays in view (at the right edge when the text
    /// before it is wider than the room); only the text around the cursor is
    /// looked at, so this costs the width of the view, not of the line.
    pub fn view(&self, room: usize) -> (String, usize) {
        if room == 0 {
            return (String::new(), 0);
        }
        // Characters looked at either way: enough for the room even when
        // marks take no column, never the whole of a long line.
        let budget = room.saturating_mul(8).max(64);
        let mut start = self.cursor;
        let mut used = 0;
        for (n, (i, c)) in self.value[..self.cursor].char_indices().rev().enumerate() {
            let w = width(c);
            // Keep the last column free for the cursor itself.
            if used + w > room - 1 || n >= budget {
                break;
            }
            used += w;
            start = i;
        }
        // A zero-width mark at the left edge belongs to a character cut off.
        while let Some(c) = self.value[start..self.cursor].chars().next() {
            if width(c) > 0 || start == 0 {
                break;
            }
            start += c.len_utf8();
        }
        let cursor_col = self.value[start..self.cursor].chars().map(width).sum();
        let mut shown = String::new();
        let mut cols = 0;
        for (n, c) in self.value[start..].chars().enumerate() {
            let w = width(c);
            if cols + w > room || n >= budget * 2 {
                break;
            }
            cols += w;
            shown.push(c);
        }
        (shown, cursor_col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InputRequest::*;

    fn line(s: &str) -> LineEdit {
        LineEdit::new(s.to_string())
    }

    #[test]
    fn edits_at_the_cursor() {
        let mut l = line("srv.bind x");
        assert_eq!(l.handle(DeletePrevWord), Edit::Changed);
        assert_eq!(l.value(), "srv.bind ");
        l.handle(GoToStart);
        l.handle(InsertChar('>'));
        assert_eq!(l.value(), ">srv.bind ");
        assert_eq!(l.cursor(), 1);
        l.handle(GoToNextWord);
        assert_eq!(l.cursor(), 5);
        l.handle(DeleteTillEnd);
        assert_eq!(l.value(), ">srv.");
        l.handle(GoToPrevChar);
        l.handle(DeleteNextChar);
        assert_eq!(l.value(), ">srv");
        l.handle(GoToPrevChar);
        l.handle(DeleteFromStart);
        assert_eq!(l.value(), "v");
        assert_eq!(l.handle(GoToPrevChar), Edit::Unchanged);
    }

    #[test]
    fn a_mark_goes_with_its_character() {
        let mut l = line("ae\u{301}");
        l.handle(GoToPrevChar);
        assert_eq!(l.cursor(), 1);
        l.handle(DeleteNextChar);
        assert_eq!(l.value(), "a");
        let mut l = line("한글");
        l.handle(DeletePrevChar);
        assert_eq!(l.value(), "한");
    }

    #[test]
    fn the_limit_holds_and_a_refused_insert_changes_nothing() {
        let mut l = line(&"x".repeat(LINE_LIMIT - 1));
        assert_eq!(l.handle(InsertChar('한')), Edit::Full);
        assert_eq!(l.handle(InsertChar('y')), Edit::Changed);
        assert_eq!(l.handle(InsertChar('z')), Edit::Full);
        assert_eq!(l.len(), LINE_LIMIT);
        l.handle(GoToStart);
        assert_eq!(l.insert_str("ab"), Edit::Full);
        assert_eq!(l.len(), LINE_LIMIT);
        assert!(line(&"y".repeat(LINE_LIMIT * 2)).len() == LINE_LIMIT);
        let mut l = line("");
        assert_eq!(l.insert_str("a\u{1b}[2Jb"), Edit::Changed);
        assert_eq!(l.value(), "a[2Jb");
    }

    #[test]
    fn the_view_keeps_the_cursor_in_sight() {
        let l = line("hello");
        assert_eq!(l.view(10), ("hello".to_string(), 5));
        let l = line("0123456789abc");
        assert_eq!(l.view(5), ("9abc".to_string(), 4));
        let l = line("0123456789abc").with_cursor(2);
        assert_eq!(l.view(5), ("01234".to_string(), 2));
        let l = line("가나다라");
        let (shown, col) = l.view(5);
        assert_eq!((shown.as_str(), col), ("다라", 4));
        assert_eq!(line("abc").view(0), (String::new(), 0));
        assert_eq!(line("abc").view(1), (String::new(), 0));
    }
}
