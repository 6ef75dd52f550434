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

    /// Python's `repr()`, complete (for code and tests).
    pub fn repr(&self, sock: SockRepr) -> String {
        self.repr_inner(sock, None)
    }

    /// `repr()` for the screen: long bytes and strings are cut short with their length.
    pub fn show(&self, sock: SockRepr) -> String {
        self.repr_inner(sock, Some(SHOW_MAX))
    }

    fn repr_inner(&self, sock: SockRepr, max: Option<usize>) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_repr(*f),
            Value::Str(s) => match max {
                Some(m) if s.chars().count() > m => {
                    let head: String = s.chars().take(m / 2).collect();
                    let r = py_str_repr(&head);
                    format!(
                        "{}…{} ({} chars)",
                        &r[..r.len() - 1],
                        &r[r.len() - 1..],
                        s.chars().count()
                    )
                }
                _ => py_str_repr(s),
            },
            Value::Bytes(b) => match max {
                Some(m) if b.len() > m => {
                    let r = py_bytes_repr(&b[..m / 2]);
                    format!(
                        "{}…{} ({} bytes)",
                        &r[..r.len() - 1],
                        &r[r.len() - 1..],
                        b.len()
                    )
                }
                _ => py_bytes_repr(b),
            },
            Value::Tuple(v) | Value::List(v) => {
                let (open, close) = if matches!(self, Value::Tuple(_)) {
                    ("(", ")")
                } else {
                    ("[", "]")
                };
                let keep = match max {
                    Some(_) if v.len() > SHOW_ITEMS => SHOW_ITEMS,
                    _ => v.len(),
                };
                let mut items: Vec<String> =
                    v[..keep].iter().map(|x| x.repr_inner(sock, max)).collect();
                if keep < v.len() {
                    items.push("…".into());
                    return format!("{open}{}{close} ({} items)", items.join(", "), v.len());
                }
                if items.len() == 1 && open == "(" {
                    format!("({},)", items[0])
                } else {
                    format!("{open}{}{close}", items.join(", "))
                }
            }
            Value::Socket(id) => sock(*id),
            Value::Builtin("socket") => "<class 'socket.socket'>".into(),
            Value::Builtin(class @ ("str" | "int" | "bytes")) => format!("<class '{class}'>"),
            Value::Builtin(name) => format!("<built-in function {name}>"),
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
