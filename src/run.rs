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

use crate::cli::{Cli, RunArgs};
use crate::engine::text::{escape_display, sanitize};
use crate::engine::{Dir, Engine, EngineConfig, Event, EventKind, Events, Owner, PeerNote};
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            json: false,
            hex: false,
            timeout: Duration::from_secs(10),
            keep_going: false,
            allow_remote: false,
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
            let Some(text) = describe(&self.session, &ev, self.opts.hex) else {
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
/// out (the student's own call start/end: the `>>>` line and its result say it).
pub fn describe(session: &Session, ev: &Event, hex: bool) -> Option<String> {
    let model = session.model();
    let name = |s: u32| sanitize(&session.var_of(s).unwrap_or_else(|| model.name_of(s)));
    let student = |s: &Option<u32>| {
        s.and_then(|s| model.sock(s))
            .is_none_or(|r| r.owner == Owner::Student)
    };
    Some(match &ev.kind {
        EventKind::SocketCreated {
            sock,
            fd,
            family,
            ty,
            owner,
        } => format!(
            "{} created: fd {fd}, {}{}",
            name(*sock),
            crate::engine::kind_label(*family, *ty),
            match owner {
                Owner::Student => String::new(),
                Owner::Peer(p) => format!(", owned by peer {}", sanitize(p)),
                Owner::Program { .. } => format!(", owned by {}", sanitize(&owner.to_string())),
            }
        ),
        EventKind::SocketLabel { .. } | EventKind::Queues { .. } => return None,
        EventKind::Endpoints { sock, local, peer } => format!(
            "{}: local {} peer {}",
            name(*sock),
            local.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
            peer.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
        ),
        EventKind::LabState { sock, from, to } => format!("{}: {from} → {to}", name(*sock)),
        EventKind::KernelState { sock, from, to } => format!(
            "{}: kernel {} → {}",
            name(*sock),
            from.map(|s| s.name()).unwrap_or("-"),
            to.map(|s| s.name()).unwrap_or("-")
        ),
        EventKind::Orphan {
            tuple,
            origin,
            from,
            to,
            ..
        } => format!(
            "(no fd) {} ⇄ {}{}: {} → {}",
            tuple.local,
            tuple.remote,
            origin
                .map(|o| format!(" [{}]", name(o)))
                .unwrap_or_default(),
            from.map(|s| s.name()).unwrap_or("-"),
            to.map(|s| s.name()).unwrap_or("gone")
        ),
        EventKind::SocketClosed { sock } => format!("{}: descriptor closed", name(*sock)),
        EventKind::CallStarted {
            sock, text, owner, ..
        } => {
            if owner.is_student() {
                return None;
            }
            let _ = sock;
            format!("{}: {}", sanitize(&owner.to_string()), sanitize(text))
        }
        EventKind::CallPending { sock, .. } => {
            let who = sock.map(name).unwrap_or_else(|| "select".into());
            format!("{who}: waiting (the call blocks until the kernel is ready)")
        }
        EventKind::CallDone { sock, ret, .. } => {
            if student(sock) {
                return None;
            }
            format!(
                "{}: returned {}",
                sock.map(name).unwrap_or_default(),
                ret_short(ret)
            )
        }
        EventKind::CallFailed { sock, error, .. } => {
            if student(sock) {
                return None;
            }
            format!(
                "{}: {}",
                sock.map(name).unwrap_or_default(),
                sanitize(&error.python())
            )
        }
        EventKind::Data {
            sock,
            dir,
            data,
            len,
            addr,
        } => {
            let arrow = match dir {
                Dir::Sent => "sent",
                Dir::Received => "received",
            };
            let cut = if *len > data.len() || data.len() > 200 {
                "…"
            } else {
                ""
            };
            let shown = &data[..data.len().min(200)];
            let mut s = format!(
                "{} {arrow} {len} byte{}{}: {}{cut}",
                name(*sock),
                if *len == 1 { "" } else { "s" },
                addr.map(|a| format!(" ({} {a})", if *dir == Dir::Sent { "to" } else { "from" }))
                    .unwrap_or_default(),
                escape_display(shown)
            );
            if hex && !shown.is_empty() {
                s.push('\n');
                s.push_str(&hexdump(shown));
            }
            s
        }
        EventKind::Peer { peer, note } => {
            let p = sanitize(peer);
            match note {
                PeerNote::Started { kind, addr } => format!("peer {p} ({kind}) started on {addr}"),
                PeerNote::Stopped { reason } => format!("peer {p} stopped: {}", sanitize(reason)),
                PeerNote::Got { text } => format!("peer {p} got {:?}", sanitize(text)),
                PeerNote::Said { text } => format!("peer {p} said {:?}", sanitize(text)),
                PeerNote::Measure { name, value, unit } => {
                    format!(
                        "peer {p} measured {name} = {value:.3}{}",
                        if unit.is_empty() {
                            String::new()
                        } else {
                            format!(" {unit}")
                        }
                    )
                }
                PeerNote::Error { message } => format!("peer {p} error: {}", sanitize(message)),
                PeerNote::Paused { reason } => format!("peer {p} paused: {}", sanitize(reason)),
                PeerNote::Resumed => format!("peer {p} goes on"),
            }
        }
        EventKind::Notice { text } => format!("note: {}", sanitize(text)),
        // Worded by `socklab trace` (trace_cmd), which runs programs.
        EventKind::Program { .. } => return None,
    })
}

fn ret_short(ret: &crate::engine::Ret) -> String {
    use crate::engine::Ret;
    match ret {
        Ret::None => "None".into(),
        Ret::Int(i) => i.to_string(),
        Ret::Bytes(b) => format!("{} bytes", b.len()),
        Ret::Accepted(_, a) => format!("a connection from {a}"),
        Ret::Datagram(b, a) => format!("{} bytes from {a}", b.len()),
        other => format!("{other:?}"),
    }
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
