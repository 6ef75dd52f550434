//! Terminal setup and the interactive screen's main loop.
//!
//! `run` is the loop over injected edges — a terminal-event stream, the
//! engine's event channel, a stop future and a ratatui `Backend` — so tests
//! drive the whole app head-less (`TestBackend`, a channel of key events).
//! `main` plugs in the real terminal, a thread reading it, and the signals
//! (`term`: a thread of their own, so they work while the loop is busy).

use std::future::Future;
use std::io::{self, stdout};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{Event as TermEvent, KeyEventKind};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};

use crate::app::{self, App, LessonHook, Msg, Session};
use crate::cli::{Cli, Lang};
use crate::engine::{Engine, EngineConfig, Events};
use crate::ui;
use crate::ui::theme::Theme;

mod term;
pub use crate::settings::Mode;
pub use term::Control;

/// Engine-only changes are drawn at most this often; keys are drawn at once.
const FRAME: Duration = Duration::from_millis(16);
/// How often the screen is redrawn while a state change is fading.
const FADE_TICK: Duration = Duration::from_millis(100);
/// Engine events applied before drawing, so a flood cannot starve the keys.
const BATCH: usize = 4096;
/// …and at most this long spent applying them before a waiting key is read:
/// under a flood a key waits for one slice, not for a whole batch.
const BATCH_TIME: Duration = Duration::from_micros(500);
/// Terminal events already waiting that are applied before one draw: typing
/// (or an unbracketed paste) costs one frame a batch, not one a key.
const INPUT_BATCH: usize = 1024;
/// Terminal events read ahead of the loop (in batches of at most
/// [`INPUT_BATCH`]); past that the reader waits, and the terminal holds the
/// rest (memory stays bounded while the loop is busy).
const INPUT_QUEUE: usize = 4096;

/// How long the reader looks for more input after a line break: the rest of
/// a block typed ahead (or pasted without brackets) may come in the next
/// read of the terminal, and belongs with it. Only after a line break —
/// other keys are handed over at once, so typing costs no wait.
const SAME_READ: Duration = Duration::from_micros(200);
/// The look for more keys otherwise. Not zero: crossterm's `poll(0)` does
/// not count the keys it has already read from the terminal and not handed
/// out, and a burst of typing would go one key a batch (a frame each).
const MORE_KEYS: Duration = Duration::from_micros(20);

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    /// SIGTERM / SIGHUP / SIGINT, or the input closed.
    Stopped,
}

/// Why this terminal cannot show the lab screen, if it cannot.
pub fn incapable_terminal() -> Option<String> {
    use std::io::IsTerminal;
    let term = std::env::var("TERM").unwrap_or_default();
    let why = if term.is_empty() {
        "TERM is not set".to_string()
    } else if term == "dumb" {
        "TERM=dumb".to_string()
    } else if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        "standard input and output are not a terminal".to_string()
    } else {
        return None;
    };
    Some(format!(
        "the lab screen needs a capable terminal ({why}); \
         for head-less use try `socklab run SCRIPT` (or `socklab run -` to read calls from standard input)"
    ))
}

/// Engine threads (peers, capture, the kernel observer) run a little below
/// the screen's thread: when a key arrives while a peer floods a socket, the
/// scheduler gives the loop the CPU first, so typing stays immediate. The
/// engine loses nothing but a share of an already saturated CPU.
fn yield_to_the_screen() {
    // SAFETY: setpriority takes plain integers and no pointers; `who` 0 with
    // PRIO_PROCESS names the calling thread on Linux (nice is per thread).
    // Raising one's own nice value needs no privilege; failure is harmless.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, ENGINE_NICE);
    }
}

/// How much nicer than the screen's thread the engine's threads are.
const ENGINE_NICE: libc::c_int = 5;

pub fn main(cli: &Cli, mode: Mode) -> anyhow::Result<ExitCode> {
    if let Some(why) = incapable_terminal() {
        // Nothing has been written to the terminal: leave it as it is.
        anyhow::bail!(why);
    }
    let (control_tx, control_rx) = futures::channel::mpsc::unbounded();
    term::watch(move |c| {
        let _ = control_tx.unbounded_send(c);
    })
    .context("watching signals")?;
    // Engine tasks run on worker threads; the loop runs on this one.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(yield_to_the_screen)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let (engine, events) = Engine::start(EngineConfig {
            allow_remote: cli.allow_remote,
            ..EngineConfig::default()
        });
        let mut app = App::new(Session::new(engine.clone()), Theme::from_env());
        app.lang = cli.lang.unwrap_or_else(Lang::from_env);
        app.session.set_lang(app.lang);
        let store = crate::lesson::progress::ProgressStore::from_env();
        if let Some(mut hook) = lesson_hook(cli, &mode, &mut app.session, store)? {
            // Warnings from opening (a progress file set aside, a broken
            // lesson file skipped) show at once.
            for line in hook.poll(&mut app.session) {
                app.say(app::LineKind::Info, &line);
            }
            app.set_hook(hook);
        }
        if app.hook.is_none() {
            let key = match mode {
                Mode::Sandbox => "welcome.sandbox",
                Mode::Trace { .. } => "welcome.trace",
                _ => "welcome.lesson",
            };
            app.welcome(&crate::tr!(app.lang, key));
        }
        if let Mode::Trace { argv, step } = &mode {
            start_trace(&mut app, argv.clone(), *step);
        }
        install_panic_hook();
        let mut terminal = init_terminal().context("setting up the terminal")?;
        panic_drill();
        let size = terminal.size()?;
        app.size = (size.width, size.height);
        busy_drill(&mut terminal, &mut app)?;
        let result = run_with(
            &mut terminal,
            &mut app,
            read_terminal().context("reading the terminal")?,
            events,
            std::future::pending(),
            control_rx,
            term::suspend,
        )
        .await;
        restore_terminal();
        // `restore_terminal` gave the cursor back. Dropping the Terminal
        // would try again, and when the terminal itself is gone (a closed
        // window: EIO) it reports that with eprintln!, which panics on the
        // same dead terminal; the process is ending, so let it go.
        std::mem::forget(terminal);
        engine.shutdown();
        // The terminal went away under us (a closed window: writing to it
        // fails with EIO): that is a hang-up, not an error to print on it.
        let gone = |e: &anyhow::Error| {
            e.chain().any(|c| {
                c.downcast_ref::<io::Error>().is_some_and(|io| {
                    io.raw_os_error() == Some(libc::EIO) || io.kind() == io::ErrorKind::BrokenPipe
                })
            })
        };
        match result {
            Err(e) if gone(&e) => Ok(ExitCode::from(term::stop_code().unwrap_or(129))),
            Err(e) => Err(e),
            Ok(Exit::Quit) => Ok(ExitCode::SUCCESS),
            // 128 + the signal (SIGTERM when the input just closed).
            Ok(Exit::Stopped) => Ok(ExitCode::from(term::stop_code().unwrap_or(143))),
        }
    })
}

/// `socklab trace -- CMD…`: start the program and say so under the prompt.
pub fn start_trace(app: &mut App, argv: Vec<String>, step: bool) {
    match app.session.trace(argv, step) {
        app::Submitted::Echo(s) => app.say(app::LineKind::Info, &s),
        app::Submitted::Error(e) => app.say(app::LineKind::Error, &e),
        _ => {}
    }
}

/// THE place lessons plug in: build a [`LessonHook`] for `socklab learn` /
/// `socklab` (continue); none for the sandbox, whose Lesson pane explains
/// the lab.
pub fn lesson_hook(
    cli: &Cli,
    mode: &Mode,
    session: &mut Session,
    store: crate::lesson::progress::ProgressStore,
) -> anyhow::Result<Option<Box<dyn LessonHook>>> {
    Ok(crate::app::lesson::build(cli, mode, session, store)?
        .map(|h| Box::new(h) as Box<dyn LessonHook>))
}

fn init_terminal() -> io::Result<ratatui::DefaultTerminal> {
    term::enter()?;
    Terminal::new(CrosstermBackend::new(stdout())).inspect_err(|_| restore_terminal())
}

/// Put the terminal back: raw mode off, main screen, mouse and paste modes
/// off, cursor shown. Safe to call twice, and from any thread.
pub fn restore_terminal() {
    term::leave();
}

/// A panic anywhere — this thread or an engine task on a worker — restores
/// the terminal, prints the message, and ends the process: a UI whose
/// background died must not go on drawing into a restored terminal.
fn install_panic_hook() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
        std::process::exit(101);
    }));
}

/// `SOCKLAB_PANIC_DRILL=MS` makes a background task panic after MS
/// milliseconds. It exists for the test that proves a panic off the UI
/// thread still restores the terminal; nothing else sets it.
fn panic_drill() {
    if let Some(ms) = std::env::var("SOCKLAB_PANIC_DRILL")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            panic!("panic drill (SOCKLAB_PANIC_DRILL)");
        });
    }
}

/// `SOCKLAB_BUSY_DRILL=MS` draws the first frame, then blocks the UI
/// thread for MS milliseconds, as a long computation would. It exists for
/// the tests that prove signals work while the loop is busy; nothing else
/// sets it.
fn busy_drill(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> io::Result<()> {
    if let Some(ms) = std::env::var("SOCKLAB_BUSY_DRILL")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        terminal.draw(|f| ui::draw(f, app))?;
        std::thread::sleep(Duration::from_millis(ms));
    }
    Ok(())
}

/// The terminal's events, read on a thread of their own, one batch per
/// read: everything the terminal had sent when the thread looked. Keys that
/// arrive together were not typed one by one (a paste without bracketed
/// paste, or typing ahead), and the app keeps their lines in order.
///
/// Not crossterm's `EventStream`: it hands over one event per wake-up of its
/// helper thread, so 32 KB typed took minutes and one frame a key. The
/// reader uses crossterm's level-triggered `/dev/tty` source (feature
/// `use-dev-tty`): the default source is edge-triggered and strands input
/// that arrived in one burst (a big unbracketed paste stopped half-way until
/// the next key).
fn read_terminal() -> io::Result<futures::channel::mpsc::Receiver<Vec<io::Result<TermEvent>>>> {
    use futures::SinkExt;
    let (mut tx, rx) = futures::channel::mpsc::channel(INPUT_QUEUE / INPUT_BATCH);
    std::thread::Builder::new()
        .name("socklab-input".into())
        .spawn(move || {
            loop {
                let mut batch = vec![crossterm::event::read()];
                // What else is already there belongs to the same read; after
                // a line break, also what comes within SAME_READ.
                while batch.len() < INPUT_BATCH && batch.last().is_some_and(|e| e.is_ok()) {
                    let wait = if batch.iter().any(is_line_break) {
                        SAME_READ
                    } else {
                        MORE_KEYS
                    };
                    if !matches!(crossterm::event::poll(wait), Ok(true)) {
                        break;
                    }
                    batch.push(crossterm::event::read());
                }
                let failed = batch.iter().any(|e| e.is_err());
                // The loop went away, or the terminal did.
                if futures::executor::block_on(tx.send(batch)).is_err() || failed {
                    break;
                }
            }
        })?;
    Ok(rx)
}

/// Enter or Ctrl-J: a key that ends a line.
fn is_line_break(ev: &io::Result<TermEvent>) -> bool {
    match ev {
        Ok(TermEvent::Key(k)) => {
            k.code == crossterm::event::KeyCode::Enter
                || (k.code == crossterm::event::KeyCode::Char('j')
                    && k.modifiers
                        .contains(crossterm::event::KeyModifiers::CONTROL))
        }
        _ => false,
    }
}

/// A terminal event as a message, or None for ones the app ignores.
pub fn to_msg(ev: TermEvent) -> Option<Msg> {
    match ev {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
        TermEvent::Mouse(m) => Some(Msg::Mouse(m)),
        TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
        TermEvent::Paste(s) => Some(Msg::Paste(s)),
        _ => None,
    }
}

/// One read's events as messages: its keys together (`Msg::Keys`), so a
/// block typed ahead keeps its lines in order.
fn read_msgs(evs: Vec<io::Result<TermEvent>>) -> anyhow::Result<Vec<Msg>> {
    let mut out = Vec::new();
    let mut keys = Vec::new();
    for ev in evs {
        match to_msg(ev.context("reading the terminal")?) {
            Some(Msg::Key(k)) => keys.push(k),
            Some(msg) => {
                if !keys.is_empty() {
                    out.push(Msg::Keys(std::mem::take(&mut keys)));
                }
                out.push(msg);
            }
            None => {}
        }
    }
    if !keys.is_empty() {
        out.push(Msg::Keys(keys));
    }
    Ok(out)
}

/// The loop: apply every message through `app::update`, draw only when
/// something changed, and wake on a timer only while something fades.
/// Ctrl-Z does nothing here (no terminal to give back); see [`run_with`].
pub async fn run<B, S, F>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    input: S,
    events: Events,
    stop: F,
) -> anyhow::Result<Exit>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
    F: Future<Output = ()>,
{
    // What is ready at once counts as one read of the terminal.
    run_with(
        terminal,
        app,
        input.ready_chunks(INPUT_BATCH),
        events,
        stop,
        futures::stream::pending(),
        || (),
    )
    .await
}

/// [`run`] with what a real terminal adds: `input` in batches, one per read
/// of the terminal; `control` from the signal thread (redraw everything
/// after a continue, stop), and `suspend` for Ctrl-Z (give the terminal
/// back and stop until continued; the screen is drawn anew after it returns).
pub async fn run_with<B, S, F, C, Z>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    input: S,
    mut events: Events,
    stop: F,
    control: C,
    mut suspend: Z,
) -> anyhow::Result<Exit>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = Vec<io::Result<TermEvent>>> + Unpin,
    F: Future<Output = ()>,
    C: Stream<Item = Control> + Unpin,
    Z: FnMut(),
{
    tokio::pin!(stop);
    // Every terminal event already waiting comes at once, applied before one draw.
    let mut input = input;
    let mut control = control;
    let mut control_open = true;
    let mut dirty = true;
    let mut urgent = true;
    let mut last_draw = Instant::now();
    let mut engine_open = true;
    loop {
        if dirty && (urgent || last_draw.elapsed() >= FRAME) {
            let frame = terminal.draw(|f| ui::draw(f, app))?;
            let info = ui::frame_info(frame.area, app);
            app::update(app, Msg::Frame(info));
            last_draw = Instant::now();
            dirty = false;
            urgent = false;
        }
        let fading = app.animating();
        let frame_wait = FRAME.saturating_sub(last_draw.elapsed());
        let mut anew = false;
        tokio::select! {
            biased;
            _ = &mut stop => return Ok(Exit::Stopped),
            c = control.next(), if control_open => match c {
                Some(Control::Stop) => return Ok(Exit::Stopped),
                Some(Control::Redraw) => anew = true,
                None => control_open = false,
            },
            evs = input.next() => {
                let Some(evs) = evs else { return Ok(Exit::Stopped) };
                for msg in read_msgs(evs)? {
                    let eff = app::update(app, msg);
                    if eff.quit {
                        return Ok(Exit::Quit);
                    }
                    if eff.suspend {
                        suspend();
                        anew = true;
                    }
                    if eff.redraw {
                        dirty = true;
                        urgent = true;
                    }
                }
            }
            ev = events.recv(), if engine_open => {
                match ev {
                    Some(ev) => {
                        // A queued `:quit` runs when the line before it finishes.
                        let mut quit = app::update(app, Msg::Engine(ev)).quit;
                        let began = Instant::now();
                        for i in 0..BATCH {
                            if i % 32 == 31 && began.elapsed() >= BATCH_TIME {
                                break;
                            }
                            match events.try_recv() {
                                Ok(ev) => quit |= app::update(app, Msg::Engine(ev)).quit,
                                Err(_) => break,
                            }
                        }
                        if quit {
                            return Ok(Exit::Quit);
                        }
                        dirty = true;
                    }
                    None => engine_open = false,
                }
            }
            _ = tokio::time::sleep(FADE_TICK), if fading => {
                if app::update(app, Msg::Tick).redraw {
                    dirty = true;
                }
            }
            _ = tokio::time::sleep(frame_wait), if dirty => {}
        }
        if anew {
            // The terminal may have changed size and lost what it showed. A
            // resize clears the screen and forgets what was drawn, without
            // asking the terminal for its cursor (as `clear` would).
            let size = terminal.size()?;
            app::update(app, Msg::Resize(size.width, size.height));
            terminal.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))?;
            dirty = true;
            urgent = true;
        }
        if !fading && app.animating() {
            // Something started fading: take the time now so it starts at full strength.
            app::update(app, Msg::Tick);
        }
    }
}
