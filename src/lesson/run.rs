//! A lesson in progress: which step is current, which are done, and what the
//! lesson pane shows. The caller (the app, or `verify`) feeds it every engine
//! event and starts the peers it asks for.

use std::collections::BTreeMap;

use crate::engine::PeerSpec;
use crate::engine::event::Event;
use crate::engine::model::LabModel;
use crate::settings::Lang;

use super::eval::Tracker;
use super::format::Lesson;
use super::progress::Progress;
use super::why::Why;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStatus {
    Done,
    Current,
    Todo,
}

/// What the lesson pane draws, already in the student's language and with
/// placeholders filled in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LessonView {
    pub title: String,
    pub text: String,
    pub steps: Vec<(String, StepStatus)>,
    pub hint: Option<String>,
    pub why_not: Vec<String>,
    pub footer: String,
    /// The language all of the above is in (for the pane's own labels).
    pub lang: Lang,
    /// Student sockets the current step's check names: the Sockets pane
    /// lists them first, so they are never hidden behind "+N more".
    pub focus_socks: Vec<String>,
    /// Sockets-pane columns the current step's text names (see
    /// [`named_columns`]): the pane keeps them when space runs out.
    pub focus_cols: Vec<&'static str>,
    /// The current step's index (0-based), to tell when it changes.
    pub current: usize,
}

/// The Sockets-pane columns a text talks about: `"fd"`, `"kind"`,
/// `"local"`, `"peer"`, `"lab"`, `"kernel"`, `"recv_q"`, `"send_q"`,
/// `"accq"`, `"call"`, `"owner"`. A lesson names a column by naming it in
/// its step text (`the fd column`, `TCP/v6`, `Recv-Q`).
pub fn named_columns(text: &str) -> Vec<&'static str> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '/' || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.iter().any(|x| x.eq_ignore_ascii_case(w));
    let mut out = Vec::new();
    let table: &[(&'static str, &[&str])] = &[
        ("fd", &["fd", "fds", "descriptor"]),
        ("kind", &["TCP/v4", "TCP/v6", "UDP/v4", "UDP/v6", "kind"]),
        ("recv_q", &["Recv-Q", "RecvQ"]),
        ("send_q", &["Send-Q", "SendQ"]),
        ("accq", &["accq"]),
        ("owner", &["owner"]),
    ];
    for (col, names) in table {
        if names.iter().any(|n| has(n)) {
            out.push(*col);
        }
    }
    out
}

pub struct LessonRun {
    /// The lesson with placeholders filled.
    lesson: Lesson,
    model: LabModel,
    trackers: Vec<Tracker>,
    done: Vec<bool>,
    current: usize,
    show_hint: bool,
    /// Which line `:solution` offers next.
    solution_at: usize,
    step_peers_started: Vec<bool>,
    peers_to_start: Vec<PeerSpec>,
}

impl LessonRun {
    /// Open `lesson` with these placeholder values (`Session::placeholders()`).
    /// `model` is the lab as it is now; checks count what happens from here on.
    pub fn new(lesson: &Lesson, ph: &BTreeMap<String, String>, model: &LabModel) -> LessonRun {
        let lesson = lesson.expanded(ph);
        let n = lesson.steps.len();
        let mut run = LessonRun {
            trackers: Vec::new(),
            model: LabModel::new(),
            done: vec![false; n],
            current: 0,
            show_hint: false,
            solution_at: 0,
            step_peers_started: vec![false; n],
            peers_to_start: Vec::new(),
            lesson,
        };
        run.restart(model);
        run
    }

    /// `:reset`: checks start over from the lab as it is now (the caller has
    /// reset the engine), the first step is current again, and the lesson's
    /// peers are to be started again.
    pub fn restart(&mut self, model: &LabModel) {
        let n = self.lesson.steps.len();
        self.model = model.clone();
        self.trackers = self
            .lesson
            .steps
            .iter()
            .map(|s| Tracker::new(&s.check))
            .collect();
        self.done = vec![false; n];
        self.current = 0;
        self.show_hint = false;
        self.solution_at = 0;
        self.step_peers_started = vec![false; n];
        self.peers_to_start = self.lesson.setup.clone();
        self.queue_step_peers();
    }

    pub fn lesson(&self) -> &Lesson {
        &self.lesson
    }

    /// Peers the caller should start now (the lesson's on open and reset, a
    /// step's when it becomes current). Each is handed out once.
    pub fn take_peers(&mut self) -> Vec<PeerSpec> {
        std::mem::take(&mut self.peers_to_start)
    }

    /// Feed one engine event. Returns the steps that became done with it.
    pub fn on_event(&mut self, ev: &Event) -> Vec<usize> {
        self.model.apply(ev);
        for t in &mut self.trackers {
            t.feed(ev, &self.model);
        }
        let mut newly = Vec::new();
        for (i, t) in self.trackers.iter().enumerate() {
            if !self.done[i] && t.met(&self.model).is_some() {
                self.done[i] = true;
                newly.push(i);
            }
        }
        if !newly.is_empty() && self.done.get(self.current) == Some(&true) {
            let next = (self.current + 1..self.done.len())
                .chain(0..self.current)
                .find(|&i| !self.done[i]);
            if let Some(i) = next {
                self.go_to(i);
            }
        }
        newly
    }

    fn go_to(&mut self, step: usize) {
        if step != self.current {
            self.current = step;
            self.show_hint = false;
            self.solution_at = 0;
        }
        self.queue_step_peers();
    }

    fn queue_step_peers(&mut self) {
        if let Some(s) = self.lesson.steps.get(self.current)
            && !self.step_peers_started[self.current]
        {
            self.step_peers_started[self.current] = true;
            self.peers_to_start.extend(s.setup.iter().cloned());
        }
    }

    pub fn current(&self) -> usize {
        self.current
    }

    pub fn is_done(&self, step: usize) -> bool {
        self.done.get(step).copied().unwrap_or(false)
    }

    pub fn done_steps(&self) -> Vec<usize> {
        (0..self.done.len()).filter(|&i| self.done[i]).collect()
    }

    pub fn finished(&self) -> bool {
        self.done.iter().all(|d| *d)
    }

    /// The current step's index (0-based).
    pub fn current_step(&self) -> usize {
        self.current
    }

    /// A step's reference lines, as expanded for this lab (blank ones left out).
    pub fn solution_of(&self, step: usize) -> Vec<String> {
        self.lesson
            .steps
            .get(step)
            .map(|s| {
                s.solution
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a step's check holds now or has held (for `verify`).
    pub fn step_met(&self, step: usize) -> bool {
        self.is_done(step)
            || self
                .trackers
                .get(step)
                .is_some_and(|t| t.met(&self.model).is_some())
    }

    /// `:next` inside the lesson: the following step. False at the last one
    /// (the caller then offers the next lesson).
    pub fn next_step(&mut self) -> bool {
        if self.current + 1 < self.lesson.steps.len() {
            self.go_to(self.current + 1);
            true
        } else {
            false
        }
    }

    pub fn prev_step(&mut self) -> bool {
        if self.current > 0 {
            self.go_to(self.current - 1);
            true
        } else {
            false
        }
    }

    /// `:hint`: shows the current step's hint in the view (and returns it).
    pub fn hint(&mut self, lang: Lang) -> Option<String> {
        let s = self.lesson.steps.get(self.current)?;
        self.show_hint = true;
        Some(s.hint.get(lang).to_string())
    }

    /// `:solution`: the current step's next reference line, for the prompt
    /// (not run). Repeated calls walk through the step's lines and wrap.
    pub fn solution(&mut self) -> Option<String> {
        let lines: Vec<&String> = self
            .lesson
            .steps
            .get(self.current)?
            .solution
            .iter()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if lines.is_empty() {
            return None;
        }
        let line = lines[self.solution_at % lines.len()].clone();
        self.solution_at = (self.solution_at + 1) % lines.len();
        Some(line)
    }

    /// What the current step still misses, in both languages.
    pub fn why_not_both(&self) -> Vec<Why> {
        if self.is_done(self.current) {
            return Vec::new();
        }
        self.trackers
            .get(self.current)
            .map(|t| t.why_not(&self.model))
            .unwrap_or_default()
    }

    pub fn why_not(&self, lang: Lang) -> Vec<String> {
        self.why_not_step(self.current, lang)
    }

    /// What step index `step` still misses (empty when it is done).
    pub fn why_not_step(&self, step: usize, lang: Lang) -> Vec<String> {
        let whys = if self.is_done(step) {
            Vec::new()
        } else {
            self.trackers
                .get(step)
                .map(|t| t.why_not(&self.model))
                .unwrap_or_default()
        };
        let mut out: Vec<String> = Vec::new();
        // Two parts of a check can miss the same thing ("no socket named conn").
        for w in whys {
            let line = w.get(lang);
            if !out.contains(&line) {
                out.push(line);
            }
        }
        out
    }

    /// Write this run's done steps into `p` (the caller saves it).
    pub fn record(&self, p: &mut Progress) {
        p.set_current(&self.lesson.id);
        for s in self.done_steps() {
            p.mark_step(&self.lesson.id, s, self.done.len());
        }
    }

    pub fn view(&self, lang: Lang) -> LessonView {
        let l = &self.lesson;
        let steps = l
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let st = if self.done[i] {
                    StepStatus::Done
                } else if i == self.current {
                    StepStatus::Current
                } else {
                    StepStatus::Todo
                };
                (s.text.get(lang).to_string(), st)
            })
            .collect();
        let hint = self
            .show_hint
            .then(|| {
                l.steps
                    .get(self.current)
                    .map(|s| s.hint.get(lang).to_string())
            })
            .flatten();
        let n = l.steps.len();
        let footer = if self.finished() {
            crate::tr!(lang, "lesson.footer_done")
        } else {
            crate::tr!(lang, "lesson.footer_step", step = self.current + 1, of = n)
        };
        LessonView {
            title: l.title.get(lang).to_string(),
            text: l.text.get(lang).to_string(),
            steps,
            hint,
            why_not: self.why_not(lang),
            footer,
            lang,
            focus_socks: self.focus_socks(),
            focus_cols: self.focus_cols(),
            current: self.current,
        }
    }

    /// The steps the screen is about: the current one, and the one just
    /// before it when it is done (its text often says "now look at …").
    fn focus_steps(&self) -> Vec<&super::format::Step> {
        let mut out: Vec<&super::format::Step> =
            self.lesson.steps.get(self.current).into_iter().collect();
        if self.current > 0 && self.is_done(self.current - 1) {
            out.push(&self.lesson.steps[self.current - 1]);
        }
        if self.finished()
            && let Some(last) = self.lesson.steps.last()
        {
            out.push(last);
        }
        out
    }

    /// Student socket labels the focused steps' checks name.
    pub fn focus_socks(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in self.focus_steps() {
            let mut names = Vec::new();
            s.check.student_labels(&mut names);
            for n in names {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// Sockets-pane columns the focused steps' texts name.
    pub fn focus_cols(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for s in self.focus_steps() {
            for c in named_columns(&format!("{}\n{}", s.text.en, s.hint.en)) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }
}
