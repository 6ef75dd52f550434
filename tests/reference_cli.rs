//! `socklab help language` and `socklab peers`: the references for lesson
//! writers, printed by the binary, and linked from lessons/README.md.

use std::process::Command;

fn socklab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_socklab"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn help_language_prints_the_language_reference() {
    let (ok, out, _) = socklab(&["help", "language"]);
    assert!(ok);
    assert_eq!(out, include_str!("../src/lang/LANGUAGE.md"));
    // It says what is not there, and where real Python runs.
    for want in [
        "int.from_bytes",
        "with",
        "socklab trace",
        "several socket calls",
    ] {
        assert!(out.contains(want), "LANGUAGE.md does not mention {want}");
    }
}

#[test]
fn peers_lists_every_kind_with_its_options_and_defaults() {
    let (ok, out, _) = socklab(&["peers"]);
    assert!(ok);
    for k in socklab::engine::peers::KINDS {
        assert!(
            out.contains(&format!("\n{}  (", k.kind)),
            "{} missing",
            k.kind
        );
        for (name, default, _) in k.options {
            assert!(
                out.contains(&format!("{name}={default}")),
                "{}: {name}",
                k.kind
            );
        }
    }
    // Client options documented once are explained on every client kind.
    let chat = out.split("\nchat  (").nth(1).unwrap();
    let chat = chat.split("\n\n").next().unwrap();
    assert!(chat.contains("retry_ms=200  try again"), "{chat}");
    assert_eq!(socklab(&["help", "peers"]).1, out);
}

#[test]
fn help_still_explains_the_subcommands() {
    let (ok, out, _) = socklab(&["help", "run"]);
    assert!(ok && out.contains("--keep-going"), "{out}");
    let (ok, _, err) = socklab(&["help", "nosuch"]);
    assert!(!ok && err.contains("socklab help language"), "{err}");
}

#[test]
fn the_lesson_guide_links_both_references() {
    let readme = include_str!("../lessons/README.md");
    for want in [
        "../src/lang/LANGUAGE.md",
        "socklab help language",
        "../src/engine/peers/spec.rs",
        "socklab peers",
    ] {
        assert!(readme.contains(want), "lessons/README.md lacks {want}");
    }
}
