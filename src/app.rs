//! The interactive screen's state and the one `update` that changes it.
//!
//! Everything that happens — a key, a mouse click, a resize, an engine event,
//! a timer tick — arrives as a [`Msg`]; [`update`] applies it and says whether
//! the screen must be redrawn or the app should quit. Panes (`crate::ui`) only
//! read an `&App`.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use crossterm::event::{KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use tui_input::{Input, InputRequest};

use crate::engine::model::SockRow;
use crate::engine::text::sanitize;
use crate::engine::{CallId, Dir, Event, EventKind, LabState, Owner, SockId, TcpState};
use crate::keys::{self, Action, Pane};
use crate::ui::lesson::LessonView;
use crate::ui::theme::Theme;
use crate::ui::{events as ev_fmt, layout};

pub use crate::session::{Outcome, Session, Submitted};

/// How long a changed state stays highlighted.
pub const FADE_US: u64 = 2_000_000;
/// How long a closed socket stays on the Sockets pane (dimmed).
pub const CLOSED_SHOW_US: u64 = 5_000_000;
/// Traffic records kept, and bytes kept of each (the length is always exact).
pub const TRAFFIC_KEEP: usize = 50_000;
pub const TRAFFIC_BYTES: usize = 128;
pub const EVENTS_KEEP: usize = 5_000;
pub const OUTPUT_KEEP: usize = 500;
pub const HISTORY_KEEP: usize = 500;

/// Lesson commands passed to the lesson hook.
pub const LESSON_COMMANDS: &[&str] = &[
    "next", "prev", "hint", "solution", "reset", "check", "lesson",
];

pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Paste(String),
    Engine(Event),
    Tick,
}

/// What the loop should do after an update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    pub redraw: bool,
    pub quit: bool,
}

impl Effect {
    const NONE: Effect = Effect {
        redraw: false,
        quit: false,
    };
    const REDRAW: Effect = Effect {
        redraw: true,
        quit: false,
    };
    const QUIT: Effect = Effect {
        redraw: false,
        quit: true,
    };
}

/// Where lessons plug in (`socklab learn`). The app calls it; it never
/// touches the screen. The sandbox has none.
pub trait LessonHook {
    /// Every engine event, after the session has applied it.
    fn on_event(&mut self, session: &Session, ev: &Event);
    /// A lesson command (`:next`, `:hint`, … — see [`LESSON_COMMANDS`]);
    /// returns lines to show under the prompt.
    fn command(&mut self, session: &mut Session, name: &str, args: &str) -> Vec<String>;
    /// What the Lesson pane shows now.
    fn view(&self, session: &Session) -> LessonView;
    /// Text to put in the prompt (not run), e.g. after `:solution`.
    fn take_prompt(&mut self) -> Option<String> {
        None
    }
    /// Called after every event: start what the lesson needs (a step's
    /// peers) and return lines to show ("lesson complete").
    fn poll(&mut self, _session: &mut Session) -> Vec<String> {
        Vec::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Input,
    Echo,
    Error,
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutLine {
    pub kind: LineKind,
    pub text: String,
}

pub struct TrafficRec {
    pub t_us: u64,
    pub sock: SockId,
    /// The socket's name when the bytes moved.
    pub name: String,
    pub peer_owned: bool,
    pub dir: Dir,
    pub len: usize,
    /// At most [`TRAFFIC_BYTES`] of the chunk.
    pub data: Bytes,
}

#[derive(Default)]
pub struct Traffic {
    pub recs: VecDeque<TrafficRec>,
    pub dropped: u64,
    /// Records hidden below the view; 0 = following new data.
    pub back: usize,
    pub hex: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvClass {
    Socket,
    Lab,
    Kernel,
    Call,
    Ok,
    Fail,
    Peer,
    Notice,
}

pub struct EvLine {
    pub t_us: u64,
    /// The socket the line is about; its name is shown in front of `text`.
    pub sock: Option<SockId>,
    pub class: EvClass,
    pub peer_owned: bool,
    pub text: String,
}

/// When a socket's states last changed, and from what.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fade {
    pub lab: Option<(LabState, u64)>,
    pub kernel: Option<(Option<TcpState>, u64)>,
}

pub struct App {
    pub session: Session,
    pub theme: Theme,
    pub size: (u16, u16),
    pub focus: Pane,
    pub help: bool,
    pub help_scroll: usize,
    pub input: Input,
    pub history: Vec<String>,
    /// Position while walking history, and the line being typed before.
    pub hist_pos: Option<usize>,
    pub hist_draft: String,
    pub output: VecDeque<OutLine>,
    pub completions: Vec<String>,
    pub send_input: Input,
    pub send_newline: bool,
    pub send_target: Option<SockId>,
    pub sock_sel: usize,
    pub traffic: Traffic,
    pub events: VecDeque<EvLine>,
    pub events_dropped: u64,
    pub events_back: usize,
    pub code_back: usize,
    pub lesson_scroll: usize,
    pub fades: HashMap<SockId, Fade>,
    /// The text of calls in flight, for naming their results.
    pub call_text: HashMap<CallId, (String, bool)>,
    /// The newest call typed at the prompt, to tell whether an outcome
    /// arrives right after its own line.
    pub last_typed: Option<CallId>,
    pub lesson: Option<LessonView>,
    pub hook: Option<Box<dyn LessonHook>>,
    /// Engine time the screen shows (µs).
    pub now_us: u64,
    /// Tests pin the clock so snapshots do not depend on timing.
    pub frozen_clock: Option<u64>,
    animating: bool,
}

impl App {
    pub fn new(session: Session, theme: Theme) -> App {
        App {
            session,
            theme,
            size: (80, 24),
            focus: Pane::Prompt,
            help: false,
            help_scroll: 0,
            input: Input::default(),
            history: Vec::new(),
            hist_pos: None,
            hist_draft: String::new(),
            output: VecDeque::new(),
            completions: Vec::new(),
            send_input: Input::default(),
            send_newline: true,
            send_target: None,
            sock_sel: 0,
            traffic: Traffic::default(),
            events: VecDeque::new(),
            events_dropped: 0,
            events_back: 0,
            code_back: 0,
            lesson_scroll: 0,
            fades: HashMap::new(),
            call_text: HashMap::new(),
            last_typed: None,
            lesson: None,
            hook: None,
            now_us: 0,
            frozen_clock: None,
            animating: false,
        }
    }

    /// A first line under the prompt saying how to begin.
    pub fn welcome(&mut self, text: &str) {
        self.say(LineKind::Info, text);
    }

    /// Plug in a lesson (see [`LessonHook`]).
    pub fn set_hook(&mut self, hook: Box<dyn LessonHook>) {
        self.lesson = Some(hook.view(&self.session));
        self.hook = Some(hook);
    }

    /// Socket rows the Sockets pane shows: open ones, and closed ones for a moment.
    pub fn socket_rows(&self) -> Vec<&SockRow> {
        self.session
            .model()
            .socks
            .values()
            .filter(|r| {
                !r.closed
                    || r.closed_us
                        .is_some_and(|t| self.now_us.saturating_sub(t) < CLOSED_SHOW_US)
            })
            .collect()
    }

    /// Sockets the Send pane can write to: the student's connected ones.
    pub fn send_targets(&self) -> Vec<SockId> {
        self.session
            .model()
            .live()
            .filter(|r| r.owner.is_student() && r.peer.is_some())
            .filter(|r| {
                matches!(
                    r.lab,
                    LabState::Connected | LabState::HalfClosed(crate::engine::Shut::Rd)
                )
            })
            .map(|r| r.id)
            .collect()
    }

    /// The Send pane's target: the chosen one while it stays valid, else the newest.
    pub fn current_target(&self) -> Option<SockId> {
        let targets = self.send_targets();
        match self.send_target {
            Some(t) if targets.contains(&t) => Some(t),
            _ => targets.last().copied(),
        }
    }

    /// Whether something on screen changes with time alone.
    pub fn animating(&self) -> bool {
        let now = self.now_us;
        let recent = |t: u64| now.saturating_sub(t) < FADE_US;
        self.fades.values().any(|f| {
            f.lab.is_some_and(|(_, t)| recent(t)) || f.kernel.is_some_and(|(_, t)| recent(t))
        }) || self.session.model().socks.values().any(|r| {
            r.closed_us
                .is_some_and(|t| now.saturating_sub(t) < CLOSED_SHOW_US)
        })
    }

    fn say(&mut self, kind: LineKind, text: &str) {
        for line in text.lines() {
            self.output.push_back(OutLine {
                kind,
                text: sanitize(line),
            });
        }
        while self.output.len() > OUTPUT_KEEP {
            self.output.pop_front();
        }
    }

    fn tick_clock(&mut self) {
        self.now_us = match self.frozen_clock {
            Some(t) => t,
            None => self.session.engine().now_us().max(self.now_us),
        };
    }
}

/// Apply one message. The only place app state changes.
pub fn update(app: &mut App, msg: Msg) -> Effect {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::Mouse(m) => on_mouse(app, m),
        Msg::Resize(w, h) => {
            app.size = (w, h);
            Effect::REDRAW
        }
        Msg::Paste(text) => {
            let input = match app.focus {
                Pane::Prompt => &mut app.input,
                Pane::Send => &mut app.send_input,
                _ => return Effect::NONE,
            };
            // A pasted newline would submit half a line; keep it one line.
            for c in text
                .chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            {
                if !c.is_control() {
                    input.handle(InputRequest::InsertChar(c));
                }
            }
            Effect::REDRAW
        }
        Msg::Engine(ev) => {
            on_engine(app, ev);
            Effect::REDRAW
        }
        Msg::Tick => {
            app.tick_clock();
            let was = app.animating;
            app.animating = app.animating();
            Effect {
                redraw: was || app.animating,
                quit: false,
            }
        }
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Effect {
    let Some(action) = keys::lookup(&key, app.focus, app.help) else {
        if app.help {
            return Effect::NONE;
        }
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if let (true, crossterm::event::KeyCode::Char(c), true) =
            (app.focus.takes_text(), key.code, plain)
        {
            app.completions.clear();
            edit(app, InputRequest::InsertChar(c));
            return Effect::REDRAW;
        }
        return Effect::NONE;
    };
    if !matches!(action, Action::Complete) {
        app.completions.clear();
    }
    if app.help {
        match action {
            Action::Up => app.help_scroll = app.help_scroll.saturating_sub(1),
            Action::Down => {
                // The overlay shows the screen's height less its frame and the status line.
                let visible = (app.size.1 as usize).saturating_sub(3);
                let max = crate::ui::help::lines(app).len().saturating_sub(visible);
                app.help_scroll = (app.help_scroll + 1).min(max);
            }
            _ => app.help = false,
        }
        return Effect::REDRAW;
    }
    match action {
        Action::Quit => return Effect::QUIT,
        Action::Interrupt => {
            if !app.session.pending().is_empty() {
                app.session.cancel_latest();
            } else if app.focus.takes_text() && !focused_input(app).value().is_empty() {
                // Like Python: Ctrl-C on a half-typed line abandons the line.
                let line = focused_input(app).value().to_string();
                app.say(LineKind::Input, &format!(">>> {line}"));
                app.say(LineKind::Error, "KeyboardInterrupt");
                focused_input(app).reset();
            } else {
                return Effect::QUIT;
            }
        }
        Action::NextFocus => app.focus = app.focus.next(),
        Action::PrevFocus => app.focus = app.focus.prev(),
        Action::FocusPrompt => app.focus = Pane::Prompt,
        Action::ToggleHelp => {
            app.help = !app.help;
            app.help_scroll = 0;
        }
        Action::CloseHelp => app.help = false,
        Action::Complete => complete(app),
        Action::Submit => {
            if app.focus == Pane::Send {
                return submit_send(app);
            }
            return submit_prompt(app);
        }
        Action::HistoryPrev => history(app, true),
        Action::HistoryNext => history(app, false),
        Action::Edit(req) => edit(app, req),
        Action::Up => scroll(app, app.focus, 1, true),
        Action::Down => scroll(app, app.focus, 1, false),
        Action::PageUp => scroll(app, app.focus, page(app), true),
        Action::PageDown => scroll(app, app.focus, page(app), false),
        Action::Top => scroll(app, app.focus, usize::MAX / 2, true),
        Action::Bottom => scroll(app, app.focus, usize::MAX / 2, false),
        Action::ToggleHex => app.traffic.hex = !app.traffic.hex,
        Action::TargetPrev | Action::TargetNext => {
            let targets = app.send_targets();
            if !targets.is_empty() {
                let cur = app.current_target();
                let i = targets.iter().position(|t| Some(*t) == cur).unwrap_or(0);
                let n = targets.len();
                let j = if action == Action::TargetPrev {
                    (i + n - 1) % n
                } else {
                    (i + 1) % n
                };
                app.send_target = Some(targets[j]);
            }
        }
        Action::ToggleNewline => app.send_newline = !app.send_newline,
        Action::SendToSelected => {
            let rows = app.socket_rows();
            if let Some(r) = rows.get(app.sock_sel) {
                let id = r.id;
                if app.send_targets().contains(&id) {
                    app.send_target = Some(id);
                    app.focus = Pane::Send;
                } else {
                    let name = r.name();
                    app.say(
                        LineKind::Info,
                        &format!("{name} is not a connected socket of yours; nothing to send to"),
                    );
                }
            }
        }
    }
    Effect::REDRAW
}

fn focused_input(app: &mut App) -> &mut Input {
    if app.focus == Pane::Send {
        &mut app.send_input
    } else {
        &mut app.input
    }
}

fn edit(app: &mut App, req: InputRequest) {
    focused_input(app).handle(req);
}

fn page(app: &App) -> usize {
    (app.size.1 as usize / 3).max(1)
}

fn scroll(app: &mut App, pane: Pane, n: usize, up: bool) {
    let bump = |v: usize, max: usize| {
        if up {
            v.saturating_add(n).min(max)
        } else {
            v.saturating_sub(n)
        }
    };
    match pane {
        Pane::Traffic => {
            let max = app.traffic.recs.len().saturating_sub(1);
            app.traffic.back = bump(app.traffic.back, max);
        }
        Pane::Events => {
            let max = app.events.len().saturating_sub(1);
            app.events_back = bump(app.events_back, max);
        }
        Pane::Code => {
            let max = app.session.code().len().saturating_sub(1);
            app.code_back = bump(app.code_back, max);
        }
        Pane::Lesson => {
            // The lesson reads top-down, so "up" moves towards the start.
            app.lesson_scroll = if up {
                app.lesson_scroll.saturating_sub(n)
            } else {
                app.lesson_scroll.saturating_add(n).min(500)
            };
        }
        Pane::Sockets => {
            let rows = app.socket_rows().len() + app.session.model().orphans.len();
            let max = rows.saturating_sub(1);
            app.sock_sel = if up {
                app.sock_sel.saturating_sub(n)
            } else {
                app.sock_sel.saturating_add(n).min(max)
            };
        }
        Pane::Prompt | Pane::Send => {}
    }
}

fn history(app: &mut App, back: bool) {
    if app.history.is_empty() {
        return;
    }
    let pos = match (app.hist_pos, back) {
        (None, true) => {
            app.hist_draft = app.input.value().to_string();
            Some(app.history.len() - 1)
        }
        (None, false) => None,
        (Some(p), true) => Some(p.saturating_sub(1)),
        (Some(p), false) if p + 1 < app.history.len() => Some(p + 1),
        (Some(_), false) => None,
    };
    app.hist_pos = pos;
    let text = match pos {
        Some(p) => app.history[p].clone(),
        None => std::mem::take(&mut app.hist_draft),
    };
    app.input = Input::new(text);
}

fn complete(app: &mut App) {
    let line = app.input.value().to_string();
    if line.trim().is_empty() {
        app.focus = app.focus.next();
        return;
    }
    // The session completes the identifier before the cursor (a char index).
    let cursor_chars = app.input.cursor();
    let byte_cursor = line
        .char_indices()
        .nth(cursor_chars)
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    let before = &line[..byte_cursor];
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map(|(i, _)| i)
        .unwrap_or(byte_cursor);
    let word = &line[start..byte_cursor];
    let cands: Vec<String> = app.session.completions(&line, cursor_chars);
    if cands.is_empty() {
        app.completions.clear();
        return;
    }
    let fill = if cands.len() == 1 {
        cands[0].clone()
    } else {
        common_prefix(&cands)
    };
    if fill.len() >= word.len() && fill.starts_with(word) {
        let new_line = format!("{}{}{}", &line[..start], fill, &line[byte_cursor..]);
        let cursor = line[..start].chars().count() + fill.chars().count();
        app.input = Input::new(new_line).with_cursor(cursor);
    }
    app.completions = if cands.len() > 1 { cands } else { Vec::new() };
}

fn common_prefix(words: &[String]) -> String {
    let first = &words[0];
    let mut n = first.len();
    for w in &words[1..] {
        n = n.min(
            first
                .char_indices()
                .zip(w.chars())
                .take_while(|((_, a), b)| a == b)
                .map(|((i, a), _)| i + a.len_utf8())
                .last()
                .unwrap_or(0),
        );
    }
    first[..n].to_string()
}

fn submit_prompt(app: &mut App) -> Effect {
    let line = app.input.value().to_string();
    app.input.reset();
    app.hist_pos = None;
    if !line.trim().is_empty() && app.history.last() != Some(&line) {
        app.history.push(line.clone());
        if app.history.len() > HISTORY_KEEP {
            app.history.remove(0);
        }
    }
    app.say(LineKind::Input, &format!(">>> {line}"));
    let result = app.session.submit(&line);
    submitted(app, result)
}

fn submit_send(app: &mut App) -> Effect {
    let Some(target) = app.current_target() else {
        app.say(
            LineKind::Error,
            "nothing to send to: connect() or accept() a connection first",
        );
        return Effect::REDRAW;
    };
    let text = app.send_input.value().to_string();
    app.send_input.reset();
    let result = app.session.send_text(target, &text, app.send_newline);
    if let Submitted::Started { text, .. } = &result {
        app.say(LineKind::Input, &format!(">>> {text}"));
    }
    submitted(app, result)
}

fn submitted(app: &mut App, result: Submitted) -> Effect {
    match result {
        Submitted::Nothing => {}
        Submitted::Echo(text) => app.say(LineKind::Echo, &text),
        Submitted::Error(text) => app.say(LineKind::Error, &text),
        Submitted::Started { call, text } => {
            app.call_text.insert(call, (text, true));
            app.last_typed = Some(call);
        }
        Submitted::Lab { name, args } => return lab_command(app, &name, &args),
    }
    Effect::REDRAW
}

fn lab_command(app: &mut App, name: &str, args: &str) -> Effect {
    match name {
        "quit" | "q" | "exit" => return Effect::QUIT,
        "help" => {
            app.help = true;
            app.help_scroll = 0;
        }
        "clear" => {
            app.output.clear();
            app.traffic = Traffic {
                hex: app.traffic.hex,
                ..Traffic::default()
            };
            app.events.clear();
            app.events_dropped = 0;
            app.events_back = 0;
        }
        n if LESSON_COMMANDS.contains(&n) => {
            if let Some(mut hook) = app.hook.take() {
                let lines = hook.command(&mut app.session, n, args);
                if let Some(text) = hook.take_prompt() {
                    let cursor = text.chars().count();
                    app.input = Input::new(text).with_cursor(cursor);
                    app.focus = Pane::Prompt;
                }
                app.lesson = Some(hook.view(&app.session));
                app.hook = Some(hook);
                for l in lines {
                    app.say(LineKind::Info, &l);
                }
            } else if n == "reset" {
                app.session.reset();
                app.fades.clear();
                app.say(
                    LineKind::Info,
                    "lab reset: every socket closed, every peer stopped",
                );
            } else {
                app.say(
                    LineKind::Info,
                    &format!(":{n}: no lesson open (this is the sandbox; `socklab learn` opens the lessons)"),
                );
            }
        }
        other => app.say(
            LineKind::Error,
            &format!(":{other} is not a lab command (:help lists them)"),
        ),
    }
    Effect::REDRAW
}

fn on_engine(app: &mut App, ev: Event) {
    if app.frozen_clock.is_none() {
        app.now_us = app.now_us.max(ev.t_us);
    }
    let outcome = app.session.on_event(&ev);
    let model = app.session.model();
    match &ev.kind {
        EventKind::LabState { sock, from, .. } => {
            app.fades.entry(*sock).or_default().lab = Some((*from, ev.t_us));
        }
        EventKind::KernelState { sock, from, .. } => {
            app.fades.entry(*sock).or_default().kernel = Some((*from, ev.t_us));
        }
        EventKind::CallStarted {
            call, text, owner, ..
        } => {
            app.call_text
                .entry(*call)
                .or_insert_with(|| (text.clone(), owner.is_student()));
        }
        EventKind::Data {
            sock,
            dir,
            data,
            len,
            ..
        } => {
            let row = model.sock(*sock);
            let keep = data.len().min(TRAFFIC_BYTES);
            let t = &mut app.traffic;
            t.recs.push_back(TrafficRec {
                t_us: ev.t_us,
                sock: *sock,
                name: model.name_of(*sock),
                peer_owned: row.is_some_and(|r| !r.owner.is_student()),
                dir: *dir,
                len: *len,
                data: Bytes::copy_from_slice(&data[..keep]),
            });
            if t.back > 0 {
                // Scrolled back: keep the same records in view.
                t.back += 1;
            }
            while t.recs.len() > TRAFFIC_KEEP {
                t.recs.pop_front();
                t.dropped += 1;
            }
            t.back = t.back.min(t.recs.len().saturating_sub(1));
        }
        _ => {}
    }
    if let Some(line) = ev_fmt::describe(&ev, app.session.model(), &app.call_text) {
        app.events.push_back(line);
        if app.events_back > 0 {
            app.events_back += 1;
        }
        while app.events.len() > EVENTS_KEEP {
            app.events.pop_front();
            app.events_dropped += 1;
        }
    }
    if let EventKind::CallDone { call, .. } | EventKind::CallFailed { call, .. } = &ev.kind {
        app.call_text.remove(call);
    }
    if let EventKind::SocketClosed { sock } = &ev.kind
        && app.send_target == Some(*sock)
    {
        app.send_target = None;
    }
    if let Some(out) = outcome {
        show_outcome(app, out);
    }
    if let Some(mut hook) = app.hook.take() {
        hook.on_event(&app.session, &ev);
        let lines = hook.poll(&mut app.session);
        app.lesson = Some(hook.view(&app.session));
        app.hook = Some(hook);
        for l in lines {
            app.say(LineKind::Info, &l);
        }
    }
    app.animating = app.animating();
}

fn show_outcome(app: &mut App, out: Outcome) {
    // A result that arrives after other lines were typed says which call it answers.
    let prefix = if app.last_typed == Some(out.call) {
        String::new()
    } else {
        format!("[{}] ", out.text)
    };
    if let Some(echo) = out.echo.filter(|e| !e.is_empty()) {
        app.say(LineKind::Echo, &format!("{prefix}{echo}"));
    }
    if let Some(err) = out.error {
        app.say(LineKind::Error, &format!("{prefix}{err}"));
    }
    if app.last_typed == Some(out.call) {
        app.last_typed = None;
    }
}

/// Mouse: a click focuses the pane under it; the wheel scrolls it.
fn on_mouse(app: &mut App, m: MouseEvent) -> Effect {
    if app.help {
        return Effect::NONE;
    }
    let (w, h) = app.size;
    let lay = layout::compute(ratatui::layout::Rect::new(0, 0, w, h), app);
    let hit = lay
        .panes
        .iter()
        .find(|p| {
            p.rect
                .contains(ratatui::layout::Position::new(m.column, m.row))
        })
        .map(|p| p.pane);
    let Some(pane) = hit else {
        return Effect::NONE;
    };
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            app.focus = pane;
            Effect::REDRAW
        }
        MouseEventKind::ScrollUp => {
            scroll(app, pane, 3, true);
            Effect::REDRAW
        }
        MouseEventKind::ScrollDown => {
            scroll(app, pane, 3, false);
            Effect::REDRAW
        }
        _ => Effect::NONE,
    }
}

/// Who owns a row, for display.
pub fn owner_label(owner: &Owner) -> String {
    owner.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_of_candidates() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&w(&["send", "sendall", "sendto"])), "send");
        assert_eq!(common_prefix(&w(&["AF_INET", "AF_INET6"])), "AF_INET");
        assert_eq!(common_prefix(&w(&["recv", "bind"])), "");
    }
}
