//! With `--lang ko` socklab's own words are Korean everywhere, while what
//! Python itself would print (exception names, CPython's messages, errno
//! names and strerror) stays as Python prints it.

mod common;

use std::process::Command;

use common::*;
use socklab::describe::error_line;
use socklab::engine::*;
use socklab::settings::Lang;

fn hangul(s: &str) -> bool {
    s.chars().any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c))
}

/// `socklab run --keep-going --keep-code --lang LANG -` of `script`: stdout.
fn run(lang: &str, script: &str) -> String {
    let out = run_script(&["--keep-going", "--keep-code", "--lang", lang], script);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The answer to `>>> line` in a transcript: the first line under it that
/// is not an event (events are indented) nor a caret block.
fn answer<'a>(transcript: &'a str, line: &str) -> &'a str {
    let mut it = transcript.lines();
    it.find(|l| l.strip_prefix(">>> ") == Some(line))
        .unwrap_or_else(|| panic!("no >>> {line} in:\n{transcript}"));
    it.find(|l| !l.starts_with(' ') && !l.starts_with(">>> "))
        .unwrap_or_else(|| panic!("no answer to {line} in:\n{transcript}"))
}

/// Lines and the head each answer starts with: what Python itself would
/// print, which stays English; socklab's words follow it.
const CASES: &[(&str, &str)] = &[
    ("import os", "ModuleNotFoundError: No module named 'os' — "),
    ("class Foo:", "SyntaxError: "),
    ("    x = 1", "IndentationError: unexpected indent — "),
    ("s.x = 5", "SyntaxError: "),
    ("a = b = 1", "SyntaxError: "),
    ("x = 2 ** 3", "SyntaxError: "),
    ("x = 1; y = 2", "SyntaxError: "),
    ("f\"hi\"", "SyntaxError: "),
    ("b\"\\x4\"", "SyntaxError: truncated \\x4 escape — "),
    ("\"\\q\"", "SyntaxError: invalid escape sequence '\\q' ("),
    ("1j", "SyntaxError: "),
    ("99999999999999999999", "OverflowError: "),
    (
        "\"abc\".encode(\"utf-16\")",
        "LookupError: unknown encoding: utf-16 (",
    ),
    ("b\"a\" + \"b\"", "TypeError: can't concat str to bytes — "),
    (
        "bytes(\"x\")",
        "TypeError: string argument without an encoding — ",
    ),
    ("'a' is 'b'", "LabError: "),
    ("exit", "LabError: "),
    (
        "s.sendall(\"hi\")",
        "TypeError: a bytes-like object is required, not 'str' — ",
    ),
    ("s.recv(10, 0x4000)", "LabError: "),
    ("s.recv(100000000)", "ValueError: "),
    ("s.setsockopt(SOL_SOCKET, 6, 1)", "LabError: "),
    (
        "s.getpeername()",
        "OSError: [Errno 107] Transport endpoint is not connected — ",
    ),
    ("s.bind((\"0.0.0.0\", 0))", "LabError: "),
    (
        "x = socket(99)",
        "OSError: [Errno 97] Address family not supported by protocol — ",
    ),
    (":frob", "LabError: "),
    (":hlep", "LabError: "),
    (":peer ech 127.0.0.1:9", "LabError: "),
    (":peer echo 127.0.0.1:9 foo=1", "LabError: "),
    (":peer echo nope", "LabError: "),
    (":step", "LabError: "),
    (":rerun", "LabError: "),
    (":export py", "LabError: "),
    (":export pyy /tmp/x", "LabError: "),
    (":export py /nonexistent-socklab-dir/x.py", "LabError: "),
];

fn script() -> String {
    let mut s = String::from("s = socket()\n");
    for (line, _) in CASES {
        s.push_str(line);
        s.push('\n');
    }
    s
}

#[test]
fn socklabs_own_words_are_korean_and_pythons_stay_english() {
    let t = run("ko", &script());
    for (line, head) in CASES {
        let a = answer(&t, line);
        let rest = a
            .strip_prefix(head)
            .unwrap_or_else(|| panic!("{line}: Python's head {head:?} kept in {a:?}"));
        assert!(hangul(rest), "{line}: socklab's words in Korean: {a:?}");
    }
    // Python's own words inside them stay too.
    assert!(answer(&t, ":frob").contains("':frob'"), "{t}");
    assert!(answer(&t, ":hlep").contains(":help"), "{t}");
    assert!(answer(&t, "s.recv(10, 0x4000)").contains("0x4000"), "{t}");
    assert!(answer(&t, "class Foo:").contains("'class'"), "{t}");
    // What the script made succeeds in Korean too.
    let out = std::env::temp_dir().join(format!("socklab-ko-{}.py", std::process::id()));
    let line = format!(":export py {}", out.display());
    let t = run("ko", &format!("s = socket()\n{line}\n"));
    let said = answer(&t, &line);
    let _ = std::fs::remove_file(&out);
    assert!(said.contains("3") && hangul(said), "{said}");
}

#[test]
fn the_same_script_in_english_has_no_korean() {
    let t = run("en", &script());
    assert!(!hangul(&t), "{t}");
    for (line, want) in [
        ("import os", "socklab has only socket and select"),
        ("class Foo:", "it runs one call per line, with no blocks"),
        (
            ":frob",
            "unknown lab command ':frob' — see :help in the lab",
        ),
        (":hlep", "did you mean :help?"),
        (
            "s.recv(10, 0x4000)",
            "are not supported here; socklab passes on only",
        ),
        (
            "s.setsockopt(SOL_SOCKET, 6, 1)",
            "unless started with --allow-remote",
        ),
        (":export py", "usage: :export FORMAT FILE"),
    ] {
        assert!(answer(&t, line).contains(want), "{line}: {t}");
    }
}

#[tokio::test]
async fn engine_refusals_are_notes_worded_in_each_language() {
    let mut lab = Lab::new();
    let s = lab.tcp().await;
    // Flags socklab does not pass on.
    let e = lab
        .err(Op::Recv {
            sock: s,
            bufsize: 10,
            flags: 0x4000,
        })
        .await;
    assert_eq!(e.explain.key, "lab.flags_unsupported");
    assert!(e.message.is_empty(), "the engine holds no sentence: {e:?}");
    let (en, ko) = (error_line(Lang::En, &e), error_line(Lang::Ko, &e));
    assert!(
        en.starts_with("LabError: recv() flags 0x4000 are not supported"),
        "{en}"
    );
    assert!(
        ko.starts_with("LabError: ") && hangul(&ko) && ko.contains("0x4000"),
        "{ko}"
    );
    // An option that would reach past loopback.
    let e = lab
        .err(Op::SetSockOpt {
            sock: s,
            level: libc::SOL_SOCKET as i64,
            opt: libc::SO_BROADCAST as i64,
            value: OptVal::Int(1),
        })
        .await;
    assert!(
        error_line(Lang::En, &e).contains("broadcast datagrams"),
        "{e:?}"
    );
    assert!(hangul(&error_line(Lang::Ko, &e)), "{e:?}");
    // Python's line stays; the explanation after it is translated.
    let e = lab.err(Op::GetPeerName { sock: s }).await;
    let ko = error_line(Lang::Ko, &e);
    let head = "OSError: [Errno 107] Transport endpoint is not connected — ";
    assert!(ko.starts_with(head) && hangul(&ko[head.len()..]), "{ko}");
    // A peer that cannot start says why in the student's language.
    let e = lab
        .engine
        .start_peer(PeerSpec::new("echo", "nope"))
        .unwrap_err();
    assert_eq!(e.explain.key, "lab.peer_bad_addr");
    assert!(hangul(&error_line(Lang::Ko, &e)), "{e:?}");
    assert!(
        error_line(Lang::En, &e).contains("'nope' is not HOST:PORT"),
        "{e:?}"
    );
}

#[tokio::test]
async fn notices_and_peer_notes_are_worded_in_korean() {
    let mut lab = Lab::new();
    lab.engine.reset();
    let ev = lab
        .wait_for(
            "the reset notice",
            |e| matches!(&e.kind, EventKind::Notice { note } if note.key == "lab.reset"),
        )
        .await;
    let name = |_: SockId| String::new();
    let d = socklab::describe::describe(&ev, &lab.model, Lang::Ko, &name).expect("worded");
    assert!(hangul(&d.text), "{}", d.text);
    let d = socklab::describe::describe(&ev, &lab.model, Lang::En, &name).expect("worded");
    assert_eq!(d.text, "lab reset: every socket closed, every peer stopped");
    // A peer asked to stop says so in the student's language.
    let port = free_port().unwrap();
    lab.engine
        .start_peer(PeerSpec::new("echo", &format!("127.0.0.1:{port}")))
        .unwrap();
    assert!(lab.engine.stop_peer("echo"));
    let ev = lab
        .wait_for("the peer stopped", |e| {
            matches!(
                &e.kind,
                EventKind::Peer {
                    note: PeerNote::Stopped { .. },
                    ..
                }
            )
        })
        .await;
    let d = socklab::describe::describe(&ev, &lab.model, Lang::Ko, &name).expect("worded");
    assert!(hangul(&d.text), "{}", d.text);
    let d = socklab::describe::describe(&ev, &lab.model, Lang::En, &name).expect("worded");
    assert_eq!(d.text, "peer echo stopped: stopped");
}

#[test]
fn a_damaged_progress_file_is_reported_in_korean() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("state")).unwrap();
    std::fs::write(dir.path().join("state/progress.json"), "not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["--lang", "ko", "list"])
        .env("SOCKLAB_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let warn = err
        .lines()
        .find(|l| l.contains("progress.json"))
        .unwrap_or_else(|| panic!("no warning: {err}"));
    assert!(hangul(warn) && !warn.contains("is damaged"), "{warn}");
}
