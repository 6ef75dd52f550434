//! Turning bytes from the network into text that is safe to show.
//!
//! Nothing a peer sends may reach the terminal raw: every control byte, escape
//! sequence and invalid UTF-8 byte is written as an escape.

use super::error::Note;

/// Bytes as the body of a Python bytes literal (ASCII only): `hello\n`, `\x1b[2J`.
/// Quotes are not escaped; see [`py_bytes_repr`] for a full literal.
pub fn escape_bytes(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len());
    for &b in data {
        push_escaped_byte(&mut s, b);
    }
    s
}

fn push_escaped_byte(s: &mut String, b: u8) {
    match b {
        b'\n' => s.push_str("\\n"),
        b'\r' => s.push_str("\\r"),
        b'\t' => s.push_str("\\t"),
        b'\\' => s.push_str("\\\\"),
        0x20..=0x7e => s.push(b as char),
        _ => s.push_str(&format!("\\x{b:02x}")),
    }
}

/// Python's `repr()` of a bytes value: `b'hello\n'`, `b"it's"`.
pub fn py_bytes_repr(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::with_capacity(data.len() + 3);
    s.push('b');
    s.push(quote);
    for &b in data {
        if b == quote as u8 {
            s.push('\\');
            s.push(quote);
        } else {
            push_escaped_byte(&mut s, b);
        }
    }
    s.push(quote);
    s
}

/// Python's `repr()` of a str value.
pub fn py_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::with_capacity(text.len() + 2);
    s.push(quote);
    for c in text.chars() {
        match c {
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '\\' => s.push_str("\\\\"),
            c if c == quote => {
                s.push('\\');
                s.push(c);
            }
            c if is_unsafe_char(c) => s.push_str(&char_escape(c)),
            c => s.push(c),
        }
    }
    s.push(quote);
    s
}

/// Bytes for a human reading a traffic log: valid UTF-8 text (Korean too) is
/// kept, every control character, bidi override and invalid byte is escaped.
pub fn escape_display(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len());
    let mut rest = data;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                push_display_str(&mut s, text);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // SAFETY of unwrap: `good` is exactly the valid prefix.
                push_display_str(&mut s, std::str::from_utf8(good).unwrap_or(""));
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for &b in &bad[..n.min(bad.len())] {
                    s.push_str(&format!("\\x{b:02x}"));
                }
                rest = &bad[n.min(bad.len())..];
            }
        }
    }
    s
}

fn push_display_str(s: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '\\' => s.push_str("\\\\"),
            c if is_unsafe_char(c) => s.push_str(&char_escape(c)),
            c => s.push(c),
        }
    }
}

/// Characters that can move the cursor, change the terminal or reorder text.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

fn char_escape(c: char) -> String {
    let v = c as u32;
    if v < 0x100 {
        format!("\\x{v:02x}")
    } else {
        format!("\\u{v:04x}")
    }
}

/// Make any text safe for the terminal (for strings that came from outside:
/// lesson files, error messages that quote input).
pub fn sanitize(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe_char(c) {
            s.push_str(&char_escape(c));
        } else {
            s.push(c);
        }
    }
    s
}

/// Decode the escapes a student types in the send pane and peer options:
/// `\n \r \t \0 \xNN \\`. Anything else after a backslash is an error,
/// so a typo never sends bytes the student did not mean. The error is a
/// `lab.peer_escape_*` note; the caller adds the peer's name (`peer`).
pub fn unescape(text: &str) -> Result<Vec<u8>, Note> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some((_, 'n')) => out.push(b'\n'),
            Some((_, 'r')) => out.push(b'\r'),
            Some((_, 't')) => out.push(b'\t'),
            Some((_, '0')) => out.push(0),
            Some((_, '\\')) => out.push(b'\\'),
            Some((_, 'x')) => {
                let hex: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                match (hex.len(), u8::from_str_radix(&hex, 16)) {
                    (2, Ok(b)) => out.push(b),
                    _ => {
                        return Err(Note::new("lab.peer_escape_x").with("col", i + 1));
                    }
                }
            }
            Some((_, other)) => {
                return Err(Note::new("lab.peer_escape_bad")
                    .with("c", other)
                    .with("col", i + 1));
            }
            None => return Err(Note::new("lab.peer_escape_lone").with("col", i + 1)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        assert_eq!(py_bytes_repr(b"hello\n"), "b'hello\\n'");
        assert_eq!(py_bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(py_bytes_repr(b"a'\""), "b'a\\'\"'");
        assert_eq!(py_bytes_repr(&[0, 0x1b, 0xff]), "b'\\x00\\x1b\\xff'");
        assert_eq!(py_str_repr("a\tb"), "'a\\tb'");
    }

    #[test]
    fn display_escapes_controls_and_keeps_korean() {
        assert_eq!(escape_display(b"\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape_display("안녕\n".as_bytes()), "안녕\\n");
        assert_eq!(escape_display(b"a\xffb"), "a\\xffb");
        assert_eq!(escape_display(b"\x08\x7f"), "\\x08\\x7f");
        assert_eq!(escape_display("\u{9b}2J".as_bytes()), "\\x9b2J");
        assert_eq!(escape_display("x\u{202e}y".as_bytes()), "x\\u202ey");
        // a truncated multi-byte sequence at the end
        assert_eq!(escape_display(&[b'a', 0xea, 0xb0]), "a\\xea\\xb0");
    }

    #[test]
    fn unescape_decodes_and_rejects() {
        assert_eq!(unescape("a\\n\\r\\t\\0\\x41\\\\").unwrap(), b"a\n\r\t\0A\\");
        assert_eq!(unescape("안녕").unwrap(), "안녕".as_bytes());
        let e = unescape("\\q").unwrap_err();
        assert_eq!(
            (e.key, e.arg("c"), e.arg("col")),
            ("lab.peer_escape_bad", Some("q"), Some("1"))
        );
        assert_eq!(unescape("\\x4").unwrap_err().key, "lab.peer_escape_x");
        assert_eq!(unescape("x\\").unwrap_err().key, "lab.peer_escape_lone");
    }

    #[test]
    fn nothing_unsafe_survives() {
        for b in 0u8..=255 {
            let s = escape_display(&[b, b'x', b]);
            assert!(!s.chars().any(is_unsafe_char), "{b:#x} -> {s:?}");
            let s = escape_bytes(&[b]);
            assert!(s.chars().all(|c| (' '..='~').contains(&c)));
        }
    }
}
