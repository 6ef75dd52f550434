//! Splitting one line into tokens. Positions are char columns from 0.

use bytes::Bytes;

use super::error::LangError;
use super::escape::{self, Mode};
use crate::engine::Note;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Bytes),
    /// Punctuation and operators: `(`, `//`, `+=`, ...
    Op(&'static str),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Longest line accepted, in bytes.
pub const MAX_LINE: usize = 64 * 1024;

const OPS: &[&str] = &[
    "//=", "**=", "//", "**", "+=", "-=", "*=", "/=", "%=", "==", "!=", "<=", ">=", "->", ":=",
    "(", ")", "[", "]", "{", "}", ",", ".", "=", "+", "-", "*", "/", "%", ":", ";", "<", ">", "!",
    "&", "|", "^", "~", "@",
];

pub fn tokenize(line: &str) -> Result<Vec<Token>, LangError> {
    if line.len() > MAX_LINE {
        return Err(LangError::noted(
            "SyntaxError",
            Note::new("lang.line_too_long")
                .with("len", line.len())
                .with("max", MAX_LINE),
        ));
    }
    let chars: Vec<char> = line.chars().collect();
    let mut lx = Lexer {
        c: &chars,
        i: 0,
        out: Vec::new(),
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    c: &'a [char],
    i: usize,
    out: Vec<Token>,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.c.get(self.i + k).copied()
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.out.push(Token {
            tok,
            start,
            end: self.i,
        });
    }

    fn run(&mut self) -> Result<(), LangError> {
        while let Some(c) = self.peek(0) {
            let start = self.i;
            if c == ' ' || c == '\t' || c == '\u{feff}' && start == 0 {
                self.i += 1;
            } else if c == '#' {
                return Ok(());
            } else if c == '\\' {
                return Err(LangError::syntax_note(
                    Note::new("lang.backslash"),
                    start,
                    start + 1,
                ));
            } else if c.is_ascii_digit()
                || c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())
            {
                self.number()?;
            } else if is_ident_start(c) {
                while self.peek(0).is_some_and(is_ident) {
                    self.i += 1;
                }
                let word: String = self.c[start..self.i].iter().collect();
                if matches!(self.peek(0), Some('\'' | '"')) && is_prefix(&word) {
                    self.string(start, &word.to_ascii_lowercase())?;
                } else {
                    self.push(Tok::Name(word), start);
                }
            } else if c == '\'' || c == '"' {
                self.string(start, "")?;
            } else if let Some(op) = OPS.iter().find(|op| {
                op.chars()
                    .enumerate()
                    .all(|(k, oc)| self.peek(k) == Some(oc))
            }) {
                self.i += op.chars().count();
                self.push(Tok::Op(op), start);
            } else if c.is_control() || crate::engine::text::is_unsafe_char(c) {
                return Err(LangError::syntax(
                    format!("invalid non-printable character U+{:04X}", c as u32),
                    start,
                    start + 1,
                ));
            } else {
                return Err(LangError::syntax(
                    format!("invalid character '{c}' (U+{:04X})", c as u32),
                    start,
                    start + 1,
                ));
            }
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), LangError> {
        let start = self.i;
        let radix = match (self.peek(0), self.peek(1).map(|c| c.to_ascii_lowercase())) {
            (Some('0'), Some('x')) => 16,
            (Some('0'), Some('o')) => 8,
            (Some('0'), Some('b')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.i += 2;
            let digits = self.digits(|c| c.is_digit(radix));
            let end = self.i;
            if self.peek(0).is_some_and(is_ident) || digits.is_none() {
                self.skip_ident();
                let kind = match radix {
                    16 => "hexadecimal",
                    8 => "octal",
                    _ => "binary",
                };
                return Err(LangError::syntax(
                    format!("invalid {kind} literal"),
                    start,
                    self.i,
                ));
            }
            let digits = digits.unwrap_or_default();
            let v = i64::from_str_radix(&digits, radix).map_err(|_| too_big(start, end))?;
            self.push(Tok::Int(v), start);
            return Ok(());
        }
        let int_part = self.digits(|c| c.is_ascii_digit());
        if int_part.is_none() && self.i > start {
            return Err(self.bad_decimal(start));
        }
        let mut is_float = false;
        let mut text = int_part.clone().unwrap_or_default();
        if self.peek(0) == Some('.') {
            is_float = true;
            self.i += 1;
            text.push('.');
            if self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                match self.digits(|c| c.is_ascii_digit()) {
                    Some(d) => text.push_str(&d),
                    None => return Err(self.bad_decimal(start)),
                }
            }
        }
        if matches!(self.peek(0), Some('e' | 'E'))
            && (self.peek(1).is_some_and(|c| c.is_ascii_digit())
                || matches!(self.peek(1), Some('+' | '-'))
                    && self.peek(2).is_some_and(|c| c.is_ascii_digit()))
        {
            is_float = true;
            text.push('e');
            self.i += 1;
            if let Some(sign @ ('+' | '-')) = self.peek(0) {
                text.push(sign);
                self.i += 1;
            }
            match self.digits(|c| c.is_ascii_digit()) {
                Some(d) => text.push_str(&d),
                None => return Err(self.bad_decimal(start)),
            }
        }
        if self.peek(0).is_some_and(is_ident) || int_part.is_none() && !is_float {
            if matches!(self.peek(0), Some('j' | 'J')) {
                return Err(LangError::syntax_note(
                    Note::new("lang.no_complex"),
                    start,
                    self.i + 1,
                ));
            }
            return Err(self.bad_decimal(start));
        }
        let end = self.i;
        if is_float {
            let v: f64 = text.parse().map_err(|_| self.bad_decimal(start))?;
            self.push(Tok::Float(v), start);
        } else {
            if text.len() > 1 && text.starts_with('0') && text.chars().any(|c| c != '0') {
                return Err(LangError::syntax(
                    "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
                    start,
                    end,
                ));
            }
            let v: i64 = text.parse().map_err(|_| too_big(start, end))?;
            self.push(Tok::Int(v), start);
        }
        Ok(())
    }

    /// Digits with single `_` between them; None if the underscores are misplaced.
    fn digits(&mut self, ok: impl Fn(char) -> bool) -> Option<String> {
        let mut s = String::new();
        let mut last_us = true;
        let mut bad = false;
        while let Some(c) = self.peek(0) {
            if ok(c) {
                s.push(c);
                last_us = false;
            } else if c == '_' {
                bad |= last_us;
                last_us = true;
            } else {
                break;
            }
            self.i += 1;
        }
        (!bad && !last_us && !s.is_empty()).then_some(s)
    }

    fn skip_ident(&mut self) {
        while self.peek(0).is_some_and(is_ident) {
            self.i += 1;
        }
    }

    fn bad_decimal(&mut self, start: usize) -> LangError {
        self.skip_ident();
        LangError::syntax("invalid decimal literal", start, self.i)
    }

    /// A string or bytes literal; `self.i` is at the opening quote.
    fn string(&mut self, start: usize, prefix: &str) -> Result<(), LangError> {
        if prefix.contains('f') {
            return Err(LangError::syntax_note(
                Note::new("lang.no_fstring"),
                start,
                self.i + 1,
            ));
        }
        let raw = prefix.contains('r');
        let is_bytes = prefix.contains('b');
        let q = self.c[self.i];
        let triple = self.peek(1) == Some(q) && self.peek(2) == Some(q);
        let qlen = if triple { 3 } else { 1 };
        self.i += qlen;
        let body_start = self.i;
        loop {
            match self.peek(0) {
                None => {
                    let what = if triple {
                        "unterminated triple-quoted string literal"
                    } else {
                        "unterminated string literal"
                    };
                    return Err(LangError::syntax(
                        format!("{what} (detected at line 1)"),
                        start,
                        start + 1,
                    ));
                }
                Some('\\') => self.i += 2,
                // Raw control characters (a pasted ESC) would reach the
                // screen through echoes and the Code pane; ask for the escape.
                Some(c) if c != '\t' && crate::engine::text::is_unsafe_char(c) => {
                    let esc = if (c as u32) < 0x100 {
                        format!("\\x{:02x}", c as u32)
                    } else {
                        format!("\\u{:04x}", c as u32)
                    };
                    return Err(LangError::syntax_note(
                        Note::new("lang.unprintable_in_literal")
                            .with("code", format!("{:04X}", c as u32))
                            .with("esc", esc),
                        self.i,
                        self.i + 1,
                    ));
                }
                Some(c)
                    if c == q
                        && (!triple || self.peek(1) == Some(q) && self.peek(2) == Some(q)) =>
                {
                    break;
                }
                Some(_) => self.i += 1,
            }
        }
        let body_end = self.i;
        self.i += qlen;
        let body: String = self.c[body_start..body_end].iter().collect();
        let at = |e: escape::EscapeError| {
            let err = LangError::syntax_note(
                e.note,
                body_start + e.offset,
                body_start + e.offset + e.len,
            );
            if is_bytes {
                err.explained(Note::new("lang.in_bytes_literal"))
            } else {
                err
            }
        };
        let tok = match (is_bytes, raw) {
            (true, false) => Tok::Bytes(Bytes::from(
                escape::decode_bytes(&body, Mode::Bytes).map_err(at)?,
            )),
            (true, true) => {
                if let Some(k) = body.chars().position(|c| !c.is_ascii()) {
                    return Err(LangError::syntax(
                        "bytes can only contain ASCII literal characters",
                        body_start + k,
                        body_start + k + 1,
                    ));
                }
                Tok::Bytes(Bytes::from(body.into_bytes()))
            }
            (false, false) => Tok::Str(escape::decode_str(&body).map_err(at)?),
            (false, true) => Tok::Str(body),
        };
        self.push(tok, start);
        Ok(())
    }
}

fn is_prefix(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "b" | "r" | "u" | "f" | "br" | "rb" | "fr" | "rf"
    )
}

fn too_big(start: usize, end: usize) -> LangError {
    LangError::noted("OverflowError", Note::new("lang.int_literal_too_big")).at(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn err(s: &str) -> String {
        tokenize(s).unwrap_err().in_line(s).headline()
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("0x1F 1_000 0o17 0b101 7 0"),
            vec![
                Tok::Int(31),
                Tok::Int(1000),
                Tok::Int(15),
                Tok::Int(5),
                Tok::Int(7),
                Tok::Int(0)
            ]
        );
        assert_eq!(
            toks("1.5 .5 2. 1e3 2.5E-1"),
            vec![
                Tok::Float(1.5),
                Tok::Float(0.5),
                Tok::Float(2.0),
                Tok::Float(1000.0),
                Tok::Float(0.25)
            ]
        );
        assert_eq!(err("1__0"), "SyntaxError: invalid decimal literal");
        assert_eq!(err("10_"), "SyntaxError: invalid decimal literal");
        assert_eq!(err("12abc"), "SyntaxError: invalid decimal literal");
        assert_eq!(err("0xg"), "SyntaxError: invalid hexadecimal literal");
        assert_eq!(
            err("0123"),
            "SyntaxError: leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers"
        );
        assert_eq!(
            err("99999999999999999999"),
            "OverflowError: integer literal too large — socklab ints are 64-bit (at most 9223372036854775807)"
        );
        assert_eq!(
            err("3j"),
            "SyntaxError: complex numbers are not supported in socklab"
        );
    }

    #[test]
    fn strings_and_bytes() {
        assert_eq!(
            toks(r#"'a\n' "b" b'\x00' B"x" r'\n' rb'\q' '''t'q'''"#),
            vec![
                Tok::Str("a\n".into()),
                Tok::Str("b".into()),
                Tok::Bytes(Bytes::from_static(b"\0")),
                Tok::Bytes(Bytes::from_static(b"x")),
                Tok::Str("\\n".into()),
                Tok::Bytes(Bytes::from_static(b"\\q")),
                Tok::Str("t'q".into()),
            ]
        );
        assert_eq!(toks(r#"'it\'s'"#), vec![Tok::Str("it's".into())]);
        assert_eq!(
            err("x = 'abc"),
            "SyntaxError: unterminated string literal (detected at line 1)"
        );
        assert_eq!(
            err(r"b'\x4'"),
            "SyntaxError: truncated \\x4 escape — \\x needs exactly two hex digits, like \\x0a in bytes literal"
        );
        assert_eq!(
            err("f'{x}'"),
            "SyntaxError: f-strings are not supported in socklab — join strings with +"
        );
        assert!(err("b'한'").contains("ASCII"));
        assert_eq!(
            err("b'\x1b[2J'"),
            "SyntaxError: invalid non-printable character U+001B in a literal — write it as \\x1b"
        );
        assert_eq!(toks("'a\tb'"), vec![Tok::Str("a\tb".into())]);
    }

    #[test]
    fn escape_error_points_at_the_escape() {
        let e = tokenize(r"s.send(b'ab\qc')").unwrap_err();
        assert_eq!(e.span, Some((11, 13)));
    }

    #[test]
    fn operators_comments_and_bad_chars() {
        assert_eq!(
            toks("a//b += c # all ignored ' here"),
            vec![
                Tok::Name("a".into()),
                Tok::Op("//"),
                Tok::Name("b".into()),
                Tok::Op("+="),
                Tok::Name("c".into()),
            ]
        );
        assert_eq!(toks("연결 = 1")[0], Tok::Name("연결".into()));
        assert_eq!(err("a $ b"), "SyntaxError: invalid character '$' (U+0024)");
        assert_eq!(
            err("a \x1b b"),
            "SyntaxError: invalid non-printable character U+001B"
        );
        assert!(err(&"x".repeat(MAX_LINE + 1)).starts_with("SyntaxError: line too long"));
    }
}
