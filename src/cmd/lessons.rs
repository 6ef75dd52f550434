//! `socklab list`, `check`, `verify`.
//!
//! Everything printed here may quote a lesson file (titles, check strings,
//! file names) or a peer: it goes out through [`say`] / [`warn`], which
//! escape every control character, so no lesson can move the cursor, clear
//! the screen or retitle the terminal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use unicode_width::UnicodeWidthStr;

use crate::cli::{Cli, Lang};

use crate::lesson::ProgressStore;
use crate::lesson::load::{DirReport, load_dir, load_embedded};

pub use crate::lesson::out::{safe, say, warn};

pub fn lang(cli: &Cli) -> Lang {
    cli.lang.unwrap_or_else(Lang::from_env)
}

/// The lesson directory: `--lessons`, else `./lessons`; None means the
/// lessons built into the binary.
pub fn lessons_dir(cli: &Cli) -> Option<PathBuf> {
    if let Some(d) = &cli.lessons {
        return Some(d.clone());
    }
    let here = PathBuf::from("lessons");
    here.is_dir().then_some(here)
}

/// Load the lessons from where [`lessons_dir`] says, and name that place.
pub fn load_lessons(cli: &Cli) -> (DirReport, String) {
    match lessons_dir(cli) {
        Some(dir) => (load_dir(&dir), dir.display().to_string()),
        None => (load_embedded(), "the built-in lessons".to_string()),
    }
}

fn pad(s: &str, width: usize) -> String {
    let w = s.width();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

pub fn list(cli: &Cli) -> anyhow::Result<ExitCode> {
    let lang = lang(cli);
    let (rep, place) = load_lessons(cli);
    for p in &rep.problems {
        warn(&p.to_string());
    }
    if rep.lessons.is_empty() {
        warn(&format!("socklab: no lessons could be loaded from {place}"));
        return Ok(ExitCode::from(1));
    }
    let (progress, warning) = ProgressStore::from_env().load_in(lang);
    if let Some(w) = warning {
        warn(&format!("socklab: {w}"));
    }
    let id_w = rep.lessons.iter().map(|l| l.id.width()).max().unwrap_or(0);
    let title_w = rep
        .lessons
        .iter()
        .map(|l| safe(l.title.get(lang)).width())
        .max()
        .unwrap_or(0);
    for l in &rep.lessons {
        let n = l.steps.len();
        let (mark, done) = match progress.lesson(&l.id) {
            // Steps merged from two instances may complete a lesson neither did alone.
            Some(p) if p.complete || (0..n).all(|s| p.done.contains(&s)) => ("✓".to_string(), n),
            Some(p) => (" ".to_string(), p.done.iter().filter(|s| **s < n).count()),
            None => (" ".to_string(), 0),
        };
        let here = if progress.current.as_deref() == Some(l.id.as_str()) {
            format!("  ← {}", crate::tr!(lang, "list.here"))
        } else {
            String::new()
        };
        say(&format!(
            "{:>2}  {}  {}  {mark} {done}/{n}{here}",
            l.order,
            pad(&l.id, id_w),
            pad(&safe(l.title.get(lang)), title_w),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn check(cli: &Cli, dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (rep, place) = match dir {
        Some(d) => (load_dir(d), d.display().to_string()),
        None => load_lessons(cli),
    };
    for p in &rep.problems {
        say(&p.to_string());
    }
    if rep.problems.is_empty() {
        let steps: usize = rep.lessons.iter().map(|l| l.steps.len()).sum();
        say(&format!(
            "{place}: {} lessons, {steps} steps, no problems",
            rep.lessons.len()
        ));
        Ok(ExitCode::SUCCESS)
    } else {
        let files: std::collections::BTreeSet<&Path> =
            rep.problems.iter().map(|p| p.file.as_path()).collect();
        say(&format!(
            "{place}: {} problem{} in {} file{}",
            rep.problems.len(),
            if rep.problems.len() == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" },
        ));
        Ok(ExitCode::from(1))
    }
}

pub fn verify(cli: &Cli, lesson: Option<&str>) -> anyhow::Result<ExitCode> {
    let (rep, place) = load_lessons(cli);
    crate::lesson::verify_all(&rep, &place, lesson, cli.allow_remote, lang(cli))
}
