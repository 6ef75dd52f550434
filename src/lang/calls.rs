//! Checking the arguments of calls as Python does, and turning socket calls
//! into engine [`Op`]s. Everything here is pure.

use bytes::Bytes;

use super::error::LangError;
use super::value::Value;
use crate::engine::{AddrArg, Family, Op, OptVal, SockId};

pub type Kwargs = [(String, Value)];

/// `recv() takes at most 2 arguments (3 given)` and friends.
pub fn arity(
    f: &str,
    args: &[Value],
    kwargs: &Kwargs,
    min: usize,
    max: usize,
) -> Result<(), LangError> {
    if !kwargs.is_empty() {
        return Err(LangError::type_error(format!(
            "{f}() takes no keyword arguments"
        )));
    }
    let n = args.len();
    if (min..=max).contains(&n) {
        return Ok(());
    }
    let plural = |k: usize| if k == 1 { "argument" } else { "arguments" };
    Err(LangError::type_error(match (min == max, n > max) {
        (true, _) if max == 0 => format!("{f}() takes no arguments ({n} given)"),
        (true, _) if max == 1 => format!("{f}() takes exactly one argument ({n} given)"),
        (true, _) => format!("{f}() takes exactly {max} arguments ({n} given)"),
        (false, true) => format!("{f}() takes at most {max} {} ({n} given)", plural(max)),
        (false, false) => format!("{f}() takes at least {min} {} ({n} given)", plural(min)),
    }))
}

/// Match positional and keyword arguments to named parameters.
pub fn params(
    f: &str,
    names: &[&str],
    args: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Option<Value>>, LangError> {
    if args.len() > names.len() {
        return Err(LangError::type_error(format!(
            "{f}() takes at most {} arguments ({} given)",
            names.len(),
            args.len()
        )));
    }
    let mut out: Vec<Option<Value>> = names.iter().map(|_| None).collect();
    for (slot, a) in out.iter_mut().zip(args) {
        *slot = Some(a.clone());
    }
    for (k, v) in kwargs {
        let Some(i) = names.iter().position(|n| n == k) else {
            return Err(LangError::type_error(format!(
                "{f}() got an unexpected keyword argument '{k}'"
            )));
        };
        if out[i].is_some() {
            return Err(LangError::type_error(format!(
                "{f}() got multiple values for argument '{k}'"
            )));
        }
        out[i] = Some(v.clone());
    }
    Ok(out)
}

pub fn int_arg(v: &Value) -> Result<i64, LangError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        other => Err(LangError::type_error(format!(
            "'{}' object cannot be interpreted as an integer",
            other.type_name()
        ))),
    }
}

/// An argument Python passes to C as an `int`: out of range is OverflowError.
pub fn c_int_arg(v: &Value) -> Result<i64, LangError> {
    let i = int_arg(v)?;
    if i > i64::from(i32::MAX) {
        return Err(LangError::new(
            "OverflowError",
            "signed integer is greater than maximum",
        ));
    }
    if i < i64::from(i32::MIN) {
        return Err(LangError::new(
            "OverflowError",
            "signed integer is less than minimum",
        ));
    }
    Ok(i)
}

pub fn bytes_arg(v: &Value) -> Result<Bytes, LangError> {
    match v {
        Value::Bytes(b) => Ok(b.clone()),
        Value::Str(_) => Err(
            LangError::type_error("a bytes-like object is required, not 'str'")
                .explained(crate::engine::Note::new("lang.hint_bytes_literal")),
        ),
        other => Err(LangError::type_error(format!(
            "a bytes-like object is required, not '{}'",
            other.type_name()
        ))),
    }
}

fn seconds(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// `("127.0.0.1", 9000)` for an AF_INET socket, `("::1", 9000[, flow, scope])` for AF_INET6.
pub fn addr_arg(f: &str, family: Family, v: &Value) -> Result<AddrArg, LangError> {
    let fam = match family {
        Family::V4 => "AF_INET",
        Family::V6 => "AF_INET6",
    };
    let Value::Tuple(items) = v else {
        return Err(LangError::type_error(format!(
            "{f}(): {fam} address must be tuple, not {}",
            v.type_name()
        )));
    };
    let ok_len = match family {
        Family::V4 => items.len() == 2,
        Family::V6 => (2..=4).contains(&items.len()),
    };
    if !ok_len {
        return Err(LangError::type_error(match family {
            Family::V4 => "AF_INET address must be a pair (host, port)".to_string(),
            Family::V6 => {
                "AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])".to_string()
            }
        }));
    }
    let host = match &items[0] {
        Value::Str(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => {
            return Err(LangError::type_error(format!(
                "str, bytes or bytearray expected, not {}",
                other.type_name()
            )));
        }
    };
    let port = int_arg(&items[1])?;
    if !(0..=65535).contains(&port) {
        return Err(LangError::new(
            "OverflowError",
            format!("{f}(): port must be 0-65535."),
        ));
    }
    for extra in &items[2..] {
        int_arg(extra)?;
    }
    Ok(AddrArg { host, port })
}

fn timeout_arg(v: &Value, what: &str) -> Result<Option<f64>, LangError> {
    if *v == Value::None {
        return Ok(None);
    }
    let Some(t) = seconds(v) else {
        return Err(LangError::type_error(format!(
            "'{}' object cannot be interpreted as an integer or float",
            v.type_name()
        )));
    };
    if t < 0.0 || t.is_nan() {
        return Err(LangError::value_error(what.to_string()));
    }
    // Python keeps timeouts as 64-bit nanoseconds.
    if t * 1e9 >= i64::MAX as f64 {
        return Err(LangError::new(
            "OverflowError",
            "timestamp too large to convert to C _PyTime_t",
        ));
    }
    Ok(Some(t))
}

/// `socket(family=AF_INET, type=SOCK_STREAM, proto=0)`.
pub fn socket_op(args: &[Value], kwargs: &Kwargs) -> Result<Op, LangError> {
    let p = params(
        "socket",
        &["family", "type", "proto", "fileno"],
        args,
        kwargs,
    )?;
    if p[3].as_ref().is_some_and(|v| *v != Value::None) {
        return Err(LangError::lab_note(crate::engine::Note::new(
            "lang.no_fileno",
        )));
    }
    // -1 means the default, as in CPython.
    let get = |i: usize, default: i64| {
        p[i].as_ref()
            .map_or(Ok(default), c_int_arg)
            .map(|v| if v == -1 { default } else { v })
    };
    Ok(Op::Socket {
        family: get(0, 2)?,
        ty: get(1, 1)?,
        proto: get(2, 0)?,
    })
}

/// `select(rlist, wlist, xlist[, timeout])`.
pub fn select_op(args: &[Value], kwargs: &Kwargs) -> Result<Op, LangError> {
    if !kwargs.is_empty() {
        return Err(LangError::type_error("select() takes no keyword arguments"));
    }
    if args.len() < 3 {
        return Err(LangError::type_error(format!(
            "select expected at least 3 arguments, got {}",
            args.len()
        )));
    }
    if args.len() > 4 {
        return Err(LangError::type_error(format!(
            "select expected at most 4 arguments, got {}",
            args.len()
        )));
    }
    let list = |v: &Value| -> Result<Vec<SockId>, LangError> {
        let (Value::List(items) | Value::Tuple(items)) = v else {
            return Err(LangError::type_error("arguments 1-3 must be sequences"));
        };
        items
            .iter()
            .map(|x| match x {
                Value::Socket(s) => Ok(*s),
                _ => Err(LangError::type_error(
                    "argument must be an int, or have a fileno() method.",
                )),
            })
            .collect()
    };
    let timeout = match args.get(3) {
        Some(v) => timeout_arg(v, "timeout must be non-negative")?,
        None => None,
    };
    Ok(Op::Select {
        rlist: list(&args[0])?,
        wlist: list(&args[1])?,
        xlist: list(&args[2])?,
        timeout,
    })
}

/// A method call on a socket, checked like Python checks it.
pub fn socket_method(
    sock: SockId,
    family: Family,
    m: &str,
    a: &[Value],
    kw: &Kwargs,
) -> Result<Op, LangError> {
    let n = a.len();
    let opt_int = |i: usize, default: i64| a.get(i).map_or(Ok(default), c_int_arg);
    let op = match m {
        "bind" | "connect" | "connect_ex" => {
            arity(m, a, kw, 1, 1)?;
            let addr = addr_arg(m, family, &a[0])?;
            match m {
                "bind" => Op::Bind { sock, addr },
                "connect" => Op::Connect { sock, addr },
                _ => Op::ConnectEx { sock, addr },
            }
        }
        "listen" => {
            arity(m, a, kw, 0, 1)?;
            Op::Listen {
                sock,
                backlog: a.first().map(c_int_arg).transpose()?,
            }
        }
        "send" | "sendall" => {
            arity(m, a, kw, 1, 2)?;
            let data = bytes_arg(&a[0])?;
            let flags = opt_int(1, 0)?;
            if m == "send" {
                Op::Send { sock, data, flags }
            } else {
                Op::SendAll { sock, data, flags }
            }
        }
        "sendto" => {
            arity(m, a, kw, 2, 3)?;
            let data = bytes_arg(&a[0])?;
            if n == 3 {
                c_int_arg(&a[1])?;
            }
            let addr = addr_arg(m, family, &a[n - 1])?;
            Op::SendTo { sock, data, addr }
        }
        "recv" | "recvfrom" => {
            arity(m, a, kw, 1, 2)?;
            let bufsize = int_arg(&a[0])?;
            if bufsize < 0 {
                return Err(LangError::value_error(format!(
                    "negative buffersize in {m}"
                )));
            }
            let flags = opt_int(1, 0)?;
            if m == "recv" {
                Op::Recv {
                    sock,
                    bufsize,
                    flags,
                }
            } else {
                Op::RecvFrom {
                    sock,
                    bufsize,
                    flags,
                }
            }
        }
        "shutdown" => {
            arity(m, a, kw, 1, 1)?;
            Op::Shutdown {
                sock,
                how: c_int_arg(&a[0])?,
            }
        }
        "setsockopt" => {
            arity(m, a, kw, 3, 3)?;
            // Python checks level and option before the value.
            let level = c_int_arg(&a[0])?;
            let opt = c_int_arg(&a[1])?;
            let value = match &a[2] {
                Value::Int(_) | Value::Bool(_) => OptVal::Int(c_int_arg(&a[2])?),
                other => OptVal::Bytes(bytes_arg(other)?.to_vec()),
            };
            Op::SetSockOpt {
                sock,
                level,
                opt,
                value,
            }
        }
        "getsockopt" => {
            arity(m, a, kw, 2, 3)?;
            Op::GetSockOpt {
                sock,
                level: c_int_arg(&a[0])?,
                opt: c_int_arg(&a[1])?,
                buflen: a.get(2).map(c_int_arg).transpose()?,
            }
        }
        "settimeout" => {
            arity(m, a, kw, 1, 1)?;
            Op::SetTimeout {
                sock,
                timeout: timeout_arg(&a[0], "Timeout value out of range")?,
            }
        }
        "setblocking" => {
            arity(m, a, kw, 1, 1)?;
            Op::SetBlocking {
                sock,
                blocking: a[0].truthy(),
            }
        }
        _ => {
            arity(m, a, kw, 0, 0)?;
            match m {
                "accept" => Op::Accept { sock },
                "close" => Op::Close { sock },
                "getsockname" => Op::GetSockName { sock },
                "getpeername" => Op::GetPeerName { sock },
                "gettimeout" => Op::GetTimeout { sock },
                "fileno" => Op::Fileno { sock },
                other => {
                    return Err(LangError::new(
                        "AttributeError",
                        format!("'socket' object has no attribute '{other}'"),
                    ));
                }
            }
        }
    };
    Ok(op)
}

pub fn len(args: &[Value], kwargs: &Kwargs) -> Result<Value, LangError> {
    arity("len", args, kwargs, 1, 1)?;
    let n = match &args[0] {
        Value::Str(s) => s.chars().count(),
        Value::Bytes(b) => b.len(),
        Value::Tuple(v) | Value::List(v) => v.len(),
        other => {
            return Err(LangError::type_error(format!(
                "object of type '{}' has no len()",
                other.type_name()
            )));
        }
    };
    Ok(Value::Int(n as i64))
}
