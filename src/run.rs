//! `socklab run`: the command language head-less, with a transcript.
//!
//! A blocking call blocks the script, as it would in Python, up to
//! `--timeout` seconds. Everything the engine reports while a line runs is
//! printed under it: state transitions (lab and kernel), bytes, peers' notes.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::cli::{Cli, Lang, RunArgs};
use crate::engine::text::sanitize;
use crate::engine::{Engine, EngineConfig, Event, EventKind, Events};
use crate::session::{Outcome, Session, Submitted};

pub fn main(cli: &Cli, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let script = if args.file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the script from standard input")?;
        s
    } else {
        std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file))?
    };
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        anyhow::bail!("--timeout must be a positive number of seconds");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let opts = Options {
        json: args.json,
        hex: args.hex,
        timeout: Duration::from_secs_f64(args.timeout),
        keep_going: args.keep_going,
        allow_remote: cli.allow_remote,
        lang: cli.lang.unwrap_or_else(Lang::from_env),
        wire: args.wire,
        pcap: args.pcap.clone(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let ok = match rt
        .block_on(run_script(&script, &opts, &mut out))
        .and_then(|ok| {
            out.flush()?;
            Ok(ok)
        }) {
        Ok(ok) => ok,
        // `socklab run x | head`: the reader left; that is not a failure.
        Err(e) if is_broken_pipe(&e) => true,
        Err(e) => return Err(e),
    };
    rt.shutdown_timeout(Duration::from_millis(200));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[derive(Clone, Debug)]
pub struct Options {
    pub json: bool,
    pub hex: bool,
    pub timeout: Duration,
    pub keep_going: bool,
    pub allow_remote: bool,
    /// The language of the transcript's words.
    pub lang: Lang,
    /// Captured segments in the transcript (`--wire`).
    pub wire: bool,
    /// Write the capture to this pcap file at the end (`--pcap`).
    pub pcap: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            json: false,
            hex: false,
            timeout: Duration::from_secs(10),
            keep_going: false,
            allow_remote: false,
            lang: Lang::En,
            wire: false,
            pcap: None,
        }
    }
}

/// How long the transcript waits for the kernel's view to settle after a line.
const SETTLE: Duration = Duration::from_millis(30);

/// Run a script; true if every line succeeded (or `keep_going`).
pub async fn run_script(script: &str, opts: &Options, out: &mut dyn Write) -> anyhow::Result<bool> {
    let (engine, events) = Engine::start(EngineConfig {
        allow_remote: opts.allow_remote,
        ..Default::default()
    });
    let mut r = Runner {
        session: Session::new(engine.clone()),
        events,
        opts: opts.clone(),
        out,
        failed: false,
        line: 0,
        start: std::time::Instant::now(),
        held: Vec::new(),
    };
    let result = r.run(script).await;
    if let (Ok(()), Some(path)) = (&result, &opts.pcap) {
        r.export_pcap(&engine, path)?;
    }
    engine.shutdown();
    result?;
    Ok(!r.failed || opts.keep_going)
}

struct Runner<'a> {
    session: Session,
    events: Events,
    opts: Options,
    out: &'a mut dyn Write,
    failed: bool,
    line: usize,
    start: std::time::Instant,
    /// Transcript events not printed yet: they are printed once the line's
    /// call has finished, so sockets show the names the line gave them.
    held: Vec<Event>,
}

enum Flow {
    Next,
    Stop,
}

impl Runner<'_> {
    /// `--pcap FILE`: write what was captured, and say so (or why not).
    fn export_pcap(&mut self, engine: &Engine, path: &std::path::Path) -> anyhow::Result<()> {
        let wire = &self.session.model().wire;
        if !wire.on() {
            self.failed = true;
            let why = match &wire.status {
                Some(crate::engine::capture::CaptureStatus::Unavailable { detail, .. }) => {
                    detail.clone()
                }
                _ => "the capture did not start".to_string(),
            };
            let text = format!("no pcap written: {}", sanitize(&why));
            return self.result(false, &text);
        }
        let done = engine
            .export_pcap(path)
            .with_context(|| format!("writing {}", path.display()))?;
        let text = format!(
            "pcap: {} packets written to {}{}",
            done.frames,
            sanitize(&path.display().to_string()),
            if done.forgotten > 0 {
                format!(" ({} older ones were no longer kept)", done.forgotten)
            } else {
                String::new()
            }
        );
        if self.opts.json {
            let v = json!({"event": "pcap", "frames": done.frames, "forgotten": done.forgotten, "file": path.display().to_string()});
            self.json(v)
        } else {
            writeln!(self.out, "{text}")?;
            Ok(())
        }
    }

    async fn run(&mut self, script: &str) -> anyhow::Result<()> {
        for (i, line) in script.lines().enumerate() {
            self.line = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let shown = self.session.expand(line);
            if self.opts.json {
                self.json(json!({"event": "input", "line": self.line, "text": shown}))?;
            } else {
                writeln!(self.out, ">>> {}", sanitize(&shown))?;
            }
            let flow = self.step(line).await?;
            self.settle(SETTLE).await?;
            if matches!(flow, Flow::Stop) || (self.failed && !self.opts.keep_going) {
                break;
            }
        }
        self.settle(Duration::from_millis(100)).await?;
        Ok(())
    }

    async fn step(&mut self, line: &str) -> anyhow::Result<Flow> {
        match self.session.submit(line) {
            Submitted::Nothing => {}
            Submitted::Echo(text) => {
                // Events of `:peer` and friends come before the echo.
                self.settle(Duration::from_millis(5)).await?;
                self.flush()?;
                if !text.is_empty() {
                    self.result(true, &text)?;
                }
            }
            Submitted::Error(text) => {
                self.flush()?;
                self.failed = true;
                self.result(false, &text)?;
            }
            Submitted::Lab { name, args } => return self.lab(&name, &args).await,
            Submitted::Started { call, text } => self.wait_call(call, &text).await?,
        }
        Ok(Flow::Next)
    }

    async fn lab(&mut self, name: &str, args: &str) -> anyhow::Result<Flow> {
        match name {
            "sleep" | "wait" => {
                let secs: f64 = args.trim().parse().unwrap_or(-1.0);
                if !(0.0..=3600.0).contains(&secs) {
                    self.failed = true;
                    self.result(false, "usage: :sleep SECONDS (0 to 3600)")?;
                } else {
                    self.settle_for(Duration::from_secs_f64(secs)).await?;
                }
            }
            "quit" | "exit" | "q" => return Ok(Flow::Stop),
            "reset" => {
                self.session.reset();
            }
            other => {
                self.result(
                    true,
                    &format!(":{other} does nothing in a script (it is for the lab screen)"),
                )?;
            }
        }
        Ok(Flow::Next)
    }

    /// Wait for one call to finish, printing what happens meanwhile.
    async fn wait_call(&mut self, call: u64, text: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + self.opts.timeout;
        let mut cancelled = false;
        loop {
            let ev = match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ev)) => ev,
                Ok(None) => anyhow::bail!("the engine stopped"),
                Err(_) if !cancelled => {
                    // Blocked too long: cancel like Ctrl-C, then report.
                    self.session.engine().cancel(call);
                    cancelled = true;
                    continue;
                }
                Err(_) => anyhow::bail!("the engine did not answer"),
            };
            if matches!(ev.kind, EventKind::CallPending { .. }) {
                self.feed(&ev)?;
                self.flush()?;
                continue;
            }
            if let Some(o) = self.feed(&ev)?
                && o.call == call
            {
                self.settle(SETTLE).await?;
                self.outcome(&o, cancelled, text)?;
                return Ok(());
            }
        }
    }

    fn outcome(&mut self, o: &Outcome, timed_out: bool, text: &str) -> anyhow::Result<()> {
        if timed_out {
            self.failed = true;
            let secs = self.opts.timeout.as_secs_f64();
            return self.result(
                false,
                &format!(
                    "socklab: {text} was still blocked after {secs} s (--timeout); it was cancelled"
                ),
            );
        }
        match (&o.error, &o.echo) {
            (Some(e), _) => {
                self.failed = true;
                self.result(false, e)
            }
            (None, Some(echo)) => self.result(true, echo),
            (None, None) => Ok(()),
        }
    }

    /// Print events until none has come for `quiet` (at most 20 × quiet).
    async fn settle(&mut self, quiet: Duration) -> anyhow::Result<()> {
        let limit = tokio::time::Instant::now() + quiet * 20;
        while let Ok(Some(ev)) = tokio::time::timeout(quiet, self.events.recv()).await {
            self.feed(&ev)?;
            if tokio::time::Instant::now() > limit {
                break;
            }
        }
        self.flush()
    }

    /// Print events for exactly this long (`:sleep`).
    async fn settle_for(&mut self, d: Duration) -> anyhow::Result<()> {
        let until = tokio::time::Instant::now() + d;
        while let Ok(Some(ev)) = tokio::time::timeout_at(until, self.events.recv()).await {
            self.feed(&ev)?;
            self.flush()?;
        }
        Ok(())
    }

    fn feed(&mut self, ev: &Event) -> anyhow::Result<Option<Outcome>> {
        let outcome = self.session.on_event(ev);
        if self.opts.json {
            let mut v = serde_json::to_value(ev)?;
            v["line"] = json!(self.line);
            self.json(v)?;
        } else {
            self.held.push(ev.clone());
        }
        Ok(outcome)
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        for ev in std::mem::take(&mut self.held) {
            let Some(text) = describe(
                &self.session,
                &ev,
                self.opts.hex,
                self.opts.wire || self.opts.pcap.is_some(),
                self.opts.lang,
            ) else {
                continue;
            };
            let t = ev.t_us as f64 / 1e6;
            for (i, l) in text.lines().enumerate() {
                if i == 0 {
                    writeln!(self.out, "  [{t:7.3}] {l}")?;
                } else {
                    writeln!(self.out, "            {l}")?;
                }
            }
        }
        Ok(())
    }

    fn result(&mut self, ok: bool, text: &str) -> anyhow::Result<()> {
        if self.opts.json {
            let kind = if ok { "echo" } else { "error" };
            return self.json(json!({"event": kind, "line": self.line, "text": text}));
        }
        for l in text.lines() {
            writeln!(self.out, "{l}")?;
        }
        Ok(())
    }

    fn json(&mut self, mut v: serde_json::Value) -> anyhow::Result<()> {
        if v.get("t_us").is_none() {
            v["t_us"] = json!(self.start.elapsed().as_micros() as u64);
        }
        writeln!(self.out, "{v}")?;
        Ok(())
    }
}

/// One event as a transcript line, or None for events the transcript leaves
/// out (the student's own call start/end: the `>>>` line and its result say
/// it). The words are [`crate::describe`]'s, shared with the Events pane.
pub fn describe(
    session: &Session,
    ev: &Event,
    hex: bool,
    wire: bool,
    lang: Lang,
) -> Option<String> {
    let model = session.model();
    let name = |s: u32| sanitize(&session.var_of(s).unwrap_or_else(|| model.name_of(s)));
    let d = crate::describe::describe(ev, model, lang, &name)?;
    // The `>>>` line says the student's call, and its result follows it;
    // that it had to wait is worth a line.
    if d.by_student_call && d.class != crate::describe::EvClass::Waiting {
        return None;
    }
    if matches!(
        d.class,
        crate::describe::EvClass::Wire | crate::describe::EvClass::Capture
    ) && !wire
    {
        return None;
    }
    let mut s = match d.sock {
        // `cli sent 6 bytes: …` reads as a sentence; states read as `cli: …`.
        Some(id) if d.class == crate::describe::EvClass::Data => {
            format!("{} {}", name(id), d.text)
        }
        Some(id) => format!("{}: {}", name(id), d.text),
        None => d.text,
    };
    if hex
        && let EventKind::Data { data, .. } = &ev.kind
        && !data.is_empty()
    {
        s.push('\n');
        s.push_str(&hexdump(&data[..data.len().min(200)]));
    }
    Some(s)
}

/// Offset, hex and ASCII columns, 16 bytes a row.
pub fn hexdump(data: &[u8]) -> String {
    let cfg = pretty_hex::HexConfig {
        title: false,
        width: 16,
        group: 8,
        ..Default::default()
    };
    pretty_hex::config_hex(&data, cfg)
}
