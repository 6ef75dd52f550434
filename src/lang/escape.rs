//! Backslash escapes in string and bytes literals, and in the send pane.
//!
//! Deliberately stricter than Python: an escape socklab does not know (`\q`)
//! or an incomplete one (`\x4`) is an error instead of being kept as typed,
//! because a student who writes `b"\q"` almost certainly meant something else.

use crate::engine::Note;

/// What kind of text the escapes sit in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A `b'…'` literal: only ASCII characters may appear unescaped.
    Bytes,
    /// Text typed into the send pane: any character, encoded as UTF-8.
    Text,
}

/// A bad escape: where it starts (in chars from the start of the body), how
/// many chars it spans, and what is wrong (a `lang.esc_*` catalogue key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscapeError {
    pub offset: usize,
    pub len: usize,
    pub note: Note,
}

impl EscapeError {
    /// What is wrong, in English (the layers above word `note` in the
    /// student's language).
    pub fn message(&self) -> String {
        crate::i18n::note(crate::settings::Lang::En, &self.note)
    }
}

/// The escapes socklab understands, for error messages.
pub const KNOWN: &str = r#"\n \r \t \0 \xNN \\ \' \""#;

enum Piece {
    Byte(u8),
    Char(char),
}

/// Read one escape; `chars[i]` is the char after the backslash.
/// Returns the piece and how many chars after the backslash it used.
fn escape_at(chars: &[char], i: usize, allow_unicode: bool) -> Result<(Piece, usize), EscapeError> {
    let bad = |len: usize, note: Note| EscapeError {
        offset: i - 1,
        len: len + 1,
        note,
    };
    let Some(&c) = chars.get(i) else {
        return Err(bad(0, Note::new("lang.esc_lone_backslash")));
    };
    let simple = match c {
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        '\\' => Some(b'\\'),
        '\'' => Some(b'\''),
        '"' => Some(b'"'),
        _ => None,
    };
    if let Some(b) = simple {
        return Ok((Piece::Byte(b), 1));
    }
    match c {
        '0' => {
            // Python reads `\012` as octal; socklab only has `\0`, so a digit
            // right after it would silently mean something surprising.
            if chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                return Err(bad(2, Note::new("lang.esc_octal")));
            }
            Ok((Piece::Byte(0), 1))
        }
        'x' => {
            let hex: String = chars.iter().skip(i + 1).take(2).collect();
            if hex.len() == 2 && hex.chars().all(|h| h.is_ascii_hexdigit()) {
                let v = u8::from_str_radix(&hex, 16).unwrap_or(0);
                Ok((Piece::Byte(v), 3))
            } else {
                let n = hex.chars().take_while(|h| h.is_ascii_hexdigit()).count();
                Err(bad(
                    1 + n,
                    Note::new("lang.esc_truncated_x").with("hex", &hex[..n]),
                ))
            }
        }
        'u' | 'U' if allow_unicode => {
            let want = if c == 'u' { 4 } else { 8 };
            let hex: String = chars.iter().skip(i + 1).take(want).collect();
            let ok = hex.chars().count() == want && hex.chars().all(|h| h.is_ascii_hexdigit());
            match ok
                .then(|| u32::from_str_radix(&hex, 16).ok())
                .flatten()
                .and_then(char::from_u32)
            {
                Some(ch) => Ok((Piece::Char(ch), 1 + want)),
                None => Err(bad(
                    1 + hex.chars().take_while(|h| h.is_ascii_hexdigit()).count(),
                    Note::new("lang.esc_bad_unicode")
                        .with("c", c)
                        .with("want", want),
                )),
            }
        }
        other => Err(bad(
            1,
            Note::new("lang.esc_unknown")
                .with("c", crate::engine::text::sanitize(&other.to_string()))
                .with("known", KNOWN),
        )),
    }
}

/// Decode a bytes-literal body or send-pane text into bytes.
pub fn decode_bytes(body: &str, mode: Mode) -> Result<Vec<u8>, EscapeError> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let (piece, used) = escape_at(&chars, i + 1, false)?;
            match piece {
                Piece::Byte(b) => out.push(b),
                Piece::Char(ch) => push_utf8(&mut out, ch),
            }
            i += 1 + used;
            continue;
        }
        if c.is_ascii() || mode == Mode::Text {
            push_utf8(&mut out, c);
        } else {
            return Err(EscapeError {
                offset: i,
                len: 1,
                note: Note::new("lang.esc_not_ascii").with("c", c),
            });
        }
        i += 1;
    }
    Ok(out)
}

/// Decode a str-literal body (`\xNN` is the character U+00NN, `\uXXXX` works).
pub fn decode_str(body: &str) -> Result<String, EscapeError> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' {
            let (piece, used) = escape_at(&chars, i + 1, true)?;
            match piece {
                Piece::Byte(b) => out.push(char::from(b)),
                Piece::Char(ch) => out.push(ch),
            }
            i += 1 + used;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn push_utf8(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::text::escape_bytes;

    #[test]
    fn decodes_every_known_escape() {
        assert_eq!(
            decode_bytes(r#"a\n\r\t\0\x41\xff\\\'\""#, Mode::Bytes).unwrap(),
            b"a\n\r\t\0A\xff\\'\""
        );
        assert_eq!(decode_str(r"\x41\u00e9\U0001F600").unwrap(), "Aé😀");
    }

    #[test]
    fn text_mode_keeps_korean_as_utf8() {
        assert_eq!(
            decode_bytes("안녕\\n", Mode::Text).unwrap(),
            "안녕\n".as_bytes()
        );
        let e = decode_bytes("안녕", Mode::Bytes).unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(e.message().contains("ASCII"), "{}", e.message());
    }

    #[test]
    fn bad_escapes_are_errors_with_position() {
        let e = decode_bytes(r"ab\x4", Mode::Bytes).unwrap_err();
        assert_eq!((e.offset, e.len), (2, 3));
        assert_eq!(
            e.message(),
            "truncated \\x4 escape — \\x needs exactly two hex digits, like \\x0a"
        );
        let e = decode_bytes(r"\q", Mode::Text).unwrap_err();
        assert_eq!(
            e.message(),
            r#"invalid escape sequence '\q' (socklab knows \n \r \t \0 \xNN \\ \' \")"#
        );
        assert_eq!((e.offset, e.len), (0, 2));
        assert!(decode_bytes("x\\", Mode::Bytes).is_err());
        assert!(decode_bytes(r"\012", Mode::Bytes).is_err());
        assert!(decode_bytes(r"\u0041", Mode::Bytes).is_err());
        assert!(decode_str(r"\ud800").is_err());
    }

    #[test]
    fn escape_bytes_output_decodes_back() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode_bytes(&escape_bytes(&all), Mode::Bytes).unwrap(), all);
    }
}
