//! Lesson text that would act on the terminal: found with its place, so
//! `socklab check` can name `file:line`.

use std::ops::Range;

use toml::Spanned;

use crate::engine::text::{is_unsafe_char, sanitize};

/// Lesson text reaches the terminal (titles, hints, check strings quoted in
/// "not yet" lines): no string or key may hold a control character, written
/// with a TOML escape (`\u001b`, `\e`) or raw. Line breaks are text.
pub fn controls(src: &str) -> Vec<(Range<usize>, String)> {
    let Ok(doc) = toml::de::DeTable::parse(src) else {
        return Vec::new(); // syntax errors are reported by the parse itself
    };
    let mut found = Vec::new();
    walk_table(doc.get_ref(), &mut found);
    found
        .into_iter()
        .map(|(span, c)| {
            (
            span,
            format!(
                "control character {} in lesson text: it would act on the terminal; remove it (bytes in a check are written as escapes, e.g. \\x1b)",
                sanitize(&c.to_string()),
            ),
            )
        })
        .collect()
}

fn unsafe_in(s: &str) -> Option<char> {
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        let line_break = c == '\n' || (c == '\r' && it.peek() == Some(&'\n'));
        if is_unsafe_char(c) && !line_break {
            return Some(c);
        }
    }
    None
}

fn walk_table(t: &toml::de::DeTable, out: &mut Vec<(Range<usize>, char)>) {
    for (k, v) in t {
        if let Some(c) = unsafe_in(k.get_ref()) {
            out.push((k.span(), c));
        }
        walk_value(v, out);
    }
}

fn walk_value(v: &Spanned<toml::de::DeValue>, out: &mut Vec<(Range<usize>, char)>) {
    match v.get_ref() {
        toml::de::DeValue::String(s) => {
            if let Some(c) = unsafe_in(s) {
                out.push((v.span(), c));
            }
        }
        toml::de::DeValue::Array(a) => a.iter().for_each(|x| walk_value(x, out)),
        toml::de::DeValue::Table(t) => walk_table(t, out),
        _ => {}
    }
}
