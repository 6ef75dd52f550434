//! Evaluating checks over the event log (what happened since the lesson
//! started) and the current [`LabModel`] (what is true now).
//!
//! Evaluation is incremental: each event is fed once, and every leaf keeps
//! the first moment (event seq) its fact held, per socket. Socket selection
//! by label happens when asking, not when feeding, because the student's
//! variable name arrives (`SocketLabel`) after the socket's first events.
//! How each kind folds events and answers is in `check/`.

use crate::engine::event::Event;
use crate::engine::model::LabModel;

use super::check::{Cond, Node};
use super::why::Why;

/// One check being evaluated.
#[derive(Clone, Debug)]
pub struct Tracker {
    root: Node,
}

impl Tracker {
    pub fn new(cond: &Cond) -> Tracker {
        Tracker {
            root: Node::build(cond),
        }
    }

    /// Feed one event (after `ctx.begin(ev)` and `model.apply(ev)`).
    pub fn feed(&mut self, ev: &Event, model: &LabModel) {
        self.root.feed(ev, model);
    }

    /// The seq at which the check became met, if it is.
    pub fn met(&self, model: &LabModel) -> Option<u64> {
        self.root.met(model)
    }

    /// What is still missing (empty when met), then what the student
    /// should know meanwhile (a wire part counted without the capture).
    pub fn why_not(&self, model: &LabModel) -> Vec<Why> {
        if self.met(model).is_some() {
            return Vec::new();
        }
        let mut out = self.root.why(model);
        self.root.notes(model, &mut out);
        out
    }
}

/// One check for one-off evaluation and tests.
#[derive(Clone, Debug)]
pub struct Evaluator {
    tracker: Tracker,
}

impl Evaluator {
    pub fn new(cond: &Cond, _model: &LabModel) -> Evaluator {
        Evaluator {
            tracker: Tracker::new(cond),
        }
    }

    /// Feed one event; `model` must already include it.
    pub fn feed(&mut self, ev: &Event, model: &LabModel) {
        self.tracker.feed(ev, model);
    }

    pub fn met(&self, model: &LabModel) -> bool {
        self.tracker.met(model).is_some()
    }

    pub fn why_not(&self, model: &LabModel) -> Vec<Why> {
        self.tracker.why_not(model)
    }
}

/// Evaluate `cond` over a log from its start: (met, what is missing).
pub fn evaluate(cond: &Cond, events: &[Event]) -> (bool, Vec<Why>, LabModel) {
    let mut model = LabModel::new();
    let mut ev = Evaluator::new(cond, &model);
    for e in events {
        model.apply(e);
        ev.feed(e, &model);
    }
    (ev.met(&model), ev.why_not(&model), model)
}
