//! `socklab run`: the command language head-less, with a transcript.
//!
//! A blocking call blocks the script, as it would in Python, up to
//! `--timeout` seconds. Everything the engine reports while a line runs is
//! printed under it: state transitions (lab and kernel), bytes, peers' notes.
//!
//! Over 600 lines on purpose: the capped line reader, the runner and the
//! transcript's wording are one command, read together.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::cli::{Cli, RunArgs};
use crate::engine::event::DATA_KEEP;
use crate::engine::text::sanitize;
use crate::engine::{Engine, EngineConfig, Event, EventKind, Events, Note};
use crate::lang::MAX_LINE;
use crate::lang::names::LAB_COMMANDS;
use crate::session::{Outcome, Session, Submitted};
use crate::settings::Lang;

pub fn main(cli: &Cli, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let lang = cli.lang.unwrap_or_else(Lang::from_env);
    let timeout = timeout_arg(args.timeout, lang)?;
    let input: Box<dyn BufRead + Send> = if args.file == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(&args.file)
            .with_context(|| crate::tr!(lang, "run.reading", file = &args.file))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_SCRIPT as u64 {
            anyhow::bail!(
                "{}",
                crate::tr!(lang, "run.script_too_big", file = &args.file, len = len)
            );
        }
        Box::new(std::io::BufReader::new(f))
    };
    let name = if args.file == "-" {
        crate::tr!(lang, "run.stdin")
    } else {
        args.file.clone()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let opts = Options {
        json: args.json,
        hex: args.hex,
        timeout,
        keep_going: args.keep_going,
        allow_remote: cli.allow_remote,
        lang,
        wire: args.wire,
        pcap: args.pcap.clone(),
        keep_code: args.keep_code,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let lines = rt.block_on(async { spawn_reader(input, name, lang) });
    let ok = match rt
        .block_on(run_lines(lines, &opts, &mut out))
        .and_then(|ok| {
            out.flush()?;
            Ok(ok)
        }) {
        Ok(ok) => ok,
        // `socklab run x | head`: the reader left; that is not a failure.
        Err(e) if is_broken_pipe(&e) => true,
        Err(e) => {
            rt.shutdown_timeout(Duration::from_millis(200));
            return Err(e);
        }
    };
    rt.shutdown_timeout(Duration::from_millis(200));
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `--timeout`: a positive number of seconds a `Duration` can hold.
fn timeout_arg(secs: f64, lang: Lang) -> anyhow::Result<Duration> {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if secs > 0.0 && d <= MAX_TIMEOUT => Ok(d),
        _ => anyhow::bail!(
            "{}",
            crate::tr!(
                lang,
                "run.bad_timeout",
                max = MAX_TIMEOUT.as_secs(),
                secs = secs
            )
        ),
    }
}

/// The longest `--timeout` (a year: longer is surely a typo).
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Largest script `socklab run` reads (64 MiB); lines are at most [`MAX_LINE`] bytes.
pub const MAX_SCRIPT: usize = 64 * 1024 * 1024;

/// One line of a script as read.
#[derive(Debug, PartialEq)]
pub enum Line {
    Text(String),
    /// Longer than [`MAX_LINE`]: how long it was (it is not kept).
    TooLong(usize),
    /// Not UTF-8: the byte offset of the first bad byte, and the byte.
    BadUtf8(usize, u8),
}

/// What the reader thread sends: a line, or why it stopped early (in words).
type Read = Result<Line, String>;

/// Read `input` line by line on a thread of its own, so a script on
/// standard input streams (a line runs as soon as it arrives).
fn spawn_reader(
    input: Box<dyn BufRead + Send>,
    name: String,
    lang: Lang,
) -> tokio::sync::mpsc::Receiver<Read> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    std::thread::spawn(move || {
        let mut input = input;
        let mut total = 0usize;
        loop {
            let line = match read_line(&mut input, &mut total) {
                Ok(Some(l)) => Ok(l),
                Ok(None) => break,
                Err(ReadError::Io(e)) => {
                    Err(crate::tr!(lang, "run.read_failed", file = &name, error = e))
                }
                Err(ReadError::TooBig) => {
                    Err(crate::tr!(lang, "run.script_over_limit", file = &name))
                }
            };
            let stop = line.is_err();
            if tx.blocking_send(line).is_err() || stop {
                break;
            }
        }
    });
    rx
}

/// Why a script could not be read to its end.
#[derive(Debug, PartialEq)]
pub enum ReadError {
    /// The system's error, as it words it.
    Io(String),
    /// Over [`MAX_SCRIPT`] bytes in all.
    TooBig,
}

/// The next line (without its end), or None at the end. Reads at most
/// [`MAX_LINE`] bytes of a line into memory, and [`MAX_SCRIPT`] in all.
pub fn read_line(input: &mut dyn BufRead, total: &mut usize) -> Result<Option<Line>, ReadError> {
    let mut buf: Vec<u8> = Vec::new();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let chunk = input.fill_buf().map_err(|e| ReadError::Io(e.to_string()))?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let body = &chunk[..if done { take - 1 } else { take }];
        if len + body.len() <= MAX_LINE + 1 {
            buf.extend_from_slice(body);
        }
        len += body.len();
        input.consume(take);
        *total += take;
        if *total > MAX_SCRIPT {
            return Err(ReadError::TooBig);
        }
        if done {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
        len -= 1;
    }
    if len > MAX_LINE {
        return Ok(Some(Line::TooLong(len)));
    }
    Ok(Some(match String::from_utf8(buf) {
        Ok(s) => Line::Text(s),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            Line::BadUtf8(at, e.as_bytes()[at])
        }
    }))
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
    /// Keep the program for `:export` (`--keep-code`).
    pub keep_code: bool,
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
            keep_code: false,
        }
    }
}

/// How long the transcript waits for the kernel's view to settle after a
/// line that started something (a call, a peer).
const SETTLE: Duration = Duration::from_millis(30);

/// Lab commands only scripts have.
const SCRIPT_COMMANDS: &[&str] = &["sleep", "wait", "exit", "q"];

/// Run a script; true if every line succeeded.
pub async fn run_script(script: &str, opts: &Options, out: &mut dyn Write) -> anyhow::Result<bool> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let lines: Vec<String> = script.lines().map(str::to_string).collect();
    let feed = tokio::spawn(async move {
        for l in lines {
            if tx.send(Ok(Line::Text(l))).await.is_err() {
                break;
            }
        }
    });
    let r = run_lines(rx, opts, out).await;
    feed.abort();
    r
}

/// Run lines as they arrive; true if every line succeeded.
async fn run_lines(
    lines: tokio::sync::mpsc::Receiver<Read>,
    opts: &Options,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let (engine, events) = Engine::start(EngineConfig {
        allow_remote: opts.allow_remote,
        ..Default::default()
    });
    let mut session = Session::new(engine.clone());
    session.keep_code(opts.keep_code);
    session.set_lang(opts.lang);
    let mut r = Runner {
        session,
        events,
        opts: opts.clone(),
        out,
        failed: false,
        line: 0,
        start: std::time::Instant::now(),
        held: Vec::new(),
    };
    let result = r.run(lines).await;
    if let (Ok(()), Some(path)) = (&result, &opts.pcap) {
        r.export_pcap(&engine, path)?;
    }
    engine.shutdown();
    result?;
    Ok(!r.failed)
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

/// What a line set going, so the runner knows whether to wait for the
/// kernel's view to settle after it.
#[derive(PartialEq)]
enum Stirred {
    Nothing,
    Something,
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
                _ => crate::tr!(self.opts.lang, "run.capture_not_started"),
            };
            let text = crate::tr!(self.opts.lang, "run.no_pcap", why = sanitize(&why));
            return self.result(false, &text);
        }
        let lang = self.opts.lang;
        let done = engine
            .export_pcap(path)
            .with_context(|| crate::tr!(lang, "run.writing", file = path.display()))?;
        let file = sanitize(&path.display().to_string());
        let text = if done.forgotten > 0 {
            crate::tr!(
                lang,
                "run.pcap_done_forgot",
                n = done.frames,
                file = file,
                forgotten = done.forgotten
            )
        } else {
            crate::tr!(lang, "run.pcap_done", n = done.frames, file = file)
        };
        if self.opts.json {
            let v = json!({"event": "pcap", "frames": done.frames, "forgotten": done.forgotten, "file": path.display().to_string()});
            self.json(v)
        } else {
            writeln!(self.out, "{text}")?;
            Ok(())
        }
    }

    async fn run(&mut self, mut lines: tokio::sync::mpsc::Receiver<Read>) -> anyhow::Result<()> {
        while let Some(read) = lines.recv().await {
            self.line += 1;
            let line = match read.map_err(anyhow::Error::msg)? {
                Line::Text(t) => t,
                bad => {
                    self.flush_ready()?;
                    let lang = self.opts.lang;
                    let why = match bad {
                        Line::TooLong(n) => crate::tr!(
                            lang,
                            "run.line_too_long",
                            line = self.line,
                            len = n,
                            max = MAX_LINE
                        ),
                        Line::BadUtf8(at, b) => crate::tr!(
                            lang,
                            "run.line_not_utf8",
                            line = self.line,
                            byte = format!("0x{b:02x}"),
                            at = at + 1
                        ),
                        Line::Text(_) => String::new(),
                    };
                    self.failed = true;
                    self.result(false, &format!("socklab: {why}"))?;
                    if self.opts.keep_going {
                        continue;
                    }
                    break;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            let shown = self.session.expand(&line);
            if self.opts.json {
                self.json(json!({"event": "input", "line": self.line, "text": shown}))?;
            } else {
                writeln!(self.out, ">>> {}", sanitize(&shown))?;
            }
            self.session.set_line(self.line);
            let (flow, stirred) = self.step(&line).await?;
            if stirred == Stirred::Something {
                self.settle(SETTLE).await?;
            } else {
                // Nothing new was started: print what has already arrived, without waiting.
                self.flush_ready()?;
            }
            if matches!(flow, Flow::Stop) || (self.failed && !self.opts.keep_going) {
                break;
            }
        }
        self.settle(Duration::from_millis(100)).await?;
        Ok(())
    }

    /// Print the events that have already arrived, in order.
    fn flush_ready(&mut self) -> anyhow::Result<()> {
        while let Ok(ev) = self.events.try_recv() {
            self.feed(&ev)?;
        }
        self.flush()
    }

    async fn step(&mut self, line: &str) -> anyhow::Result<(Flow, Stirred)> {
        let mut stirred = Stirred::Nothing;
        match self.session.submit(line) {
            Submitted::Nothing => {}
            Submitted::Echo(text) => {
                if line.trim_start().starts_with(':') {
                    // Events of `:peer` and friends come before the echo.
                    self.settle(Duration::from_millis(5)).await?;
                    stirred = Stirred::Something;
                }
                self.flush_ready()?;
                if !text.is_empty() {
                    self.result(true, &text)?;
                }
            }
            Submitted::Error(text) => {
                self.flush_ready()?;
                self.failed = true;
                self.result(false, &text)?;
            }
            Submitted::Lab { name, args } => return self.lab(&name, &args).await,
            Submitted::Started { call, text } => {
                self.wait_call(call, &text).await?;
                stirred = Stirred::Something;
            }
        }
        Ok((Flow::Next, stirred))
    }

    async fn lab(&mut self, name: &str, args: &str) -> anyhow::Result<(Flow, Stirred)> {
        match name {
            "sleep" | "wait" => {
                let secs: f64 = args.trim().parse().unwrap_or(-1.0);
                if !(0.0..=3600.0).contains(&secs) {
                    self.failed = true;
                    let usage = crate::tr!(self.opts.lang, "run.sleep_usage");
                    self.result(false, &usage)?;
                } else {
                    self.settle_for(Duration::from_secs_f64(secs)).await?;
                }
            }
            "quit" | "exit" | "q" => return Ok((Flow::Stop, Stirred::Nothing)),
            "reset" => {
                self.session.reset();
                return Ok((Flow::Next, Stirred::Something));
            }
            other if LAB_COMMANDS.contains(&other) => {
                let said = crate::tr!(self.opts.lang, "run.screen_only", name = other);
                self.result(true, &said)?;
            }
            other => {
                self.failed = true;
                let known = LAB_COMMANDS
                    .iter()
                    .copied()
                    .chain(SCRIPT_COMMANDS.iter().copied());
                let name = sanitize(other);
                let note = match crate::lang::error::did_you_mean(other, known) {
                    Some(m) => Note::new("run.unknown_command_near").with("near", m),
                    None => Note::new("run.unknown_command"),
                };
                let e = crate::lang::LangError::lab_note(note.with("name", name));
                self.result(false, &e.in_lang(self.opts.lang).headline())?;
            }
        }
        Ok((Flow::Next, Stirred::Nothing))
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
                    self.session.cancel(call);
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
            let said = crate::tr!(self.opts.lang, "run.timed_out", call = text, secs = secs);
            return self.result(false, &format!("socklab: {said}"));
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
            let mut v = json_event(ev)?;
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

/// An event as JSON, with the bytes a call returned cut to their first
/// [`DATA_KEEP`] like `data` events; `ret.len` is always the exact length.
pub fn json_event(ev: &Event) -> anyhow::Result<serde_json::Value> {
    use crate::engine::Ret;
    let EventKind::CallDone { call, sock, ret } = &ev.kind else {
        let mut v = serde_json::to_value(ev)?;
        // The lab's notes in words (English: JSON is for programs).
        use crate::engine::{PeerNote, ProgramNote};
        let words = |n: &Note| json!(crate::i18n::note(Lang::En, n));
        match &ev.kind {
            EventKind::CallFailed { error, .. } => {
                v["error"]["explain"] = words(&error.explain);
            }
            EventKind::Peer {
                note: PeerNote::Error { explain, .. } | PeerNote::Paused { explain, .. },
                ..
            } if !explain.is_empty() => {
                v["note"]["explain"] = words(explain);
            }
            EventKind::Peer {
                note: PeerNote::Stopped { reason },
                ..
            } => v["note"]["reason"] = words(reason),
            EventKind::Peer {
                note: PeerNote::Remark { note },
                ..
            } => v["note"]["text"] = words(note),
            EventKind::Program {
                note: ProgramNote::Exited { how, .. },
                ..
            } => v["note"]["text"] = words(how),
            EventKind::Notice { note } => v["text"] = words(note),
            _ => {}
        }
        return Ok(v);
    };
    let cut = |b: &bytes::Bytes| b.slice(..b.len().min(DATA_KEEP));
    let (short, len) = match ret {
        Ret::Bytes(b) => (Ret::Bytes(cut(b)), b.len()),
        Ret::RawOpt(b) => (Ret::RawOpt(cut(b)), b.len()),
        Ret::Datagram(b, a) => (Ret::Datagram(cut(b), *a), b.len()),
        _ => return Ok(serde_json::to_value(ev)?),
    };
    let short = Event {
        kind: EventKind::CallDone {
            call: *call,
            sock: *sock,
            ret: short,
        },
        ..ev.clone()
    };
    let mut v = serde_json::to_value(&short)?;
    v["ret"]["len"] = json!(len);
    Ok(v)
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
