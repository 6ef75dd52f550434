//! `str()`, `int()`, `bytes()` and `repr()`: the conversions socket code
//! reaches for (`int(data)`, `str(data, 'utf-8')`, `bytes(1000)`).

use bytes::Bytes;

use super::arith::MAX_BYTES;
use super::calls::{Kwargs, arity, params};
use super::error::LangError;
use super::textmeth::{bytes_method, str_method};
use super::value::{SockRepr, Value};
use crate::engine::Note;

fn memory() -> LangError {
    LangError::noted("MemoryError", Note::new("lang.over_64mib"))
}

pub fn convert(f: &str, a: &[Value], kw: &Kwargs, sock: SockRepr) -> Result<Value, LangError> {
    match f {
        "repr" => {
            arity(f, a, kw, 1, 1)?;
            guard_size(&a[0])?;
            Ok(Value::Str(a[0].repr(sock)))
        }
        "str" => {
            let p = params(f, &["object", "encoding", "errors"], a, kw)?;
            match (&p[0], p[1].is_some() || p[2].is_some()) {
                (None, _) => Ok(Value::Str(String::new())),
                (Some(Value::Bytes(b)), true) => {
                    let mut k: Vec<(String, Value)> = Vec::new();
                    if let Some(e) = &p[1] {
                        k.push(("encoding".into(), e.clone()));
                    }
                    if let Some(e) = &p[2] {
                        k.push(("errors".into(), e.clone()));
                    }
                    bytes_method(b, "decode", &[], &k)
                }
                (Some(v), true) => Err(LangError::type_error(format!(
                    "decoding to str: need a bytes-like object, {} found",
                    v.type_name()
                ))),
                (Some(Value::Str(s)), false) => Ok(Value::Str(s.clone())),
                (Some(v), false) => {
                    guard_size(v)?;
                    Ok(Value::Str(v.repr(sock)))
                }
            }
        }
        "int" => {
            let p = params(f, &["x", "base"], a, kw)?;
            let base = match &p[1] {
                None => None,
                Some(Value::Int(b)) if *b == 0 || (2..=36).contains(b) => Some(*b as u32),
                Some(Value::Int(_)) => {
                    return Err(LangError::value_error(
                        "int() base must be >= 2 and <= 36, or 0",
                    ));
                }
                Some(v) => {
                    return Err(LangError::type_error(format!(
                        "'{}' object cannot be interpreted as an integer",
                        v.type_name()
                    )));
                }
            };
            int_of(p[0].as_ref().unwrap_or(&Value::Int(0)), base, sock)
        }
        _ => {
            // bytes()
            let p = params(f, &["source", "encoding", "errors"], a, kw)?;
            match (&p[0], p[1].is_some()) {
                (None, _) => Ok(Value::Bytes(Bytes::new())),
                (Some(Value::Str(s)), true) => {
                    let k: Vec<(String, Value)> = [("encoding", &p[1]), ("errors", &p[2])]
                        .into_iter()
                        .filter_map(|(n, v)| v.clone().map(|v| (n.to_string(), v)))
                        .collect();
                    str_method(s, "encode", &[], &k)
                }
                (Some(Value::Str(_)), false) => {
                    Err(LangError::type_error("string argument without an encoding")
                        .explained(Note::new("lang.hint_encoding")))
                }
                (Some(_), true) => Err(LangError::type_error("encoding without a string argument")),
                (Some(Value::Int(n)), false) => {
                    if *n < 0 {
                        return Err(LangError::value_error("negative count"));
                    }
                    if *n as u64 > MAX_BYTES as u64 {
                        return Err(memory());
                    }
                    Ok(Value::Bytes(Bytes::from(vec![0u8; *n as usize])))
                }
                (Some(Value::Bytes(b)), false) => Ok(Value::Bytes(b.clone())),
                (Some(Value::List(items) | Value::Tuple(items)), false) => {
                    let mut out = Vec::with_capacity(items.len());
                    for x in items {
                        match x {
                            Value::Int(i) if (0..256).contains(i) => out.push(*i as u8),
                            Value::Int(_) => {
                                return Err(LangError::value_error(
                                    "bytes must be in range(0, 256)",
                                ));
                            }
                            v => {
                                return Err(LangError::type_error(format!(
                                    "'{}' object cannot be interpreted as an integer",
                                    v.type_name()
                                )));
                            }
                        }
                    }
                    Ok(Value::Bytes(Bytes::from(out)))
                }
                (Some(v), false) => Err(LangError::type_error(format!(
                    "cannot convert '{}' object to bytes",
                    v.type_name()
                ))),
            }
        }
    }
}

/// Refuse a repr that would be over the limit, before building it: a repr
/// can be four times the value (`\xNN`), and a list repeats its items' reprs.
fn guard_size(v: &Value) -> Result<(), LangError> {
    let bound = v.repr_bound();
    if bound > MAX_BYTES as u128 {
        return Err(LangError::noted(
            "MemoryError",
            Note::new("lang.repr_too_big").with("bound", bound),
        ));
    }
    Ok(())
}

fn int_of(v: &Value, base: Option<u32>, sock: SockRepr) -> Result<Value, LangError> {
    let text = match v {
        Value::Int(i) if base.is_none() => return Ok(Value::Int(*i)),
        Value::Bool(b) if base.is_none() => return Ok(Value::Int(i64::from(*b))),
        Value::Float(f) if base.is_none() => {
            if f.is_nan() {
                return Err(LangError::value_error(
                    "cannot convert float NaN to integer",
                ));
            }
            if f.is_infinite() || f.abs() >= 9.2e18 {
                return Err(LangError::noted(
                    "OverflowError",
                    Note::new("lang.float_too_big"),
                ));
            }
            return Ok(Value::Int(f.trunc() as i64));
        }
        Value::Str(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        _ if base.is_some() => {
            return Err(LangError::type_error(
                "int() can't convert non-string with explicit base",
            ));
        }
        other => {
            return Err(LangError::type_error(format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                other.type_name()
            )));
        }
    };
    let bad = || {
        let shown = if text.len() > 60 {
            Value::Str(text.chars().take(60).collect())
        } else {
            v.clone()
        };
        LangError::value_error(format!(
            "invalid literal for int() with base {}: {}",
            base.unwrap_or(10),
            shown.repr(sock)
        ))
    };
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut base = base.unwrap_or(10);
    let lower = t.to_ascii_lowercase();
    let mut digits = lower.as_str();
    for (p, b) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if (base == 0 || base == b)
            && let Some(rest) = digits.strip_prefix(p)
        {
            digits = rest.strip_prefix('_').unwrap_or(rest);
            base = b;
        }
    }
    if base == 0 {
        base = 10;
    }
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return Err(bad());
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let n = i64::from_str_radix(&clean, base).map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            LangError::noted("OverflowError", Note::new("lang.int_too_big"))
        }
        _ => bad(),
    })?;
    Ok(Value::Int(if neg { -n } else { n }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(id: u32) -> String {
        format!("<socket #{id}>")
    }

    fn c(f: &str, a: &[Value]) -> Result<Value, String> {
        convert(f, a, &[], &plain).map_err(|e| e.headline())
    }

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    fn b(x: &[u8]) -> Value {
        Value::Bytes(Bytes::copy_from_slice(x))
    }

    #[test]
    fn conversions_match_python() {
        assert_eq!(c("int", &[b(b" 42\n")]), Ok(Value::Int(42)));
        assert_eq!(c("int", &[s("-0x1f"), Value::Int(0)]), Ok(Value::Int(-31)));
        assert_eq!(c("int", &[s("ff"), Value::Int(16)]), Ok(Value::Int(255)));
        assert_eq!(c("int", &[Value::Float(-2.7)]), Ok(Value::Int(-2)));
        assert_eq!(
            c("int", &[s("abc")]),
            Err("ValueError: invalid literal for int() with base 10: 'abc'".into())
        );
        assert_eq!(
            c("int", &[b(b"x")]),
            Err("ValueError: invalid literal for int() with base 10: b'x'".into())
        );
        assert_eq!(c("str", &[b(b"hi")]), Ok(s("b'hi'")));
        assert_eq!(c("str", &[b(b"hi"), s("utf-8")]), Ok(s("hi")));
        assert_eq!(c("str", &[Value::Int(5)]), Ok(s("5")));
        assert_eq!(c("repr", &[s("a")]), Ok(s("'a'")));
        assert_eq!(c("bytes", &[Value::Int(3)]), Ok(b(b"\0\0\0")));
        assert_eq!(c("bytes", &[s("hé"), s("utf-8")]), Ok(b("hé".as_bytes())));
        assert_eq!(
            c(
                "bytes",
                &[Value::List(vec![Value::Int(72), Value::Int(105)])]
            ),
            Ok(b(b"Hi"))
        );
        assert_eq!(
            c("bytes", &[s("x")]),
            Err("TypeError: string argument without an encoding — write bytes(text, 'utf-8') or text.encode()".into())
        );
        assert_eq!(
            c("bytes", &[Value::List(vec![Value::Int(256)])]),
            Err("ValueError: bytes must be in range(0, 256)".into())
        );
        assert_eq!(
            c("bytes", &[Value::Int(i64::MAX)]).unwrap_err(),
            "MemoryError: over socklab's limit of 64 MiB"
        );
    }
}
