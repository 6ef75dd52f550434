//! Nothing typed can crash the parser, the evaluator or the escape decoder.

use proptest::prelude::*;

use super::escape::{Mode, decode_bytes, decode_str};
use super::*;
use crate::engine::text::{escape_bytes, py_bytes_repr};

/// Lines built from the language's own pieces, so they get past the lexer
/// more often than random text does.
fn line_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("srv".to_string()),
        Just("cli".to_string()),
        Just("data".to_string()),
        Just("socket".to_string()),
        Just("select".to_string()),
        Just("len".to_string()),
        Just("print".to_string()),
        Just(".".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just("=".to_string()),
        Just("+".to_string()),
        Just("*".to_string()),
        Just("-".to_string()),
        Just("//".to_string()),
        Just(":".to_string()),
        Just("recv".to_string()),
        Just("bind".to_string()),
        Just("accept".to_string()),
        Just("decode".to_string()),
        Just("AF_INET".to_string()),
        Just("None".to_string()),
        Just(" ".to_string()),
        Just("b'".to_string()),
        Just("'".to_string()),
        Just("\\x".to_string()),
        "[0-9]{1,20}",
        "[a-z_]{1,6}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Small expression trees over every operator, builtin and method, with
/// extreme numbers, so the evaluator meets overflow and size limits.
fn expr_like() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("0".to_string()),
        Just("1".to_string()),
        Just("-1".to_string()),
        Just("7".to_string()),
        Just("100000".to_string()),
        Just("9223372036854775807".to_string()),
        Just("2.5".to_string()),
        Just("b'ab'".to_string()),
        Just("b'\\xff'".to_string()),
        Just("'안녕'".to_string()),
        Just("()".to_string()),
        Just("[]".to_string()),
        Just("(1, 'a')".to_string()),
        Just("None".to_string()),
        Just("True".to_string()),
        Just("data".to_string()),
        Just("srv".to_string()),
        Just("AF_INET".to_string()),
        Just("len".to_string()),
    ];
    leaf.prop_recursive(4, 40, 3, |inner| {
        let op = prop_oneof![
            Just("+"),
            Just("-"),
            Just("*"),
            Just("/"),
            Just("//"),
            Just("%")
        ];
        let func = prop_oneof![
            Just("len"),
            Just("str"),
            Just("int"),
            Just("bytes"),
            Just("repr"),
            Just("print"),
            Just("socket"),
            Just("select")
        ];
        let method = prop_oneof![
            Just("decode"),
            Just("encode"),
            Just("upper"),
            Just("strip"),
            Just("hex"),
            Just("startswith"),
            Just("recv"),
            Just("bind"),
            Just("sendall")
        ];
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (func, prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            (
                inner.clone(),
                method,
                prop::collection::vec(inner.clone(), 0..2)
            )
                .prop_map(|(o, m, args)| format!("{o}.{m}({})", args.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}[{b}]")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}[{b}:]")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}, {b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("x, y = {a}, {b}")),
        ]
    })
}

fn run(text: &str) {
    let mut i = Interp::new();
    i.set("srv", Value::Socket(1));
    i.set("cli", Value::Socket(2));
    i.set("data", Value::Bytes(bytes::Bytes::from_static(b"hi")));
    if let Ok(stmt) = parse(text) {
        if let Ok(Step::Call(_)) = i.start(&stmt, &NoWorld) {
            for ret in [
                Value::None,
                Value::Int(3),
                Value::Socket(5),
                Value::Tuple(vec![]),
            ] {
                let frozen = i.freeze(&stmt);
                let _ = i.finish(&stmt, &frozen, ret, &NoWorld);
            }
        }
    } else if let Err(e) = parse(text) {
        let _ = e.render();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,200}") {
        run(&s);
    }

    #[test]
    fn language_like_lines_never_panic(s in line_like()) {
        run(&s);
    }

    #[test]
    fn expressions_never_panic_or_hang(s in expr_like()) {
        run(&s);
    }

    #[test]
    fn arbitrary_bytes_literal_bodies_never_panic(body in ".{0,100}") {
        let _ = decode_bytes(&body, Mode::Bytes);
        let _ = decode_bytes(&body, Mode::Text);
        let _ = decode_str(&body);
        run(&format!("b'{body}'"));
        run(&format!("x = b\"{body}\" * 3"));
    }

    #[test]
    fn repr_then_parse_gives_the_same_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let repr = py_bytes_repr(&data);
        match parse(&repr) {
            Ok(Stmt::Expr(Expr { kind: ExprKind::Bytes(b), .. })) => prop_assert_eq!(&b[..], &data[..]),
            other => prop_assert!(false, "{repr} parsed as {other:?}"),
        }
        prop_assert_eq!(decode_bytes(&escape_bytes(&data), Mode::Bytes).unwrap(), data);
    }

    #[test]
    fn text_mode_round_trips_any_string(s in ".{0,100}") {
        let escaped = s.replace('\\', "\\\\");
        prop_assert_eq!(decode_bytes(&escaped, Mode::Text).unwrap(), s.as_bytes().to_vec());
    }
}
