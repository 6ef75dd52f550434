//! Lessons: file format, loader, validator, check evaluation, the running
//! lesson, progress, and `socklab list/check/verify`.
//!
//! A lesson is data only. Nothing in a lesson file is executed by loading or
//! checking it; `verify` and the UI run its solution lines through the same
//! command language a student types, on loopback.
//!
//! The core (format, load, check/, eval, select, progress, run, verify) imports
//! nothing from the app, the UI, the terminal or the command line. The glue
//! that does lives beside them: `cmd::lessons` (the `list`/`check`/
//! `verify` commands) and `app::lesson` (lessons plugged into the lab
//! screen).

pub mod check;
pub mod cond;
pub mod format;
pub mod keys;
pub mod load;
pub mod out;
mod safety;

pub use cond::Cond;
pub use format::{Lesson, Step, Text};
pub use load::{DirReport, Problem, find, load_dir, load_file};
pub mod eval;
mod select;
pub mod why;

pub use eval::{Evaluator, Tracker, evaluate};
pub use why::Why;
pub mod progress;
pub mod run;
mod verify;
pub use verify::main as verify_all;

pub use progress::{Progress, ProgressStore};
pub use run::{LessonRun, LessonView, StepStatus, named_columns};

/// Which lesson to open: the one asked for (id or number), else where the
/// student left off unless it is complete, else the first one not
/// complete, else the first.
pub fn pick(lessons: &[Lesson], progress: &Progress, asked: Option<&str>) -> Option<usize> {
    let idx = |id: &str| lessons.iter().position(|l| l.id == id);
    if let Some(key) = asked {
        let l = find(lessons, key)?;
        return idx(&l.id);
    }
    let complete = |id: &str| progress.lesson(id).is_some_and(|p| p.complete);
    progress
        .current
        .as_deref()
        .filter(|id| !complete(id))
        .and_then(idx)
        .or_else(|| {
            lessons
                .iter()
                .position(|l| !progress.lesson(&l.id).is_some_and(|p| p.complete))
        })
        .or_else(|| (!lessons.is_empty()).then_some(0))
}

/// The lesson after `id` in course order (for `:next` at the end of a lesson).
pub fn next_after(lessons: &[Lesson], id: &str) -> Option<usize> {
    let i = lessons.iter().position(|l| l.id == id)?;
    (i + 1 < lessons.len()).then_some(i + 1)
}
