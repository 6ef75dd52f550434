//! The combinators: `all` (every part), `any` (one part), `seq` (each part
//! at or after the moment the one before it held), `not` (no part holds
//! now), `never` (no part has held at any moment), as a tree of running
//! checks whose leaves are the kinds.
//!
//! How `seq` treats a repeated event: each part watches only events after
//! the part before it held, and a part's first match counts. The event that
//! completes one part is also shown to the next, so one event may complete
//! several parts in a row — also two equal parts: `seq = [X, X]` is met by a
//! single X. To ask for something twice, use `count = 2` (lab/kernel checks)
//! or parts that differ (`returned = "a"`, then `returned = "b"`).

use crate::engine::event::Event;
use crate::engine::model::LabModel;

use super::super::why::Why;
use super::{Cond, LeafRun};

#[derive(Clone, Debug)]
pub(in crate::lesson) enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Seq { kids: Vec<Node>, at: usize },
    Not(Vec<Node>),
    Never { kids: Vec<Node>, broken: bool },
    Leaf(Box<LeafRun>),
}

impl Node {
    pub(in crate::lesson) fn build(c: &Cond) -> Node {
        match c {
            Cond::All(v) => Node::All(v.iter().map(Node::build).collect()),
            Cond::Any(v) => Node::Any(v.iter().map(Node::build).collect()),
            Cond::Seq(v) => Node::Seq {
                kids: v.iter().map(Node::build).collect(),
                at: 0,
            },
            Cond::Not(v) => Node::Not(v.iter().map(Node::build).collect()),
            Cond::Never(v) => Node::Never {
                kids: v.iter().map(Node::build).collect(),
                broken: false,
            },
            Cond::Leaf(l) => Node::Leaf(Box::new(l.start())),
        }
    }

    pub(in crate::lesson) fn feed(&mut self, ev: &Event, model: &LabModel) {
        match self {
            Node::All(v) | Node::Any(v) | Node::Not(v) => {
                v.iter_mut().for_each(|n| n.feed(ev, model))
            }
            Node::Never { kids, broken } => {
                for n in kids.iter_mut() {
                    n.feed(ev, model);
                    *broken |= n.met(model).is_some();
                }
            }
            Node::Seq { kids, at } => {
                // The event that completes one part may also complete the next.
                while *at < kids.len() {
                    kids[*at].feed(ev, model);
                    if kids[*at].met(model).is_some() {
                        *at += 1;
                    } else {
                        break;
                    }
                }
            }
            Node::Leaf(l) => l.feed(ev, model),
        }
    }

    pub(in crate::lesson) fn met(&self, model: &LabModel) -> Option<u64> {
        match self {
            Node::All(v) => v
                .iter()
                .map(|n| n.met(model))
                .try_fold(0, |acc, m| m.map(|s| acc.max(s))),
            Node::Any(v) => v.iter().filter_map(|n| n.met(model)).min(),
            Node::Seq { kids, at } => {
                if *at >= kids.len() {
                    Some(model.last_seq)
                } else {
                    None
                }
            }
            Node::Not(v) => v
                .iter()
                .all(|n| n.met(model).is_none())
                .then_some(model.last_seq),
            Node::Never { kids, broken } => {
                (!*broken && kids.iter().all(|n| n.met(model).is_none())).then_some(model.last_seq)
            }
            Node::Leaf(l) => l.met(model),
        }
    }

    /// The notes of every leaf (see `CheckKind::note`), in order.
    pub(in crate::lesson) fn notes(&self, model: &LabModel, out: &mut Vec<Why>) {
        match self {
            Node::All(v) | Node::Any(v) | Node::Not(v) => {
                v.iter().for_each(|n| n.notes(model, out))
            }
            Node::Seq { kids, .. } | Node::Never { kids, .. } => {
                kids.iter().for_each(|n| n.notes(model, out))
            }
            Node::Leaf(l) => {
                if let Some(w) = l.note(model)
                    && !out.contains(&w)
                {
                    out.push(w);
                }
            }
        }
    }

    pub(in crate::lesson) fn why(&self, model: &LabModel) -> Vec<Why> {
        match self {
            Node::All(v) => v
                .iter()
                .filter(|n| n.met(model).is_none())
                .flat_map(|n| n.why(model))
                .collect(),
            Node::Any(v) => {
                let parts: Vec<Why> = v.iter().flat_map(|n| n.why(model)).collect();
                if parts.len() <= 1 {
                    return parts;
                }
                vec![Why::new("why.any").list("parts", Why::new("why.sep.or"), parts)]
            }
            Node::Seq { kids, at } => match kids.get(*at) {
                Some(n) if *at > 0 => n
                    .why(model)
                    .into_iter()
                    .map(|w| Why::new("why.after").part("why", w))
                    .collect(),
                Some(n) => n.why(model),
                None => Vec::new(),
            },
            Node::Not(_) => vec![Why::new("why.not")],
            Node::Never { .. } => vec![Why::new("why.never")],
            Node::Leaf(l) => vec![l.why(model)],
        }
    }
}
