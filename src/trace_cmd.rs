//! `socklab trace -- CMD ARGS…`: run a real program under the engine's
//! tracer and print a transcript in `socklab run`'s format (or JSON). The
//! traced calls are worded here (`python3[4711]: accept4(fd 3) → fd 4
//! ('127.0.0.1', 51234)`); every other event is worded by `run::describe`.
//!
//! Without `--headless` (or `--json`) it opens the lab screen instead, with
//! the program running under it (`settings::Mode::Trace`, `app/trace.rs`).
//!
//! With `--step`, the program stops before each socket call and a line on
//! standard input says how to go on: Enter runs the call, `g` goes on
//! freely, `u KIND` runs until the next call of that kind, `q` kills it.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{Cli, TraceArgs};
use crate::engine::text::{escape_display, sanitize};
use crate::engine::trace::{TraceHandle, TraceSpec, kind_by_name};
use crate::engine::{CallId, Engine, EngineConfig, Event, EventKind, Events, ProgramNote, Stream};
use crate::session::Session;

pub fn main(cli: &Cli, args: &TraceArgs) -> anyhow::Result<ExitCode> {
    if !args.headless && !args.json {
        if let Some(why) = crate::tui::incapable_terminal() {
            anyhow::bail!(
                "{} — or `socklab trace --headless -- CMD…` for a transcript",
                why.split("; for head-less").next().unwrap_or(&why)
            );
        }
        let argv = args
            .cmd
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return crate::tui::main(
            cli,
            crate::settings::Mode::Trace {
                argv,
                step: args.step,
            },
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let opts = Options {
        json: args.json,
        hex: args.hex,
        step: args.step,
        allow_remote: cli.allow_remote,
        lang: cli.lang.unwrap_or_else(crate::settings::Lang::from_env),
    };
    let code = rt.block_on(trace(&args.cmd, &opts, &mut out, step_input(args.step)));
    rt.shutdown_timeout(Duration::from_millis(200));
    match code {
        Ok(c) => Ok(ExitCode::from(c)),
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e),
    }
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub json: bool,
    pub hex: bool,
    pub step: bool,
    pub allow_remote: bool,
    pub lang: crate::settings::Lang,
}

/// Step commands typed on standard input, one a line.
fn step_input(step: bool) -> Option<std::sync::mpsc::Receiver<String>> {
    if !step {
        return None;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(l) = line else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    Some(rx)
}

/// Run one program to its end, printing as it goes; the exit status to use.
pub async fn trace(
    argv: &[std::ffi::OsString],
    opts: &Options,
    out: &mut dyn Write,
    input: Option<std::sync::mpsc::Receiver<String>>,
) -> anyhow::Result<u8> {
    let (engine, events) = Engine::start(EngineConfig {
        allow_remote: opts.allow_remote,
        // The text transcript leaves segments out (as `socklab run` does
        // without its wire view): capturing them would only cost the
        // program time. `--json` prints every event, segments too.
        capture: opts.json,
        ..Default::default()
    });
    let mut spec = TraceSpec::new(argv.iter().cloned());
    spec.step = opts.step;
    let handle = match TraceHandle::start(&engine, spec) {
        Ok(h) => h,
        Err(e) => {
            engine.shutdown();
            anyhow::bail!("{}", crate::i18n::note(opts.lang, &e.explain));
        }
    };
    let mut p = Printer {
        session: Session::new(engine.clone()),
        calls: HashMap::new(),
        opts: opts.clone(),
        root: handle.pid(),
        code: None,
        names: HashMap::new(),
        shown: [handle.pid()].into_iter().collect(),
        partial: HashMap::new(),
        exec_line: None,
    };
    let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
    let r = p.pump(events, &handle, &mut out, input).await;
    drop(handle);
    engine.shutdown();
    r?;
    p.finish(&mut out)?;
    out.flush()?;
    Ok(p.code.unwrap_or(1))
}

struct Printer {
    session: Session,
    /// Traced calls not finished: who and the call's text.
    calls: HashMap<CallId, (String, String)>,
    opts: Options,
    root: u32,
    code: Option<u8>,
    /// Each process's name, from its Started notes.
    names: HashMap<u32, String>,
    /// Processes worth mentioning: the program itself and those that made socket calls.
    shown: std::collections::HashSet<u32>,
    /// Output not yet ended by a newline, per process and stream.
    partial: HashMap<(u32, bool), String>,
    /// The program's latest exec, printed once something else is.
    exec_line: Option<(u64, String)>,
}

impl Printer {
    async fn pump(
        &mut self,
        mut events: Events,
        handle: &TraceHandle,
        out: &mut dyn Write,
        input: Option<std::sync::mpsc::Receiver<String>>,
    ) -> anyhow::Result<()> {
        // Once the trace has sent its last event, only the lab's kernel
        // observer may still say something (a closed connection now in
        // TIME_WAIT): the transcript ends once a look it began after that
        // has ended (at most a second later, if it cannot look).
        let mut end: Option<(u64, std::time::Instant)> = None;
        loop {
            let slice = if end.is_some() { 2 } else { 20 };
            match tokio::time::timeout(Duration::from_millis(slice), events.recv()).await {
                Ok(Some(ev)) => {
                    // The trace's events come in bursts: print the whole
                    // burst, then write it out at once.
                    self.session.on_event(&ev);
                    self.print(&ev, out)?;
                    while let Ok(ev) = events.try_recv() {
                        self.session.on_event(&ev);
                        self.print(&ev, out)?;
                    }
                    out.flush()?;
                    continue;
                }
                Ok(None) => break,
                Err(_) => {}
            }
            if let Some(rx) = &input {
                while let Ok(line) = rx.try_recv() {
                    let l = line.trim();
                    match l.split_whitespace().next().unwrap_or("") {
                        "" | "s" | "step" => handle.step(),
                        "g" | "go" | "c" => handle.go(),
                        "q" | "quit" | "kill" => handle.kill(),
                        "u" | "until" => match l.split_whitespace().nth(1).and_then(kind_by_name) {
                            Some(k) => handle.until(k),
                            None => writeln!(out, "{}", tr!(self.opts.lang, "trace.until_usage"))?,
                        },
                        other => writeln!(
                            out,
                            "{}",
                            tr!(
                                self.opts.lang,
                                "trace.unknown_step",
                                command = format!("{:?}", sanitize(other))
                            )
                        )?,
                    }
                }
                out.flush()?;
            }
            if handle.finished() {
                let engine = self.session.engine();
                match end {
                    None => {
                        end = Some((engine.observer_mark(), std::time::Instant::now()));
                        engine.observe_now();
                    }
                    Some((mark, since))
                        if engine.observed_since(mark)
                            || since.elapsed() > Duration::from_secs(1) =>
                    {
                        while let Ok(ev) = events.try_recv() {
                            self.session.on_event(&ev);
                            self.print(&ev, out)?;
                        }
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    fn print(&mut self, ev: &Event, out: &mut dyn Write) -> anyhow::Result<()> {
        if let EventKind::Program {
            pid,
            note: ProgramNote::Exited { code, signal, .. },
        } = &ev.kind
            && *pid == self.root
        {
            self.code = Some(match (code, signal) {
                (Some(c), _) => *c as u8,
                (None, Some(s)) => 128u8.wrapping_add(*s as u8),
                _ => 1,
            });
        }
        if self.opts.json {
            writeln!(out, "{}", crate::run::json_event(ev)?)?;
            return Ok(());
        }
        let text = match self.word(ev) {
            Some(Some(t)) => t,
            Some(None) => return Ok(()),
            None => {
                match crate::run::describe(&self.session, ev, self.opts.hex, false, self.opts.lang)
                {
                    Some(t) => t,
                    None => return Ok(()),
                }
            }
        };
        // The program's own execs: one followed by another before anything
        // else is printed (a shell, a pyenv shim exec'ing on to python) is
        // left out; the last is printed, at its own time, before what follows.
        if let EventKind::Program {
            pid,
            note: ProgramNote::Started { exec: true, .. },
        } = &ev.kind
            && *pid == self.root
        {
            self.exec_line = Some((ev.t_us, text));
            return Ok(());
        }
        if let Some((t_us, line)) = self.exec_line.take() {
            write_line(out, t_us, &line)?;
        }
        write_line(out, ev.t_us, &text)
    }

    /// Print what is held back (at the end).
    fn finish(&mut self, out: &mut dyn Write) -> anyhow::Result<()> {
        if let Some((t_us, line)) = self.exec_line.take() {
            write_line(out, t_us, &line)?;
        }
        Ok(())
    }

    /// Traced calls and program notes; None when `run::describe` words it,
    /// Some(None) when it is not printed.
    fn word(&mut self, ev: &Event) -> Option<Option<String>> {
        Some(match &ev.kind {
            EventKind::CallStarted {
                call, owner, text, ..
            } if owner.program_pid().is_some() => {
                self.shown.extend(owner.program_pid());
                self.calls.insert(*call, (owner.to_string(), text.clone()));
                None
            }
            // Their progress is worded by `crate::describe`, like the lab's.
            EventKind::CallPending { .. }
            | EventKind::CallDone { .. }
            | EventKind::CallFailed { .. } => return None,
            EventKind::Program { pid, note } => self.note(*pid, note),
            _ => return None,
        })
    }

    fn who(&self, pid: u32) -> String {
        let name = self
            .names
            .get(&pid)
            .map(String::as_str)
            .unwrap_or("program");
        format!("{}[{pid}]", sanitize(name))
    }

    fn note(&mut self, pid: u32, note: &ProgramNote) -> Option<String> {
        Some(match note {
            ProgramNote::Started {
                name,
                argv,
                parent,
                exec,
            } => {
                self.names.insert(pid, name.clone());
                // Forks and the execs of helpers (a shell, pyenv's shims) are
                // left out: only the program's own start and what it runs.
                if parent.is_some() || pid != self.root {
                    return None;
                }
                let cmd = sanitize(&argv.join(" "));
                let key = if *exec { "prog.runs" } else { "prog.started" };
                tr!(self.opts.lang, key, who = self.who(pid), cmd = cmd)
            }
            ProgramNote::AboutToCall { owner, text, .. } => {
                let line = tr!(
                    self.opts.lang,
                    "prog.about_to_call",
                    who = sanitize(&owner.to_string()),
                    call = sanitize(text)
                );
                format!("{line}{}", tr!(self.opts.lang, "trace.step_keys"))
            }
            ProgramNote::Resumed => return None,
            ProgramNote::Output { stream, text } => {
                let label = match stream {
                    Stream::Stdout => "prog.stdout",
                    Stream::Stderr => "prog.stderr",
                };
                let lang = self.opts.lang;
                let key = (pid, *stream == Stream::Stdout);
                let buf = self.partial.entry(key).or_default();
                buf.push_str(text);
                let Some(end) = buf.rfind('\n') else {
                    if buf.len() < 4096 {
                        return None;
                    }
                    let all = std::mem::take(buf);
                    return Some(tr!(
                        lang,
                        label,
                        who = self.who(pid),
                        text = escape_display(all.as_bytes())
                    ));
                };
                let done: String = buf.drain(..=end).collect();
                let lines: Vec<String> = done
                    .lines()
                    .map(|l| {
                        tr!(
                            lang,
                            label,
                            who = self.who(pid),
                            text = escape_display(l.as_bytes())
                        )
                    })
                    .collect();
                lines.join("\n")
            }
            ProgramNote::Exited { how, .. } => {
                if !self.shown.contains(&pid) {
                    return None;
                }
                tr!(
                    self.opts.lang,
                    "prog.exited",
                    who = self.who(pid),
                    how = sanitize(&crate::i18n::note(self.opts.lang, how))
                )
            }
        })
    }
}

/// One transcript entry: its time, then its lines (the first one numbered).
fn write_line(out: &mut dyn Write, t_us: u64, text: &str) -> anyhow::Result<()> {
    let t = t_us as f64 / 1e6;
    for (i, l) in text.lines().enumerate() {
        if i == 0 {
            writeln!(out, "  [{t:7.3}] {l}")?;
        } else {
            writeln!(out, "            {l}")?;
        }
    }
    Ok(())
}
