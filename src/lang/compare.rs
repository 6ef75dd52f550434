//! Comparisons as Python has them: `==` `!=` `<` `<=` `>` `>=` `in`
//! `not in` `is` `is not`, with Python's results and errors.

use std::cmp::Ordering;

use super::ast::CmpOp;
use super::error::LangError;
use super::value::Value;

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Bool(b) => Some(*b as i64 as f64),
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Bool(b) => Some(*b as i64),
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

/// Python's `a == b`.
pub fn equal(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (int(a), int(b)) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return x == y;
    }
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::Tuple(x), Value::Tuple(y)) | (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Socket(x), Value::Socket(y)) => x == y,
        (Value::Builtin(x), Value::Builtin(y)) => x == y,
        _ => false,
    }
}

/// Python's ordering of `a` and `b`, or the TypeError it raises.
fn order(op: CmpOp, a: &Value, b: &Value) -> Result<Option<Ordering>, LangError> {
    if let (Some(x), Some(y)) = (int(a), int(b)) {
        return Ok(Some(x.cmp(&y)));
    }
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return Ok(x.partial_cmp(&y));
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(Some(x.cmp(y))),
        (Value::Bytes(x), Value::Bytes(y)) => Ok(Some(x.cmp(y))),
        (Value::Tuple(x), Value::Tuple(y)) | (Value::List(x), Value::List(y)) => {
            for (p, q) in x.iter().zip(y) {
                if !equal(p, q) {
                    return order(op, p, q);
                }
            }
            Ok(Some(x.len().cmp(&y.len())))
        }
        _ => Err(LangError::type_error(format!(
            "'{}' not supported between instances of '{}' and '{}'",
            op.symbol(),
            a.type_name(),
            b.type_name()
        ))),
    }
}

/// `needle in hay`.
fn contains(needle: &Value, hay: &Value) -> Result<bool, LangError> {
    match hay {
        Value::Str(h) => match needle {
            Value::Str(n) => Ok(h.contains(n.as_str())),
            other => Err(LangError::type_error(format!(
                "'in <string>' requires string as left operand, not {}",
                other.type_name()
            ))),
        },
        Value::Bytes(h) => match needle {
            Value::Bytes(n) => Ok(n.is_empty() || h.windows(n.len()).any(|w| w == &n[..])),
            Value::Int(_) | Value::Bool(_) => {
                let i = int(needle).unwrap_or(0);
                if !(0..256).contains(&i) {
                    return Err(LangError::new(
                        "ValueError",
                        "byte must be in range(0, 256)",
                    ));
                }
                Ok(h.contains(&(i as u8)))
            }
            other => Err(LangError::type_error(format!(
                "a bytes-like object is required, not '{}'",
                other.type_name()
            ))),
        },
        Value::Tuple(items) | Value::List(items) => Ok(items.iter().any(|v| equal(needle, v))),
        other => Err(LangError::type_error(format!(
            "argument of type '{}' is not iterable",
            other.type_name()
        ))),
    }
}

/// `a is b`: socklab knows the identity of None, True, False, sockets and
/// built-ins; other values have no identity it could report truly.
fn same(a: &Value, b: &Value) -> Result<bool, LangError> {
    let known = |v: &Value| {
        matches!(
            v,
            Value::None | Value::Bool(_) | Value::Socket(_) | Value::Builtin(_)
        )
    };
    if known(a) || known(b) {
        return Ok(match (a, b) {
            (Value::None, Value::None) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Socket(x), Value::Socket(y)) => x == y,
            (Value::Builtin(x), Value::Builtin(y)) => x == y,
            _ => false,
        });
    }
    Err(LangError::lab_note(
        crate::engine::Note::new("lang.is_compare").with("type", a.type_name()),
    ))
}

/// One comparison `a op b`.
pub fn compare(op: CmpOp, a: &Value, b: &Value) -> Result<bool, LangError> {
    Ok(match op {
        CmpOp::Eq => equal(a, b),
        CmpOp::Ne => !equal(a, b),
        CmpOp::In => contains(a, b)?,
        CmpOp::NotIn => !contains(a, b)?,
        CmpOp::Is => same(a, b)?,
        CmpOp::IsNot => !same(a, b)?,
        CmpOp::Lt => order(op, a, b)? == Some(Ordering::Less),
        CmpOp::Le => matches!(order(op, a, b)?, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => order(op, a, b)? == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order(op, a, b)?, Some(Ordering::Greater | Ordering::Equal)),
    })
}
