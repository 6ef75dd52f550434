//! Lessons: file format, loader, validator, check evaluation, the running
//! lesson, progress, and `socklab list/check/verify`.
//!
//! A lesson is data only. Nothing in a lesson file is executed by loading or
//! checking it; `verify` and the UI run its solution lines through the same
//! command language a student types, on loopback.

pub mod cli;
pub mod cond;
pub mod format;
pub mod load;

pub use cond::Cond;
pub use format::{Lesson, Step, Text};
pub use load::{DirReport, Problem, find, load_dir, load_file};
pub mod eval;
pub mod why;
mod why_leaf;

pub use eval::{Ctx, Evaluator, Tracker, evaluate};
pub use why::Why;
pub mod progress;
pub mod run;
mod verify;

pub use progress::Progress;
pub use run::{LessonRun, LessonView, StepStatus};
