//! `socklab list`, `check`, `verify`.
use std::path::Path;
use std::process::ExitCode;

use crate::cli::Cli;

pub fn list(_cli: &Cli) -> anyhow::Result<ExitCode> {
    anyhow::bail!("lessons are not built yet")
}
pub fn check(_cli: &Cli, _dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    anyhow::bail!("lessons are not built yet")
}
pub fn verify(_cli: &Cli, _lesson: Option<&str>) -> anyhow::Result<ExitCode> {
    anyhow::bail!("lessons are not built yet")
}
