//! Hostile lesson directories and progress files through `socklab list`,
//! `check` and `verify`: no ESC, BEL or C1 byte reaches stdout or stderr,
//! every problem names `file:line`, exit codes say what happened, and two
//! writers sharing a state directory both keep their progress.

use std::path::Path;
use std::process::Command;

use socklab::lesson::Progress;
use socklab::lesson::progress::ProgressStore;

struct Out {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Out {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned() + &String::from_utf8_lossy(&self.stderr)
    }
}

fn socklab(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["--lang", "en"])
        .args(args)
        .current_dir(dir)
        .env("SOCKLAB_STATE_DIR", dir.join("state"))
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

/// No byte that a terminal acts on: C0 controls but newline, DEL, and the
/// C1 controls (as UTF-8, U+0080..U+009F).
fn assert_clean(o: &Out, what: &str) {
    for (name, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let bad: Vec<char> = text
            .chars()
            .filter(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c))
            .collect();
        assert!(bad.is_empty(), "{what}: {name} has {bad:?}:\n{text}");
    }
}

/// A lesson whose title, step text, hint, solution and check strings carry
/// terminal escapes (OSC title change, CSI clear screen, BEL, C1 CSI).
const HOSTILE: &str = r#"
id = "evil"
order = 1
title = { en = "Evil\u001b]0;pwned\u0007 title\u001b[2J", ko = "악\u009b2J" }
text = { en = "Make srv.", ko = "srv" }
[[steps]]
text = { en = "Listen with srv.\u001b[H", ko = "srv" }
hint = { en = "h\u0007", ko = "h" }
solution = ["srv = socket()", "srv.bind(('127.0.0.1', {port}))", "srv.listen(1)"]
check = { socket = "srv", lab = "listening\u001b[2J" }
"#;

#[test]
fn escapes_in_a_lesson_never_reach_the_terminal_and_check_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let lessons = dir.path().join("lessons");
    std::fs::create_dir(&lessons).unwrap();
    std::fs::write(lessons.join("evil.toml"), HOSTILE).unwrap();

    let o = socklab(dir.path(), &["check", "lessons"]);
    assert_clean(&o, "check");
    assert_eq!(o.code, 1, "{}", o.text());
    let t = o.text();
    for line in [4, 7, 8, 10] {
        assert!(
            t.contains(&format!("evil.toml:{line}:")) && t.contains("control character"),
            "line {line} not reported:\n{t}"
        );
    }
    assert!(t.contains("control character \\x1b"), "{t}");

    // The broken lesson does not load; list says so, escaped, and fails.
    let o = socklab(dir.path(), &["list"]);
    assert_clean(&o, "list");
    assert_eq!(o.code, 1, "{}", o.text());
    assert!(
        o.text().contains("no lessons could be loaded"),
        "{}",
        o.text()
    );

    let o = socklab(dir.path(), &["verify"]);
    assert_clean(&o, "verify");
    assert_ne!(o.code, 0);
}

#[test]
fn a_hostile_file_name_and_error_quotes_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let lessons = dir.path().join("lessons");
    std::fs::create_dir(&lessons).unwrap();
    // The name itself carries an OSC sequence; its contents are a syntax error.
    std::fs::write(lessons.join("x\u{1b}]0;owned\u{7}.toml"), "id = \n").unwrap();
    // A typo'd key with an escape in it, echoed by the error message.
    std::fs::write(
        lessons.join("key.toml"),
        "id = \"k\"\norder = 2\n\"ti\\u001b[2Jtle\" = 1\n",
    )
    .unwrap();
    for args in [
        &["check", "lessons"][..],
        &["list"],
        &["verify"],
        &["verify", "\u{1b}[2J"],
    ] {
        let o = socklab(dir.path(), args);
        assert_clean(&o, &format!("{args:?}"));
        assert_ne!(o.code, 0, "{args:?}: {}", o.text());
    }
    let t = socklab(dir.path(), &["check", "lessons"]).text();
    assert!(t.contains("x\\x1b]0;owned\\x07.toml:1:"), "{t}");
    assert!(t.contains("key.toml:3:"), "{t}");
}

#[test]
fn a_lesson_from_a_peer_with_escapes_in_what_it_says_verifies_cleanly() {
    // The greeter says bytes with escapes; verify's transcript and "not yet"
    // lines quote them, escaped.
    let dir = tempfile::tempdir().unwrap();
    let lesson = r#"
id = "peer"
order = 1
title = { en = "Peer", ko = "피어" }
text = { en = "Make srv and conn.", ko = "srv conn" }
[[setup]]
peer = "greeter"
addr = "127.0.0.1:{port}"
name = "client"
options = { message = '\x1b]0;pwned\x07\x1b[2J' }
[[steps]]
text = { en = "srv conn", ko = "srv conn" }
hint = { en = "h", ko = "h" }
solution = ["srv = socket()", "srv.bind(('127.0.0.1', {port}))", "srv.listen(1)", "conn, a = srv.accept()", "conn.recv(100)"]
check = { data = "received", socket = "conn", bytes = 'never\x1b[2J' }
"#;
    std::fs::write(dir.path().join("peer.toml"), lesson).unwrap();
    let o = socklab(dir.path(), &["--lessons", ".", "verify"]);
    assert_clean(&o, "verify with a peer");
    assert_eq!(o.code, 1, "{}", o.text());
    assert!(
        o.text().contains("not met after its solution"),
        "{}",
        o.text()
    );
}

#[cfg(unix)]
#[test]
fn skipped_files_are_warned_about_and_an_empty_dir_fails_list() {
    let dir = tempfile::tempdir().unwrap();
    let lessons = dir.path().join("lessons");
    std::fs::create_dir(&lessons).unwrap();
    std::os::unix::fs::symlink("loop-b.toml", lessons.join("loop-a.toml")).unwrap();
    std::os::unix::fs::symlink("loop-a.toml", lessons.join("loop-b.toml")).unwrap();
    std::os::unix::fs::symlink("missing.toml", lessons.join("dangling.toml")).unwrap();
    std::fs::create_dir(lessons.join("dir.toml")).unwrap();
    let fifo = lessons.join("fifo.toml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);

    // list must not block on the FIFO, must warn about each, and fail.
    let o = socklab(dir.path(), &["--lessons", "lessons", "list"]);
    assert_clean(&o, "list");
    assert_eq!(o.code, 1, "{}", o.text());
    let err = String::from_utf8_lossy(&o.stderr);
    for (name, why) in [
        ("loop-a.toml", "symbolic link loop"),
        ("loop-b.toml", "symbolic link loop"),
        ("dangling.toml", "symbolic link to nothing"),
        ("dir.toml", "a directory"),
        ("fifo.toml", "a FIFO"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(name) && l.contains("skipped") && l.contains(why)),
            "{name}: {err}"
        );
    }
    assert!(
        err.contains("no lessons could be loaded from lessons"),
        "{err}"
    );

    // check counts them as problems.
    let o = socklab(dir.path(), &["check", "lessons"]);
    assert_eq!(o.code, 1);
    assert!(o.text().contains("5 problems in 5 files"), "{}", o.text());

    // An empty directory: list fails with a message, not a table.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = socklab(dir.path(), &["--lessons", "empty", "list"]);
    assert_eq!(o.code, 1, "{}", o.text());
    assert!(o.stdout.is_empty());
    assert!(
        o.text().contains("no lessons could be loaded from empty"),
        "{}",
        o.text()
    );
}

#[test]
fn two_stores_sharing_a_state_dir_keep_both_progress() {
    let dir = tempfile::tempdir().unwrap();
    let a = ProgressStore::in_dir(dir.path());
    let b = ProgressStore::in_dir(dir.path());
    // Both instances start from the same (empty) progress.
    let (mut pa, _) = a.load();
    let (mut pb, _) = b.load();
    pa.set_current("bind");
    pa.mark_step("bind", 0, 2);
    a.save(&mut pa).unwrap();
    pb.set_current("udp");
    pb.mark_step("udp", 1, 2);
    b.save(&mut pb).unwrap();
    let (p, warn) = a.load();
    assert_eq!(warn, None);
    assert!(p.lesson("bind").unwrap().done.contains(&0), "{p:?}");
    assert!(p.lesson("udp").unwrap().done.contains(&1), "{p:?}");
    // The last writer's lesson is where the student is.
    assert_eq!(p.current.as_deref(), Some("udp"));
    // And the first instance sees the other's steps after its next save.
    a.save(&mut pa).unwrap();
    assert!(pa.lesson("udp").is_some());
}

#[test]
fn many_writers_at_once_lose_no_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("progress.json");
    std::thread::scope(|s| {
        for w in 0..4 {
            let path = path.clone();
            s.spawn(move || {
                for step in 0..25 {
                    // Each save starts from this writer's own view only.
                    let mut p = Progress::new();
                    p.mark_step(&format!("w{w}"), step, 1000);
                    ProgressStore::at(&path).save(&mut p).unwrap();
                }
            });
        }
    });
    let (p, warn) = Progress::load_from(&path);
    assert_eq!(warn, None);
    for w in 0..4 {
        let done = &p.lesson(&format!("w{w}")).unwrap().done;
        assert_eq!(done.len(), 25, "writer {w}: {done:?}");
    }
}

#[test]
fn a_stale_copy_saved_last_does_not_wipe_newer_steps() {
    // One instance loaded early, another saved since: the early one saving
    // last keeps the other's step, and `socklab list` shows both.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut p = Progress::new();
    p.mark_step("one", 0, 2);
    ProgressStore::in_dir(&state).save(&mut p).unwrap();
    let (mut stale, _) = ProgressStore::in_dir(&state).load();
    // Someone else saves step 1 meanwhile.
    let mut other = Progress::new();
    other.mark_step("one", 1, 2);
    ProgressStore::in_dir(&state).save(&mut other).unwrap();
    // The stale copy saves last and does not wipe step 1.
    stale.set_current("one");
    ProgressStore::in_dir(&state).save(&mut stale).unwrap();
    std::fs::create_dir(dir.path().join("lessons")).unwrap();
    std::fs::write(
        dir.path().join("lessons/one.toml"),
        "id = \"one\"\norder = 1\ntitle = { en = \"One\", ko = \"하나\" }\ntext = { en = \"t\", ko = \"t\" }\n[[steps]]\ntext = { en = \"s\", ko = \"s\" }\nhint = { en = \"h\", ko = \"h\" }\nsolution = ['s = socket()']\ncheck = { socket = \"s\", lab = \"created\" }\n[[steps]]\ntext = { en = \"s\", ko = \"s\" }\nhint = { en = \"h\", ko = \"h\" }\nsolution = ['s.close()']\ncheck = { socket = \"s\", lab = \"closed\" }\n",
    )
    .unwrap();
    let o = socklab(dir.path(), &["list"]);
    assert_eq!(o.code, 0, "{}", o.text());
    assert!(o.text().contains("One  ✓ 2/2"), "{}", o.text());
}

#[test]
fn three_corruptions_in_one_second_keep_three_backups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("progress.json");
    for i in 0..3 {
        std::fs::write(&path, format!("broken {i}")).unwrap();
        let (p, warn) = Progress::load_from(&path);
        assert_eq!(p, Progress::new());
        assert!(warn.unwrap().contains("is damaged"));
    }
    let mut kept: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, ["broken 0", "broken 1", "broken 2"]);
}

#[test]
fn a_newer_version_is_reported_and_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("progress.json");
    let newer = r#"{"version": 99, "current": "bind", "lessons": {"bind": {"done": [0]}}}"#;
    std::fs::write(&path, newer).unwrap();
    let (p, warn) = Progress::load_from(&path);
    assert_eq!(p, Progress::new(), "a version-99 file is not read as ours");
    let warn = warn.expect("a warning");
    assert!(warn.contains("version 99"), "{warn}");
    assert!(!path.exists());
    let aside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(aside.len(), 1);
    let aside = aside.into_iter().next().unwrap().unwrap().path();
    assert!(warn.contains(&aside.display().to_string()), "{warn}");
    assert_eq!(
        std::fs::read_to_string(&aside).unwrap(),
        newer,
        "nothing lost"
    );

    // Through the binary: reported on stderr, the list still shows.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    std::fs::write(dir.path().join("state/progress.json"), newer).unwrap();
    let o = socklab(dir.path(), &["list"]);
    assert_eq!(o.code, 0, "{}", o.text());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("version 99"),
        "{}",
        o.text()
    );
}

#[test]
fn every_mistake_in_a_check_is_reported_at_its_own_line() {
    // Several typos in checks (nested ones too): each is named with its
    // file:line, not only the first one the parser met.
    let dir = tempfile::tempdir().unwrap();
    let lesson = r#"id = "typo"
order = 1
title = { en = "T", ko = "T" }
text = { en = "srv", ko = "srv" }

[[steps]]
text = { en = "srv", ko = "srv" }
hint = { en = "h", ko = "h" }
solution = ['srv = socket()']
[steps.check]
socket = "srv"
lab = "created"
colur = "red"

[[steps]]
text = { en = "srv", ko = "srv" }
hint = { en = "h", ko = "h" }
solution = ['srv.close()']
[steps.check]
all = [
  { socket = "srv", lab = "closed", count = "two" },
  { call = "close", bytes = "x" },
]
"#;
    std::fs::write(dir.path().join("typo.toml"), lesson).unwrap();
    let o = socklab(dir.path(), &["check", "."]);
    assert_eq!(o.code, 1, "{}", o.text());
    let t = o.text();
    for want in [
        "typo.toml:13:1: step 1 check: unknown field `colur` in a `lab` check",
        "typo.toml:21:37: step 2 check: `count`: invalid type",
        "typo.toml:22:21: step 2 check: `bytes` does not apply to a `call` check",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    assert!(t.contains("3 problems in 1 file"), "{t}");
}
