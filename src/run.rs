//! `socklab run`: the command language head-less, with a transcript.
use std::process::ExitCode;

use crate::cli::{Cli, RunArgs};

pub fn main(_cli: &Cli, _args: &RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
