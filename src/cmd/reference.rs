//! `socklab help language` and `socklab peers`: the references a teacher
//! writing lessons needs, from the binary itself.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::engine::peers::{CLIENT_OPTS, KINDS, Role};

/// The command language reference (src/lang/LANGUAGE.md).
pub const LANGUAGE: &str = include_str!("../lang/LANGUAGE.md");

/// Every peer kind, its role, what it does, its options with defaults.
pub fn peers_text() -> String {
    let mut out = String::from(
        "Built-in peers: start one with  :peer KIND HOST:PORT [key=value …] [name=NAME]\n\
         (in a lesson file: [[setup]] peer = \"KIND\", addr = \"…\", options = { … }).\n",
    );
    for k in KINDS {
        let role = match k.role {
            Role::Server => "server: listens on HOST:PORT",
            Role::Client => "client: connects to HOST:PORT",
        };
        out.push_str(&format!("\n{}  ({role})\n    {}\n", k.kind, k.about));
        for (name, default, what) in k.options {
            let what = if what.is_empty() {
                client_opt(name)
            } else {
                what
            };
            out.push_str(&format!("    {name}={default}  {what}\n"));
        }
    }
    out
}

/// What a client option does (the kinds list them without words).
fn client_opt(name: &str) -> &'static str {
    CLIENT_OPTS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map_or("", |(_, _, w)| w)
}

fn print(text: &str) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn peers() -> anyhow::Result<ExitCode> {
    print(&peers_text())
}

/// `socklab help [TOPIC…]`.
pub fn help(topic: &[String]) -> anyhow::Result<ExitCode> {
    match topic.first().map(String::as_str) {
        Some("language" | "lang") => print(LANGUAGE),
        Some("peers" | "peer") if topic.len() == 1 => print(&peers_text()),
        None => {
            Cli::command().print_long_help()?;
            Ok(ExitCode::SUCCESS)
        }
        Some(_) => {
            let mut cmd = Cli::command();
            let mut sub = &mut cmd;
            for t in topic {
                match sub.find_subcommand_mut(t) {
                    Some(s) => sub = s,
                    None => anyhow::bail!(
                        "no help on '{t}' — try: socklab help language, socklab help peers, or socklab help COMMAND"
                    ),
                }
            }
            sub.print_long_help()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
