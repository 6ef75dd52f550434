//! Lessons: file format, loader, validator, checks, progress.
pub mod cli;
