//! Size estimates and limits: every value is measured before it is built.

use bytes::Bytes;

use super::interp::{LINE_BUDGET, MAX_NAME_BYTES};
use super::tests::line;
use super::*;

fn plain(id: u32) -> String {
    format!("<socket fd={id} TCP/v6 [::1]:65535 ⇄ [::1]:65535>")
}

fn big(n: usize) -> Value {
    Value::Bytes(Bytes::from(vec![0u8; n]))
}

#[test]
fn repr_bound_is_never_below_the_real_repr() {
    let values = vec![
        Value::Bytes(Bytes::from((0..=255u8).collect::<Vec<u8>>())),
        Value::Bytes(Bytes::from_static(b"'\"'")),
        Value::Str("\u{1}\u{7f}\u{85}é안😀\u{202e}'\"\\\n".repeat(20)),
        Value::Tuple(vec![Value::Int(i64::MIN)]),
        Value::List(vec![
            Value::Float(-1.234_567_890_123_456_7e-300),
            Value::None,
            Value::Bool(false),
            Value::Socket(4_000_000_000),
            Value::Builtin("socket"),
            Value::Tuple(vec![]),
            Value::List(vec![Value::Tuple(vec![big(10)])]),
        ]),
    ];
    for v in values {
        let real = v.repr(&plain).len() as u128;
        assert!(v.repr_bound() >= real, "{v:?}: {} < {real}", v.repr_bound());
        // And not wildly more: at most 4 bytes a byte plus a little.
        assert!(v.repr_bound() <= 4 * real + 300, "{v:?}");
    }
}

#[test]
fn a_list_of_big_bytes_is_measured_not_built() {
    let a = big(60_000_000);
    let many = Value::List(vec![a.clone(); 1000]);
    // 1000 reprs of 60 MB, each up to 4 bytes a byte.
    assert!(many.repr_bound() >= 240_000_000_000);
    let mut i = Interp::new();
    i.set("a", a);
    let e = line(&mut i, "len(str([a]*1000))").unwrap_err();
    assert!(e.starts_with("MemoryError"), "{e}");
    let e = line(&mut i, "repr((a,))").unwrap_err();
    assert!(e.starts_with("MemoryError"), "{e}");
    // A small one still works.
    i.set("s", big(3));
    assert_eq!(
        line(&mut i, "str([s])").unwrap(),
        r#""[b'\\x00\\x00\\x00']""#
    );
}

#[test]
fn nodes_and_depth_count_everything_inside() {
    let inner = Value::List(vec![Value::Int(1), Value::Int(2)]);
    let v = Value::List(vec![inner.clone(), inner.clone(), inner]);
    assert_eq!(v.nodes(), 10);
    assert_eq!(v.depth(), 2);
    assert_eq!(Value::Int(3).nodes(), 1);
    assert_eq!(Value::Int(3).depth(), 0);
    let mut i = Interp::new();
    line(&mut i, "x = [0] * 1000").unwrap();
    // 1000 copies of a 1001-value list: refused before a million values are made.
    let e = line(&mut i, "y = [x] * 1000").unwrap_err();
    assert!(e.starts_with("MemoryError"), "{e}");
    let e = line(&mut i, "y = [x] * 50 + [x] * 50").unwrap_err();
    assert!(e.starts_with("MemoryError"), "{e}");
    assert!(line(&mut i, "y = [x] * 10").is_ok());
}

#[test]
fn nesting_is_limited() {
    let mut i = Interp::new();
    line(&mut i, "x = []").unwrap();
    for _ in 0..arith::MAX_NEST - 1 {
        line(&mut i, "x = [x]").unwrap();
    }
    let e = line(&mut i, "x = [x]").unwrap_err();
    assert!(e.starts_with("RecursionError") && e.contains("nest"), "{e}");
}

#[test]
fn one_line_builds_at_most_its_budget() {
    let mut i = Interp::new();
    i.set("a", big(40_000_000));
    let e = line(
        &mut i,
        "(a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'', a + b'')",
    )
    .unwrap_err();
    assert!(e.starts_with("MemoryError") && e.contains("256 MiB"), "{e}");
    // Many copies of a str are copies.
    i.set("s", Value::Str("x".repeat(50_000_000)));
    let e = line(&mut i, "(s, s, s, s, s, s)").unwrap_err();
    assert!(e.starts_with("MemoryError"), "{e}");
    const {
        assert!(
            LINE_BUDGET >= 2 * MAX_BYTES,
            "a 64 MiB value and its copy fit"
        )
    };
    assert!(line(&mut i, "len(s + 'y')").is_ok());
}

#[test]
fn growing_text_methods_are_measured_first() {
    let mut i = Interp::new();
    i.set("s", Value::Str("ΐ".repeat(12_000_000)));
    // 24 MB of 'ΐ' (2 bytes) is 72 MB of 'Ϊ́' (6 bytes each).
    let e = line(&mut i, "u = s.upper()").unwrap_err();
    assert!(e.starts_with("MemoryError"), "{e}");
    i.set("b", Value::Bytes(Bytes::from(vec![0xffu8; 30_000_000])));
    let e = line(&mut i, "t = b.decode('latin-1')").unwrap_err();
    assert!(e.starts_with("MemoryError"), "{e}");
    assert_eq!(line(&mut i, "'ß'.upper()").unwrap(), "'SS'");
}

#[test]
fn print_and_show_stay_small() {
    let mut i = Interp::new();
    i.set("s", Value::Str("x".repeat(10_000_000)));
    let out = line(&mut i, "print(s, s)").unwrap();
    assert!(out.len() < 5000, "{}", out.len());
    assert!(
        out.ends_with("… (20000002 chars)"),
        "{}",
        &out[out.len() - 40..]
    );
    // Twenty lists of twenty lists of twenty: the echo stops early.
    line(&mut i, "x = [b'x' * 100] * 20").unwrap();
    line(&mut i, "y = [x] * 20").unwrap();
    let shown = line(&mut i, "z = [y] * 20").unwrap();
    assert!(shown.len() < 2 * value::SHOW_TOTAL, "{}", shown.len());
}

#[test]
fn names_are_limited_in_bytes() {
    let mut i = Interp::new();
    let long = "n".repeat(60_000);
    let mut err = None;
    for k in 0..40 {
        if let Err(e) = line(&mut i, &format!("{long}{k} = 1")) {
            err = Some((k, e));
            break;
        }
    }
    let (k, e) = err.expect("names are limited");
    assert_eq!(k, MAX_NAME_BYTES / 60_002, "{e}");
    assert!(e.starts_with("MemoryError") && e.contains("names"), "{e}");
    // Rebinding an existing name still works.
    assert!(line(&mut i, &format!("{long}0 = 2")).is_ok());
}

#[test]
fn c_int_arguments_overflow_like_python() {
    let mut i = tests::with_socks();
    for (text, msg) in [
        (
            "srv.setsockopt(4294967297, 2, 1)",
            "OverflowError: signed integer is greater than maximum",
        ),
        (
            "srv.setsockopt(1, 2, -2147483649)",
            "OverflowError: signed integer is less than minimum",
        ),
        (
            "srv.getsockopt(1, 2, 2147483648)",
            "OverflowError: signed integer is greater than maximum",
        ),
        (
            "srv.settimeout(1e30)",
            "OverflowError: timestamp too large to convert to C _PyTime_t",
        ),
        (
            "select([], [], [], 1e19)",
            "OverflowError: timestamp too large to convert to C _PyTime_t",
        ),
    ] {
        assert_eq!(line(&mut i, text).unwrap_err(), msg, "{text}");
    }
    assert!(line(&mut i, "srv.setsockopt(1, 2, 2147483647)").is_ok());
    assert!(line(&mut i, "srv.settimeout(1e6)").is_ok());
}
