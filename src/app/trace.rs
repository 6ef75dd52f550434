//! The lab screen's side of trace mode (`socklab trace`, `:trace`): what a
//! traced program says under the prompt (stopped before a call, its stdout
//! and stderr, labelled and escaped, its exit), the step keys, the status
//! line while it is stopped, and which of its closed sockets stay on screen
//! (dimmed, until the next run). The programs themselves are run by the
//! session (`session/trace.rs`), so head-less runs do the same.

use std::collections::HashMap;

use super::*;
use crate::engine::model::SockRow;
use crate::engine::text::escape_display;
use crate::engine::{Owner, ProgramNote, Stream};
use crate::keys::Action;

/// Output not yet ended by a newline, per process and stream.
#[derive(Default)]
pub struct TraceView {
    partial: HashMap<(u32, bool), String>,
    /// A traced program's latest exec, listed once something else is.
    exec_line: Option<EvLine>,
    /// The step keys were spelled out under the prompt once already.
    told_keys: bool,
}

/// Most bytes of an unfinished output line held back before it is shown anyway.
const PARTIAL_KEEP: usize = 4096;

fn who(model: &crate::engine::LabModel, pid: u32) -> String {
    model
        .programs
        .get(&pid)
        .map(|p| format!("{}[{pid}]", sanitize(&p.name)))
        .unwrap_or_else(|| format!("program[{pid}]"))
}

/// The keys that drive a stopped program, as the key table has them.
pub fn step_keys(lang: crate::settings::Lang) -> String {
    crate::keys::trace_hints()
        .into_iter()
        .map(|(k, h)| format!("{k}: {}", crate::keys::word(h, lang)))
        .collect::<Vec<_>>()
        .join(" · ")
}

pub(super) fn on_event(app: &mut App, ev: &Event) {
    let EventKind::Program { pid, note } = &ev.kind else {
        return;
    };
    let pid = *pid;
    match note {
        ProgramNote::AboutToCall { owner, text, .. } => {
            let mut line = crate::tr!(
                app.lang,
                "prog.about_to_call",
                who = sanitize(&owner.to_string()),
                call = sanitize(text)
            );
            // The keys are on the status line; spelled out here the first time.
            if !app.trace.told_keys {
                app.trace.told_keys = true;
                line.push_str(&format!("   ({})", step_keys(app.lang)));
            }
            app.say(LineKind::Info, &line);
        }
        ProgramNote::Output { stream, text } => {
            let out = *stream == Stream::Stdout;
            let label = stream_key(out);
            let who = who(app.session.model(), pid);
            let buf = app.trace.partial.entry((pid, out)).or_default();
            buf.push_str(text);
            let done: String = match buf.rfind('\n') {
                Some(end) => buf.drain(..=end).collect(),
                None if buf.len() >= PARTIAL_KEEP => std::mem::take(buf),
                None => return,
            };
            for l in done.lines() {
                let line = crate::tr!(app.lang, label, who = &who, text = shown(l));
                app.say(LineKind::Echo, &line);
            }
        }
        ProgramNote::Exited { how, .. } => {
            let who = who(app.session.model(), pid);
            for out in [true, false] {
                if let Some(rest) = app.trace.partial.remove(&(pid, out))
                    && !rest.is_empty()
                {
                    let line =
                        crate::tr!(app.lang, stream_key(out), who = &who, text = shown(&rest));
                    app.say(LineKind::Echo, &line);
                }
            }
            // Forks that made no socket call are not worth a line.
            let root = app.session.traces().roots().contains(&pid);
            let had_sockets = app
                .session
                .model()
                .socks
                .values()
                .any(|r| r.owner.program_pid() == Some(pid));
            if root || had_sockets {
                let line = crate::tr!(
                    app.lang,
                    "trace.exited_dimmed",
                    who = &who,
                    how = sanitize(&crate::i18n::note(app.lang, how))
                );
                app.say(LineKind::Info, &line);
            }
        }
        ProgramNote::Started { .. } | ProgramNote::Resumed => {}
    }
}

/// The catalogue key of a line a program printed on stdout or stderr.
fn stream_key(stdout: bool) -> &'static str {
    if stdout { "prog.stdout" } else { "prog.stderr" }
}

/// A line the program printed, safe for the terminal: control characters
/// and bidi overrides escaped, a backslash it printed left as it is.
fn shown(line: &str) -> String {
    line.split('\\')
        .map(|part| escape_display(part.as_bytes()))
        .collect::<Vec<_>>()
        .join("\\")
}

/// What a stopped program is about to do, for the status line.
pub fn held_line(app: &App) -> Option<String> {
    app.session.model().programs.values().find_map(|p| {
        p.held.as_ref().map(|t| {
            crate::tr!(
                app.lang,
                "prog.about_to_call",
                who = format!("{}[{}]", sanitize(&p.name), p.pid),
                call = sanitize(t)
            )
        })
    })
}

/// The run a process belongs to: follow its parents up to a program `:trace` started.
fn root_of(model: &crate::engine::LabModel, mut pid: u32) -> u32 {
    for _ in 0..64 {
        match model.programs.get(&pid).and_then(|p| p.parent) {
            Some(parent) => pid = parent,
            None => break,
        }
    }
    pid
}

/// A closed socket of a traced program stays on the Sockets pane (dimmed)
/// while its run is the latest of its command: until `:rerun` or the next `:trace`.
pub fn keeps(app: &App, r: &SockRow) -> bool {
    let Owner::Program { pid, .. } = &r.owner else {
        return false;
    };
    let root = root_of(app.session.model(), *pid);
    app.session.traces().roots().contains(&root)
}

/// F5 / F6 / F7: step, go on, until a kind of call.
pub(super) fn key(app: &mut App, action: Action) {
    let (name, args) = match action {
        Action::TraceStep => ("step", ""),
        Action::TraceGo => ("go", ""),
        Action::TraceUntil => {
            // The kind is typed at the prompt: `:until accept`.
            let text = ":until ".to_string();
            let cursor = text.chars().count();
            app.input = LineEdit::new(text).with_cursor(cursor);
            app.focus = Pane::Prompt;
            return;
        }
        _ => return,
    };
    // What the program does next shows by itself (its next stop, its
    // output); only a key that does nothing says so.
    if let Submitted::Error(e) = app.session.submit(&format!(":{name} {args}")) {
        app.say(LineKind::Error, &e);
    }
}

/// The Events pane's lines for one event: a traced program's exec that
/// another exec follows before anything else is listed (a shell, a pyenv
/// shim exec'ing on to python) is left out; the last one is listed, at its
/// own time, before whatever comes next.
pub(super) fn listed(app: &mut App, ev: &Event, line: EvLine) -> Vec<EvLine> {
    if let EventKind::Program {
        pid,
        note: ProgramNote::Started { exec: true, .. },
    } = &ev.kind
        && app.session.traces().roots().contains(pid)
    {
        app.trace.exec_line = Some(line);
        return Vec::new();
    }
    app.trace
        .exec_line
        .take()
        .into_iter()
        .chain([line])
        .collect()
}

/// Program notes the Events pane leaves out: a helper's start and end (a
/// shell or pyenv shim forking `readlink`: a fork that made no socket
/// call), and every "goes on" after a step.
pub(super) fn quiet(app: &App, ev: &Event) -> bool {
    let EventKind::Program { pid, note } = &ev.kind else {
        return false;
    };
    let model = app.session.model();
    match note {
        ProgramNote::Resumed => true,
        ProgramNote::Output { text, .. } => text.trim().is_empty(),
        ProgramNote::Started { parent, .. } if parent.is_some() => true,
        ProgramNote::Started { .. } | ProgramNote::Exited { .. } => {
            model.programs.get(pid).is_some_and(|p| p.parent.is_some())
                && !model
                    .socks
                    .values()
                    .any(|r| r.owner.program_pid() == Some(*pid))
        }
        _ => false,
    }
}
