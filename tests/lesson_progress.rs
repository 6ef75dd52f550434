//! Progress persistence: round trip, atomic replacement, a corrupt file set
//! aside and reported, and the SOCKLAB_STATE_DIR override seen by the binary.

use std::path::Path;
use std::process::Command;

use socklab::lesson::Progress;

#[test]
fn progress_round_trips_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/progress.json");
    let mut p = Progress::new();
    p.set_current("bind");
    p.mark_step("bind", 0, 2);
    p.save_to(&path).unwrap();
    assert!(!p.lesson("bind").unwrap().complete);
    p.mark_step("bind", 1, 2);
    assert!(p.lesson("bind").unwrap().complete);
    p.save_to(&path).unwrap();
    let (q, warn) = Progress::load_from(&path);
    assert_eq!(warn, None);
    assert_eq!(q, p);
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["progress.json"]);
}

#[test]
fn a_missing_file_is_empty_progress_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (p, warn) = Progress::load_from(&dir.path().join("progress.json"));
    assert_eq!(p, Progress::new());
    assert_eq!(warn, None);
}

#[test]
fn a_failed_save_keeps_the_old_file_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a directory, so the final rename fails.
    let path = dir.path().join("progress.json");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep"), "old").unwrap();
    let mut p = Progress::new();
    p.set_current("x");
    assert!(p.save_to(&path).is_err());
    assert_eq!(std::fs::read_to_string(path.join("keep")).unwrap(), "old");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "progress.json")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_corrupt_file_is_set_aside_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("progress.json");
    std::fs::write(&path, b"{\"current\": \"bind\", \"lessons\": {\"bind\": [").unwrap();
    let (p, warn) = Progress::load_from(&path);
    assert_eq!(p, Progress::new());
    let warn = warn.expect("a warning");
    assert!(warn.contains("is damaged"), "{warn}");
    assert!(!path.exists(), "the bad file is moved away");
    let aside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(aside.len(), 1);
    assert!(aside[0].starts_with("progress.json.corrupt-"), "{aside:?}");
    assert!(warn.contains(&aside[0]), "{warn}");
    // The program goes on: saving works again.
    p.save_to(&path).unwrap();
    assert_eq!(Progress::load_from(&path), (Progress::new(), None));
}

const LESSON: &str = r#"
id = "one"
order = 1
title = { en = "One", ko = "하나" }
text = { en = "t", ko = "t" }
[[steps]]
text = { en = "s", ko = "s" }
hint = { en = "h", ko = "h" }
solution = ['s = socket()']
check = { socket = "s", lab = "created" }
[[steps]]
text = { en = "s", ko = "s" }
hint = { en = "h", ko = "h" }
solution = ['s.close()']
check = { socket = "s", lab = "closed" }
"#;

fn list(dir: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(["--lang", "en", "list"])
        .current_dir(dir)
        .env("SOCKLAB_STATE_DIR", dir.join("state"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_reads_progress_from_the_state_dir_and_survives_corruption() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lessons")).unwrap();
    std::fs::write(dir.path().join("lessons/one.toml"), LESSON).unwrap();
    let mut p = Progress::new();
    p.set_current("one");
    p.mark_step("one", 0, 2);
    p.save_to(&dir.path().join("state/progress.json")).unwrap();
    let (ok, out, _) = list(dir.path());
    assert!(ok);
    assert!(out.contains("one  One    1/2  ← you are here"), "{out}");
    p.mark_step("one", 1, 2);
    p.save_to(&dir.path().join("state/progress.json")).unwrap();
    let (_, out, _) = list(dir.path());
    assert!(out.contains("One  ✓ 2/2"), "{out}");

    std::fs::write(dir.path().join("state/progress.json"), "not json").unwrap();
    let (ok, out, err) = list(dir.path());
    assert!(ok, "{err}");
    assert!(err.contains("is damaged"), "{err}");
    assert!(out.contains("One    0/2"), "{out}");
}

#[test]
fn pick_prefers_the_asked_lesson_then_where_the_student_was() {
    let dir = tempfile::tempdir().unwrap();
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        let src = LESSON
            .replace("id = \"one\"", &format!("id = \"{id}\""))
            .replace("order = 1", &format!("order = {i}"));
        std::fs::write(dir.path().join(format!("{id}.toml")), src).unwrap();
    }
    let lessons = socklab::lesson::load_dir(dir.path()).lessons;
    let mut p = Progress::new();
    assert_eq!(socklab::lesson::pick(&lessons, &p, None), Some(0));
    p.mark_step("a", 0, 2);
    p.mark_step("a", 1, 2);
    assert_eq!(socklab::lesson::pick(&lessons, &p, None), Some(1));
    p.set_current("c");
    assert_eq!(socklab::lesson::pick(&lessons, &p, None), Some(2));
    assert_eq!(socklab::lesson::pick(&lessons, &p, Some("1")), Some(1));
    assert_eq!(socklab::lesson::pick(&lessons, &p, Some("a")), Some(0));
    assert_eq!(socklab::lesson::pick(&lessons, &p, Some("zz")), None);
    assert_eq!(socklab::lesson::next_after(&lessons, "b"), Some(2));
    assert_eq!(socklab::lesson::next_after(&lessons, "c"), None);
}

#[test]
fn reopening_skips_a_finished_current_lesson() {
    let dir = format!("{}/lessons", env!("CARGO_MANIFEST_DIR"));
    let rep = socklab::lesson::load_dir(std::path::Path::new(&dir));
    let lessons = &rep.lessons;
    let mut p = socklab::lesson::Progress::default();
    let first = &lessons[0];
    for s in 0..first.steps.len() {
        p.mark_step(&first.id, s, first.steps.len());
    }
    p.set_current(&first.id);
    assert_eq!(socklab::lesson::pick(lessons, &p, None), Some(1));
    // An unfinished current lesson is still where the student goes back to.
    p.set_current(&lessons[3].id);
    assert_eq!(socklab::lesson::pick(lessons, &p, None), Some(3));
}
