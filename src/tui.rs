//! Terminal setup and the interactive screen's main loop.
//!
//! `run` is the loop over injected edges — a terminal-event stream, the
//! engine's event channel, a stop future and a ratatui `Backend` — so tests
//! drive the whole app head-less (`TestBackend`, a channel of key events).
//! `main` plugs in the real terminal, `EventStream` and the signals.

use std::future::Future;
use std::io::{self, stdout};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event as TermEvent, EventStream, KeyEventKind,
};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::app::{self, App, LessonHook, Msg, Session};
use crate::cli::{Cli, Lang};
use crate::engine::{Engine, EngineConfig, Events};
use crate::ui;
use crate::ui::theme::Theme;

pub use crate::settings::Mode;

/// Engine-only changes are drawn at most this often; keys are drawn at once.
const FRAME: Duration = Duration::from_millis(16);
/// How often the screen is redrawn while a state change is fading.
const FADE_TICK: Duration = Duration::from_millis(100);
/// Engine events applied before drawing, so a flood cannot starve the keys.
const BATCH: usize = 4096;

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    /// SIGTERM / SIGHUP / SIGINT, or the input closed.
    Stopped,
}

pub fn main(cli: &Cli, mode: Mode) -> anyhow::Result<ExitCode> {
    // Engine tasks run on worker threads; the loop runs on this one.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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
            app.welcome(match mode {
                Mode::Sandbox => {
                    "sandbox: type a socket call, e.g. s = socket()   (F1: keys, :help)"
                }
                _ => "type a socket call, e.g. s = socket()   (F1: keys, :help, :hint)",
            });
        }
        install_panic_hook();
        let mut terminal = init_terminal().context("setting up the terminal")?;
        panic_drill();
        let size = terminal.size()?;
        app.size = (size.width, size.height);
        let result = run(
            &mut terminal,
            &mut app,
            EventStream::new(),
            events,
            stop_signal(),
        )
        .await;
        restore_terminal();
        engine.shutdown();
        match result? {
            Exit::Quit => Ok(ExitCode::SUCCESS),
            Exit::Stopped => Ok(ExitCode::from(143)),
        }
    })
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
    let terminal = ratatui::try_init()?;
    crossterm::execute!(stdout(), EnableMouseCapture, EnableBracketedPaste)?;
    Ok(terminal)
}

/// Put the terminal back: raw mode off, main screen, mouse and paste modes
/// off, cursor shown. Safe to call twice.
pub fn restore_terminal() {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
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

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = hup.recv() => {}
        _ = int.recv() => {}
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

/// The loop: apply every message through `app::update`, draw only when
/// something changed, and wake on a timer only while something fades.
pub async fn run<B, S, F>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut input: S,
    mut events: Events,
    stop: F,
) -> anyhow::Result<Exit>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
    F: Future<Output = ()>,
{
    tokio::pin!(stop);
    let mut dirty = true;
    let mut urgent = true;
    let mut last_draw = Instant::now();
    let mut engine_open = true;
    loop {
        if dirty && (urgent || last_draw.elapsed() >= FRAME) {
            terminal.draw(|f| ui::draw(f, app))?;
            last_draw = Instant::now();
            dirty = false;
            urgent = false;
        }
        let fading = app.animating();
        let frame_wait = FRAME.saturating_sub(last_draw.elapsed());
        tokio::select! {
            biased;
            _ = &mut stop => return Ok(Exit::Stopped),
            ev = input.next() => {
                let Some(ev) = ev else { return Ok(Exit::Stopped) };
                if let Some(msg) = to_msg(ev.context("reading the terminal")?) {
                    let eff = app::update(app, msg);
                    if eff.quit {
                        return Ok(Exit::Quit);
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
                        app::update(app, Msg::Engine(ev));
                        for _ in 0..BATCH {
                            match events.try_recv() {
                                Ok(ev) => { app::update(app, Msg::Engine(ev)); }
                                Err(_) => break,
                            }
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
        if !fading && app.animating() {
            // Something started fading: take the time now so it starts at full strength.
            app::update(app, Msg::Tick);
        }
    }
}
