//! Values of the language and how Python would print them.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::engine::text::{py_bytes_repr, py_str_repr};
use crate::engine::{Ret, SockId};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Bytes),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Socket(SockId),
    /// A built-in function (`len`) or the `socket` class.
    Builtin(&'static str),
}

/// How sockets print; the session knows their fd and endpoints.
pub type SockRepr<'a> = &'a dyn Fn(SockId) -> String;

/// Reprs of bytes or str longer than this are cut short for display.
pub const SHOW_MAX: usize = 80;
/// Tuples and lists longer than this show their first items and their length.
pub const SHOW_ITEMS: usize = 20;
/// A shown value stops after about this many bytes (nested lists of lists).
pub const SHOW_TOTAL: usize = 8192;
/// The longest a socket's repr can be (`<socket fd=… TCP/v6 [addr]:port ⇄ [addr]:port>`).
pub const SOCK_REPR_MAX: usize = 256;

impl Value {
    /// Python's type name, as error messages use it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Socket(_) => "socket",
            Value::Builtin("socket" | "str" | "int" | "bytes") => "type",
            Value::Builtin(_) => "builtin_function_or_method",
        }
    }

    pub fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::Tuple(v) | Value::List(v) => !v.is_empty(),
            Value::Socket(_) | Value::Builtin(_) => true,
        }
    }

    /// Python's `repr()`, complete (for code and tests). Callers that hold
    /// a student's value check [`Value::repr_bound`] first.
    pub fn repr(&self, sock: SockRepr) -> String {
        let mut out = String::new();
        self.write_repr(&mut out, sock, None, usize::MAX);
        out
    }

    /// `repr()` for the screen: long bytes and strings are cut short with
    /// their length, long lists show their first items, and the whole text
    /// stops after about [`SHOW_TOTAL`] bytes.
    pub fn show(&self, sock: SockRepr) -> String {
        let mut out = String::new();
        self.write_repr(&mut out, sock, Some(SHOW_MAX), SHOW_TOTAL);
        out
    }

    /// An upper bound of `repr()`'s length in bytes, computed without
    /// building it: a byte prints as at most 4 (`\xNN`), a socket as at most
    /// [`SOCK_REPR_MAX`].
    pub fn repr_bound(&self) -> u128 {
        match self {
            Value::None | Value::Bool(_) | Value::Builtin(_) => 40,
            Value::Int(_) => 20,
            Value::Float(_) => 32,
            Value::Str(s) => 4 * s.len() as u128 + 2,
            Value::Bytes(b) => 4 * b.len() as u128 + 3,
            Value::Socket(_) => SOCK_REPR_MAX as u128,
            Value::Tuple(v) | Value::List(v) => {
                3 + v.iter().map(|x| x.repr_bound() + 2).sum::<u128>()
            }
        }
    }

    /// How many values this one is made of (itself and everything inside).
    pub fn nodes(&self) -> usize {
        match self {
            Value::Tuple(v) | Value::List(v) => 1 + v.iter().map(Value::nodes).sum::<usize>(),
            _ => 1,
        }
    }

    /// How deep lists and tuples nest in this value (0 for a plain value).
    pub fn depth(&self) -> usize {
        match self {
            Value::Tuple(v) | Value::List(v) => 1 + v.iter().map(Value::depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Bytes a copy of this value allocates, counting shared bytes as if
    /// they were copied (an upper bound).
    pub fn cost(&self) -> usize {
        let own = std::mem::size_of::<Value>();
        match self {
            Value::Str(s) => own + s.len(),
            Value::Bytes(b) => own + b.len(),
            Value::Tuple(v) | Value::List(v) => own + v.iter().map(Value::cost).sum::<usize>(),
            _ => own,
        }
    }

    fn write_repr(&self, out: &mut String, sock: SockRepr, max: Option<usize>, total: usize) {
        if out.len() >= total {
            out.push('…');
            return;
        }
        match self {
            Value::Str(s) => match max {
                Some(m) if s.chars().count() > m => {
                    let head: String = s.chars().take(m / 2).collect();
                    let r = py_str_repr(&head);
                    out.push_str(&format!(
                        "{}…{} ({} chars)",
                        &r[..r.len() - 1],
                        &r[r.len() - 1..],
                        s.chars().count()
                    ));
                }
                _ => out.push_str(&py_str_repr(s)),
            },
            Value::Bytes(b) => match max {
                Some(m) if b.len() > m => {
                    let r = py_bytes_repr(&b[..m / 2]);
                    out.push_str(&format!(
                        "{}…{} ({} bytes)",
                        &r[..r.len() - 1],
                        &r[r.len() - 1..],
                        b.len()
                    ));
                }
                _ => out.push_str(&py_bytes_repr(b)),
            },
            Value::Tuple(v) | Value::List(v) => {
                let tuple = matches!(self, Value::Tuple(_));
                out.push(if tuple { '(' } else { '[' });
                let keep = match max {
                    Some(_) if v.len() > SHOW_ITEMS => SHOW_ITEMS,
                    _ => v.len(),
                };
                for (i, x) in v[..keep].iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if out.len() >= total {
                        out.push('…');
                        break;
                    }
                    x.write_repr(out, sock, max, total);
                }
                if keep < v.len() {
                    out.push_str(if tuple { ", …)" } else { ", …]" });
                    out.push_str(&format!(" ({} items)", v.len()));
                    return;
                }
                if tuple && v.len() == 1 {
                    out.push(',');
                }
                out.push(if tuple { ')' } else { ']' });
            }
            other => out.push_str(&other.scalar_repr(sock)),
        }
    }

    fn scalar_repr(&self, sock: SockRepr) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_repr(*f),
            Value::Socket(id) => sock(*id),
            Value::Builtin("socket") => "<class 'socket.socket'>".into(),
            Value::Builtin(class @ ("str" | "int" | "bytes")) => format!("<class '{class}'>"),
            Value::Builtin(name) => format!("<built-in function {name}>"),
            Value::Str(_) | Value::Bytes(_) | Value::Tuple(_) | Value::List(_) => String::new(),
        }
    }

    /// Python's `str()`: strings as they are, everything else as `repr()`.
    pub fn to_str(&self, sock: SockRepr) -> String {
        match self {
            Value::Str(s) => s.clone(),
            v => v.show(sock),
        }
    }
}

/// Python's float repr: `1.0`, `0.1`, `1e+16`, `inf`.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = f.abs();
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        let s = format!("{f:?}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        // Rust: `1e16`, `1.5e-5`; Python: `1e+16`, `1.5e-05`.
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        format!("{mant}e{sign}{digits:0>2}")
    }
}

/// An address as Python returns it: `('127.0.0.1', 9000)`, or the 4-tuple for IPv6.
pub fn addr_value(a: &SocketAddr) -> Value {
    match a {
        SocketAddr::V4(v4) => Value::Tuple(vec![
            Value::Str(v4.ip().to_string()),
            Value::Int(i64::from(v4.port())),
        ]),
        SocketAddr::V6(v6) => Value::Tuple(vec![
            Value::Str(v6.ip().to_string()),
            Value::Int(i64::from(v6.port())),
            Value::Int(i64::from(v6.flowinfo())),
            Value::Int(i64::from(v6.scope_id())),
        ]),
    }
}

/// What a finished engine call means as a Python value.
pub fn ret_value(ret: &Ret) -> Value {
    let socks = |v: &[SockId]| Value::List(v.iter().map(|s| Value::Socket(*s)).collect());
    match ret {
        Ret::None => Value::None,
        Ret::Int(i) => Value::Int(*i),
        Ret::Float(f) => Value::Float(*f),
        Ret::Bytes(b) | Ret::RawOpt(b) => Value::Bytes(b.clone()),
        Ret::Addr(a) => addr_value(a),
        Ret::Socket(s) => Value::Socket(*s),
        Ret::Accepted(s, a) => Value::Tuple(vec![Value::Socket(*s), addr_value(a)]),
        Ret::Datagram(b, a) => Value::Tuple(vec![Value::Bytes(b.clone()), addr_value(a)]),
        Ret::Select(r, w, x) => Value::Tuple(vec![socks(r), socks(w), socks(x)]),
        Ret::Timeout(None) => Value::None,
        Ret::Timeout(Some(t)) => Value::Float(*t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(id: SockId) -> String {
        format!("<socket #{id}>")
    }

    #[test]
    fn reprs_match_python() {
        let r = |v: Value| v.repr(&plain);
        assert_eq!(r(Value::Tuple(vec![Value::Int(1)])), "(1,)");
        assert_eq!(r(Value::Tuple(vec![])), "()");
        assert_eq!(
            r(Value::Tuple(vec![
                Value::Str("127.0.0.1".into()),
                Value::Int(9000)
            ])),
            "('127.0.0.1', 9000)"
        );
        assert_eq!(
            r(Value::List(vec![Value::Socket(3), Value::None])),
            "[<socket #3>, None]"
        );
        assert_eq!(r(Value::Bytes(Bytes::from_static(b"hi\n"))), "b'hi\\n'");
        assert_eq!(r(Value::Bool(true)), "True");
        assert_eq!(r(Value::Builtin("len")), "<built-in function len>");
        assert_eq!(r(Value::Builtin("socket")), "<class 'socket.socket'>");
    }

    #[test]
    fn floats_print_like_python() {
        assert_eq!(float_repr(1.0), "1.0");
        assert_eq!(float_repr(0.1), "0.1");
        assert_eq!(float_repr(2.5), "2.5");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-5), "1.5e-05");
        assert_eq!(float_repr(-0.0), "-0.0");
        assert_eq!(float_repr(f64::INFINITY), "inf");
    }

    #[test]
    fn long_values_are_cut_short_for_display() {
        let big = Value::Bytes(Bytes::from(vec![b'x'; 1_000_000]));
        let s = big.show(&plain);
        assert_eq!(
            s,
            format!("b'{}…' (1000000 bytes)", "x".repeat(SHOW_MAX / 2))
        );
        assert_eq!(big.repr(&plain).len(), 1_000_003);
        let many = Value::List((0..1000).map(Value::Int).collect());
        assert_eq!(
            many.show(&plain),
            format!(
                "[{}, …] (1000 items)",
                (0..20)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
        assert_eq!(many.repr(&plain).matches(',').count(), 999);
        let long = Value::Str("é".repeat(500));
        assert!(long.show(&plain).ends_with("…' (500 chars)"));
    }

    #[test]
    fn engine_returns_become_python_values() {
        let a: SocketAddr = "127.0.0.1:51234".parse().unwrap();
        assert_eq!(
            ret_value(&Ret::Accepted(7, a)).repr(&plain),
            "(<socket #7>, ('127.0.0.1', 51234))"
        );
        let a6: SocketAddr = "[::1]:9000".parse().unwrap();
        assert_eq!(
            ret_value(&Ret::Addr(a6)).repr(&plain),
            "('::1', 9000, 0, 0)"
        );
        assert_eq!(
            ret_value(&Ret::Select(vec![1], vec![], vec![])).repr(&plain),
            "([<socket #1>], [], [])"
        );
        assert_eq!(ret_value(&Ret::Timeout(None)), Value::None);
        assert_eq!(
            ret_value(&Ret::Datagram(Bytes::from_static(b"x"), a)).repr(&plain),
            "(b'x', ('127.0.0.1', 51234))"
        );
    }
}
