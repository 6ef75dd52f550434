//! The language end to end without an engine: parse, evaluate, errors.

use std::net::SocketAddr;

use bytes::Bytes;

use super::*;
use crate::engine::{AddrArg, Op, OptVal, Ret};

/// Run one line; a socket call is shown as `CALL <op>`.
fn line(interp: &mut Interp, text: &str) -> Result<String, String> {
    let stmt = parse(text).map_err(|e| e.render())?;
    match interp.start(&stmt, &NoWorld) {
        Ok(Step::Done(d)) => Ok(d.echo),
        Ok(Step::Call(op)) => Ok(format!("CALL {op:?}")),
        Err(e) => Err(e.in_line(text).render()),
    }
}

fn echo(text: &str) -> String {
    line(&mut Interp::new(), text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str) -> String {
    line(&mut with_socks(), text).expect_err(text)
}

/// An interpreter with `srv` and `cli` sockets and a few values.
fn with_socks() -> Interp {
    let mut i = Interp::new();
    i.set("srv", Value::Socket(1));
    i.set("cli", Value::Socket(2));
    i.set("data", Value::Bytes(Bytes::from_static(b"hello\n")));
    i.set("text", Value::Str("hi".into()));
    i
}

fn op(text: &str) -> Op {
    let stmt = parse(text).unwrap();
    match with_socks().start(&stmt, &NoWorld) {
        Ok(Step::Call(op)) => op,
        Ok(Step::Done(d)) => panic!("{text}: no call, echo {:?}", d.echo),
        Err(e) => panic!("{text}: {}", e.render()),
    }
}

fn addr(host: &str, port: i64) -> AddrArg {
    AddrArg {
        host: host.into(),
        port,
    }
}

#[test]
fn statements_parse() {
    assert_eq!(parse("").unwrap(), Stmt::Empty);
    assert_eq!(parse("   # just a comment").unwrap(), Stmt::Empty);
    assert_eq!(parse("pass").unwrap(), Stmt::Empty);
    assert_eq!(
        parse("  :peer echo 127.0.0.1:9000  name=e ").unwrap(),
        Stmt::Lab {
            name: "peer".into(),
            args: "echo 127.0.0.1:9000  name=e".into()
        }
    );
    assert_eq!(
        parse(":help").unwrap(),
        Stmt::Lab {
            name: "help".into(),
            args: String::new()
        }
    );
    for imp in [
        "import socket",
        "import socket, select",
        "from socket import *",
        "from select import select",
    ] {
        assert_eq!(parse(imp).unwrap(), Stmt::Import, "{imp}");
    }
    let Stmt::Assign { target, .. } = parse("conn, addr = srv.accept()  # wait").unwrap() else {
        panic!()
    };
    assert_eq!(target.names(), vec!["conn", "addr"]);
    let Stmt::Assign { target, .. } = parse("(a, b) = x").unwrap() else {
        panic!()
    };
    assert_eq!(target.names(), vec!["a", "b"]);
    let Stmt::Assign { target, .. } = parse("[a, (b, c)] = x").unwrap() else {
        panic!()
    };
    assert_eq!(target.names(), vec!["a", "b", "c"]);
}

#[test]
fn literals_and_expressions_evaluate() {
    assert_eq!(echo("0x1F + 1_000"), "1031");
    assert_eq!(
        echo("7 // 2, 7 - 10, 2 * 3, 7 / 2, 7 % 3"),
        "(3, -3, 6, 3.5, 1)"
    );
    assert_eq!(echo("-(-5)"), "5");
    assert_eq!(echo("1.5"), "1.5");
    assert_eq!(echo("'a' + \"b\""), "'ab'");
    assert_eq!(echo("b'x' * 3 + 2 * b'y'"), "b'xxxyy'");
    assert_eq!(echo(r#"b"it's\n""#), r#"b"it's\n""#);
    assert_eq!(echo(r"b'\x00\xff\\'"), r"b'\x00\xff\\'");
    assert_eq!(echo("(1,)"), "(1,)");
    assert_eq!(echo("()"), "()");
    assert_eq!(
        echo("[1, 'a', None, True, False]"),
        "[1, 'a', None, True, False]"
    );
    assert_eq!(echo("None"), "");
    assert_eq!(echo("len(b'hello')"), "5");
    assert_eq!(echo("len('안녕')"), "2");
    assert_eq!(echo("'안녕'.encode()"), r"b'\xec\x95\x88\xeb\x85\x95'");
    assert_eq!(echo(r"b'\xec\x95\x88'.decode()"), "'안'");
    assert_eq!(echo("'hi'.encode('utf-8')"), "b'hi'");
    assert_eq!(echo("b'ab' b'c'"), "b'abc'");
    assert_eq!(
        echo("b'hello'[1:3], b'hello'[0], ('h', 9)[-1]"),
        "(b'el', 104, 9)"
    );
    assert_eq!(
        echo("AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SHUT_WR"),
        "(2, 10, 1, 2, 1)"
    );
    assert_eq!(echo("socket.SO_REUSEADDR, socket.MSG_DONTWAIT"), "(2, 64)");
    assert_eq!(echo("len"), "<built-in function len>");
    assert_eq!(echo("socket"), "<class 'socket.socket'>");
    assert_eq!(
        echo("b'x' * 1000000").len(),
        "b''…".len() + 100 + " (1000000 bytes)".len()
    );
}

#[test]
fn assignments_bind_and_echo() {
    let mut i = Interp::new();
    assert_eq!(line(&mut i, "msg = b'hi\\n'").unwrap(), r"msg = b'hi\n'");
    assert_eq!(line(&mut i, "msg").unwrap(), r"b'hi\n'");
    assert_eq!(
        line(&mut i, "host, port = '127.0.0.1', 9000").unwrap(),
        "host = '127.0.0.1', port = 9000"
    );
    assert_eq!(line(&mut i, "(host, port)").unwrap(), "('127.0.0.1', 9000)");
    assert_eq!(line(&mut i, "total = 0").unwrap(), "total = 0");
    assert_eq!(line(&mut i, "total += len(msg)").unwrap(), "total = 3");
    assert_eq!(line(&mut i, "msg += b'!'").unwrap(), r"msg = b'hi\n!'");
    assert_eq!(
        line(&mut i, "a, b = (1, 2, 3)").unwrap_err(),
        "ValueError: too many values to unpack (expected 2)"
    );
    // A failed unpack binds nothing.
    assert!(i.get("a").is_none());
}

#[test]
fn print_echoes_text_safely() {
    assert_eq!(echo("print('hello', 5, b'x')"), "hello 5 b'x'");
    assert_eq!(echo("print('a', 'b', sep='-')"), "a-b");
    assert_eq!(echo("print('line1\\nline2')"), "line1\nline2");
    assert_eq!(echo("print('\\x1b[2J')"), "\\x1b[2J");
    assert_eq!(echo("print()"), "");
    assert!(echo("print('x' * 100000)").ends_with("… (100001 chars)"));
}

#[test]
fn socket_calls_become_ops() {
    assert_eq!(
        op("socket()"),
        Op::Socket {
            family: 2,
            ty: 1,
            proto: 0
        }
    );
    assert_eq!(
        op("socket(AF_INET6, SOCK_DGRAM)"),
        Op::Socket {
            family: 10,
            ty: 2,
            proto: 0
        }
    );
    assert_eq!(
        op("socket.socket(family=socket.AF_INET, type=socket.SOCK_STREAM)"),
        Op::Socket {
            family: 2,
            ty: 1,
            proto: 0
        }
    );
    assert_eq!(
        op("srv.bind(('127.0.0.1', 9000))"),
        Op::Bind {
            sock: 1,
            addr: addr("127.0.0.1", 9000)
        }
    );
    assert_eq!(
        op("srv.listen()"),
        Op::Listen {
            sock: 1,
            backlog: None
        }
    );
    assert_eq!(
        op("srv.listen(5)"),
        Op::Listen {
            sock: 1,
            backlog: Some(5)
        }
    );
    assert_eq!(op("conn, addr = srv.accept()"), Op::Accept { sock: 1 });
    assert_eq!(
        op("cli.connect(('localhost', 80))"),
        Op::Connect {
            sock: 2,
            addr: addr("localhost", 80)
        }
    );
    assert_eq!(
        op("cli.connect_ex(('127.0.0.1', 1))"),
        Op::ConnectEx {
            sock: 2,
            addr: addr("127.0.0.1", 1)
        }
    );
    assert_eq!(
        op("cli.send(data)"),
        Op::Send {
            sock: 2,
            data: Bytes::from_static(b"hello\n"),
            flags: 0
        }
    );
    assert_eq!(
        op("cli.sendall(b'x' * 3, MSG_DONTWAIT)"),
        Op::SendAll {
            sock: 2,
            data: Bytes::from_static(b"xxx"),
            flags: 64
        }
    );
    assert_eq!(
        op("cli.sendto(b'hi', ('127.0.0.1', 5))"),
        Op::SendTo {
            sock: 2,
            data: Bytes::from_static(b"hi"),
            addr: addr("127.0.0.1", 5)
        }
    );
    assert_eq!(
        op("cli.sendto(b'hi', 0, ('127.0.0.1', 5))"),
        Op::SendTo {
            sock: 2,
            data: Bytes::from_static(b"hi"),
            addr: addr("127.0.0.1", 5)
        }
    );
    assert_eq!(
        op("data = cli.recv(1024)"),
        Op::Recv {
            sock: 2,
            bufsize: 1024,
            flags: 0
        }
    );
    assert_eq!(
        op("cli.recv(10, MSG_PEEK)"),
        Op::Recv {
            sock: 2,
            bufsize: 10,
            flags: 2
        }
    );
    assert_eq!(
        op("cli.recvfrom(10)"),
        Op::RecvFrom {
            sock: 2,
            bufsize: 10,
            flags: 0
        }
    );
    assert_eq!(
        op("cli.shutdown(SHUT_WR)"),
        Op::Shutdown { sock: 2, how: 1 }
    );
    assert_eq!(op("cli.close()"), Op::Close { sock: 2 });
    assert_eq!(
        op("srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)"),
        Op::SetSockOpt {
            sock: 1,
            level: 1,
            opt: 2,
            value: OptVal::Int(1)
        }
    );
    assert_eq!(
        op("srv.setsockopt(SOL_SOCKET, SO_LINGER, b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00')"),
        Op::SetSockOpt {
            sock: 1,
            level: 1,
            opt: 13,
            value: OptVal::Bytes(vec![1, 0, 0, 0, 0, 0, 0, 0])
        }
    );
    assert_eq!(
        op("srv.getsockopt(SOL_SOCKET, SO_RCVBUF)"),
        Op::GetSockOpt {
            sock: 1,
            level: 1,
            opt: 8,
            buflen: None
        }
    );
    assert_eq!(
        op("srv.getsockopt(SOL_SOCKET, SO_LINGER, 8)"),
        Op::GetSockOpt {
            sock: 1,
            level: 1,
            opt: 13,
            buflen: Some(8)
        }
    );
    assert_eq!(op("srv.getsockname()"), Op::GetSockName { sock: 1 });
    assert_eq!(op("srv.getpeername()"), Op::GetPeerName { sock: 1 });
    assert_eq!(
        op("srv.settimeout(None)"),
        Op::SetTimeout {
            sock: 1,
            timeout: None
        }
    );
    assert_eq!(
        op("srv.settimeout(2)"),
        Op::SetTimeout {
            sock: 1,
            timeout: Some(2.0)
        }
    );
    assert_eq!(
        op("srv.settimeout(0.5)"),
        Op::SetTimeout {
            sock: 1,
            timeout: Some(0.5)
        }
    );
    assert_eq!(op("srv.gettimeout()"), Op::GetTimeout { sock: 1 });
    assert_eq!(
        op("srv.setblocking(False)"),
        Op::SetBlocking {
            sock: 1,
            blocking: false
        }
    );
    assert_eq!(op("srv.fileno()"), Op::Fileno { sock: 1 });
    assert_eq!(
        op("r, w, x = select([srv, cli], [], [], 0.5)"),
        Op::Select {
            rlist: vec![1, 2],
            wlist: vec![],
            xlist: vec![],
            timeout: Some(0.5)
        }
    );
    assert_eq!(
        op("select.select((srv,), [cli], [])"),
        Op::Select {
            rlist: vec![1],
            wlist: vec![2],
            xlist: vec![],
            timeout: None
        }
    );
    assert_eq!(
        op("print(cli.recv(5))"),
        Op::Recv {
            sock: 2,
            bufsize: 5,
            flags: 0
        }
    );
}

#[test]
fn ipv6_sockets_take_longer_addresses() {
    struct V6;
    impl World for V6 {
        fn family(&self, _: crate::engine::SockId) -> Option<crate::engine::Family> {
            Some(crate::engine::Family::V6)
        }
        fn sock_repr(&self, s: crate::engine::SockId) -> String {
            format!("<v6 {s}>")
        }
    }
    let mut i = with_socks();
    let run = |i: &mut Interp, t: &str| i.start(&parse(t).unwrap(), &V6);
    assert!(matches!(
        run(&mut i, "srv.bind(('::1', 0, 0, 0))"),
        Ok(Step::Call(Op::Bind { .. }))
    ));
    assert!(matches!(
        run(&mut i, "srv.bind(('::1', 0))"),
        Ok(Step::Call(_))
    ));
    assert_eq!(
        run(&mut i, "srv.bind('::1')").err().unwrap().headline(),
        "TypeError: bind(): AF_INET6 address must be tuple, not str"
    );
}

#[test]
fn finishing_a_call_binds_its_result() {
    let mut i = with_socks();
    let stmt = parse("conn, addr = srv.accept()").unwrap();
    assert!(matches!(
        i.start(&stmt, &NoWorld),
        Ok(Step::Call(Op::Accept { sock: 1 }))
    ));
    let a: SocketAddr = "127.0.0.1:51234".parse().unwrap();
    let done = i
        .finish(
            &stmt,
            &Frozen::default(),
            ret_value(&Ret::Accepted(7, a)),
            &NoWorld,
        )
        .unwrap();
    assert_eq!(done.echo, "conn = <socket #7>, addr = ('127.0.0.1', 51234)");
    assert_eq!(i.get("conn"), Some(&Value::Socket(7)));
    assert_eq!(done.bound.len(), 2);

    let stmt = parse("n = len(cli.recv(100)) + 1").unwrap();
    assert!(matches!(
        i.start(&stmt, &NoWorld),
        Ok(Step::Call(Op::Recv { .. }))
    ));
    let done = i
        .finish(
            &stmt,
            &Frozen::default(),
            Value::Bytes(Bytes::from_static(b"abc")),
            &NoWorld,
        )
        .unwrap();
    assert_eq!(done.echo, "n = 4");

    let stmt = parse("cli.recv(100)").unwrap();
    let done = i
        .finish(
            &stmt,
            &Frozen::default(),
            Value::Bytes(Bytes::from_static(b"hello\n")),
            &NoWorld,
        )
        .unwrap();
    assert_eq!(done.echo, r"b'hello\n'");

    let stmt = parse("a, b = srv.accept()[0]").unwrap();
    let e = i
        .finish(
            &stmt,
            &Frozen::default(),
            ret_value(&Ret::Accepted(8, a)),
            &NoWorld,
        )
        .unwrap_err();
    assert_eq!(
        e.headline(),
        "TypeError: cannot unpack non-iterable socket object"
    );
}

#[test]
fn a_waiting_line_finishes_with_the_values_it_started_with() {
    let mut i = with_socks();
    i.set("suffix", Value::Bytes(Bytes::from_static(b"!")));
    let stmt = parse("got = cli.recv(10) + suffix").unwrap();
    let Ok(Step::Call(_)) = i.start(&stmt, &NoWorld) else {
        panic!()
    };
    let frozen = i.freeze(&stmt);
    // Other lines run while the call waits.
    line(&mut i, "cli = 5").unwrap();
    line(&mut i, "suffix = b'?'").unwrap();
    line(&mut i, "got = 0").unwrap();
    let done = i
        .finish(
            &stmt,
            &frozen,
            Value::Bytes(Bytes::from_static(b"hi")),
            &NoWorld,
        )
        .unwrap();
    assert_eq!(done.echo, "got = b'hi!'");
    assert_eq!(i.get("cli"), Some(&Value::Int(5)));
    assert_eq!(
        i.get("suffix"),
        Some(&Value::Bytes(Bytes::from_static(b"?")))
    );
    assert_eq!(
        i.get("got"),
        Some(&Value::Bytes(Bytes::from_static(b"hi!")))
    );
}

#[test]
fn runnable_code_drops_module_prefixes() {
    let text = "s = socket.socket(socket.AF_INET, SOCK_STREAM)  # tcp";
    let mut i = Interp::new();
    let stmt = parse(text).unwrap();
    let Ok(Step::Call(_)) = i.start(&stmt, &NoWorld) else {
        panic!()
    };
    let done = i
        .finish(&stmt, &Frozen::default(), Value::Socket(1), &NoWorld)
        .unwrap();
    assert_eq!(
        runnable(text, &done.strip),
        "s = socket(AF_INET, SOCK_STREAM)  # tcp"
    );
}

#[test]
fn one_socket_call_per_line() {
    assert_eq!(
        err("srv.sendall(cli.recv(10))"),
        "  File \"<stdin>\", line 1\n    srv.sendall(cli.recv(10))\n    ^^^^^^^^^^^^^^^^^^^^^^^^^\nLabError: socklab runs one socket call per line, and this line has 2: recv(), sendall() — give the result of recv() a name on its own line first (x = …), then use x"
    );
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
        head("data == b''"),
        "SyntaxError: comparisons are not supported in socklab — it runs one statement per line, with no if or while"
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
        "TypeError: argument for socket() given by name ('family') and position (1)"
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
