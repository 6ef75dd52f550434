//! Lessons in the lab screen: the app's [`LessonHook`] for `socklab` and
//! `socklab learn`. It opens lessons, feeds their checks every event, starts
//! the peers they ask for, answers the lesson commands and saves progress.

use crate::app::LessonHook;
use crate::cli::{Cli, Lang};
use crate::engine::Event;
use crate::session::Session;
use crate::settings::Mode;

use crate::cmd::lessons::load_lessons;
use crate::lesson::{
    Lesson, LessonRun, LessonView, Progress, ProgressStore, find, next_after, pick,
};

/// Which steps a reopened lesson still has to do again (see `resume`).
#[derive(Clone, Copy, Debug)]
struct Resume {
    /// The steps `0..upto` were done last time.
    upto: usize,
    /// The next of them whose lines go to the queue.
    next: usize,
}

pub struct LessonApp {
    lessons: Vec<Lesson>,
    idx: usize,
    run: LessonRun,
    progress: Progress,
    store: ProgressStore,
    lang: Lang,
    /// Text for the prompt (`:solution`), taken by the app.
    prompt: Option<String>,
    /// Lines for the student that arose outside a command (progress trouble,
    /// a peer that could not start), shown with the next command's reply.
    notes: Vec<String>,
    /// The lesson was complete when last looked at (to say so once).
    was_finished: bool,
    /// Reopened part way through a lesson: the steps done last time are
    /// done again, on this fresh lab, by their reference lines — each step's
    /// lines handed to the prompt's queue when that step is current.
    resume: Option<Resume>,
    /// Lines for the prompt's queue, taken by the app.
    queued: Vec<String>,
    /// A fresh lab was opened since the app last asked.
    fresh: bool,
}

/// The lessons for the app: from `--lessons` / `./lessons` / the ones built
/// in, with every file problem as a warning line (broken files are skipped).
fn load_for_app(cli: &Cli) -> (Vec<Lesson>, Vec<String>) {
    let (rep, _) = load_lessons(cli);
    let warnings = rep.problems.iter().map(|p| p.to_string()).collect();
    (rep.lessons, warnings)
}

/// The hook for `socklab` / `socklab learn [ID]`; None for the sandbox.
/// Progress is read from and saved to `store`.
pub fn build(
    cli: &Cli,
    mode: &Mode,
    session: &mut Session,
    store: ProgressStore,
) -> anyhow::Result<Option<LessonApp>> {
    let asked = match mode {
        Mode::Sandbox | Mode::Trace { .. } => return Ok(None),
        Mode::Continue => None,
        Mode::Learn(id) => id.clone(),
    };
    let lang = cli.lang.unwrap_or_else(Lang::from_env);
    let (lessons, problems) = load_for_app(cli);
    if lessons.is_empty() {
        anyhow::bail!(
            "{}{}",
            crate::tr!(lang, "lesson.none_found", place = load_lessons(cli).1),
            problems
                .first()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        );
    }
    let (progress, warning) = store.load_in(lang);
    let Some(idx) = pick(&lessons, &progress, asked.as_deref()) else {
        anyhow::bail!(
            "{}",
            crate::tr!(
                lang,
                "lesson.no_such_cli",
                key = crate::engine::text::sanitize(&asked.unwrap_or_default())
            )
        );
    };
    let run = LessonRun::new(&lessons[idx], session.placeholders(), session.model());
    let mut app = LessonApp {
        lessons,
        idx,
        run,
        progress,
        store,
        lang,
        prompt: None,
        notes: warning.into_iter().collect(),
        was_finished: false,
        fresh: false,
        resume: None,
        queued: Vec::new(),
    };
    app.notes.extend(problems);
    app.open(session, idx, false);
    app.resume_where_left();
    Ok(Some(app))
}

impl LessonApp {
    /// Reopened in a lesson whose first steps were done last time: do them
    /// again from their reference lines (the lab is new: the sockets those
    /// steps made are not there), and say so. The student lands on the
    /// first step not done, on a lab that really is in that state.
    fn resume_where_left(&mut self) {
        let l = &self.lessons[self.idx];
        let done = self.progress.lesson(&l.id).map(|p| &p.done);
        let upto = (0..l.steps.len())
            .take_while(|s| done.is_some_and(|d| d.contains(s)))
            .count();
        if upto == 0 || upto >= l.steps.len() {
            return;
        }
        self.resume = Some(Resume { upto, next: 0 });
        self.notes.push(crate::tr!(
            self.lang,
            "lesson.resume",
            done = upto,
            next = upto + 1
        ));
    }

    /// Hand the queue the lines of the step being done again, when it is current.
    fn feed_resume(&mut self) {
        let Some(mut r) = self.resume else { return };
        if self.run.current_step() == r.next && r.next < r.upto {
            self.queued.extend(self.run.solution_of(r.next));
            r.next += 1;
        }
        self.resume = (r.next < r.upto).then_some(r);
    }

    /// Open lesson `idx` on a clean lab (fresh ports, no sockets, no names).
    fn open(&mut self, session: &mut Session, idx: usize, clean: bool) {
        self.resume = None;
        self.queued.clear();
        if clean {
            let engine = session.engine().clone();
            let lang = session.lang();
            session.reset();
            *session = Session::new(engine);
            session.set_lang(lang);
            self.fresh = true;
        }
        self.idx = idx;
        self.run = LessonRun::new(&self.lessons[idx], session.placeholders(), session.model());
        self.was_finished = false;
        self.start_peers(session);
        self.progress.set_current(&self.lessons[idx].id);
        self.save();
    }

    fn start_peers(&mut self, session: &mut Session) {
        for spec in self.run.take_peers() {
            if let Err(e) = session.engine().start_peer(spec) {
                self.notes.push(crate::describe::error_line(self.lang, &e));
            }
        }
    }

    fn save(&mut self) {
        if let Err(e) = self.store.save(&mut self.progress) {
            let msg = crate::tr!(self.lang, "lesson.save_failed", error = e);
            if !self.notes.contains(&msg) {
                self.notes.push(msg);
            }
        }
    }

    fn next(&mut self, session: &mut Session) -> Vec<String> {
        let from = self.run.current();
        if !self.run.finished() && self.run.next_step() {
            self.start_peers(session);
            let n = self.run.lesson().steps.len();
            let step = (self.run.current() + 1).to_string();
            let of = n.to_string();
            return vec![if self.run.is_done(from) {
                crate::tr!(self.lang, "lesson.next_step", step = step, of = of)
            } else {
                crate::tr!(
                    self.lang,
                    "lesson.skipped_step",
                    step = step,
                    of = of,
                    skipped = (from + 1).to_string()
                )
            }];
        }
        match next_after(&self.lessons, &self.lessons[self.idx].id) {
            Some(i) => {
                self.open(session, i, true);
                vec![self.opened_line()]
            }
            None => vec![crate::tr!(self.lang, "lesson.was_last")],
        }
    }

    fn prev(&mut self, session: &mut Session) -> Vec<String> {
        if self.run.prev_step() {
            self.start_peers(session);
            return Vec::new();
        }
        if self.idx == 0 {
            return vec![crate::tr!(self.lang, "lesson.first_step")];
        }
        self.open(session, self.idx - 1, true);
        vec![self.opened_line()]
    }

    fn opened_line(&self) -> String {
        let l = &self.lessons[self.idx];
        let title = l.title.get(self.lang);
        crate::tr!(self.lang, "lesson.opened", order = l.order, title = title)
    }

    fn lesson_cmd(&mut self, session: &mut Session, args: &str) -> Vec<String> {
        let key = args.trim();
        if key.is_empty() {
            return self
                .lessons
                .iter()
                .map(|l| {
                    let done = self.progress.lesson(&l.id).is_some_and(|p| p.complete);
                    format!(
                        "{:>2} {} {}{}",
                        l.order,
                        if done { "✓" } else { " " },
                        l.id,
                        if l.id == self.lessons[self.idx].id {
                            "  ←"
                        } else {
                            ""
                        }
                    )
                })
                .collect();
        }
        match find(&self.lessons, key).and_then(|l| self.lessons.iter().position(|m| m.id == l.id))
        {
            Some(i) => {
                self.open(session, i, true);
                vec![self.opened_line()]
            }
            None => vec![crate::tr!(self.lang, "lesson.no_such", key = key)],
        }
    }
}

impl LessonHook for LessonApp {
    fn on_event(&mut self, _session: &Session, ev: &Event) {
        if !self.run.on_event(ev).is_empty() {
            self.run.record(&mut self.progress);
            self.save();
        }
    }

    fn command(&mut self, session: &mut Session, name: &str, args: &str) -> Vec<String> {
        let mut lines = std::mem::take(&mut self.notes);
        lines.extend(match name {
            "next" => self.next(session),
            "prev" => self.prev(session),
            // Also under the prompt: on a small screen the pane may not
            // have room for it below the step.
            "hint" => match self.run.hint(self.lang) {
                Some(h) => vec![format!("{} {h}", crate::tr!(self.lang, "lesson.hint"))],
                None => vec![crate::tr!(self.lang, "lesson.no_hint")],
            },
            // A finished lesson has no next line to give: say where to go.
            "solution" if self.run.finished() => {
                vec![
                    match next_after(&self.lessons, &self.lessons[self.idx].id) {
                        Some(_) => crate::tr!(self.lang, "lesson.complete"),
                        None => crate::tr!(self.lang, "lesson.complete_last"),
                    },
                ]
            }
            "solution" => match self.run.solution() {
                Some(line) => {
                    self.prompt = Some(line);
                    vec![crate::tr!(self.lang, "lesson.solution_in_prompt")]
                }
                None => vec![crate::tr!(self.lang, "lesson.no_solution")],
            },
            "reset" => {
                self.open(session, self.idx, true);
                vec![crate::tr!(self.lang, "lesson.restarted")]
            }
            "check" => {
                let why = self.run.why_not(self.lang);
                if why.is_empty() {
                    vec![crate::tr!(self.lang, "lesson.step_done")]
                } else {
                    why
                }
            }
            "lesson" => self.lesson_cmd(session, args),
            other => vec![format!(":{other}?")],
        });
        self.start_peers(session);
        lines
    }

    fn view(&self, _session: &Session) -> LessonView {
        let mut v = self.run.view(self.lang);
        let l = &self.lessons[self.idx];
        if self.run.finished() && next_after(&self.lessons, &l.id).is_none() {
            v.footer = crate::tr!(self.lang, "lesson.last_done");
        }
        // Counted as `socklab list` counts: the lesson's number, and where
        // it sits among the lessons there are.
        v.footer = crate::tr!(
            self.lang,
            "lesson.footer",
            order = l.order.to_string(),
            pos = (self.idx + 1).to_string(),
            count = self.lessons.len().to_string(),
            rest = v.footer
        );
        v
    }

    fn take_queue(&mut self) -> Vec<String> {
        std::mem::take(&mut self.queued)
    }

    fn take_prompt(&mut self) -> Option<String> {
        self.prompt.take()
    }

    fn take_fresh_lab(&mut self) -> bool {
        std::mem::take(&mut self.fresh)
    }

    fn poll(&mut self, session: &mut Session) -> Vec<String> {
        self.start_peers(session);
        self.feed_resume();
        let mut out = std::mem::take(&mut self.notes);
        if self.run.finished() && !self.was_finished {
            self.was_finished = true;
            out.push(
                match next_after(&self.lessons, &self.lessons[self.idx].id) {
                    Some(_) => crate::tr!(self.lang, "lesson.complete"),
                    None => crate::tr!(self.lang, "lesson.complete_last"),
                },
            );
        }
        out
    }
}
