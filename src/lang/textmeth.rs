//! The few str and bytes methods a socket program needs (`encode`, `decode`, ...).

use bytes::Bytes;

use super::calls::{Kwargs, arity, params};
use super::error::LangError;
use super::value::Value;
use crate::engine::Note;

#[derive(Clone, Copy, PartialEq)]
enum Codec {
    Utf8,
    Ascii,
    Latin1,
}

fn codec(v: Option<&Value>) -> Result<Codec, LangError> {
    let name = match v {
        None => return Ok(Codec::Utf8),
        Some(Value::Str(s)) => s.to_ascii_lowercase().replace('_', "-"),
        Some(other) => {
            return Err(LangError::type_error(format!(
                "encoding must be str, not {}",
                other.type_name()
            )));
        }
    };
    match name.as_str() {
        "utf-8" | "utf8" => Ok(Codec::Utf8),
        "ascii" | "us-ascii" => Ok(Codec::Ascii),
        "latin-1" | "latin1" | "iso-8859-1" => Ok(Codec::Latin1),
        _ => Err(LangError::noted(
            "LookupError",
            Note::new("lang.unknown_encoding").with("name", name),
        )),
    }
}

fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::Utf8 => "utf-8",
        Codec::Ascii => "ascii",
        Codec::Latin1 => "latin-1",
    }
}

/// `errors=`: "strict", "replace" or "ignore".
fn errors_mode(v: Option<&Value>) -> Result<&'static str, LangError> {
    match v {
        None => Ok("strict"),
        Some(Value::Str(s)) if s == "strict" => Ok("strict"),
        Some(Value::Str(s)) if s == "replace" => Ok("replace"),
        Some(Value::Str(s)) if s == "ignore" => Ok("ignore"),
        Some(Value::Str(s)) => Err(LangError::new(
            "LookupError",
            format!("unknown error handler name '{s}'"),
        )),
        Some(other) => Err(LangError::type_error(format!(
            "errors must be str, not {}",
            other.type_name()
        ))),
    }
}

fn char_repr(c: char) -> String {
    let v = c as u32;
    if v < 0x100 {
        format!("\\x{v:02x}")
    } else {
        format!("\\u{v:04x}")
    }
}

fn encode(s: &str, c: Codec, errors: &str) -> Result<Vec<u8>, LangError> {
    let limit: u32 = match c {
        Codec::Utf8 => return Ok(s.as_bytes().to_vec()),
        Codec::Ascii => 0x80,
        Codec::Latin1 => 0x100,
    };
    let mut out = Vec::with_capacity(s.len());
    for (i, ch) in s.chars().enumerate() {
        if (ch as u32) < limit {
            out.push(ch as u32 as u8);
        } else if errors == "replace" {
            out.push(b'?');
        } else if errors == "strict" {
            return Err(LangError::new(
                "UnicodeEncodeError",
                format!(
                    "'{}' codec can't encode character '{}' in position {i}: ordinal not in range({limit})",
                    codec_name(c),
                    char_repr(ch)
                ),
            ));
        }
    }
    Ok(out)
}

fn decode(b: &[u8], c: Codec, errors: &str) -> Result<String, LangError> {
    match c {
        Codec::Latin1 => Ok(b.iter().map(|&x| char::from(x)).collect()),
        Codec::Ascii => {
            let mut s = String::with_capacity(b.len());
            for (i, &x) in b.iter().enumerate() {
                if x < 0x80 {
                    s.push(char::from(x));
                } else if errors == "replace" {
                    s.push('\u{fffd}');
                } else if errors == "strict" {
                    return Err(LangError::new(
                        "UnicodeDecodeError",
                        format!(
                            "'ascii' codec can't decode byte 0x{x:02x} in position {i}: ordinal not in range(128)"
                        ),
                    ));
                }
            }
            Ok(s)
        }
        Codec::Utf8 => {
            let mut s = String::with_capacity(b.len());
            let mut rest = b;
            let mut pos = 0;
            loop {
                match std::str::from_utf8(rest) {
                    Ok(t) => {
                        s.push_str(t);
                        return Ok(s);
                    }
                    Err(e) => {
                        let good = e.valid_up_to();
                        s.push_str(std::str::from_utf8(&rest[..good]).unwrap_or(""));
                        let bad = e.error_len().unwrap_or(rest.len() - good).max(1);
                        if errors == "strict" {
                            let x = rest[good];
                            let at = pos + good;
                            let left = rest.len() - good;
                            let what = match e.error_len() {
                                None if left > 1 => format!(
                                    "bytes in position {at}-{}: unexpected end of data",
                                    at + left - 1
                                ),
                                None => format!(
                                    "byte 0x{x:02x} in position {at}: unexpected end of data"
                                ),
                                Some(_) if (0x80..0xc0).contains(&x) || x >= 0xf5 => {
                                    format!("byte 0x{x:02x} in position {at}: invalid start byte")
                                }
                                Some(_) => format!(
                                    "byte 0x{x:02x} in position {at}: invalid continuation byte"
                                ),
                            };
                            return Err(LangError::new(
                                "UnicodeDecodeError",
                                format!("'utf-8' codec can't decode {what}"),
                            ));
                        }
                        if errors == "replace" {
                            s.push('\u{fffd}');
                        }
                        pos += good + bad;
                        rest = &rest[good + bad..];
                    }
                }
            }
        }
    }
}

fn affix_arg<'a>(m: &str, v: &'a Value, want_bytes: bool) -> Result<Vec<&'a [u8]>, LangError> {
    let one = |x: &'a Value| match (x, want_bytes) {
        (Value::Bytes(b), true) => Some(&b[..]),
        (Value::Str(s), false) => Some(s.as_bytes()),
        _ => None,
    };
    let kind = if want_bytes { "bytes" } else { "str" };
    let err = |x: &Value| {
        LangError::type_error(format!(
            "{m} first arg must be {kind} or a tuple of {kind}, not {}",
            x.type_name()
        ))
    };
    match v {
        Value::Tuple(items) => items.iter().map(|x| one(x).ok_or_else(|| err(x))).collect(),
        x => Ok(vec![one(x).ok_or_else(|| err(x))?]),
    }
}

pub fn str_method(s: &str, m: &str, a: &[Value], kw: &Kwargs) -> Result<Value, LangError> {
    Ok(match m {
        "encode" => {
            let p = params(m, &["encoding", "errors"], a, kw)?;
            let out = encode(s, codec(p[0].as_ref())?, errors_mode(p[1].as_ref())?)?;
            if out.len() > super::arith::MAX_BYTES {
                return Err(LangError::noted(
                    "MemoryError",
                    Note::new("lang.over_64mib"),
                ));
            }
            Value::Bytes(Bytes::from(out))
        }
        "upper" | "lower" => {
            arity(m, a, kw, 0, 0)?;
            // A few characters grow ('ß'.upper() is 'SS'): measure first.
            let n: usize = if m == "upper" {
                s.chars()
                    .flat_map(char::to_uppercase)
                    .map(char::len_utf8)
                    .sum()
            } else {
                s.chars()
                    .flat_map(char::to_lowercase)
                    .map(char::len_utf8)
                    .sum()
            };
            if n > super::arith::MAX_BYTES {
                return Err(too_big(n));
            }
            Value::Str(if m == "upper" {
                s.to_uppercase()
            } else {
                s.to_lowercase()
            })
        }
        "strip" => {
            arity(m, a, kw, 0, 1)?;
            match a.first() {
                None | Some(Value::None) => Value::Str(s.trim().to_string()),
                Some(Value::Str(chars)) => {
                    Value::Str(s.trim_matches(|c| chars.contains(c)).to_string())
                }
                Some(other) => {
                    return Err(LangError::type_error(format!(
                        "strip arg must be None or str, not {}",
                        other.type_name()
                    )));
                }
            }
        }
        "startswith" | "endswith" => {
            arity(m, a, kw, 1, 1)?;
            let affixes = affix_arg(m, &a[0], false)?;
            let b = s.as_bytes();
            Value::Bool(affixes.iter().any(|x| {
                if m == "startswith" {
                    b.starts_with(x)
                } else {
                    b.ends_with(x)
                }
            }))
        }
        other => return Err(no_attr("str", other)),
    })
}

pub fn bytes_method(b: &Bytes, m: &str, a: &[Value], kw: &Kwargs) -> Result<Value, LangError> {
    Ok(match m {
        "decode" => {
            let p = params(m, &["encoding", "errors"], a, kw)?;
            // A byte becomes at most 3 (U+FFFD), and only bytes >= 0x80 grow.
            let n = b.len() + 2 * b.iter().filter(|x| **x >= 0x80).count();
            if n > super::arith::MAX_BYTES {
                return Err(too_big(n));
            }
            Value::Str(decode(
                b,
                codec(p[0].as_ref())?,
                errors_mode(p[1].as_ref())?,
            )?)
        }
        "upper" | "lower" => {
            arity(m, a, kw, 0, 0)?;
            Value::Bytes(Bytes::from(if m == "upper" {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            }))
        }
        "hex" => {
            arity(m, a, kw, 0, 0)?;
            if b.len() > super::arith::MAX_BYTES / 2 {
                return Err(too_big(2 * b.len()));
            }
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut out = String::with_capacity(b.len() * 2);
            for x in b.iter() {
                out.push(char::from(HEX[usize::from(x >> 4)]));
                out.push(char::from(HEX[usize::from(x & 15)]));
            }
            Value::Str(out)
        }
        "strip" => {
            arity(m, a, kw, 0, 1)?;
            let set: Vec<u8> = match a.first() {
                None | Some(Value::None) => b" \t\n\r\x0b\x0c".to_vec(),
                Some(Value::Bytes(x)) => x.to_vec(),
                Some(other) => {
                    return Err(LangError::type_error(format!(
                        "a bytes-like object is required, not '{}'",
                        other.type_name()
                    )));
                }
            };
            let start = b.iter().position(|x| !set.contains(x)).unwrap_or(b.len());
            let end = b
                .iter()
                .rposition(|x| !set.contains(x))
                .map_or(start, |e| e + 1);
            Value::Bytes(b.slice(start..end.max(start)))
        }
        "startswith" | "endswith" => {
            arity(m, a, kw, 1, 1)?;
            let affixes = affix_arg(m, &a[0], true)?;
            Value::Bool(affixes.iter().any(|x| {
                if m == "startswith" {
                    b.starts_with(x)
                } else {
                    b.ends_with(x)
                }
            }))
        }
        other => return Err(no_attr("bytes", other)),
    })
}

fn too_big(n: usize) -> LangError {
    LangError::noted("MemoryError", Note::new("lang.result_too_big").with("n", n))
}

fn no_attr(ty: &str, name: &str) -> LangError {
    LangError::new(
        "AttributeError",
        format!("'{ty}' object has no attribute '{name}'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn encode_and_decode() {
        assert_eq!(
            str_method("안녕", "encode", &[], &[]).unwrap(),
            Value::Bytes(Bytes::from("안녕".as_bytes().to_vec()))
        );
        assert_eq!(
            str_method("é", "encode", &[s("ascii")], &[])
                .unwrap_err()
                .headline(),
            "UnicodeEncodeError: 'ascii' codec can't encode character '\\xe9' in position 0: ordinal not in range(128)"
        );
        let bad = Bytes::from_static(b"ok\xff");
        assert_eq!(
            bytes_method(&bad, "decode", &[], &[])
                .unwrap_err()
                .headline(),
            "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 2: invalid start byte"
        );
        assert_eq!(
            bytes_method(&bad, "decode", &[], &[("errors".into(), s("replace"))]).unwrap(),
            s("ok\u{fffd}")
        );
        assert_eq!(
            bytes_method(&Bytes::from_static(b"a\xe4\xb8"), "decode", &[], &[])
                .unwrap_err()
                .message,
            "'utf-8' codec can't decode bytes in position 1-2: unexpected end of data"
        );
        assert_eq!(
            bytes_method(&bad, "decode", &[s("latin-1")], &[]).unwrap(),
            s("ok\u{ff}")
        );
        assert_eq!(
            bytes_method(&bad, "decode", &[s("klingon")], &[])
                .unwrap_err()
                .exc,
            "LookupError"
        );
    }

    #[test]
    fn small_helpers() {
        let b = Bytes::from_static(b"  LED on\r\n");
        assert_eq!(
            bytes_method(&b, "strip", &[], &[]).unwrap(),
            Value::Bytes(Bytes::from_static(b"LED on"))
        );
        assert_eq!(
            bytes_method(&b, "upper", &[], &[]).unwrap(),
            Value::Bytes(Bytes::from_static(b"  LED ON\r\n"))
        );
        assert_eq!(
            bytes_method(&Bytes::from_static(b"\x01\xff"), "hex", &[], &[]).unwrap(),
            s("01ff")
        );
        assert_eq!(
            bytes_method(
                &b,
                "endswith",
                &[Value::Bytes(Bytes::from_static(b"\n"))],
                &[]
            )
            .unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            bytes_method(&b, "startswith", &[s("x")], &[])
                .unwrap_err()
                .headline(),
            "TypeError: startswith first arg must be bytes or a tuple of bytes, not str"
        );
        assert_eq!(str_method("Hi", "lower", &[], &[]).unwrap(), s("hi"));
        assert_eq!(
            str_method("Hi", "lower", &[s("x")], &[])
                .unwrap_err()
                .headline(),
            "TypeError: lower() takes no arguments (1 given)"
        );
    }
}
