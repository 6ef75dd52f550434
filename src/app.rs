//! The interactive screen's state and the one `update` that changes it.
//!
//! Everything that happens — a key, a mouse click, a resize, an engine event,
//! a timer tick — arrives as a [`Msg`]; [`update`] applies it and says whether
//! the screen must be redrawn or the app should quit. Panes (`crate::ui`) only
//! read an `&App`.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use crossterm::event::{KeyEvent, MouseEvent};

use crate::engine::model::SockRow;
use crate::engine::text::sanitize;
use crate::engine::{CallId, Dir, Event, EventKind, LabState, SockId, TcpState};
use crate::keys::Pane;
pub use crate::lesson::LessonView;
use theme::Theme;

mod input;
pub mod lesson;
pub mod line;
pub mod queue;
pub mod theme;
pub mod trace;
pub mod wire;
use input::{on_key, on_mouse, on_paste};
pub use line::{Edit, LINE_LIMIT, LineEdit};

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
/// Bytes kept of one line under the prompt: far wider than any screen (the
/// pane cuts lines at its width; there is no sideways scrolling).
pub const OUTPUT_LINE_KEEP: usize = 4096;

/// Lesson commands passed to the lesson hook.
pub const LESSON_COMMANDS: &[&str] = &[
    "next", "prev", "hint", "solution", "reset", "check", "lesson",
];

pub enum Msg {
    Key(KeyEvent),
    /// Keys that arrived in one read of the terminal, in order. A block of
    /// lines typed ahead (or pasted without bracketed paste) among them is
    /// queued like a paste (see `app/queue.rs`); other keys apply one by one.
    Keys(Vec<KeyEvent>),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Paste(String),
    Engine(Event),
    Tick,
    /// What the last drawn frame looked like (the loop sends it after each
    /// draw): mouse clicks and page keys go by it.
    Frame(FrameInfo),
}

/// The last frame's shape, as the drawing code measured it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameInfo {
    /// Each pane shown and its rectangle (frame included).
    pub panes: Vec<(Pane, ratatui::layout::Rect)>,
    /// Rows the Lesson pane's text takes, wrapped at its width.
    pub lesson_rows: usize,
    /// Rows of the help overlay's text and rows it shows.
    pub help_rows: usize,
    pub help_visible: usize,
}

impl FrameInfo {
    pub fn rect_of(&self, pane: Pane) -> Option<ratatui::layout::Rect> {
        self.panes.iter().find(|(p, _)| *p == pane).map(|(_, r)| *r)
    }
    /// Rows inside a pane (less its title rule).
    pub fn inner_height(&self, pane: Pane) -> Option<usize> {
        self.rect_of(pane)
            .map(|r| (r.height as usize).saturating_sub(1))
    }
}

/// What the loop should do after an update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    pub redraw: bool,
    pub quit: bool,
    /// Give the terminal back and stop (Ctrl-Z); the loop does it.
    pub suspend: bool,
}

impl Effect {
    const NONE: Effect = Effect {
        redraw: false,
        quit: false,
        suspend: false,
    };
    const REDRAW: Effect = Effect {
        redraw: true,
        ..Effect::NONE
    };
    const QUIT: Effect = Effect {
        quit: true,
        ..Effect::NONE
    };
    const SUSPEND: Effect = Effect {
        suspend: true,
        ..Effect::NONE
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
    /// Lines for the prompt's queue: run one after another, as a paste is
    /// (a lesson reopened part way does its done steps again this way).
    fn take_queue(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// Called after every event: start what the lesson needs (a step's
    /// peers) and return lines to show ("lesson complete").
    fn poll(&mut self, _session: &mut Session) -> Vec<String> {
        Vec::new()
    }
    /// Whether the hook opened a fresh lab since last asked (a lesson
    /// opened or `:reset`): the app then forgets the old lab's traffic,
    /// events and times.
    fn take_fresh_lab(&mut self) -> bool {
        false
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
    /// For datagrams: the other end.
    pub addr: Option<std::net::SocketAddr>,
}

#[derive(Default)]
pub struct Traffic {
    pub recs: VecDeque<TrafficRec>,
    pub dropped: u64,
    /// Records hidden below the view; 0 = following new data.
    pub back: usize,
    pub hex: bool,
}

pub use crate::describe::EvClass;

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
    /// The interface language.
    pub lang: crate::settings::Lang,
    pub session: Session,
    pub theme: Theme,
    pub size: (u16, u16),
    pub focus: Pane,
    pub help: bool,
    pub help_scroll: usize,
    pub input: LineEdit,
    pub history: Vec<String>,
    /// Position while walking history, and the line being typed before.
    pub hist_pos: Option<usize>,
    pub hist_draft: String,
    pub output: VecDeque<OutLine>,
    /// Output lines hidden below the Prompt pane; 0 = showing the newest.
    pub output_back: usize,
    pub completions: Vec<String>,
    pub send_input: LineEdit,
    pub send_newline: bool,
    pub send_target: Option<SockId>,
    /// Sockets in the order they became connected (newest last).
    pub connected_order: Vec<SockId>,
    pub sock_sel: usize,
    pub traffic: Traffic,
    /// The Wire pane: which connection, scroll, header view.
    pub wire: wire::WireState,
    pub events: VecDeque<EvLine>,
    pub events_dropped: u64,
    pub events_back: usize,
    pub code_back: usize,
    /// The language the Code pane shows the program in (`c` switches).
    pub code_lang: crate::export::Lang,
    /// The program in C for the Code pane, and the `Session::code_gen` it
    /// was made at (made in `update` only while the pane shows C).
    pub code_c: (u64, Vec<String>),
    pub lesson_scroll: usize,
    /// The last frame drawn (see [`FrameInfo`]).
    pub frame: FrameInfo,
    /// Engine time the lab started at: times on screen count from here.
    pub t0_us: u64,
    pub fades: HashMap<SockId, Fade>,
    /// The newest call typed at the prompt, to tell whether an outcome
    /// arrives right after its own line.
    pub last_typed: Option<CallId>,
    /// What the lesson said on the bytes of a call still finishing ("lesson
    /// complete" on a recv's data): shown after that call's result.
    held_lines: Vec<String>,
    pub lesson: Option<LessonView>,
    pub hook: Option<Box<dyn LessonHook>>,
    /// Engine time the screen shows (µs).
    pub now_us: u64,
    /// Tests pin the clock so snapshots do not depend on timing.
    pub frozen_clock: Option<u64>,
    /// What time alone changes on screen, as of the last tick (see `fade_look`).
    fade_look: Vec<(SockId, u8)>,
    /// Traced programs' output lines being put together (`app/trace.rs`).
    pub trace: trace::TraceView,
    /// Pasted lines waiting their turn (`app/queue.rs`).
    pub queue: queue::Queue,
}

impl App {
    pub fn new(session: Session, theme: Theme) -> App {
        App {
            lang: crate::settings::Lang::En,
            session,
            theme,
            size: (80, 24),
            focus: Pane::Prompt,
            help: false,
            help_scroll: 0,
            input: LineEdit::default(),
            history: Vec::new(),
            hist_pos: None,
            hist_draft: String::new(),
            output: VecDeque::new(),
            output_back: 0,
            completions: Vec::new(),
            send_input: LineEdit::default(),
            send_newline: true,
            send_target: None,
            connected_order: Vec::new(),
            sock_sel: 0,
            traffic: Traffic::default(),
            wire: wire::WireState::default(),
            events: VecDeque::new(),
            events_dropped: 0,
            events_back: 0,
            code_back: 0,
            code_lang: crate::export::Lang::Python,
            code_c: (u64::MAX, Vec::new()),
            lesson_scroll: 0,
            frame: FrameInfo::default(),
            t0_us: 0,
            fades: HashMap::new(),
            last_typed: None,
            held_lines: Vec::new(),
            lesson: None,
            hook: None,
            now_us: 0,
            frozen_clock: None,
            fade_look: Vec::new(),
            trace: trace::TraceView::default(),
            queue: queue::Queue::default(),
        }
    }

    /// A first line under the prompt saying how to begin.
    pub fn welcome(&mut self, text: &str) {
        self.say(LineKind::Info, text);
    }

    /// Plug in a lesson (see [`LessonHook`]).
    pub fn set_hook(&mut self, mut hook: Box<dyn LessonHook>) {
        hook.take_fresh_lab();
        self.lesson = Some(hook.view(&self.session));
        let lines = hook.take_queue();
        self.hook = Some(hook);
        self.queue_lines(lines);
    }

    /// Lines from the lesson for the queue: shown queued, run in turn.
    fn queue_lines(&mut self, lines: Vec<String>) {
        if !lines.is_empty() {
            self.queue.lines.extend(lines);
            queue::pump(self);
        }
    }

    /// The socket highlighted in the Sockets pane, if any.
    pub fn selected_sock(&self) -> Option<SockId> {
        match self.table_rows().get(self.sock_sel) {
            Some(TableRow::Sock(r)) => Some(r.id),
            _ => None,
        }
    }

    /// What the Wire pane shows now.
    pub fn ladder(&self) -> Option<wire::Ladder> {
        wire::ladder_in(
            self.session.model(),
            &self.wire,
            self.selected_sock(),
            self.lang,
        )
    }

    /// Socket rows the Sockets pane shows: open ones, and closed ones for a moment.
    /// Take the hook's view after it ran: a fresh lab forgets the old one's
    /// traffic, events, highlights and times; a new step, lesson or reset
    /// shows the Lesson pane from its top.
    fn refresh_lesson(&mut self, hook: &mut dyn LessonHook) {
        let fresh = hook.take_fresh_lab();
        let view = hook.view(&self.session);
        if fresh {
            self.clear_lab();
        }
        let moved = self
            .lesson
            .as_ref()
            .is_none_or(|old| old.title != view.title || old.current != view.current);
        if fresh || moved {
            self.lesson_scroll = 0;
        }
        self.lesson = Some(view);
    }

    /// A fresh lab: nothing of the old one stays on screen.
    pub fn clear_lab(&mut self) {
        self.traffic = Traffic {
            hex: self.traffic.hex,
            ..Traffic::default()
        };
        self.events.clear();
        self.events_dropped = 0;
        self.events_back = 0;
        self.fades.clear();
        self.connected_order.clear();
        self.sock_sel = 0;
        self.send_target = None;
        self.code_back = 0;
        self.t0_us = self.session.engine().now_us();
    }

    /// The furthest the Lesson pane scrolls: its last row at the bottom.
    pub fn lesson_scroll_max(&self) -> usize {
        let h = self.frame.inner_height(Pane::Lesson).unwrap_or(1);
        self.frame.lesson_rows.saturating_sub(h)
    }

    /// Socket rows the Sockets pane shows: open ones, and closed ones for a
    /// moment. The sockets the lesson's current step names come first, so a
    /// short pane never hides them behind "+N more".
    ///
    /// A closed socket whose connection lives on in the kernel (TIME_WAIT,
    /// FIN_WAIT2 …) is shown by that entry, its `(no fd)` row, at once.
    pub fn socket_rows(&self) -> Vec<&SockRow> {
        let model = self.session.model();
        let lives_on: std::collections::HashSet<SockId> =
            model.orphans.values().filter_map(|o| o.origin).collect();
        let mut rows: Vec<&SockRow> = model
            .socks
            .values()
            .filter(|r| {
                !r.closed
                    || trace::keeps(self, r)
                    || (r
                        .closed_us
                        .is_some_and(|t| self.now_us.saturating_sub(t) < CLOSED_SHOW_US)
                        && !lives_on.contains(&r.id))
            })
            .collect();
        if self.lesson.is_some() {
            // Stable: the others keep their order.
            rows.sort_by_key(|r| self.focus_rank(r).unwrap_or(usize::MAX));
        }
        rows
    }

    /// Where the lesson's current step names this student socket, if it does.
    fn focus_rank(&self, r: &SockRow) -> Option<usize> {
        let v = self.lesson.as_ref()?;
        r.label
            .as_ref()
            .filter(|_| r.owner.is_student())
            .and_then(|l| v.focus_socks.iter().position(|f| f == l))
    }

    /// The Sockets pane's rows, in the order shown (the highlighted row is
    /// an index into this). In a lesson: the sockets the current step
    /// names, then the kernel's descriptor-less entries (a TIME_WAIT a step
    /// talks about is never behind "+N more" for sockets it does not name),
    /// then the other sockets. In the sandbox: sockets, then entries.
    pub fn table_rows(&self) -> Vec<TableRow<'_>> {
        let socks = self.socket_rows();
        let orphans = self.orphan_rows().into_iter().map(TableRow::Orphan);
        if self.lesson.is_none() {
            return socks
                .into_iter()
                .map(TableRow::Sock)
                .chain(orphans)
                .collect();
        }
        // socket_rows put the named ones first.
        let named = socks
            .iter()
            .take_while(|r| self.focus_rank(r).is_some())
            .count();
        let (first, rest) = socks.split_at(named);
        first
            .iter()
            .map(|r| TableRow::Sock(r))
            .chain(orphans)
            .chain(rest.iter().map(|r| TableRow::Sock(r)))
            .collect()
    }

    /// The kernel's descriptor-less entries this lab made: from its own
    /// sockets or on their ports, never left over from an earlier lesson.
    pub fn orphan_rows(&self) -> Vec<&crate::engine::model::OrphanRow> {
        let model = self.session.model();
        let ports: std::collections::HashSet<u16> = model
            .socks
            .values()
            .flat_map(|r| [r.local, r.peer])
            .flatten()
            .map(|a| a.port())
            .collect();
        model
            .orphans
            .values()
            .filter(|o| {
                o.origin.is_some_and(|id| model.sock(id).is_some())
                    || ports.contains(&o.tuple.local.port())
                    || ports.contains(&o.tuple.remote.port())
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

    /// The Send pane's target: the chosen one while it stays valid, else
    /// the socket connected most recently.
    pub fn current_target(&self) -> Option<SockId> {
        let targets = self.send_targets();
        match self.send_target {
            Some(t) if targets.contains(&t) => Some(t),
            _ => self
                .connected_order
                .iter()
                .rev()
                .find(|s| targets.contains(s))
                .or(targets.last())
                .copied(),
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

    /// How each fading row looks now: for every socket, the stage of its
    /// lab and kernel highlights and whether it is shown at all. A tick
    /// redraws only when this changes, not on every tick.
    fn fade_look(&self) -> Vec<(SockId, u8)> {
        let now = self.now_us;
        let stage = |t: u64| {
            let age = now.saturating_sub(t);
            u8::from(age < FADE_US) + u8::from(age < FADE_US / 2)
        };
        let mut look: Vec<(SockId, u8)> = self
            .fades
            .iter()
            .map(|(id, f)| {
                let lab = f.lab.map_or(0, |(_, t)| stage(t));
                let kernel = f.kernel.map_or(0, |(_, t)| stage(t));
                (*id, lab * 3 + kernel)
            })
            .filter(|(_, v)| *v > 0)
            .collect();
        for r in self.session.model().socks.values() {
            if r.closed_us
                .is_some_and(|t| now.saturating_sub(t) < CLOSED_SHOW_US)
            {
                look.push((r.id, 100));
            }
        }
        look.sort_unstable();
        look
    }

    pub fn say(&mut self, kind: LineKind, text: &str) {
        // Something new to read: show it.
        self.output_back = 0;
        for line in text.lines() {
            let text = if line.len() > OUTPUT_LINE_KEEP {
                let mut end = OUTPUT_LINE_KEEP;
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                let all = tr!(self.lang, "ui.bytes_in_all", n = line.len());
                format!("{}… ({all})", sanitize(&line[..end]))
            } else {
                sanitize(line)
            };
            self.output.push_back(OutLine { kind, text });
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

/// One row of the Sockets pane: a lab socket, or a kernel entry that has
/// no descriptor (`(no fd)`).
pub enum TableRow<'a> {
    Sock(&'a SockRow),
    Orphan(&'a crate::engine::model::OrphanRow),
}

/// Apply one message. The only place app state changes.
pub fn update(app: &mut App, msg: Msg) -> Effect {
    let effect = update_inner(app, msg);
    if app.code_lang == crate::export::Lang::C && app.code_c.0 != app.session.code_gen() {
        app.code_c = (
            app.session.code_gen(),
            crate::export::lines(&app.session, crate::export::Lang::C),
        );
    }
    // Traffic and Wire share a slot on smaller screens: it keeps showing the
    // one the student looked at last, while they type at the prompt.
    match app.focus {
        Pane::Wire => app.wire.shown = true,
        Pane::Traffic => app.wire.shown = false,
        _ => {}
    }
    effect
}

fn update_inner(app: &mut App, msg: Msg) -> Effect {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::Keys(keys) => {
            if let Some(text) = queue::typed_ahead(app, &keys) {
                return queue::paste_lines(app, &text);
            }
            let mut effect = Effect::NONE;
            for key in keys {
                let e = on_key(app, key);
                if e.quit {
                    return e;
                }
                effect.redraw |= e.redraw;
                effect.suspend |= e.suspend;
            }
            effect
        }
        Msg::Mouse(m) => on_mouse(app, m),
        Msg::Resize(w, h) => {
            app.size = (w, h);
            Effect::REDRAW
        }
        Msg::Paste(text) => on_paste(app, &text),
        Msg::Frame(info) => {
            let redraw = info != app.frame;
            app.frame = info;
            // A pane that got smaller keeps its scroll inside its text.
            let max = app.lesson_scroll_max();
            let redraw = redraw && app.lesson_scroll > max;
            app.lesson_scroll = app.lesson_scroll.min(max);
            Effect {
                redraw,
                ..Effect::NONE
            }
        }
        Msg::Engine(ev) => on_engine(app, ev),
        Msg::Tick => {
            app.tick_clock();
            let look = app.fade_look();
            let changed = look != app.fade_look;
            app.fade_look = look;
            Effect {
                redraw: changed,
                ..Effect::NONE
            }
        }
    }
}

/// An engine event; a line that finished may let the queue run on (and a
/// queued `:quit` quit).
fn on_engine(app: &mut App, ev: Event) -> Effect {
    if app.frozen_clock.is_none() {
        app.now_us = app.now_us.max(ev.t_us);
    }
    let outcome = app.session.on_event(&ev);
    let model = app.session.model();
    match &ev.kind {
        EventKind::LabState { sock, from, to } => {
            app.fades.entry(*sock).or_default().lab = Some((*from, ev.t_us));
            if *to == LabState::Connected {
                app.connected_order.retain(|s| s != sock);
                app.connected_order.push(*sock);
                // Only live sockets matter; the list stays as short as the lab.
                let live: Vec<SockId> = model.live().map(|r| r.id).collect();
                app.connected_order.retain(|s| live.contains(s));
            }
        }
        EventKind::KernelState { sock, from, .. } => {
            app.fades.entry(*sock).or_default().kernel = Some((*from, ev.t_us));
        }
        EventKind::Segment(_) if app.wire.back > 0 => {
            // Scrolled back: keep the same rows in view.
            app.wire.back += 1;
        }
        EventKind::Data {
            sock,
            dir,
            data,
            len,
            addr,
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
                addr: *addr,
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
    // Bytes, segments and queue sizes have panes of their own; not wording
    // them keeps a flood cheap (they are most of the events then).
    let listed = !matches!(
        ev.kind,
        EventKind::Data { .. }
            | EventKind::Segment(_)
            | EventKind::Queues { .. }
            | EventKind::Endpoints { .. }
            | EventKind::SocketLabel { .. }
            | EventKind::CallStarted { .. }
    );
    let quiet = !listed || trace::quiet(app, &ev);
    let model = app.session.model();
    let worded = if quiet {
        None
    } else {
        crate::describe::describe(&ev, model, app.lang, &|s| model.name_of(s))
    };
    // The Events pane lists states and calls; bytes have their own pane.
    if let Some(d) = worded.filter(|d| {
        !matches!(
            d.class,
            EvClass::Endpoints | EvClass::Started | EvClass::Data | EvClass::Wire
        )
    }) {
        let line = EvLine {
            t_us: ev.t_us,
            sock: d.sock,
            class: d.class,
            peer_owned: d.by_peer,
            text: d.text,
        };
        for line in trace::listed(app, &ev, line) {
            app.events.push_back(line);
            if app.events_back > 0 {
                app.events_back += 1;
            }
        }
        while app.events.len() > EVENTS_KEEP {
            app.events.pop_front();
            app.events_dropped += 1;
        }
    }
    if let EventKind::SocketClosed { sock } = &ev.kind
        && app.send_target == Some(*sock)
    {
        app.send_target = None;
    }
    let finished = outcome.as_ref().map(|o| (o.call, o.ok));
    if let Some(out) = outcome {
        show_outcome(app, out);
    }
    if let Some((call, ok)) = finished {
        queue::finished(app, call, ok);
    }
    trace::on_event(app, &ev);
    if let Some(mut hook) = app.hook.take() {
        hook.on_event(&app.session, &ev);
        let lines = hook.poll(&mut app.session);
        app.refresh_lesson(hook.as_mut());
        let queued = hook.take_queue();
        app.hook = Some(hook);
        app.held_lines.extend(lines);
        // Bytes come before the result of the call that moved them: what
        // the lesson says on them waits for that result, the next event.
        let finishing = matches!(ev.kind, EventKind::Data { .. })
            && app
                .last_typed
                .is_some_and(|c| app.session.pending().iter().any(|(l, _)| *l == c));
        if !finishing {
            for l in std::mem::take(&mut app.held_lines) {
                app.say(LineKind::Info, &l);
            }
        }
        app.queue.lines.extend(queued);
    }
    app.fade_look = app.fade_look();
    if app.queue.busy() {
        queue::pump(app)
    } else {
        Effect::REDRAW
    }
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
