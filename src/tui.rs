//! Terminal setup and the interactive screen's main loop.
use std::process::ExitCode;

use crate::cli::Cli;

/// What to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `socklab`: continue where the student left off.
    Continue,
    /// `socklab learn [ID]`.
    Learn(Option<String>),
    /// `socklab sandbox`: no lesson.
    Sandbox,
}

pub fn main(_cli: &Cli, _mode: Mode) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the terminal UI is not built yet")
}
