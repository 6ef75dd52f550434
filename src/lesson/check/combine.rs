//! The combinators: `all` (every part), `any` (one part), `seq` (each part
//! at or after the moment the one before it held), as a tree of running
//! checks whose leaves are the kinds.

use crate::engine::event::Event;
use crate::engine::model::LabModel;

use super::super::why::Why;
use super::{Cond, LeafRun};

#[derive(Clone, Debug)]
pub(in crate::lesson) enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Seq { kids: Vec<Node>, at: usize },
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
            Cond::Leaf(l) => Node::Leaf(Box::new(l.start())),
        }
    }

    pub(in crate::lesson) fn feed(&mut self, ev: &Event, model: &LabModel) {
        match self {
            Node::All(v) | Node::Any(v) => v.iter_mut().for_each(|n| n.feed(ev, model)),
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
            Node::Leaf(l) => l.met(model),
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
                let en: Vec<&str> = parts.iter().map(|w| w.en.as_str()).collect();
                let ko: Vec<&str> = parts.iter().map(|w| w.ko.as_str()).collect();
                vec![Why::new(
                    format!("one of these: {}", en.join("; or ")),
                    format!("다음 중 하나: {}", ko.join(" / ")),
                )]
            }
            Node::Seq { kids, at } => match kids.get(*at) {
                Some(n) if *at > 0 => n
                    .why(model)
                    .into_iter()
                    .map(|w| {
                        Why::new(
                            format!("{} (after the part before it)", w.en),
                            format!("{} (앞의 조건이 이루어진 뒤에)", w.ko),
                        )
                    })
                    .collect(),
                Some(n) => n.why(model),
                None => Vec::new(),
            },
            Node::Leaf(l) => vec![l.why(model)],
        }
    }
}
