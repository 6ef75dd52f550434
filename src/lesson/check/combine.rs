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
//!
//! Socket identity in `seq`: a leaf of one part may name the sockets that
//! met it (`as = "fresh"`); a leaf of a later part may then demand one of
//! them (`same = "fresh"`) or none of them (`other = "fresh"`). A part that
//! names sockets keeps watching after it held, so the name covers every
//! socket that has met it by now; before each event reaches the later parts
//! they are told which sockets those are.

use crate::engine::event::Event;
use crate::engine::model::LabModel;

use crate::engine::types::SockId;

use super::super::why::Why;
use super::{Captured, Cond, LeafRun};

#[derive(Clone, Debug)]
pub(in crate::lesson) enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    /// `names[i]`: the `as` names part `i` gives the later parts.
    Seq {
        kids: Vec<Node>,
        at: usize,
        names: Vec<Vec<String>>,
    },
    Not(Vec<Node>),
    Never {
        kids: Vec<Node>,
        broken: bool,
    },
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
                names: v
                    .iter()
                    .map(|c| {
                        let mut n = Vec::new();
                        c.capture_names(&mut n);
                        n
                    })
                    .collect(),
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
            Node::Seq { kids, at, names } => {
                // A part that named sockets goes on naming the ones that meet it.
                for (kid, n) in kids.iter_mut().zip(names.iter()).take(*at) {
                    if !n.is_empty() {
                        kid.feed(ev, model);
                    }
                }
                fill_names(kids, names, *at, model);
                // The event that completes one part may also complete the next.
                while *at < kids.len() {
                    kids[*at].feed(ev, model);
                    if kids[*at].met(model).is_some() {
                        *at += 1;
                        fill_names(kids, names, *at, model);
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
            Node::Seq { kids, at, .. } => {
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
            Node::Seq { kids, at, .. } => match kids.get(*at) {
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

    /// The sockets that met this node's leaves named `name`, and what the
    /// first such leaf is (for "not yet" lines).
    fn named(&self, name: &str, model: &LabModel, socks: &mut Vec<SockId>) -> Option<Why> {
        match self {
            Node::All(v) | Node::Any(v) | Node::Not(v) => {
                let mut what = None;
                for n in v {
                    let w = n.named(name, model, socks);
                    what = what.or(w);
                }
                what
            }
            Node::Seq { kids, .. } | Node::Never { kids, .. } => {
                let mut what = None;
                for n in kids {
                    let w = n.named(name, model, socks);
                    what = what.or(w);
                }
                what
            }
            Node::Leaf(l) => {
                let sel = l.sel()?;
                if sel.ident.name.as_deref() != Some(name) {
                    return None;
                }
                if l.met(model).is_some() {
                    for s in l.matched(model) {
                        if !socks.contains(&s) {
                            socks.push(s);
                        }
                    }
                }
                Some(l.what())
            }
        }
    }

    /// Tell this node's leaves which sockets the name `cap` stands for.
    fn fill(&mut self, cap: &Captured) {
        match self {
            Node::All(v) | Node::Any(v) | Node::Not(v) => v.iter_mut().for_each(|n| n.fill(cap)),
            Node::Seq { kids, .. } | Node::Never { kids, .. } => {
                kids.iter_mut().for_each(|n| n.fill(cap))
            }
            Node::Leaf(l) => {
                if let Some(sel) = l.sel_mut() {
                    for slot in [&mut sel.ident.same, &mut sel.ident.other] {
                        if let Some(c) = slot
                            && c.name == cap.name
                        {
                            *c = cap.clone();
                        }
                    }
                }
            }
        }
    }
}

/// Tell the parts after each part before `at` (met, so its names stand for
/// something) which sockets its names stand for (also the parts that are
/// met already: one may name sockets itself and goes on watching).
fn fill_names(kids: &mut [Node], names: &[Vec<String>], at: usize, model: &LabModel) {
    for i in 0..at.min(kids.len()) {
        for name in &names[i] {
            let mut socks = Vec::new();
            let what = kids[i].named(name, model, &mut socks);
            let cap = Captured {
                name: name.clone(),
                socks,
                what,
            };
            for later in kids[i + 1..].iter_mut() {
                later.fill(&cap);
            }
        }
    }
}
