//! Evaluating checks over the event log (what happened since the lesson
//! started) and the current [`LabModel`] (what is true now).
//!
//! Evaluation is incremental: each event is fed once, and every leaf keeps
//! the first moment (event seq) its fact held, per socket. Socket selection
//! by label happens when asking, not when feeding, because the student's
//! variable name arrives (`SocketLabel`) after the socket's first events.

use std::collections::HashMap;

use crate::engine::error::errno_by_name;
use crate::engine::event::Event;
use crate::engine::model::LabModel;
use crate::engine::types::SockId;

use super::cond::Cond;
pub use super::ctx::Ctx;
use super::format::unescape;
use super::leaf::{feed_leaf, leaf_met};
use super::why::Why;

/// One leaf's memory.
#[derive(Clone, Debug, Default)]
pub(super) struct Facts {
    /// Per socket (None: a call with no socket, an orphan with no origin):
    /// when the leaf's fact first held.
    pub(super) first: HashMap<Option<SockId>, u64>,
    /// Data `contains`: when found; the tail of the stream so far.
    pub(super) found: HashMap<SockId, u64>,
    pub(super) window: HashMap<SockId, Vec<u8>>,
    /// Data totals: bytes so far, when this socket alone crossed the goal, last chunk.
    pub(super) total: HashMap<SockId, (u64, Option<u64>, u64)>,
    /// Queues: the highest value seen.
    pub(super) peak: HashMap<SockId, u32>,
    pub(super) got: Option<u64>,
    pub(super) said: Option<u64>,
    pub(super) measure: Option<u64>,
}

pub(super) fn note(map: &mut HashMap<Option<SockId>, u64>, key: Option<SockId>, seq: u64) {
    map.entry(key).or_insert(seq);
}

#[derive(Clone, Debug)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Seq { kids: Vec<Node>, at: usize },
    Leaf(Box<Cond>, Box<Facts>, Decoded),
}

/// Byte strings of a leaf, decoded once.
#[derive(Clone, Debug, Default)]
pub(super) struct Decoded {
    pub(super) bytes: Option<Vec<u8>>,
    pub(super) contains: Option<Vec<u8>>,
    pub(super) returned: Option<Vec<u8>>,
    pub(super) port: Option<u16>,
    pub(super) errno: Option<i32>,
}

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
    pub fn feed(&mut self, ev: &Event, ctx: &Ctx, model: &LabModel) {
        self.root.feed(ev, ctx, model);
    }

    /// The seq at which the check became met, if it is.
    pub fn met(&self, ctx: &Ctx, model: &LabModel) -> Option<u64> {
        self.root.met(ctx, model)
    }

    /// What is still missing (empty when met).
    pub fn why_not(&self, ctx: &Ctx, model: &LabModel) -> Vec<Why> {
        if self.met(ctx, model).is_some() {
            return Vec::new();
        }
        self.root.why(ctx, model)
    }
}

impl Node {
    fn build(c: &Cond) -> Node {
        match c {
            Cond::All(v) => Node::All(v.iter().map(Node::build).collect()),
            Cond::Any(v) => Node::Any(v.iter().map(Node::build).collect()),
            Cond::Seq(v) => Node::Seq {
                kids: v.iter().map(Node::build).collect(),
                at: 0,
            },
            leaf => {
                let dec = |s: &Option<String>| {
                    s.as_ref()
                        .map(|s| unescape(s).unwrap_or_else(|_| s.as_bytes().to_vec()))
                };
                let mut d = Decoded::default();
                match leaf {
                    Cond::Data {
                        bytes, contains, ..
                    } => {
                        d.bytes = dec(bytes);
                        d.contains = dec(contains);
                    }
                    Cond::Call { req, .. } => {
                        d.returned = dec(&req.returned);
                        d.errno = req.errno.as_deref().and_then(errno_by_name);
                    }
                    Cond::Orphan { port, .. } => {
                        d.port = port.as_deref().and_then(|p| p.trim().parse().ok());
                    }
                    _ => {}
                }
                Node::Leaf(Box::new(leaf.clone()), Box::default(), d)
            }
        }
    }

    fn feed(&mut self, ev: &Event, ctx: &Ctx, model: &LabModel) {
        match self {
            Node::All(v) | Node::Any(v) => v.iter_mut().for_each(|n| n.feed(ev, ctx, model)),
            Node::Seq { kids, at } => {
                // The event that completes one part may also complete the next.
                while *at < kids.len() {
                    kids[*at].feed(ev, ctx, model);
                    if kids[*at].met(ctx, model).is_some() {
                        *at += 1;
                    } else {
                        break;
                    }
                }
            }
            Node::Leaf(c, f, d) => feed_leaf(c, f, d, ev, ctx),
        }
    }

    fn met(&self, ctx: &Ctx, model: &LabModel) -> Option<u64> {
        match self {
            Node::All(v) => v
                .iter()
                .map(|n| n.met(ctx, model))
                .try_fold(0, |acc, m| m.map(|s| acc.max(s))),
            Node::Any(v) => v.iter().filter_map(|n| n.met(ctx, model)).min(),
            Node::Seq { kids, at } => {
                if *at >= kids.len() {
                    Some(model.last_seq)
                } else {
                    None
                }
            }
            Node::Leaf(c, f, d) => leaf_met(c, f, d, ctx, model),
        }
    }

    fn why(&self, ctx: &Ctx, model: &LabModel) -> Vec<Why> {
        match self {
            Node::All(v) => v
                .iter()
                .filter(|n| n.met(ctx, model).is_none())
                .flat_map(|n| n.why(ctx, model))
                .collect(),
            Node::Any(v) => {
                let parts: Vec<Why> = v.iter().flat_map(|n| n.why(ctx, model)).collect();
                if parts.len() <= 1 {
                    return parts;
                }
                let en: Vec<&str> = parts.iter().map(|w| w.en.as_str()).collect();
                let ko: Vec<&str> = parts.iter().map(|w| w.ko.as_str()).collect();
                vec![Why::new(
                    format!("one of these: {}", en.join("; or ")),
                    format!("다음 중 하나: {}", ko.join(" / ")),
                )]
            }
            Node::Seq { kids, at } => match kids.get(*at) {
                Some(n) if *at > 0 => n
                    .why(ctx, model)
                    .into_iter()
                    .map(|w| {
                        Why::new(
                            format!("{} (after the part before it)", w.en),
                            format!("{} (앞의 조건이 이루어진 뒤에)", w.ko),
                        )
                    })
                    .collect(),
                Some(n) => n.why(ctx, model),
                None => Vec::new(),
            },
            Node::Leaf(c, f, _) => {
                vec![super::why_leaf::leaf_why(c, f.as_ref().into(), ctx, model)]
            }
        }
    }
}

/// A check with its own context: for one-off evaluation and tests.
#[derive(Clone, Debug)]
pub struct Evaluator {
    pub ctx: Ctx,
    tracker: Tracker,
}

impl Evaluator {
    pub fn new(cond: &Cond, model: &LabModel) -> Evaluator {
        Evaluator {
            ctx: Ctx::from_model(model),
            tracker: Tracker::new(cond),
        }
    }

    /// Feed one event; `model` must already include it.
    pub fn feed(&mut self, ev: &Event, model: &LabModel) {
        self.ctx.begin(ev);
        self.tracker.feed(ev, &self.ctx, model);
        self.ctx.end(ev);
    }

    pub fn met(&self, model: &LabModel) -> bool {
        self.tracker.met(&self.ctx, model).is_some()
    }

    pub fn why_not(&self, model: &LabModel) -> Vec<Why> {
        self.tracker.why_not(&self.ctx, model)
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

/// A read-only view of a leaf's memory for messages.
pub(super) struct FactsView<'a> {
    pub first: &'a HashMap<Option<SockId>, u64>,
    pub peak: &'a HashMap<SockId, u32>,
    pub total: &'a HashMap<SockId, (u64, Option<u64>, u64)>,
    pub got: Option<u64>,
    pub said: Option<u64>,
}

impl<'a> From<&'a Facts> for FactsView<'a> {
    fn from(f: &'a Facts) -> Self {
        FactsView {
            first: &f.first,
            peak: &f.peak,
            total: &f.total,
            got: f.got,
            said: f.said,
        }
    }
}
