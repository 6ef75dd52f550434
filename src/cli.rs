//! The command line (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Learn network sockets by driving real ones, one call at a time.
#[derive(Parser, Debug)]
#[command(
    name = "socklab",
    version,
    about,
    long_about = None,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Language of lessons and messages (default: from LC_ALL / LANG).
    #[arg(long, global = true, value_enum)]
    pub lang: Option<Lang>,
    /// Directory with lesson files (default: the lessons that ship with socklab).
    #[arg(long, global = true, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
    /// Allow binding and connecting to addresses other than loopback.
    #[arg(long, global = true)]
    pub allow_remote: bool,
    /// Run the lab in a private network of its own (a new user and network
    /// namespace): the wire can be captured without privileges, and nothing
    /// reaches any other network. `socklab shell` joins it.
    #[arg(long, global = true)]
    pub netns: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open a lesson (default: where you left off).
    Learn {
        /// Lesson id or number.
        lesson: Option<String>,
    },
    /// Open the lab with no lesson.
    Sandbox,
    /// List the lessons and your progress.
    List,
    /// Run a script of calls head-less and print a transcript.
    Run(RunArgs),
    /// Run a real program under the lab screen and show its socket calls (Linux): `socklab trace -- python3 server.py`.
    Trace(TraceArgs),
    /// Validate lesson files; reports every problem with file:line.
    Check {
        /// Lesson directory (default: the --lessons directory).
        dir: Option<PathBuf>,
    },
    /// Run every lesson's reference solution on real sockets and check each step.
    Verify {
        /// Only this lesson (id or number).
        lesson: Option<String>,
    },
    /// Open a shell (or run CMD) inside the running `--netns` lab's network.
    Shell {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        command: Vec<String>,
    },
    /// Print a reference: `help language` (the command language), `help
    /// peers` (the built-in peers), or `help COMMAND`.
    Help {
        /// language, peers, or a subcommand's name.
        topic: Vec<String>,
    },
    /// List the built-in peers (`:peer KIND ADDR key=value…`) with their options and defaults.
    Peers,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Script file, or - for standard input.
    pub file: String,
    /// Print one JSON object per event instead of a transcript.
    #[arg(long)]
    pub json: bool,
    /// Show bytes as a hexdump too.
    #[arg(long)]
    pub hex: bool,
    /// Seconds a blocking call may wait before the script fails.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Go on after a failed line (the exit status is still 1 if any line failed).
    #[arg(long)]
    pub keep_going: bool,
    /// Add the captured TCP/UDP/ICMP segments to the transcript, in order.
    #[arg(long)]
    pub wire: bool,
    /// Write what was captured to FILE as a pcap (Wireshark, tcpdump -r).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Keep the program the script builds, so `:export py FILE` and
    /// `:export c FILE` in the script can write it (up to 16 MiB of code).
    #[arg(long)]
    pub keep_code: bool,
}

#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "\
On the lab screen the program is one more party: its sockets show in the Sockets pane as python3[4711], its calls in Events, its bytes in Traffic, its stdout/stderr under the prompt. Step keys: F5 runs the call it is stopped before (and stops before the next), F6 goes on freely, F7 runs until a kind of call (:until accept). Lab commands: :trace CMD… starts another program, :rerun runs the last one again, :step :go :until KIND :kill.

Examples:
  socklab trace --step -- python3 server.py 9000
  socklab trace --headless -- nc -l 127.0.0.1 9000")]
pub struct TraceArgs {
    /// Stop the program before each socket call. On the lab screen: F5 runs
    /// it, F6 goes on, F7 until a kind. With --headless, lines on standard
    /// input: Enter runs it, `g` goes on, `u accept` runs until the next
    /// accept, `q` kills the program.
    #[arg(long)]
    pub step: bool,
    /// Print a transcript instead of opening the lab screen.
    #[arg(long)]
    pub headless: bool,
    /// Print one JSON object per event instead of a transcript.
    #[arg(long)]
    pub json: bool,
    /// Show bytes as a hexdump too.
    #[arg(long)]
    pub hex: bool,
    /// The program and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub cmd: Vec<std::ffi::OsString>,
}

/// The language setting lives in `settings` (below the CLI, so lessons
/// and the UI can use it without importing the command line).
pub use crate::settings::Lang;
