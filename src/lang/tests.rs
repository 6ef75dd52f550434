//! The language end to end without an engine: parse, evaluate, errors.

use std::net::SocketAddr;

use bytes::Bytes;

use super::*;
use crate::engine::{AddrArg, Op, OptVal, Ret};

/// Run one line; a socket call is shown as `CALL <op>`.
pub(super) fn line(interp: &mut Interp, text: &str) -> Result<String, String> {
    let stmt = parse(text).map_err(|e| e.render())?;
    match interp.start(&stmt, &NoWorld) {
        Ok(Step::Done(d)) => Ok(d.echo),
        Ok(Step::Call(op)) => Ok(format!("CALL {op:?}")),
        Err(e) => Err(e.in_line(text).render()),
    }
}

pub(super) fn echo(text: &str) -> String {
    line(&mut Interp::new(), text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

pub(super) fn err(text: &str) -> String {
    line(&mut with_socks(), text).expect_err(text)
}

/// An interpreter with `srv` and `cli` sockets and a few values.
pub(super) fn with_socks() -> Interp {
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
        "b''…".len() + 40 + " (1000000 bytes)".len()
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
fn a_second_call_behind_an_alias_runs_after_the_first() {
    let mut i = with_socks();
    line(&mut i, "make = socket").unwrap();
    let stmt = parse("make().connect(('h', 1))").unwrap();
    assert!(matches!(
        i.start(&stmt, &NoWorld),
        Ok(Step::Call(Op::Socket { .. }))
    ));
    let next = i.resume(&stmt, &Frozen::default(), &[Value::Socket(3)], &NoWorld);
    assert!(matches!(next, Ok(Step::Call(Op::Connect { sock: 3, .. }))));
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
fn comparisons_and_truth_tests_are_pythons() {
    for (text, want) in [
        ("data == b'hello\\n'", "True"),
        ("data == b''", "False"),
        ("data != 'hello\\n'", "True"),
        ("1 == 1.0 == True", "True"),
        ("1 < 2 < 3", "True"),
        ("3 > 2 > 2", "False"),
        ("(1, 2) < (1, 3)", "True"),
        ("[1] <= [1]", "True"),
        ("'ab' < 'b'", "True"),
        ("b'el' in data", "True"),
        ("104 in data", "True"),
        ("'x' not in text", "True"),
        ("2 in (1, 2)", "True"),
        ("srv is srv", "True"),
        ("srv is not cli", "True"),
        ("None is None", "True"),
        ("data is None", "False"),
        ("not data", "False"),
        ("not 0", "True"),
        ("0 or 'x'", "'x'"),
        ("b'' or None", ""),
        ("1 and 2", "2"),
        ("[] and 1", "[]"),
        ("not 1 == 2", "True"),
        ("1 + 1 == 2 and 'ok'", "'ok'"),
        ("x = data == b''", "x = False"),
    ] {
        assert_eq!(
            line(&mut with_socks(), text).unwrap_or_else(|e| panic!("{text}: {e}")),
            want,
            "{text}"
        );
    }
    for (text, want) in [
        (
            "1 < 'a'",
            "TypeError: '<' not supported between instances of 'int' and 'str'",
        ),
        (
            "1 in data[0]",
            "TypeError: argument of type 'int' is not iterable",
        ),
        (
            "1 in text",
            "TypeError: 'in <string>' requires string as left operand, not int",
        ),
        (
            "'h' in data",
            "TypeError: a bytes-like object is required, not 'str'",
        ),
        ("300 in data", "ValueError: byte must be in range(0, 256)"),
    ] {
        let e = line(&mut with_socks(), text).unwrap_err();
        assert_eq!(e.lines().last().unwrap(), want, "{text}");
    }
    // Short-circuit: the right side is not evaluated.
    assert_eq!(echo("0 and undefined_name"), "0");
    assert_eq!(echo("1 or undefined_name"), "1");
}
