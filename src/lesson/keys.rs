//! The shape of a lesson file, checked key by key before it is read into
//! its types: every unknown or missing field in the whole file is reported
//! in one run, each with its line and a "did you mean" for a misspelling.
//! (serde stops at the first one, so a teacher would fix a file one typo per
//! run.) What is inside `check` is the check language's own business
//! (src/lesson/check/), which reports its problems the same way.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::check::common::did_you_mean;

const LESSON: &[&str] = &["id", "order", "title", "text", "setup", "steps"];
const LESSON_NEEDS: &[&str] = &["id", "order", "title", "text", "steps"];
const STEP: &[&str] = &[
    "text", "hint", "solution", "check", "setup", "wrong", "right",
];
const STEP_NEEDS: &[&str] = &["text", "hint", "solution", "check"];
const TEXT: &[&str] = &["en", "ko"];
const PEER: &[&str] = &["peer", "addr", "name", "options"];
const PEER_NEEDS: &[&str] = &["peer", "addr"];

/// One problem with the file's shape.
pub struct Shape {
    pub span: Range<usize>,
    pub msg: String,
    /// A required field is missing: the file cannot be read into a lesson
    /// (an unknown field alone does not stop the rest of the checks).
    pub missing: bool,
}

/// Every unknown and missing key. Empty when the file is not TOML at all
/// (the reader reports that) or has the right shape.
pub fn problems(src: &str) -> Vec<Shape> {
    let Ok(root) = DeTable::parse(src) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let span = root.span();
    table(
        root.get_ref(),
        span,
        "the lesson",
        LESSON,
        LESSON_NEEDS,
        &mut out,
    );
    for (k, v) in root.get_ref() {
        match (&**k.get_ref(), v.get_ref()) {
            ("title" | "text", DeValue::Table(t)) => table(
                t,
                v.span(),
                &format!("`{}`", k.get_ref()),
                TEXT,
                &[],
                &mut out,
            ),
            ("setup", DeValue::Array(a)) => peers(a, &mut out),
            ("steps", DeValue::Array(steps)) => {
                for (i, s) in steps.iter().enumerate() {
                    let DeValue::Table(st) = s.get_ref() else {
                        continue;
                    };
                    let what = format!("step {}", i + 1);
                    table(st, s.span(), &what, STEP, STEP_NEEDS, &mut out);
                    for (k, v) in st {
                        match (&**k.get_ref(), v.get_ref()) {
                            ("text" | "hint", DeValue::Table(t)) => {
                                let what = format!("`{}` of {what}", k.get_ref());
                                table(t, v.span(), &what, TEXT, &[], &mut out)
                            }
                            ("setup", DeValue::Array(a)) => peers(a, &mut out),
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn peers(list: &[Spanned<DeValue<'_>>], out: &mut Vec<Shape>) {
    for p in list {
        if let DeValue::Table(t) = p.get_ref() {
            table(t, p.span(), "a peer in `setup`", PEER, PEER_NEEDS, out);
        }
    }
}

/// The keys of one table against the known ones and the required ones.
fn table(
    t: &DeTable<'_>,
    span: Range<usize>,
    what: &str,
    known: &[&str],
    needs: &[&str],
    out: &mut Vec<Shape>,
) {
    for k in t.keys() {
        let name: &str = k.get_ref();
        if !known.contains(&name) {
            let near = did_you_mean(name, known);
            let hint = if near.is_empty() {
                format!(
                    "; {what} has {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                near
            };
            out.push(Shape {
                span: k.span(),
                msg: format!("unknown field `{name}` in {what}{hint}"),
                missing: false,
            });
        }
    }
    for need in needs {
        if !t.keys().any(|k| k.get_ref() == need) {
            out.push(Shape {
                span: span.clone(),
                msg: format!("{what} has no `{need}`"),
                missing: true,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unknown_and_missing_key_in_one_run() {
        let src = r#"
id = "x"
order = 1
titel = { en = "X" }
text = { en = "t", kr = "t" }

[[steps]]
text = { en = "a" }
hnt = { en = "h" }
solution = []
check = { socket = "s" }

[[steps]]
txt = { en = "b" }
hint = { en = "h" }
solution = []
check = { socket = "s" }
"#;
        let p: Vec<String> = problems(src).into_iter().map(|s| s.msg).collect();
        let has = |s: &str| p.iter().any(|m| m.contains(s));
        assert!(
            has("unknown field `titel` in the lesson (did you mean \"title\"?)"),
            "{p:#?}"
        );
        assert!(has("the lesson has no `title`"), "{p:#?}");
        assert!(has("unknown field `kr` in `text`"), "{p:#?}");
        assert!(
            has("unknown field `hnt` in step 1 (did you mean \"hint\"?)"),
            "{p:#?}"
        );
        assert!(has("step 1 has no `hint`"), "{p:#?}");
        assert!(
            has("unknown field `txt` in step 2 (did you mean \"text\"?)"),
            "{p:#?}"
        );
        assert!(has("step 2 has no `text`"), "{p:#?}");
        assert_eq!(p.len(), 7, "{p:#?}");
    }

    #[test]
    fn a_good_shape_has_no_problems() {
        let src = r#"
id = "x"
order = 1
title = { en = "X", ko = "X" }
text = { en = "t", ko = "t" }
setup = [{ peer = "echo", addr = "127.0.0.1:{port}" }]

[[steps]]
text = { en = "a", ko = "a" }
hint = { en = "h", ko = "h" }
solution = []
check = { socket = "s" }
wrong = [["x"]]
"#;
        let p: Vec<String> = problems(src).into_iter().map(|s| s.msg).collect();
        assert!(p.is_empty(), "{p:#?}");
    }
}
