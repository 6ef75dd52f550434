//! `socklab run` as a user runs it: the real binary, real sockets.

mod common;

use std::process::{Command, Output};

fn run(args: &[&str], script: &str) -> Output {
    common::run_script(args, script)
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const ROUND_TRIP: &str = r#"
srv = socket(AF_INET, SOCK_STREAM)
srv.bind(("127.0.0.1", {port}))
srv.listen(5)
cli = socket()
cli.connect(("127.0.0.1", {port}))
conn, addr = srv.accept()
cli.sendall(b"hello\n")
conn.recv(1024)
cli.shutdown(SHUT_WR)
conn.recv(1024)
"#;

#[test]
fn transcript_shows_calls_states_and_bytes() {
    let o = run(&[], ROUND_TRIP);
    let t = text(&o);
    assert!(
        o.status.success(),
        "{t}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(t.contains(">>> srv.listen(5)"), "{t}");
    assert!(!t.contains("{port}"), "placeholders are filled: {t}");
    assert!(t.contains("srv: bound → listening"), "{t}");
    assert!(t.contains("srv: kernel CLOSE → LISTEN"), "{t}");
    assert!(t.contains("cli sent 6 bytes: hello\\n"), "{t}");
    assert!(t.contains("conn received 6 bytes: hello\\n"), "{t}");
    assert!(
        t.contains("\nb'hello\\n'\n"),
        "recv's value is echoed like the REPL: {t}"
    );
    assert!(t.contains("cli: kernel ESTABLISHED → FIN_WAIT"), "{t}");
    assert!(t.contains("conn: kernel ESTABLISHED → CLOSE_WAIT"), "{t}");
    assert!(t.contains("\nb''\n"), "EOF after shutdown: {t}");
}

#[test]
fn json_lines_follow_the_schema() {
    let o = run(&["--json"], ROUND_TRIP);
    assert!(o.status.success());
    let mut kinds = std::collections::BTreeSet::new();
    for line in text(&o).lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["t_us"].is_u64(), "{line}");
        assert!(v["line"].is_u64(), "{line}");
        kinds.insert(v["event"].as_str().unwrap().to_string());
        if v["event"] == "data" && v["dir"] == "sent" {
            assert_eq!(v["data"], "hello\\n");
            assert_eq!(v["len"], 6);
        }
    }
    for k in [
        "input",
        "echo",
        "socket_created",
        "lab_state",
        "kernel_state",
        "call_started",
        "call_done",
        "data",
    ] {
        assert!(kinds.contains(k), "no {k} in {kinds:?}");
    }
}

#[test]
fn failed_call_stops_the_script_unless_keep_going() {
    let script = "s = socket()\ns.connect((\"127.0.0.1\", {port}))\ns.getsockname()\n";
    let o = run(&[], script);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("ConnectionRefusedError: [Errno 111] Connection refused — nothing is listening on 127.0.0.1:"), "{t}");
    assert!(
        !t.contains(">>> s.getsockname()"),
        "stops at the failure: {t}"
    );
    let o = run(&["--keep-going"], script);
    assert_eq!(o.status.code(), Some(1), "a line failed");
    assert!(text(&o).contains(">>> s.getsockname()"));
}

#[test]
fn blocking_call_times_out_clearly() {
    let script = "s = socket()\ns.bind((\"127.0.0.1\", 0))\ns.listen(1)\nc, a = s.accept()\n";
    let o = run(&["--timeout", "0.5"], script);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("s.accept() … waiting"), "{t}");
    assert!(
        t.contains("c, a = s.accept() was still blocked after 0.5 s (--timeout)"),
        "{t}"
    );
}

#[test]
fn syntax_errors_and_hex() {
    let o = run(&[], "x = b\"\\q\"\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("SyntaxError"), "{}", text(&o));

    let o = run(
        &["--hex"],
        ":peer echo 127.0.0.1:{port}\nc = socket()\nc.connect((\"127.0.0.1\", {port}))\nc.sendall(b\"\\x1b[2J\\x00hi\")\nc.recv(100)\n",
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("c sent 7 bytes: \\x1b[2J\\x00hi"), "{t}");
    assert!(t.contains("1b 5b 32 4a 00 68 69"), "hexdump: {t}");
    assert!(!t.contains('\x1b'), "no raw escape reaches the output");
}

#[test]
fn unreadable_script_is_an_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["run", "/nonexistent/script.py"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("reading /nonexistent/script.py"));
}
