//! Every error message, exactly as the student sees it.

use super::tests::{echo, err, line, with_socks};
use super::*;
use crate::engine::Op;

#[test]
fn several_socket_calls_run_in_pythons_order() {
    // Arguments first: recv runs, then sendall with what it returned.
    let mut i = with_socks();
    let stmt = parse("srv.sendall(cli.recv(10))").unwrap();
    let Ok(Step::Call(Op::Recv { sock: 2, .. })) = i.start(&stmt, &NoWorld) else {
        panic!("recv first")
    };
    let got = Value::Bytes(bytes::Bytes::from_static(b"hi"));
    let f = i.freeze(&stmt);
    match i.resume(&stmt, &f, std::slice::from_ref(&got), &NoWorld) {
        Ok(Step::Call(Op::SendAll { sock: 1, data, .. })) => assert_eq!(&data[..], b"hi"),
        _ => panic!("then sendall of what recv returned"),
    }
    match i.resume(&stmt, &f, &[got, Value::None], &NoWorld) {
        Ok(Step::Done(d)) => assert_eq!(d.echo, ""),
        _ => panic!("then done"),
    }
    // Left to right, and a comparison of two calls' results.
    let stmt = parse("cli.getpeername() == srv.getsockname()").unwrap();
    let Ok(Step::Call(Op::GetPeerName { sock: 2 })) = i.start(&stmt, &NoWorld) else {
        panic!("getpeername first")
    };
    let a = Value::Tuple(vec![Value::Str("127.0.0.1".into()), Value::Int(9)]);
    let Ok(Step::Call(Op::GetSockName { sock: 1 })) =
        i.resume(&stmt, &f, std::slice::from_ref(&a), &NoWorld)
    else {
        panic!("getsockname second")
    };
    let Ok(Step::Done(d)) = i.resume(&stmt, &f, &[a.clone(), a], &NoWorld) else {
        panic!()
    };
    assert_eq!(d.echo, "True");
    // Short-circuit: `or` does not make the second call when the first is true.
    let stmt = parse("cli.recv(1) or srv.recv(1)").unwrap();
    let Ok(Step::Done(d)) = i.resume(
        &stmt,
        &f,
        &[Value::Bytes(b"x"[..].to_vec().into())],
        &NoWorld,
    ) else {
        panic!("no second call")
    };
    assert_eq!(d.echo, "b'x'");
}

#[test]
fn syntax_errors_point_at_the_spot() {
    assert_eq!(
        err("srv.bind((\"127.0.0.1\", 9000)"),
        "  File \"<stdin>\", line 1\n    srv.bind((\"127.0.0.1\", 9000)\n            ^\nSyntaxError: '(' was never closed"
    );
    assert_eq!(
        err("srv.bind(('h', 1)))"),
        "  File \"<stdin>\", line 1\n    srv.bind(('h', 1)))\n                      ^\nSyntaxError: unmatched ')'"
    );
    assert_eq!(
        err("cli.send(b'a\\qb')"),
        "  File \"<stdin>\", line 1\n    cli.send(b'a\\qb')\n                ^^\nSyntaxError: invalid escape sequence '\\q' (socklab knows \\n \\r \\t \\0 \\xNN \\\\ \\' \\\") in bytes literal"
    );
    let head = |t: &str| err(t).lines().last().unwrap().to_string();
    assert_eq!(head("x = "), "SyntaxError: invalid syntax");
    assert_eq!(
        head("print data"),
        "SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?"
    );
    assert_eq!(head("srv."), "SyntaxError: invalid syntax");
    assert_eq!(
        head("f(a b)"),
        "SyntaxError: invalid syntax. Perhaps you forgot a comma?"
    );
    assert_eq!(
        head("[1, 2)"),
        "SyntaxError: closing parenthesis ')' does not match opening parenthesis '['"
    );
    assert_eq!(
        head("x = 'abc"),
        "SyntaxError: unterminated string literal (detected at line 1)"
    );
    assert_eq!(
        head("f() = 3"),
        "SyntaxError: cannot assign to function call here. Maybe you meant '==' instead of '='?"
    );
    assert_eq!(
        head("1 = x"),
        "SyntaxError: cannot assign to literal here. Maybe you meant '==' instead of '='?"
    );
    assert_eq!(head("None = 1"), "SyntaxError: cannot assign to None");
    assert_eq!(
        head("a = b = 1"),
        "SyntaxError: chained assignment (a = b = …) is not supported in socklab"
    );
    assert_eq!(
        head("s.x = 1"),
        "SyntaxError: socklab cannot set attributes — call a method instead (e.g. s.settimeout(5))"
    );
    assert_eq!(
        head("while True:"),
        "SyntaxError: 'while' is not supported in socklab — it runs one call per line, with no blocks, loops or conditions"
    );
    assert_eq!(
        head("a; b"),
        "SyntaxError: one statement per line: socklab does not take ';'"
    );
    assert_eq!(
        head("f(x=1, 2)"),
        "SyntaxError: positional argument follows keyword argument"
    );
    assert_eq!(
        head("f(x=1, x=2)"),
        "SyntaxError: keyword argument repeated: x"
    );
    assert_eq!(
        head("f(*a)"),
        "SyntaxError: argument unpacking (*args) is not supported in socklab"
    );
    assert_eq!(
        head("2 ** 3"),
        "SyntaxError: the ** operator is not supported in socklab"
    );
    assert_eq!(
        head("{1: 2}"),
        "SyntaxError: dicts and sets are not supported in socklab"
    );
    assert_eq!(
        head("b'a' 'b'"),
        "SyntaxError: cannot mix bytes and nonbytes literals"
    );
    assert_eq!(
        head("x[::2]"),
        "SyntaxError: slice steps are not supported in socklab"
    );
    assert_eq!(
        head("import os"),
        "ModuleNotFoundError: No module named 'os' — socklab has only socket and select"
    );
}

#[test]
fn limits_are_clear_errors() {
    let deep = format!("x = {}1{}", "(".repeat(33), ")".repeat(33));
    assert_eq!(
        err(&deep).lines().last().unwrap(),
        "SyntaxError: too many nested parentheses (socklab allows 32)"
    );
    let ok = format!("x = {}1{}", "(".repeat(32), ")".repeat(32));
    assert_eq!(echo(&ok), "x = 1");
    let negs = format!("x = {}1", "-".repeat(40));
    assert_eq!(
        err(&negs).lines().last().unwrap(),
        "SyntaxError: too deeply nested (socklab allows 32 levels)"
    );
    let chains = [
        format!("x = {}1", "1+".repeat(10_000)),
        format!("x = {}1", "x.".repeat(10_000)).replace(".1", ".y"),
        format!("x = f{}", "()".repeat(10_000)),
        format!("x = b'x'{}", "[0:1]".repeat(10_000)),
        format!("x = 1{}", " * 2".repeat(10_000)),
    ];
    for text in &chains {
        let chain = &text[..8];
        let last = err(text).lines().last().unwrap().to_string();
        assert_eq!(
            last,
            "SyntaxError: expression too long or too deeply nested (socklab allows 200 levels) — split it over several lines",
            "{chain}"
        );
    }
    assert_eq!(echo(&format!("x = {}1", "1+".repeat(150))), "x = 151");
    let long = format!("x = b'{}'", "a".repeat(MAX_LINE));
    assert!(
        err(&long).starts_with("SyntaxError: line too long ("),
        "{}",
        err(&long)
    );
    assert_eq!(
        err("b'x' * 100000000"),
        "MemoryError: a bytes value of 100000000 would be over socklab's limit of 64 MiB (67108864)"
    );
    let mut i = Interp::new();
    for name in ["a", "b", "c", "d"] {
        line(&mut i, &format!("{name} = b'x' * (60 * 1024 * 1024)")).unwrap();
    }
    assert!(
        line(&mut i, "e = b'x' * (60 * 1024 * 1024)")
            .unwrap_err()
            .starts_with("MemoryError: your variables would hold 314572800 bytes")
    );
    assert!(i.get("e").is_none());
    line(&mut i, "a = b'x' * (60 * 1024 * 1024)").unwrap();
    assert_eq!(
        err("b'xx' * (32 * 1024 * 1024) + b'y'"),
        "MemoryError: a bytes value of 67108865 would be over socklab's limit of 64 MiB (67108864)"
    );
}

#[test]
fn runtime_errors_read_like_python() {
    let mut i = with_socks();
    i.set("server", Value::Socket(9));
    assert_eq!(
        line(&mut i, "sever").unwrap_err(),
        "NameError: name 'sever' is not defined. Did you mean: 'server'?"
    );
    assert_eq!(
        err("AF_INTE"),
        "NameError: name 'AF_INTE' is not defined. Did you mean: 'AF_INET'?"
    );
    assert_eq!(err("qqqqqqqq"), "NameError: name 'qqqqqqqq' is not defined");
    assert_eq!(
        err("srv.recieve(10)"),
        "AttributeError: 'socket' object has no attribute 'recieve'. Did you mean: 'recv'?"
    );
    assert_eq!(
        err("data.encode()"),
        "AttributeError: 'bytes' object has no attribute 'encode'. Did you mean: 'decode'?"
    );
    assert_eq!(
        err("text.decode()"),
        "AttributeError: 'str' object has no attribute 'decode'. Did you mean: 'encode'?"
    );
    assert_eq!(
        err("(5).x"),
        "AttributeError: 'int' object has no attribute 'x'"
    );
    assert_eq!(
        err("socket.AF_INTE"),
        "AttributeError: module 'socket' has no attribute 'AF_INTE'. Did you mean: 'AF_INET'?"
    );
    assert_eq!(
        err("srv.recv"),
        "LabError: socklab calls methods straight away — write .recv(…) with the arguments"
    );
    assert_eq!(
        err("cli.sendall('hello')"),
        "TypeError: a bytes-like object is required, not 'str' — write b'…' or use .encode()"
    );
    assert_eq!(
        err("cli.send(5)"),
        "TypeError: a bytes-like object is required, not 'int'"
    );
    assert_eq!(
        err("cli.recv('10')"),
        "TypeError: 'str' object cannot be interpreted as an integer"
    );
    assert_eq!(
        err("cli.recv(1.5)"),
        "TypeError: 'float' object cannot be interpreted as an integer"
    );
    assert_eq!(
        err("cli.recv(-1)"),
        "ValueError: negative buffersize in recv"
    );
    assert_eq!(
        err("srv.bind('127.0.0.1:9000')"),
        "TypeError: bind(): AF_INET address must be tuple, not str"
    );
    assert_eq!(
        err("srv.bind(('127.0.0.1',))"),
        "TypeError: AF_INET address must be a pair (host, port)"
    );
    assert_eq!(
        err("srv.bind((1, 2))"),
        "TypeError: str, bytes or bytearray expected, not int"
    );
    assert_eq!(
        err("srv.bind(('h', '80'))"),
        "TypeError: 'str' object cannot be interpreted as an integer"
    );
    assert_eq!(
        err("cli.connect(('h', 70000))"),
        "OverflowError: connect(): port must be 0-65535."
    );
    assert_eq!(
        err("cli.recv(1, 2, 3)"),
        "TypeError: recv() takes at most 2 arguments (3 given)"
    );
    assert_eq!(
        err("cli.recv()"),
        "TypeError: recv() takes at least 1 argument (0 given)"
    );
    assert_eq!(
        err("srv.bind()"),
        "TypeError: bind() takes exactly one argument (0 given)"
    );
    assert_eq!(
        err("srv.accept(1)"),
        "TypeError: accept() takes no arguments (1 given)"
    );
    assert_eq!(
        err("srv.setsockopt(1, 2)"),
        "TypeError: setsockopt() takes exactly 3 arguments (2 given)"
    );
    assert_eq!(
        err("cli.recv(bufsize=10)"),
        "TypeError: recv() takes no keyword arguments"
    );
    assert_eq!(
        err("srv.setsockopt(1, 2, 'x')"),
        "TypeError: a bytes-like object is required, not 'str' — write b'…' or use .encode()"
    );
    assert_eq!(
        err("srv.settimeout(-1)"),
        "ValueError: Timeout value out of range"
    );
    assert_eq!(
        err("srv.settimeout('x')"),
        "TypeError: 'str' object cannot be interpreted as an integer or float"
    );
    assert_eq!(
        err("socket(foo=1)"),
        "TypeError: socket() got an unexpected keyword argument 'foo'"
    );
    assert_eq!(
        err("socket(2, family=2)"),
        "TypeError: socket() got multiple values for argument 'family'"
    );
    assert_eq!(
        err("socket('inet')"),
        "TypeError: 'str' object cannot be interpreted as an integer"
    );
    assert_eq!(
        err("select([srv], [])"),
        "TypeError: select expected at least 3 arguments, got 2"
    );
    assert_eq!(
        err("select(srv, [], [])"),
        "TypeError: arguments 1-3 must be sequences"
    );
    assert_eq!(
        err("select([1], [], [])"),
        "TypeError: argument must be an int, or have a fileno() method."
    );
    assert_eq!(
        err("select([], [], [], -1)"),
        "ValueError: timeout must be non-negative"
    );
    assert_eq!(
        err("len(5)"),
        "TypeError: object of type 'int' has no len()"
    );
    assert_eq!(
        err("len()"),
        "TypeError: len() takes exactly one argument (0 given)"
    );
    assert_eq!(err("5(1)"), "TypeError: 'int' object is not callable");
    assert_eq!(
        err("-b'x'"),
        "TypeError: bad operand type for unary -: 'bytes'"
    );
    assert_eq!(
        err("1 // 0"),
        "ZeroDivisionError: integer division or modulo by zero"
    );
    assert_eq!(err("data[10]"), "IndexError: index out of range");
    assert_eq!(
        err("data['a']"),
        "TypeError: byte indices must be integers or slices, not str"
    );
    assert_eq!(err("exit()"), "LabError: type :quit to leave socklab");
    assert!(
        err("socket.create_connection(('h', 1))")
            .starts_with("LabError: socklab has no create_connection")
    );
    assert_eq!(
        echo("int(b'42') + 1, str(b'hi', 'utf-8'), bytes(2), str"),
        r"(43, 'hi', b'\x00\x00', <class 'str'>)"
    );
    assert_eq!(
        err("print(1, end=5)"),
        "TypeError: end must be None or a string, not int"
    );
}
