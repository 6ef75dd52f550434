//! The loader and validator: every problem with file:line:col, and `socklab
//! check` on good and bad directories through the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use socklab::lesson::{Cond, load_dir, load_file};

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lessons-bad")
        .join(name)
}

fn messages(name: &str) -> Vec<String> {
    let problems = load_file(&bad(name)).expect_err("the file is broken");
    problems
        .iter()
        .map(|p| format!("{}:{}: {}", p.line, p.col, p.msg))
        .collect()
}

const GOOD: &str = r#"
id = "tiny"
order = 0
title = { en = "Tiny", ko = "작은 레슨" }
text = { en = "Bind to {host}:{port}.", ko = "{host}:{port}에 bind 하세요." }

[[setup]]
peer = "greeter"
addr = "127.0.0.1:{port}"
name = "client"
options = { message = "hi\\n", count = 2 }

[[steps]]
text = { en = "Make srv.", ko = "srv를 만드세요." }
hint = { en = "socket()", ko = "socket()" }
solution = ['srv = socket(AF_INET, SOCK_STREAM)', 'srv.bind(("{host}", {port}))']
check = { all = [ { socket = "srv", lab = "bound" }, { socket = "srv", kernel = "CLOSE", when = "now" } ] }

[[steps]]
text = { en = "Listen.", ko = "listen 하세요." }
hint = { en = "listen()", ko = "listen()" }
solution = ['srv.listen(1)']
check = { seq = [ { socket = "srv", lab = "listening" }, { peer = "client", said = "x" } ] }
"#;

#[test]
fn a_good_lesson_loads_with_everything_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tiny.toml");
    std::fs::write(&f, GOOD).unwrap();
    let l = load_file(&f).unwrap();
    assert_eq!(l.id, "tiny");
    assert_eq!(l.title.ko, "작은 레슨");
    assert_eq!(l.setup[0].kind, "greeter");
    assert_eq!(l.setup[0].name.as_deref(), Some("client"));
    assert_eq!(l.setup[0].options["count"], "2");
    assert_eq!(l.steps.len(), 2);
    assert!(matches!(l.steps[1].check, Cond::Seq(ref v) if v.len() == 2));
    let mut ph = std::collections::BTreeMap::new();
    ph.insert("port".to_string(), "4321".to_string());
    ph.insert("host".to_string(), "127.0.0.1".to_string());
    let e = l.expanded(&ph);
    assert_eq!(e.text.en, "Bind to 127.0.0.1:4321.");
    assert_eq!(e.setup[0].addr, "127.0.0.1:4321");
    assert_eq!(e.steps[0].solution[1], r#"srv.bind(("127.0.0.1", 4321))"#);
}

#[test]
fn syntax_errors_point_at_the_spot() {
    assert_eq!(
        messages("syntax.toml"),
        ["4:43: missing comma between key-value pairs, expected `,`"]
    );
}

#[test]
fn schema_errors_name_the_key_and_line() {
    // Every shape problem at once, each with a "did you mean".
    let m = messages("schema.toml");
    assert_eq!(
        m,
        [
            "1:1: the lesson has no `title`",
            "1:1: the lesson has no `steps`",
            "3:1: unknown field `titel` in the lesson (did you mean \"title\"?)",
        ],
        "{m:?}"
    );
}

#[test]
fn semantic_problems_are_all_reported_with_lines() {
    let m = messages("semantic.toml");
    let expect = [
        "4:8: text: missing `ko` text",
        "4:34: unknown placeholder {prot}",
        "7:8: unknown peer kind \"greeterz\"",
        "13:13: peer greeter: greeter has no option 'colour'",
        "19:9: step 1 check: unknown lab state \"listenning\"",
        "25:9: step 2 check: unknown errno name \"ECONREFUSED\"",
        "31:20: step 3 check names socket \"conn\", but no `en` text up to this step tells",
        "31:20: step 3 check names socket \"conn\", but no `ko` text up to this step tells",
        "31:20: step 3 check names socket \"conn\", but no solution line assigns conn",
        "37:27: step 4 check names peer \"device\", but no setup or :peer line starts",
    ];
    assert_eq!(m.len(), expect.len(), "{m:#?}");
    for (got, want) in m.iter().zip(expect) {
        assert!(got.starts_with(want), "{got:?} should start with {want:?}");
    }
}

#[test]
fn duplicates_across_files_are_reported() {
    let rep = load_dir(&bad(""));
    let dup: Vec<String> = rep
        .problems
        .iter()
        .filter(|p| p.msg.starts_with("duplicate"))
        .map(|p| p.to_string())
        .collect();
    assert_eq!(dup.len(), 2, "{dup:?}");
    assert!(
        dup[0].contains("dup-b.toml:1:1: duplicate id \"twin\""),
        "{dup:?}"
    );
    assert!(
        dup[1].contains("dup-b.toml:2:1: duplicate order 93"),
        "{dup:?}"
    );
    // The broken files do not stop the good one from loading.
    assert_eq!(rep.lessons.len(), 2);
}

fn socklab(args: &[&str], dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(args)
        .current_dir(dir)
        .env("SOCKLAB_STATE_DIR", dir.join("state"))
        .env("LANG", "C")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn check_binary_on_a_bad_directory_fails_with_every_problem() {
    let (code, out) = socklab(&["check", bad("").to_str().unwrap()], Path::new("."));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("semantic.toml:19:9: step 1 check: unknown lab state"),
        "{out}"
    );
    assert!(out.contains("syntax.toml:4:43:"), "{out}");
    assert!(out.contains("schema.toml:3:1:"), "{out}");
    assert!(out.contains("16 problems in 4 files"), "{out}");
}

#[test]
fn check_binary_on_a_good_directory_passes_and_list_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let lessons = dir.path().join("lessons");
    std::fs::create_dir(&lessons).unwrap();
    std::fs::write(lessons.join("tiny.toml"), GOOD).unwrap();
    // Default directory: ./lessons.
    let (code, out) = socklab(&["check"], dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 lessons, 2 steps, no problems"), "{out}");
    let (code, out) = socklab(
        &["--lessons", "lessons", "--lang", "ko", "list"],
        dir.path(),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0  tiny  작은 레슨    0/2"), "{out}");
}

#[test]
fn check_binary_reports_a_missing_or_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = socklab(&["check", "nowhere"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("nowhere: cannot read the lesson directory"),
        "{out}"
    );
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let (code, out) = socklab(&["check", "empty"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("empty: no lesson files (*.toml) here"),
        "{out}"
    );
}
