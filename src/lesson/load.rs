//! Reading lesson files: TOML → [`Lesson`], with every problem reported as
//! `file:line:col: message`. Loading parses data and nothing else: no lesson
//! field is ever run, opened or written.
//!
//! Over 600 lines on purpose: loading and validating one file is one pass
//! over its spans (`Report`); the directory scan (`lesson_files`) is the
//! next piece to move out if it grows.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::engine::PeerSpec;
use crate::engine::peers::kind_info;
use crate::engine::text::sanitize;

use super::cond::{self, RawCheck};
use super::format::{
    Lesson, PLACEHOLDERS, Step, Text, assigned_names, fill, placeholders_in, sample_placeholders,
};

/// Lesson files larger than this are refused (a lesson is a few KiB).
const MAX_FILE: u64 = 1024 * 1024;

/// One problem in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

/// Escaped for the terminal: a file name or a message quoting the file may
/// hold control characters.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = sanitize(&self.file.display().to_string());
        let msg = sanitize(&self.msg);
        if self.line == 0 {
            // About a directory or a whole file, not a place in it.
            return write!(f, "{file}: {msg}");
        }
        write!(f, "{file}:{}:{}: {msg}", self.line, self.col)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..src.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

/// Unknown fields here and in the raw types below are reported by
/// `keys::problems`, all at once, before these are read.
#[derive(Deserialize)]
struct RawLesson {
    id: Spanned<String>,
    order: Spanned<i64>,
    title: Spanned<RawText>,
    text: Spanned<RawText>,
    #[serde(default)]
    setup: Vec<Spanned<RawPeer>>,
    steps: Spanned<Vec<Spanned<RawStep>>>,
}

#[derive(Deserialize)]
struct RawText {
    en: Option<String>,
    ko: Option<String>,
}

#[derive(Deserialize)]
struct RawPeer {
    peer: String,
    addr: String,
    name: Option<String>,
    #[serde(default)]
    options: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct RawStep {
    text: Spanned<RawText>,
    hint: Spanned<RawText>,
    solution: Spanned<Vec<String>>,
    check: Spanned<RawCheck>,
    #[serde(default)]
    setup: Vec<Spanned<RawPeer>>,
    #[serde(default)]
    wrong: Vec<Spanned<Vec<String>>>,
    #[serde(default)]
    right: Vec<Spanned<Vec<String>>>,
}

/// Collects problems for one file.
struct Report<'a> {
    file: &'a Path,
    src: &'a str,
    problems: Vec<Problem>,
}

impl Report<'_> {
    fn at(&mut self, span: Range<usize>, msg: impl Into<String>) {
        let (line, col) = line_col(self.src, span.start);
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            line,
            col,
            msg: msg.into(),
        });
    }

    /// The first place `needle` occurs at or after `from` (else at `from`):
    /// good enough to point a teacher at a key inside a table.
    fn find(&self, needle: &str, from: usize) -> Range<usize> {
        let from = from.min(self.src.len());
        match self.src[from..].find(needle) {
            Some(i) => from + i..from + i + needle.len(),
            None => from..from,
        }
    }
}

/// Load one lesson file. On failure, every problem found.
pub fn load_file(path: &Path) -> Result<Lesson, Vec<Problem>> {
    let fail = |msg: String| {
        vec![Problem {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
            msg,
        }]
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        // A FIFO would block the read forever; a device is not a lesson.
        return Err(fail(format!("not a regular file ({})", file_kind(&meta))));
    }
    if meta.len() > MAX_FILE {
        return Err(fail(format!(
            "file is {} bytes; lesson files are at most {MAX_FILE}",
            meta.len()
        )));
    }
    let src = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    parse(path, &src)
}

/// Parse lesson source text (`path` is only used in messages).
pub fn parse(path: &Path, src: &str) -> Result<Lesson, Vec<Problem>> {
    let mut rep = Report {
        file: path,
        src,
        problems: Vec::new(),
    };
    // Every unknown or missing field at once (serde would stop at the first).
    // An unknown one is reported and the rest of the file is still checked
    // (the raw types below ignore unknown fields: this pass owns them).
    let shape = super::keys::problems(src);
    let missing = shape.iter().any(|s| s.missing);
    for s in shape {
        rep.at(s.span, s.msg);
    }
    if missing {
        for (span, msg) in super::safety::controls(src) {
            rep.at(span, msg);
        }
        rep.problems.sort_by_key(|p| (p.line, p.col));
        return Err(rep.problems);
    }
    let raw: RawLesson = match toml::from_str(src) {
        Ok(r) => r,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            rep.at(span, e.message().trim().to_string());
            return Err(rep.problems);
        }
    };
    let lesson = build(&raw, &mut rep, path);
    check_placeholders(&mut rep);
    for (span, msg) in super::safety::controls(src) {
        rep.at(span, msg);
    }
    rep.problems.sort_by_key(|p| (p.line, p.col));
    match lesson {
        Some(l) if rep.problems.is_empty() => Ok(l),
        _ => Err(rep.problems),
    }
}

fn build(raw: &RawLesson, rep: &mut Report, path: &Path) -> Option<Lesson> {
    let id = raw.id.get_ref();
    let id_ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        rep.at(
            raw.id.span(),
            format!("id \"{id}\": use lowercase letters, digits and -"),
        );
    }
    let order = *raw.order.get_ref();
    if !(0..=999).contains(&order) {
        rep.at(raw.order.span(), format!("order = {order}: must be 0..999"));
    }
    let title = text(&raw.title, "title", rep);
    let intro = text(&raw.text, "text", rep);
    let setup = peers(&raw.setup, rep);
    let raw_steps = raw.steps.get_ref();
    if raw_steps.is_empty() {
        rep.at(raw.steps.span(), "a lesson needs at least one step");
    }

    // Sockets any solution line creates, for "check names a socket no step creates".
    let created: Vec<String> = raw_steps
        .iter()
        .flat_map(|s| s.get_ref().solution.get_ref().iter())
        .flat_map(|l| assigned_names(l))
        .collect();

    // Peers a check may name: setup peers and `:peer` lines of solutions.
    let mut peer_names: Vec<String> = raw
        .setup
        .iter()
        .chain(raw_steps.iter().flat_map(|s| s.get_ref().setup.iter()))
        .map(|p| {
            let p = p.get_ref();
            p.name.clone().unwrap_or_else(|| {
                kind_info(&p.peer).map_or(p.peer.clone(), |k| k.kind.to_string())
            })
        })
        .collect();
    for line in raw_steps
        .iter()
        .flat_map(|s| s.get_ref().solution.get_ref().iter())
    {
        if let Some(args) = line.trim().strip_prefix(":peer ")
            && let Ok(spec) = PeerSpec::parse(args)
        {
            peer_names.push(spec.name.unwrap_or(spec.kind));
        }
    }

    let mut steps = Vec::new();
    for (i, rs) in raw_steps.iter().enumerate() {
        let s = rs.get_ref();
        let n = i + 1;
        let st_text = text(&s.text, &format!("step {n} text"), rep);
        let hint = text(&s.hint, &format!("step {n} hint"), rep);
        let solution = s.solution.get_ref().clone();
        if solution.iter().all(|l| l.trim().is_empty()) {
            rep.at(
                s.solution.span(),
                format!("step {n}: solution is empty (verify needs the calls that solve it)"),
            );
        }
        let mut errs = Vec::new();
        let check = cond::convert(&s.check, &mut errs);
        for (span, msg) in errs {
            rep.at(span, format!("step {n} check: {msg}"));
        }
        if let Some(c) = &check {
            let mut labels = Vec::new();
            c.student_labels(&mut labels);
            labels.dedup();
            for l in labels {
                // Checks find sockets by the student's variable name, so
                // the student must have been told it by this step.
                for lang in ["en", "ko"] {
                    let told = std::iter::once(&raw.text)
                        .chain(raw_steps[..=i].iter().map(|s| &s.get_ref().text))
                        .filter_map(|t| match lang {
                            "en" => t.get_ref().en.as_deref(),
                            _ => t.get_ref().ko.as_deref(),
                        })
                        .any(|t| mentions(t, &l));
                    if !told {
                        let span = rep.find(&format!("\"{l}\""), s.check.span().start);
                        rep.at(
                            span,
                            format!(
                                "step {n} check names socket \"{l}\", but no `{lang}` text up to this step tells the student that name (an ordinary word like it counts only in code: `{l}`)"
                            ),
                        );
                    }
                }
                if !created.contains(&l) {
                    let span = rep.find(&format!("\"{l}\""), s.check.span().start);
                    rep.at(
                        span,
                        format!(
                            "step {n} check names socket \"{l}\", but no solution line assigns {l} = …"
                        ),
                    );
                }
            }
        }
        if let Some(c) = &check {
            let mut names = Vec::new();
            c.peer_names(&mut names);
            names.dedup();
            for p in names {
                if !peer_names.contains(&p) {
                    let span = rep.find(&format!("\"{p}\""), s.check.span().start);
                    rep.at(
                        span,
                        format!(
                            "step {n} check names peer \"{p}\", but no setup or :peer line starts a peer by that name"
                        ),
                    );
                }
            }
        }
        if let Some(c) = &check {
            for msg in c.wire_placement() {
                rep.at(s.check.span(), format!("step {n} check: {msg}"));
            }
            let mut names = Vec::new();
            c.end_names(&mut names);
            names.dedup();
            for e in names {
                if !created.contains(&e) && !peer_names.contains(&e) {
                    let span = rep.find(&format!("\"{e}\""), s.check.span().start);
                    rep.at(
                        span,
                        format!(
                            "step {n} check names \"{e}\" as a segment's end, but no solution line assigns {e} = … and no peer has that name"
                        ),
                    );
                }
            }
        }
        let step_setup = peers(&s.setup, rep);
        if let (Some(check), Some(text), Some(hint)) = (check, st_text, hint) {
            steps.push(Step {
                text,
                hint,
                solution,
                check,
                setup: step_setup,
                wrong: routes(&s.wrong, "wrong", n, rep),
                right: routes(&s.right, "right", n, rep),
            });
        }
    }
    Some(Lesson {
        id: id.clone(),
        order: order.clamp(0, 999) as u32,
        title: title?,
        text: intro?,
        setup,
        steps,
        path: path.to_path_buf(),
    })
}

/// A step's `wrong` / `right` routes: each a non-empty list of lines.
fn routes(v: &[Spanned<Vec<String>>], what: &str, n: usize, rep: &mut Report) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for r in v {
        if r.get_ref().iter().all(|l| l.trim().is_empty()) {
            rep.at(
                r.span(),
                format!("step {n}: a `{what}` route needs at least one line"),
            );
        } else {
            out.push(r.get_ref().clone());
        }
    }
    out
}

/// Whether `name` appears in `text` as a whole word (`srv`, not `srv2`).
/// A name that is also an ordinary English word counts only inside code
/// (between backticks): "the client notices" does not tell the student that
/// a socket is called `client`; `client = socket()` does.
fn mentions(text: &str, name: &str) -> bool {
    let in_code = text
        .split('`')
        .skip(1)
        .step_by(2)
        .any(|code| mentions_word(code, name));
    in_code
        || (!ENGLISH_WORDS.contains(&name.to_ascii_lowercase().as_str())
            && mentions_word(text, name))
}

/// Socket names a teacher may pick that are also words of ordinary text.
const ENGLISH_WORDS: &[&str] = &[
    "a",
    "i",
    "client",
    "server",
    "listener",
    "socket",
    "connection",
    "peer",
    "device",
    "data",
    "reader",
    "writer",
    "sender",
    "receiver",
    "first",
    "second",
    "new",
    "old",
    "old",
    "one",
    "two",
    "it",
    "me",
    "you",
    "we",
    "us",
    "so",
    "no",
    "on",
    "at",
    "in",
    "to",
    "up",
    "do",
    "go",
];

fn mentions_word(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

fn text(t: &Spanned<RawText>, what: &str, rep: &mut Report) -> Option<Text> {
    let r = t.get_ref();
    let mut ok = true;
    for (v, lang) in [(&r.en, "en"), (&r.ko, "ko")] {
        match v {
            None => {
                rep.at(t.span(), format!("{what}: missing `{lang}` text"));
                ok = false;
            }
            Some(s) if s.trim().is_empty() => {
                rep.at(t.span(), format!("{what}: `{lang}` text is empty"));
                ok = false;
            }
            _ => {}
        }
    }
    ok.then(|| Text {
        en: r.en.clone().unwrap_or_default(),
        ko: r.ko.clone().unwrap_or_default(),
    })
}

fn peers(raw: &[Spanned<RawPeer>], rep: &mut Report) -> Vec<PeerSpec> {
    let sample = sample_placeholders();
    let mut out = Vec::new();
    for p in raw {
        let r = p.get_ref();
        let Some(info) = kind_info(&r.peer) else {
            let span = rep.find(&format!("\"{}\"", r.peer), p.span().start);
            let kinds: Vec<&str> = crate::engine::peers::KINDS.iter().map(|k| k.kind).collect();
            rep.at(
                span,
                format!(
                    "unknown peer kind \"{}\"; peers: {}",
                    r.peer,
                    kinds.join(", ")
                ),
            );
            continue;
        };
        let mut options = BTreeMap::new();
        for (k, v) in &r.options {
            let s = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    let span = rep.find(k, p.span().start);
                    rep.at(
                        span,
                        format!("peer option {k}: use a string, not {}", other.type_str()),
                    );
                    continue;
                }
            };
            options.insert(k.clone(), s);
        }
        let spec = PeerSpec {
            kind: info.kind.to_string(),
            name: r.name.clone(),
            addr: r.addr.clone(),
            options,
        };
        let filled = super::format::fill_peer(&spec, &sample);
        // One option at a time, so each problem points at its own key.
        for (k, v) in &filled.options {
            let one = PeerSpec {
                options: [(k.clone(), v.clone())].into(),
                ..filled.clone()
            };
            if let Err(e) = one.validate() {
                let span = rep.find(k, p.span().start);
                let e = crate::i18n::note(crate::settings::Lang::En, &e);
                rep.at(span, format!("peer {}: {e}", info.kind));
            }
        }
        if filled.addr.parse::<SocketAddr>().is_err() {
            let span = rep.find(&r.addr, p.span().start);
            rep.at(
                span,
                format!(
                    "peer address \"{}\": use HOST:PORT, e.g. \"127.0.0.1:{{port}}\"",
                    r.addr
                ),
            );
        }
        if let Some(n) = &r.name
            && (n.is_empty() || n.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            rep.at(p.span(), format!("peer name \"{n}\": one word, please"));
        }
        out.push(spec);
    }
    out
}

/// Placeholders are checked on the source text, so one in a comment is
/// flagged too (harmless, and it keeps every place reported with its line).
fn check_placeholders(rep: &mut Report) {
    let src = rep.src;
    for line_start in line_starts(src) {
        let line = src[line_start..].split('\n').next().unwrap_or("");
        let code = line.trim_start();
        if code.starts_with('#') {
            continue;
        }
        for (at, name) in placeholders_in(line) {
            if !PLACEHOLDERS.contains(&name) {
                rep.at(
                    line_start + at..line_start + at,
                    format!(
                        "unknown placeholder {{{name}}}; known: {}",
                        PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{p}}}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                );
            }
        }
    }
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a file"
    }
}

fn line_starts(src: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(src.match_indices('\n').map(|(i, _)| i + 1))
}

/// Every `*.toml` regular file in `dir`, sorted by name, and a problem for
/// each `*.toml` entry that is skipped (a symlink loop or a dangling link, a
/// FIFO, a directory, an entry that cannot be read).
pub fn lesson_files(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<Problem>)> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut skip = |file: PathBuf, why: String| {
        skipped.push(Problem {
            file,
            line: 0,
            col: 0,
            msg: format!("skipped: {why}"),
        })
    };
    for e in std::fs::read_dir(dir)? {
        let e = match e {
            Ok(e) => e,
            Err(err) => {
                skip(
                    dir.to_path_buf(),
                    format!("an entry could not be read ({err})"),
                );
                continue;
            }
        };
        let p = e.path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => files.push(p),
            Ok(m) => skip(p, format!("{}, not a lesson file", file_kind(&m))),
            Err(err) => {
                let link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
                let why = if err.raw_os_error() == Some(libc::ELOOP) {
                    "a symbolic link loop".to_string()
                } else if link && err.kind() == std::io::ErrorKind::NotFound {
                    "a symbolic link to nothing".to_string()
                } else {
                    format!("cannot be read ({err})")
                };
                skip(p, why);
            }
        }
    }
    files.sort();
    skipped.sort_by(|a, b| a.file.cmp(&b.file));
    Ok((files, skipped))
}

/// What loading a directory found.
#[derive(Debug, Default)]
pub struct DirReport {
    /// The lessons that loaded, sorted by order (then id).
    pub lessons: Vec<Lesson>,
    /// Every problem, in file order.
    pub problems: Vec<Problem>,
}

/// Load every lesson in `dir` and check the directory as a whole (unique ids
/// and orders). A broken file does not stop the others from loading.
pub fn load_dir(dir: &Path) -> DirReport {
    let mut rep = DirReport::default();
    let files = match lesson_files(dir) {
        Ok((f, skipped)) => {
            rep.problems.extend(skipped);
            f
        }
        Err(e) => {
            rep.problems.push(Problem {
                file: dir.to_path_buf(),
                line: 0,
                col: 0,
                msg: format!("cannot read the lesson directory: {e}"),
            });
            return rep;
        }
    };
    if files.is_empty() && rep.problems.is_empty() {
        rep.problems.push(Problem {
            file: dir.to_path_buf(),
            line: 0,
            col: 0,
            msg: "no lesson files (*.toml) here".to_string(),
        });
    }
    for f in files {
        match load_file(&f) {
            Ok(l) => rep.lessons.push(l),
            Err(p) => rep.problems.extend(p),
        }
    }
    finish(rep)
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_lessons.rs"));
}

/// The lessons built into the binary (the `lessons/` directory of the source
/// tree when socklab was built), checked like a directory.
pub fn load_embedded() -> DirReport {
    let mut rep = DirReport::default();
    for (name, src) in embedded::EMBEDDED {
        match parse(&Path::new("lessons").join(name), src) {
            Ok(l) => rep.lessons.push(l),
            Err(p) => rep.problems.extend(p),
        }
    }
    finish(rep)
}

fn finish(mut rep: DirReport) -> DirReport {
    rep.problems.extend(duplicates(&rep.lessons));
    rep.lessons
        .sort_by(|a, b| (a.order, &a.id).cmp(&(b.order, &b.id)));
    rep
}

fn duplicates(lessons: &[Lesson]) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut ids: BTreeMap<&str, &Path> = BTreeMap::new();
    let mut orders: BTreeMap<u32, (&str, &Path)> = BTreeMap::new();
    for l in lessons {
        let src = std::fs::read_to_string(&l.path).unwrap_or_default();
        let at = |key: &str| {
            let off = src
                .lines()
                .scan(0usize, |pos, line| {
                    let start = *pos;
                    *pos += line.len() + 1;
                    Some((start, line))
                })
                .find(|(_, line)| line.trim_start().starts_with(key))
                .map(|(s, _)| s)
                .unwrap_or(0);
            line_col(&src, off)
        };
        if let Some(first) = ids.get(l.id.as_str()) {
            let (line, col) = at("id");
            out.push(Problem {
                file: l.path.clone(),
                line,
                col,
                msg: format!("duplicate id \"{}\" (also in {})", l.id, first.display()),
            });
        } else {
            ids.insert(&l.id, &l.path);
        }
        if let Some((other, first)) = orders.get(&l.order) {
            let (line, col) = at("order");
            out.push(Problem {
                file: l.path.clone(),
                line,
                col,
                msg: format!(
                    "duplicate order {} (lesson \"{other}\" in {} has it too)",
                    l.order,
                    first.display()
                ),
            });
        } else {
            orders.insert(l.order, (&l.id, &l.path));
        }
    }
    out
}

/// Lessons by id or by number (`"6"` = order 6).
pub fn find<'a>(lessons: &'a [Lesson], key: &str) -> Option<&'a Lesson> {
    lessons.iter().find(|l| l.id == key).or_else(|| {
        key.parse::<u32>()
            .ok()
            .and_then(|n| lessons.iter().find(|l| l.order == n))
    })
}

/// Fill sample placeholders (for previews where no session exists).
pub fn preview(s: &str) -> String {
    fill(s, &sample_placeholders())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let s = "ab\n한글x\nz";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 3), (2, 1));
        assert_eq!(line_col(s, 3 + 6), (2, 3));
        assert_eq!(line_col(s, s.len()), (3, 2));
    }
}

#[cfg(test)]
mod mention_tests {
    use super::mentions;

    #[test]
    fn an_ordinary_word_names_a_socket_only_in_code() {
        assert!(!mentions("the client notices", "client"));
        assert!(mentions("make `client = socket()`", "client"));
        assert!(mentions("Listen with srv.", "srv"));
        assert!(!mentions("Listen with srv2.", "srv"));
    }
}
