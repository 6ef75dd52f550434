//! `+ - * / // %`, indexing and slicing, with Python's results and errors.

use bytes::Bytes;

use super::ast::BinOp;
use super::error::LangError;
use super::value::Value;
use crate::engine::Note;

/// Largest bytes or str value the lab builds (64 MiB).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Most values one tuple or list may be made of, counting everything
/// nested inside it (`[[1, 2]] * 3` is 10: three lists of two, and the outer one).
pub const MAX_ITEMS: usize = 100_000;
/// Deepest lists and tuples may nest (Python's repr gives up near 1000).
pub const MAX_NEST: usize = 100;

/// The error for a list or tuple of `n` values, before it is built.
pub fn too_many(n: u128) -> LangError {
    LangError::noted(
        "MemoryError",
        Note::new("lang.too_many_items")
            .with("n", n)
            .with("max", MAX_ITEMS),
    )
}

/// The error for lists or tuples nested `depth` deep.
pub fn too_deep(depth: usize) -> LangError {
    LangError::noted(
        "RecursionError",
        Note::new("lang.too_deep")
            .with("depth", depth)
            .with("max", MAX_NEST),
    )
}

/// Values a list or tuple of `items` is made of.
fn nodes_of(items: &[Value]) -> u128 {
    1 + items.iter().map(|v| v.nodes() as u128).sum::<u128>()
}

/// `ty` is the value's type: `bytes` or `str`.
fn too_big(len: u128, ty: &str) -> LangError {
    LangError::noted(
        "MemoryError",
        Note::new("lang.value_too_big")
            .with("type", ty)
            .with("len", len),
    )
}

fn overflow() -> LangError {
    LangError::noted("OverflowError", Note::new("lang.int_result_too_big"))
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn float_of(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(*f),
        v => int_of(v).map(|i| i as f64),
    }
}

fn unsupported(op: BinOp, a: &Value, b: &Value) -> LangError {
    LangError::type_error(format!(
        "unsupported operand type(s) for {}: '{}' and '{}'",
        op.symbol(),
        a.type_name(),
        b.type_name()
    ))
}

pub fn binop(op: BinOp, a: &Value, b: &Value) -> Result<Value, LangError> {
    if let (Some(x), Some(y)) = (int_of(a), int_of(b)) {
        return int_op(op, x, y);
    }
    let numeric = matches!(a, Value::Int(_) | Value::Bool(_) | Value::Float(_))
        && matches!(b, Value::Int(_) | Value::Bool(_) | Value::Float(_));
    if numeric {
        return float_op(op, float_of(a).unwrap_or(0.0), float_of(b).unwrap_or(0.0));
    }
    match op {
        BinOp::Add => concat(a, b),
        BinOp::Mul => match (a, b) {
            (seq, n) | (n, seq) if int_of(n).is_some() && is_seq(seq) => {
                repeat(seq, int_of(n).unwrap_or(0))
            }
            (seq, other) | (other, seq) if is_seq(seq) => Err(LangError::type_error(format!(
                "can't multiply sequence by non-int of type '{}'",
                other.type_name()
            ))),
            _ => Err(unsupported(op, a, b)),
        },
        BinOp::Mod if matches!(a, Value::Str(_) | Value::Bytes(_)) => Err(LangError::lab_note(
            crate::engine::Note::new("lang.no_percent_format"),
        )),
        _ => Err(unsupported(op, a, b)),
    }
}

fn is_seq(v: &Value) -> bool {
    matches!(
        v,
        Value::Str(_) | Value::Bytes(_) | Value::Tuple(_) | Value::List(_)
    )
}

fn int_op(op: BinOp, x: i64, y: i64) -> Result<Value, LangError> {
    let zero = |msg: &str| Err(LangError::new("ZeroDivisionError", msg));
    let v = match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        BinOp::Div => {
            if y == 0 {
                return zero("division by zero");
            }
            return Ok(Value::Float(x as f64 / y as f64));
        }
        BinOp::FloorDiv => {
            if y == 0 {
                return zero("integer division or modulo by zero");
            }
            x.checked_div(y).map(|q| {
                // Python floors toward negative infinity.
                if x % y != 0 && ((x < 0) != (y < 0)) {
                    q - 1
                } else {
                    q
                }
            })
        }
        BinOp::Mod => {
            if y == 0 {
                return zero("integer modulo by zero");
            }
            x.checked_rem(y).map(|r| {
                if r != 0 && ((r < 0) != (y < 0)) {
                    r + y
                } else {
                    r
                }
            })
        }
    };
    v.map(Value::Int).ok_or_else(overflow)
}

fn float_op(op: BinOp, x: f64, y: f64) -> Result<Value, LangError> {
    let zero = |msg: &str| Err(LangError::new("ZeroDivisionError", msg));
    Ok(Value::Float(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div if y == 0.0 => return zero("float division by zero"),
        BinOp::Div => x / y,
        BinOp::FloorDiv if y == 0.0 => return zero("float floor division by zero"),
        BinOp::FloorDiv => (x / y).floor(),
        BinOp::Mod if y == 0.0 => return zero("float modulo by zero"),
        BinOp::Mod => x - y * (x / y).floor(),
    }))
}

fn concat(a: &Value, b: &Value) -> Result<Value, LangError> {
    match (a, b) {
        (Value::Bytes(x), Value::Bytes(y)) => {
            let n = x.len() + y.len();
            if n > MAX_BYTES {
                return Err(too_big(n as u128, "bytes"));
            }
            let mut v = Vec::with_capacity(n);
            v.extend_from_slice(x);
            v.extend_from_slice(y);
            Ok(Value::Bytes(Bytes::from(v)))
        }
        (Value::Str(x), Value::Str(y)) => {
            if x.len() + y.len() > MAX_BYTES {
                return Err(too_big((x.len() + y.len()) as u128, "str"));
            }
            Ok(Value::Str(format!("{x}{y}")))
        }
        (Value::Tuple(x), Value::Tuple(y)) | (Value::List(x), Value::List(y)) => {
            let n = nodes_of(x) + nodes_of(y) - 1;
            if n > MAX_ITEMS as u128 {
                return Err(too_many(n));
            }
            let v: Vec<Value> = x.iter().chain(y).cloned().collect();
            Ok(if matches!(a, Value::Tuple(_)) {
                Value::Tuple(v)
            } else {
                Value::List(v)
            })
        }
        (Value::Bytes(_), other) => {
            let e = LangError::type_error(format!("can't concat {} to bytes", other.type_name()));
            Err(if matches!(other, Value::Str(_)) {
                e.explained(Note::new("lang.hint_bytes_literal"))
            } else {
                e
            })
        }
        (Value::Str(_) | Value::Tuple(_) | Value::List(_), other) => {
            Err(LangError::type_error(format!(
                "can only concatenate {} (not \"{}\") to {}",
                a.type_name(),
                other.type_name(),
                a.type_name()
            )))
        }
        _ => Err(unsupported(BinOp::Add, a, b)),
    }
}

fn repeat(seq: &Value, n: i64) -> Result<Value, LangError> {
    let n = usize::try_from(n.max(0)).unwrap_or(0);
    match seq {
        Value::Bytes(b) => {
            let total = (b.len() as u128) * (n as u128);
            if total > MAX_BYTES as u128 {
                return Err(too_big(total, "bytes"));
            }
            Ok(Value::Bytes(Bytes::from(b.repeat(n))))
        }
        Value::Str(s) => {
            let total = (s.len() as u128) * (n as u128);
            if total > MAX_BYTES as u128 {
                return Err(too_big(total, "str"));
            }
            Ok(Value::Str(s.repeat(n)))
        }
        Value::Tuple(v) | Value::List(v) => {
            let total = (nodes_of(v) - 1) * (n as u128) + 1;
            if total > MAX_ITEMS as u128 {
                return Err(too_many(total));
            }
            // `() * 2**62` must not spin through 2**62 empty rounds.
            let n = if v.is_empty() { 0 } else { n };
            let out: Vec<Value> = (0..n).flat_map(|_| v.iter().cloned()).collect();
            Ok(if matches!(seq, Value::Tuple(_)) {
                Value::Tuple(out)
            } else {
                Value::List(out)
            })
        }
        _ => Err(LangError::type_error("can't multiply")),
    }
}

pub fn negate(v: &Value, neg: bool) -> Result<Value, LangError> {
    match (v, int_of(v)) {
        (_, Some(i)) if neg => i.checked_neg().map(Value::Int).ok_or_else(overflow),
        (_, Some(i)) => Ok(Value::Int(i)),
        (Value::Float(f), _) => Ok(Value::Float(if neg { -f } else { *f })),
        _ => Err(LangError::type_error(format!(
            "bad operand type for unary {}: '{}'",
            if neg { "-" } else { "+" },
            v.type_name()
        ))),
    }
}

/// Items of something that can be unpacked or indexed.
fn len_of(v: &Value) -> Option<usize> {
    match v {
        Value::Str(s) => Some(s.chars().count()),
        Value::Bytes(b) => Some(b.len()),
        Value::Tuple(x) | Value::List(x) => Some(x.len()),
        _ => None,
    }
}

pub fn index(obj: &Value, idx: &Value) -> Result<Value, LangError> {
    let Some(len) = len_of(obj) else {
        return Err(LangError::type_error(format!(
            "'{}' object is not subscriptable",
            obj.type_name()
        )));
    };
    let Some(i) = int_of(idx) else {
        return Err(LangError::type_error(match obj {
            Value::Str(_) => format!("string indices must be integers, not '{}'", idx.type_name()),
            Value::Bytes(_) => format!(
                "byte indices must be integers or slices, not {}",
                idx.type_name()
            ),
            _ => format!(
                "{} indices must be integers or slices, not {}",
                obj.type_name(),
                idx.type_name()
            ),
        }));
    };
    let len = len as i64;
    let j = if i < 0 { i + len } else { i };
    if j < 0 || j >= len {
        return Err(LangError::new(
            "IndexError",
            match obj {
                Value::Str(_) => "string index out of range".to_string(),
                Value::Bytes(_) => "index out of range".to_string(),
                _ => format!("{} index out of range", obj.type_name()),
            },
        ));
    }
    let j = j as usize;
    Ok(match obj {
        Value::Str(s) => Value::Str(s.chars().nth(j).map(String::from).unwrap_or_default()),
        Value::Bytes(b) => Value::Int(i64::from(b[j])),
        Value::Tuple(x) | Value::List(x) => x[j].clone(),
        _ => Value::None,
    })
}

pub fn slice(obj: &Value, lo: Option<&Value>, hi: Option<&Value>) -> Result<Value, LangError> {
    let Some(len) = len_of(obj) else {
        return Err(LangError::type_error(format!(
            "'{}' object is not subscriptable",
            obj.type_name()
        )));
    };
    let bound = |v: Option<&Value>, default: usize| -> Result<usize, LangError> {
        match v {
            None | Some(Value::None) => Ok(default),
            Some(v) => {
                let i = int_of(v).ok_or_else(|| {
                    LangError::type_error(
                        "slice indices must be integers or None or have an __index__ method",
                    )
                })?;
                let i = if i < 0 {
                    i.saturating_add(len as i64)
                } else {
                    i
                };
                Ok(i.clamp(0, len as i64) as usize)
            }
        }
    };
    let a = bound(lo, 0)?;
    let b = bound(hi, len)?.max(a);
    Ok(match obj {
        Value::Str(s) => Value::Str(s.chars().skip(a).take(b - a).collect()),
        // A copy, so a small slice does not keep a big buffer alive.
        Value::Bytes(x) => Value::Bytes(Bytes::copy_from_slice(&x[a..b])),
        Value::Tuple(x) => Value::Tuple(x[a..b].to_vec()),
        Value::List(x) => Value::List(x[a..b].to_vec()),
        _ => Value::None,
    })
}

/// Unpack for `a, b = value`.
pub fn unpack(v: &Value, want: usize) -> Result<Vec<Value>, LangError> {
    let items: Vec<Value> = match v {
        Value::Tuple(x) | Value::List(x) => x.clone(),
        Value::Bytes(b) if b.len() <= MAX_ITEMS => {
            b.iter().map(|x| Value::Int(i64::from(*x))).collect()
        }
        Value::Str(s) if s.len() <= MAX_ITEMS => {
            s.chars().map(|c| Value::Str(c.to_string())).collect()
        }
        Value::Bytes(_) | Value::Str(_) => {
            return Err(LangError::value_error(format!(
                "too many values to unpack (expected {want})"
            )));
        }
        other => {
            return Err(LangError::type_error(format!(
                "cannot unpack non-iterable {} object",
                other.type_name()
            )));
        }
    };
    if items.len() > want {
        return Err(LangError::value_error(format!(
            "too many values to unpack (expected {want})"
        )));
    }
    if items.len() < want {
        return Err(LangError::value_error(format!(
            "not enough values to unpack (expected {want}, got {})",
            items.len()
        )));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Value {
        Value::Bytes(Bytes::copy_from_slice(s))
    }

    #[test]
    fn int_arithmetic_is_pythons() {
        let i = Value::Int;
        assert_eq!(binop(BinOp::FloorDiv, &i(-7), &i(2)).unwrap(), i(-4));
        assert_eq!(binop(BinOp::Mod, &i(-7), &i(2)).unwrap(), i(1));
        assert_eq!(binop(BinOp::Div, &i(7), &i(2)).unwrap(), Value::Float(3.5));
        assert_eq!(
            binop(BinOp::Mul, &i(i64::MAX), &i(2))
                .unwrap_err()
                .headline(),
            "OverflowError: integer result too large — socklab ints are 64-bit"
        );
        assert_eq!(
            binop(BinOp::FloorDiv, &i(1), &i(0)).unwrap_err().headline(),
            "ZeroDivisionError: integer division or modulo by zero"
        );
        assert_eq!(
            binop(BinOp::FloorDiv, &i(i64::MIN), &i(-1))
                .unwrap_err()
                .exc,
            "OverflowError"
        );
    }

    #[test]
    fn bytes_and_str_operations() {
        assert_eq!(
            binop(BinOp::Mul, &b(b"ab"), &Value::Int(3)).unwrap(),
            b(b"ababab")
        );
        assert_eq!(
            binop(BinOp::Mul, &Value::Int(2), &b(b"x")).unwrap(),
            b(b"xx")
        );
        assert_eq!(
            binop(BinOp::Mul, &b(b"x"), &Value::Int(-1)).unwrap(),
            b(b"")
        );
        assert_eq!(binop(BinOp::Add, &b(b"a"), &b(b"b")).unwrap(), b(b"ab"));
        assert_eq!(
            binop(BinOp::Add, &b(b"a"), &Value::Str("b".into()))
                .unwrap_err()
                .headline(),
            "TypeError: can't concat str to bytes — write b'…' or use .encode()"
        );
        assert_eq!(
            binop(BinOp::Add, &Value::Str("a".into()), &b(b"b"))
                .unwrap_err()
                .headline(),
            "TypeError: can only concatenate str (not \"bytes\") to str"
        );
        assert_eq!(
            binop(BinOp::Add, &Value::Int(1), &Value::Str("a".into()))
                .unwrap_err()
                .headline(),
            "TypeError: unsupported operand type(s) for +: 'int' and 'str'"
        );
        assert_eq!(
            binop(BinOp::Mul, &b(b"x"), &b(b"y"))
                .unwrap_err()
                .headline(),
            "TypeError: can't multiply sequence by non-int of type 'bytes'"
        );
    }

    #[test]
    fn size_limits_are_errors_not_allocations() {
        let e = binop(BinOp::Mul, &b(b"x"), &Value::Int(i64::MAX)).unwrap_err();
        assert_eq!(e.exc, "MemoryError");
        assert!(e.message.contains("64 MiB"), "{}", e.message);
        let e = binop(
            BinOp::Mul,
            &Value::Tuple(vec![Value::None]),
            &Value::Int(1 << 40),
        )
        .unwrap_err();
        assert_eq!(e.exc, "MemoryError");
        assert!(binop(BinOp::Mul, &b(b"x"), &Value::Int(MAX_BYTES as i64)).is_ok());
        let max = Value::Int(i64::MAX);
        assert_eq!(
            binop(BinOp::Mul, &Value::Tuple(vec![]), &max).unwrap(),
            Value::Tuple(vec![])
        );
        assert_eq!(
            binop(BinOp::Mul, &max, &Value::List(vec![])).unwrap(),
            Value::List(vec![])
        );
        assert_eq!(binop(BinOp::Mul, &b(b""), &max).unwrap(), b(b""));
        assert_eq!(
            binop(BinOp::Mul, &Value::Str(String::new()), &max).unwrap(),
            Value::Str(String::new())
        );
    }

    #[test]
    fn index_slice_unpack() {
        let t = Value::Tuple(vec![Value::Str("h".into()), Value::Int(9)]);
        assert_eq!(index(&t, &Value::Int(-1)).unwrap(), Value::Int(9));
        assert_eq!(
            index(&t, &Value::Int(2)).unwrap_err().headline(),
            "IndexError: tuple index out of range"
        );
        assert_eq!(index(&b(b"AB"), &Value::Int(0)).unwrap(), Value::Int(65));
        assert_eq!(
            slice(&b(b"hello"), Some(&Value::Int(1)), Some(&Value::Int(-1))).unwrap(),
            b(b"ell")
        );
        assert_eq!(
            slice(&b(b"hi"), Some(&Value::Int(5)), None).unwrap(),
            b(b"")
        );
        assert_eq!(
            unpack(&t, 3).unwrap_err().headline(),
            "ValueError: not enough values to unpack (expected 3, got 2)"
        );
        assert_eq!(
            unpack(&t, 1).unwrap_err().headline(),
            "ValueError: too many values to unpack (expected 1)"
        );
        assert_eq!(
            unpack(&Value::Int(5), 2).unwrap_err().headline(),
            "TypeError: cannot unpack non-iterable int object"
        );
    }
}
