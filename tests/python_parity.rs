//! The same script under CPython and under `socklab run`, compared line by
//! line: the value the REPL would echo, or the exception's type and errno.
//! Both run real sockets on 127.0.0.1 with OS-chosen ports. A line marked
//! `# socklab: LabError` is a documented difference (something socklab does
//! not have): socklab must refuse it as a LabError, not pretend.

use std::collections::BTreeMap;
use std::process::Command;

const SCRIPT: &str = include_str!("parity/script.py");
const HARNESS: &str = include_str!("parity/harness.py");

/// `<socket fd=5 TCP/v4 …>` and `<socket.socket fd=5, …>` are both `<socket>`;
/// OS-chosen port numbers are `PORT`.
fn normalise(s: &str) -> String {
    let sock = regex::Regex::new(r"<socket[^>]*>").unwrap();
    let port = regex::Regex::new(r"(, |port = )\d{4,5}\b").unwrap();
    let s = sock.replace_all(s, "<socket>");
    port.replace_all(&s, "${1}PORT").into_owned()
}

fn python(dir: &std::path::Path) -> BTreeMap<usize, String> {
    let harness = dir.join("harness.py");
    std::fs::write(&harness, HARNESS).unwrap();
    let out = Command::new("python3")
        .arg(&harness)
        .arg(dir.join("script.py"))
        .output()
        .expect("python3 is needed for this test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (n, rest) = l.split_once(' ').unwrap();
            (n.parse().unwrap(), normalise(rest))
        })
        .collect()
}

/// The exception name and errno of socklab's error text.
fn exception(text: &str) -> String {
    let head = regex::Regex::new(r"^([A-Za-z]+(?:Error|Exception|Interrupt|Warning)):?").unwrap();
    let errno = regex::Regex::new(r"\[Errno (\d+)\]").unwrap();
    let line = text
        .lines()
        .find(|l| head.is_match(l))
        .unwrap_or_else(|| panic!("no exception in {text:?}"));
    let exc = &head.captures(line).unwrap()[1];
    let no = errno
        .captures(line)
        .map_or("None".to_string(), |c| c[1].to_string());
    format!("err {exc} {no}")
}

fn socklab(dir: &std::path::Path) -> BTreeMap<usize, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["run", "--json", "--keep-going", "--timeout", "5"])
        .arg(dir.join("script.py"))
        .output()
        .unwrap();
    let mut got: BTreeMap<usize, String> = (1..=SCRIPT.lines().count())
        .map(|n| (n, "ok ".to_string()))
        .collect();
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let line = v["line"].as_u64().unwrap_or(0) as usize;
        let text = v["text"].as_str().unwrap_or("");
        match v["event"].as_str() {
            Some("echo") => {
                got.insert(line, normalise(&format!("ok {text}")));
            }
            Some("error") => {
                got.insert(line, exception(text));
            }
            _ => {}
        }
    }
    got
}

#[test]
fn socklab_gives_what_cpython_gives_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("script.py"), SCRIPT).unwrap();
    let want = python(dir.path());
    let got = socklab(dir.path());
    let mut wrong = Vec::new();
    for (n, line) in SCRIPT.lines().enumerate() {
        let n = n + 1;
        let (w, g) = (&want[&n], &got[&n]);
        if line.contains("# socklab: LabError") {
            if g != "err LabError None" {
                wrong.push(format!(
                    "{n}: {line}\n   socklab: {g} (should be a LabError)"
                ));
            }
            continue;
        }
        if w != g {
            wrong.push(format!("{n}: {line}\n   python:  {w}\n   socklab: {g}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "differs from CPython:\n{}",
        wrong.join("\n")
    );
    // The script covers what it is meant to: errors with errno, and values.
    assert!(
        want.values()
            .filter(|v| v.starts_with("err OSError"))
            .count()
            >= 15
    );
    assert!(
        want.values()
            .filter(|v| v.starts_with("ok ") && v.len() > 3)
            .count()
            >= 25
    );
}
