use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use socklab::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Namespaces first: a process with a second thread cannot enter a user
    // namespace, and every runtime below starts threads.
    if let Some(Command::Shell { command }) = &cli.command {
        return match socklab::netns::shell(command) {
            Ok(code) => code,
            Err(e) => {
                // stderr may be a terminal that is gone: never panic on it.
                let _ = writeln!(std::io::stderr(), "socklab: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let _lab_netns = if cli.netns {
        match socklab::netns::enter() {
            Ok(ns) => Some(ns),
            Err(e) => {
                // stderr may be a terminal that is gone: never panic on it.
                let _ = writeln!(std::io::stderr(), "socklab: {e:#}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    if matches!(
        cli.command,
        Some(
            Command::List
                | Command::Check { .. }
                | Command::Verify { .. }
                | Command::Completions { .. }
                | Command::Help { .. }
                | Command::Peers
        )
    ) {
        // Printing commands end quietly when their reader goes away
        // (`socklab list | head`), as command-line tools do. Sockets never
        // raise SIGPIPE: every send uses MSG_NOSIGNAL.
        // SAFETY: restoring the default disposition of one signal.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let result = match &cli.command {
        Some(Command::Run(args)) => socklab::run::main(&cli, args),
        Some(Command::Trace(args)) => socklab::trace_cmd::main(&cli, args),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "socklab",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check { dir }) => socklab::cmd::lessons::check(&cli, dir.as_deref()),
        Some(Command::Verify { lesson }) => socklab::cmd::lessons::verify(&cli, lesson.as_deref()),
        Some(Command::List) => socklab::cmd::lessons::list(&cli),
        Some(Command::Help { topic }) => socklab::cmd::reference::help(topic),
        Some(Command::Peers) => socklab::cmd::reference::peers(),
        Some(Command::Shell { .. }) => unreachable!("handled above"),
        Some(Command::Sandbox) => socklab::tui::main(&cli, socklab::settings::Mode::Sandbox),
        Some(Command::Learn { lesson }) => {
            socklab::tui::main(&cli, socklab::settings::Mode::Learn(lesson.clone()))
        }
        None => socklab::tui::main(&cli, socklab::settings::Mode::Continue),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Errors may quote a lesson file or a path: escaped.
            socklab::cmd::lessons::warn(&format!("socklab: {e:#}"));
            ExitCode::from(2)
        }
    }
}
