//! `socklab verify`: run every lesson's setup and reference solutions
//! head-less on real sockets, and prove each step is unmet before its
//! solution and met after it. Then each step's routes, each on a fresh lab
//! after the earlier steps' solutions: every `wrong` route must leave the
//! step unmet, every `right` route must meet it.
//!
//! Lessons run side by side, each with its own engine and its own ports
//! (no two labs of one run share a port, so no capture sees another lab's
//! segments); the report comes out in lesson order.
//!
//! Without the capture (no CAP_NET_RAW) a step's wire parts count on its
//! other evidence, as they do for a student; a wrong route that the wire
//! alone refuses cannot be judged then, and the report says so instead of
//! failing. Every line of it is escaped (it
//! quotes lesson text and what peers said).

use std::collections::{BTreeMap, VecDeque};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::engine::{CaptureStatus, Engine, EngineConfig, Events, LabModel};
use crate::session::{Session, Submitted};
use crate::settings::Lang;

use futures::StreamExt;
use futures::stream::FuturesOrdered;

use super::format::Lesson;
use super::load::{DirReport, find};
use super::out::{say, warn};
use super::run::LessonRun;

/// How long one solution line may take before verify moves on.
const LINE_WAIT: Duration = Duration::from_secs(10);
/// How long the check may take to be met after the last line.
const CHECK_WAIT: Duration = Duration::from_secs(5);
/// Events are considered settled after this much quiet.
const QUIET: Duration = Duration::from_millis(60);
const TRANSCRIPT: usize = 8;
/// How long a wrong route is watched for the step to (wrongly) become met.
const WRONG_WAIT: Duration = Duration::from_millis(400);

/// Verify `which` lesson (id or number), or all, from `rep` (loaded from `place`).
pub fn main(
    rep: &DirReport,
    place: &str,
    which: Option<&str>,
    allow_remote: bool,
    lang: Lang,
) -> anyhow::Result<ExitCode> {
    for p in &rep.problems {
        warn(&p.to_string());
    }
    let lessons: Vec<&Lesson> = match which {
        Some(key) => vec![find(&rep.lessons, key).ok_or_else(|| {
            anyhow::anyhow!("no lesson \"{key}\" in {place} (try `socklab list`)")
        })?],
        None => rep.lessons.iter().collect(),
    };
    if lessons.is_empty() {
        anyhow::bail!("no lessons to verify in {place}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let mut failed = 0;
    // Every lesson gets its own ports, distinct from every other's and from
    // every route lab's, chosen before any starts (a port is free only until
    // someone binds it).
    let ports = route_placeholders(lessons.len());
    rt.block_on(async {
        // Side by side, each with its own engine; reported in lesson order
        // as soon as every lesson before it is done.
        let mut runs: FuturesOrdered<_> = lessons
            .iter()
            .zip(ports)
            .map(|(l, ph)| async move {
                let t0 = Instant::now();
                let result = verify_lesson(l, ph, allow_remote, lang).await;
                (result, t0.elapsed().as_secs_f64())
            })
            .collect();
        let mut i = 0;
        while let Some((result, secs)) = runs.next().await {
            let l = lessons[i];
            i += 1;
            match result {
                Ok(()) => say(&format!(
                    "✓ {:>2} {} ({} steps, {secs:.1} s)",
                    l.order,
                    l.id,
                    l.steps.len()
                )),
                Err(report) => {
                    failed += 1;
                    say(&format!("✗ {:>2} {} ({secs:.1} s)", l.order, l.id));
                    for line in report.lines() {
                        say(&format!("    {line}"));
                    }
                }
            }
        }
    });
    let total = started.elapsed().as_secs_f64();
    if let Some(off) = lock(&CAPTURE_OFF).clone() {
        let n = UNJUDGED.load(Ordering::Relaxed);
        let unjudged = if n > 0 {
            format!("; {n} wrong route(s) that only the wire refuses were not judged")
        } else {
            String::new()
        };
        say(&format!(
            "capture is off ({off}): the steps' wire parts were counted on their other evidence{unjudged}"
        ));
    }
    if !rep.problems.is_empty() {
        say(&format!(
            "{} problem(s) in lesson files (run `socklab check`)",
            rep.problems.len()
        ));
    }
    say(&format!(
        "{} of {} lessons verified in {total:.1} s",
        lessons.len() - failed,
        lessons.len()
    ));
    Ok(if failed == 0 && rep.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Why the capture was off in some lab of this run, if it was.
static CAPTURE_OFF: Mutex<Option<String>> = Mutex::new(None);
/// Wrong routes met only because the capture was off.
static UNJUDGED: AtomicUsize = AtomicUsize::new(0);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the capture is unavailable in this lab (and remember why).
fn capture_off(model: &LabModel) -> bool {
    let Some(CaptureStatus::Unavailable { detail, .. }) = &model.wire.status else {
        return false;
    };
    lock(&CAPTURE_OFF).get_or_insert_with(|| crate::engine::text::sanitize(detail));
    true
}

struct Verifier {
    session: Session,
    events: Events,
    run: LessonRun,
    transcript: VecDeque<String>,
    /// A line was answered EADDRINUSE: a port of this lab may have been
    /// taken by another program (another verify, another test) between
    /// being picked and being bound.
    port_taken: bool,
}

impl Verifier {
    fn note(&mut self, s: String) {
        self.port_taken |= s.contains("[Errno 98]");
        if self.transcript.len() == TRANSCRIPT {
            self.transcript.pop_front();
        }
        self.transcript.push_back(s);
    }

    /// Take events until `done` says stop or `deadline` passes. Returns
    /// whether `done` said stop.
    async fn pump(&mut self, deadline: Instant, done: &mut dyn FnMut(&Verifier) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            match tokio::time::timeout(wait, self.events.recv()).await {
                Ok(Some(ev)) => self.apply(ev),
                Ok(None) => return done(self),
                Err(_) => {}
            }
        }
    }

    fn apply(&mut self, ev: crate::engine::Event) {
        if let Some(out) = self.session.on_event(&ev) {
            let said = out.error.or(out.echo).unwrap_or_default();
            // A call with nothing to show (connect, bind) is its text alone.
            if said.trim().is_empty() {
                self.note(format!("  {}", out.text));
            } else {
                self.note(format!("  {}: {}", out.text, said.replace('\n', "\n  ")));
            }
        }
        self.run.on_event(&ev);
    }

    /// Take whatever events are already queued or arrive within QUIET.
    async fn settle(&mut self) {
        let cap = Instant::now() + Duration::from_millis(500);
        while Instant::now() < cap {
            match tokio::time::timeout(QUIET, self.events.recv()).await {
                Ok(Some(ev)) => self.apply(ev),
                _ => break,
            }
        }
    }

    fn start_peers(&mut self) -> Result<(), String> {
        for p in self.run.take_peers() {
            let what = format!("{} {}", p.kind, p.addr);
            if let Err(e) = self.session.engine().start_peer(p) {
                // Its port may have been taken between pick and bind.
                self.port_taken |= e.errno == Some(libc::EADDRINUSE);
                return Err(format!(
                    "setup peer {what} did not start: {}",
                    crate::describe::error_line(Lang::En, &e)
                ));
            }
            self.note(format!("(peer {what})"));
        }
        Ok(())
    }

    /// A failure report for step index `step`: its "not yet" lines (of
    /// that step, not whichever is current), then the last lines run.
    fn failure(&self, step: usize, head: String, lang: Lang) -> String {
        let mut s = head;
        let why = self.run.why_not_step(step, lang);
        if !why.is_empty() {
            s.push_str("\nnot yet:");
            for w in why {
                s.push_str(&format!("\n  {w}"));
            }
        }
        if !self.transcript.is_empty() {
            s.push_str("\nlast lines:");
            for t in &self.transcript {
                s.push_str(&format!("\n  {t}"));
            }
        }
        s
    }
}

async fn verify_lesson(
    lesson: &Lesson,
    ph: BTreeMap<String, String>,
    allow_remote: bool,
    lang: Lang,
) -> Result<(), String> {
    // The reference solution and every route, each on its own fresh lab,
    // all side by side: a lesson takes as long as its slowest run, not the
    // reference's time plus the slowest route's.
    let reference = retry_taken_ports(ph, |ph| async move {
        let (mut v, engine) = new_lab(lesson, ph, allow_remote);
        let result = solve_steps(&mut v, lesson.steps.len(), true, lang).await;
        capture_off(v.session.model());
        engine.shutdown();
        (result, v.port_taken)
    });
    let routes: Vec<(usize, bool, &Vec<String>)> = lesson
        .steps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.wrong
                .iter()
                .map(move |r| (i, false, r))
                .chain(s.right.iter().map(move |r| (i, true, r)))
        })
        .collect();
    let phs = route_placeholders(routes.len());
    let runs = routes.iter().zip(phs).map(|((i, right, lines), ph)| {
        let (i, right) = (*i, *right);
        retry_taken_ports(ph, move |ph| async move {
            let (mut v, engine) = new_lab(lesson, ph, allow_remote);
            let result = verify_route(&mut v, i, right, lines, lang).await;
            engine.shutdown();
            (result, v.port_taken)
        })
    });
    let (result, routes) = futures::future::join(reference, futures::future::join_all(runs)).await;
    // The reference's failure comes first: the routes build on its steps.
    result?;
    let failures: Vec<String> = routes.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Run `run` on a lab with the ports `ph`; when it fails and some line met
/// EADDRINUSE, run it again (twice at most) on newly picked ports. Ports are
/// picked free, but another program may bind one before the lab does (other
/// verify runs, tests side by side); a step that really fails fails again.
async fn retry_taken_ports<F, Fut>(ph: BTreeMap<String, String>, run: F) -> Result<(), String>
where
    F: Fn(BTreeMap<String, String>) -> Fut,
    Fut: std::future::Future<Output = (Result<(), String>, bool)>,
{
    let mut ph = ph;
    for attempt in 0.. {
        let (result, taken) = run(ph).await;
        if result.is_ok() || !taken || attempt == 2 {
            return result;
        }
        ph = route_placeholders(1).pop().expect("one set of ports");
    }
    unreachable!()
}

/// Placeholders for route labs: ports no other lab of this run uses
/// (`Session::fresh_placeholders` never gives a port twice in a row of labs).
fn route_placeholders(n: usize) -> Vec<BTreeMap<String, String>> {
    (0..n).map(|_| Session::fresh_placeholders()).collect()
}

/// A fresh lab (its own engine) for `lesson`; the caller shuts the engine down.
fn new_lab(
    lesson: &Lesson,
    ph: BTreeMap<String, String>,
    allow_remote: bool,
) -> (Verifier, Engine) {
    let (engine, events) = Engine::start(EngineConfig {
        allow_remote,
        ..EngineConfig::default()
    });
    let session = Session::with_placeholders(engine.clone(), ph);
    let run = LessonRun::new(lesson, session.placeholders(), session.model());
    let v = Verifier {
        session,
        events,
        run,
        transcript: VecDeque::new(),
        port_taken: false,
    };
    (v, engine)
}

/// The earlier steps by their solutions, then `lines`: step `i` must be met
/// after them (`right`) or stay unmet (a wrong route).
async fn verify_route(
    v: &mut Verifier,
    i: usize,
    right: bool,
    lines: &[String],
    lang: Lang,
) -> Result<(), String> {
    let n = i + 1;
    let what = if right { "right" } else { "wrong" };
    solve_steps(v, i, false, lang)
        .await
        .map_err(|e| format!("step {n}, {what} route: the steps before it failed:\n{e}"))?;
    v.start_peers()
        .map_err(|e| v.failure(i, format!("step {n}: {e}"), lang))?;
    v.settle().await;
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        run_line(v, i, line)
            .await
            .map_err(|e| v.failure(i, format!("step {n}, {what} route: {e}"), lang))?;
    }
    let route = lines.join(" ; ");
    if right {
        let met = v
            .pump(Instant::now() + CHECK_WAIT, &mut |v| v.run.step_met(i))
            .await;
        if !met {
            return Err(v.failure(
                i,
                format!("step {n} is not met by its right route `{route}`"),
                lang,
            ));
        }
    } else {
        let met = v
            .pump(Instant::now() + WRONG_WAIT, &mut |v| v.run.step_met(i))
            .await;
        if met && capture_off(v.session.model()) && v.run.lesson().steps[i].check.has_wire() {
            // Refused by the wire alone, perhaps: not provable without it.
            UNJUDGED.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if met {
            return Err(v.failure(
                i,
                format!("step {n} passes by its wrong route `{route}` (its check is too loose)"),
                lang,
            ));
        }
    }
    Ok(())
}

/// Steps `0..upto` by their reference solutions; `strict` also proves each
/// is unmet before its solution.
async fn solve_steps(
    v: &mut Verifier,
    upto: usize,
    strict: bool,
    lang: Lang,
) -> Result<(), String> {
    let steps = v.run.lesson().steps.clone();
    for (i, step) in steps.iter().enumerate().take(upto) {
        let n = i + 1;
        v.start_peers()
            .map_err(|e| v.failure(i, format!("step {n}: {e}"), lang))?;
        v.settle().await;
        if strict && v.run.step_met(i) {
            return Err(v.failure(
                i,
                format!("step {n} passes with nothing done (its check is met before its solution)"),
                lang,
            ));
        }
        let lines: Vec<&String> = step
            .solution
            .iter()
            .filter(|l| !l.trim().is_empty())
            .collect();
        for line in lines {
            run_line(v, i, line)
                .await
                .map_err(|e| v.failure(i, format!("step {n}: {e}"), lang))?;
        }
        let met = v
            .pump(Instant::now() + CHECK_WAIT, &mut |v| v.run.step_met(i))
            .await;
        if !met {
            return Err(v.failure(i, format!("step {n} is not met after its solution"), lang));
        }
    }
    Ok(())
}

async fn run_line(v: &mut Verifier, step: usize, line: &str) -> Result<(), String> {
    v.note(format!(">>> {line}"));
    let mut retried = false;
    loop {
        match v.session.submit(line) {
            Submitted::Started { call, .. } => {
                // Like a program, wait for the call; a call that blocks
                // until something later happens gives way after LINE_WAIT.
                let deadline = Instant::now() + LINE_WAIT;
                v.pump(deadline, &mut |v| {
                    !v.session.pending().iter().any(|(c, _)| *c == call) || v.run.step_met(step)
                })
                .await;
                return Ok(());
            }
            Submitted::Error(e) => {
                // A later line may need the result of a call still blocked
                // (its variable is bound when it finishes): wait for it once.
                if !retried && !v.session.pending().is_empty() {
                    retried = true;
                    v.pump(Instant::now() + LINE_WAIT, &mut |v| {
                        v.session.pending().is_empty()
                    })
                    .await;
                    continue;
                }
                v.note(format!("  {}", e.replace('\n', "\n  ")));
                return Err(format!("solution line `{line}` failed:\n{e}"));
            }
            Submitted::Echo(s) => {
                if !s.is_empty() {
                    v.note(format!("  {s}"));
                }
                v.start_peers()?;
                return Ok(());
            }
            Submitted::Lab { name, args } => {
                return Err(format!(
                    "solution line `{line}` is a lab command (:{name} {args}) that only the UI handles"
                ));
            }
            Submitted::Nothing => return Ok(()),
        }
    }
}
