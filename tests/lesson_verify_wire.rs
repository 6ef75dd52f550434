//! `socklab verify` proves wire steps on real captures (we run as root here
//! and in CI), and without the capture — the binary run without CAP_NET_RAW
//! (`setpriv`) — every lesson still passes: the wire parts count on their
//! steps' other evidence, and the report says so.

use std::path::Path;
use std::process::Command;

/// `socklab verify LESSON` on `dir`, under `setpriv ARGS` when given.
fn verify(setpriv: &[&str], dir: &Path, lesson: &str) -> (i32, String) {
    let mut cmd = if setpriv.is_empty() {
        Command::new(env!("CARGO_BIN_EXE_socklab"))
    } else {
        let mut c = Command::new("setpriv");
        c.args(setpriv).arg(env!("CARGO_BIN_EXE_socklab"));
        c
    };
    let out = cmd
        .args(["--lang", "en", "--lessons"])
        .arg(dir)
        .args(["verify", lesson])
        .env(
            "SOCKLAB_STATE_DIR",
            std::env::temp_dir().join("socklab-verify-wire"),
        )
        .output()
        .expect("setpriv (util-linux) must be installed");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

const NO_NET_RAW: &[&str] = &["--inh-caps=-net_raw", "--bounding-set=-net_raw"];

/// A lesson whose step 1 is a refused connect; `wire` is its wire part.
fn refused(id: &str, order: u32, wire: &str) -> String {
    format!(
        r#"id = "{id}"
order = {order}
title = {{ en = "T", ko = "T" }}
text = {{ en = "t", ko = "t" }}

[[steps]]
text = {{ en = "Connect `cli` to {{port}}.", ko = "`cli`를 {{port}}에 연결" }}
hint = {{ en = "h", ko = "h" }}
solution = ['cli = socket()', 'cli.connect(("127.0.0.1", {{port}}))']
check = {{ all = [{{ call = "connect", errno = "ECONNREFUSED" }}, {wire}] }}
"#
    )
}

#[test]
fn verify_proves_the_wire_part_of_a_step_with_capture_on_and_counts_it_without() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.toml"),
        refused("good", 0, r#"{ segment = "RST", to = "cli" }"#),
    )
    .unwrap();
    // Wrong on the wire: cli sends no RST.
    std::fs::write(
        dir.path().join("bad.toml"),
        refused("bad", 1, r#"{ segment = "RST", from = "cli" }"#),
    )
    .unwrap();

    let (code, out) = verify(&[], dir.path(), "good");
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("capture is off"), "{out}");
    let (code, out) = verify(&[], dir.path(), "bad");
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("step 1 is not met after its solution"),
        "{out}"
    );
    assert!(
        out.contains("no RST from cli seen on the wire yet"),
        "{out}"
    );

    // Without CAP_NET_RAW there is no capture: both count on the refused
    // connect, and verify says the wire parts were counted on it.
    for id in ["good", "bad"] {
        let (code, out) = verify(NO_NET_RAW, dir.path(), id);
        assert_eq!(code, 0, "{id}: {out}");
        assert!(
            out.contains(
                "capture is off (opening an AF_PACKET socket on lo: Operation not permitted"
            ),
            "{id}: {out}"
        );
        assert!(
            out.contains("the steps' wire parts were counted on their other evidence"),
            "{id}: {out}"
        );
    }
}

/// The lessons where the wire is the lesson, from the curriculum.
const WIRE_LESSONS: &[&str] = &["3", "5", "10", "11", "13", "17"];

fn curriculum() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

#[test]
fn the_wire_lessons_verify_with_capture_on() {
    let runs: Vec<_> = WIRE_LESSONS
        .iter()
        .map(|l| std::thread::spawn(move || (l, verify(&[], &curriculum(), l))))
        .collect();
    for r in runs {
        let (l, (code, out)) = r.join().unwrap();
        assert_eq!(code, 0, "lesson {l}: {out}");
        assert!(!out.contains("capture is off"), "lesson {l}: {out}");
    }
}

#[test]
fn the_wire_lessons_verify_without_the_capture_on_their_other_evidence() {
    let runs: Vec<_> = WIRE_LESSONS
        .iter()
        .map(|l| std::thread::spawn(move || (l, verify(NO_NET_RAW, &curriculum(), l))))
        .collect();
    for r in runs {
        let (l, (code, out)) = r.join().unwrap();
        assert_eq!(code, 0, "lesson {l}: {out}");
        assert!(out.contains("capture is off"), "lesson {l}: {out}");
        // Lesson 17's wrong route (an echo answers, no ICMP) is refused by
        // the wire alone: without it, it is reported as not judged.
        if *l == "17" {
            assert!(
                out.contains("1 wrong route(s) that only the wire refuses were not judged"),
                "{out}"
            );
        }
    }
}
