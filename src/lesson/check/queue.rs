//! `accept_queue = N`, `recv_q = N`, `send_q = N`: a socket's queue compared
//! with N, ever or now; `backlog = N`: a listener's backlog as the kernel
//! reports it (`listen(1)` gives 1), compared the same way. `cmp` says how: `"at_least"` (the default: `recv_q = 0`
//! alone is always true), `"exactly"` or `"at_most"`.

use std::collections::HashMap;

use serde::Deserialize;

use crate::engine::event::{Event, EventKind};
use crate::engine::model::{LabModel, SockRow};
use crate::engine::types::SockId;

use super::super::select::*;
use super::super::why::Why;
use super::common::{Errs, OwnerSel, Sel, When, first_selected, missing_label, note};
use super::CheckKind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    accept_queue: Option<i64>,
    recv_q: Option<i64>,
    send_q: Option<i64>,
    backlog: Option<i64>,
    socket: Option<String>,
    owner: Option<String>,
    when: Option<String>,
    cmp: Option<String>,
}

/// How a queue is compared with the number a check gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cmp {
    #[default]
    AtLeast,
    Exactly,
    AtMost,
}

impl Cmp {
    pub const NAMES: &'static [&'static str] = &["at_least", "exactly", "at_most"];
    fn holds(self, v: u32, n: u32) -> bool {
        match self {
            Cmp::AtLeast => v >= n,
            Cmp::Exactly => v == n,
            Cmp::AtMost => v <= n,
        }
    }
    fn words(self, n: u32) -> Why {
        let key = match self {
            Cmp::AtLeast => "why.cmp.at_least",
            Cmp::Exactly => "why.cmp.exactly",
            Cmp::AtMost => "why.cmp.at_most",
        };
        Why::new(key).arg("n", n)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    Accept,
    Recv,
    Send,
    Backlog,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueCheck {
    pub sel: Sel,
    pub queue: Queue,
    pub min: u32,
    pub cmp: Cmp,
    pub when: When,
}

#[derive(Clone, Debug, Default)]
pub struct QueueFacts {
    /// Per socket: when the queue first reached the goal.
    first: HashMap<Option<SockId>, u64>,
    /// The highest value seen.
    peak: HashMap<SockId, u32>,
}

fn queue_value(r: &SockRow, q: Queue) -> u32 {
    match q {
        Queue::Accept => r.accept_q.unwrap_or(0),
        Queue::Recv => r.recv_q,
        Queue::Send => r.send_q,
        Queue::Backlog => r.backlog.unwrap_or(0),
    }
}

impl CheckKind for QueueCheck {
    const KEYS: &'static [&'static str] = &["accept_queue", "recv_q", "send_q", "backlog"];
    type Raw = RawQueue;
    type Facts = QueueFacts;

    fn build(r: RawQueue, kind: &str, e: &mut Errs) -> Option<Self> {
        let when = e.when(&r.when);
        let sel = e.sel(&r.socket, &r.owner, OwnerSel::Student);
        e.need_socket(&r.socket, kind);
        let (queue, v) = match kind {
            "accept_queue" => (Queue::Accept, r.accept_queue?),
            "recv_q" => (Queue::Recv, r.recv_q?),
            "backlog" => (Queue::Backlog, r.backlog?),
            _ => (Queue::Send, r.send_q?),
        };
        let cmp = match r.cmp.as_deref().map(|c| c.trim().to_ascii_lowercase().replace(['-', ' '], "_")) {
            None => Cmp::AtLeast,
            Some(c) => match c.as_str() {
                "at_least" | "min" | ">=" => Cmp::AtLeast,
                "exactly" | "exact" | "eq" | "==" => Cmp::Exactly,
                "at_most" | "max" | "<=" => Cmp::AtMost,
                _ => {
                    e.err(format!(
                        "cmp = \"{c}\": use one of {}",
                        Cmp::NAMES.join(", ")
                    ));
                    Cmp::AtLeast
                }
            },
        };
        Some(QueueCheck {
            sel,
            queue,
            min: e.non_neg(v, kind),
            cmp,
            when,
        })
    }
    fn sel(&self) -> Option<&Sel> {
        Some(&self.sel)
    }
    fn start(&self) -> QueueFacts {
        QueueFacts::default()
    }

    fn feed(&self, f: &mut QueueFacts, ev: &Event, _model: &LabModel) {
        if let EventKind::Queues {
            sock,
            recv_q,
            send_q,
            accept_q,
            backlog,
            ..
        } = &ev.kind
        {
            if self.queue == Queue::Backlog && backlog.is_none() {
                return;
            }
            let v = match self.queue {
                Queue::Accept => accept_q.unwrap_or(0),
                Queue::Backlog => backlog.unwrap_or(0),
                Queue::Recv => *recv_q,
                Queue::Send => *send_q,
            };
            let p = f.peak.entry(*sock).or_insert(0);
            *p = (*p).max(v);
            if self.cmp.holds(v, self.min) {
                note(&mut f.first, Some(*sock), ev.seq);
            }
        }
    }

    fn met(&self, f: &QueueFacts, model: &LabModel) -> Option<u64> {
        match self.when {
            When::Ever => first_selected(&f.first, model, &self.sel),
            When::Now => model
                .live()
                .any(|r| {
                    selects(model, r.id, &self.sel) && self.cmp.holds(queue_value(r, self.queue), self.min)
                })
                .then_some(model.last_seq),
        }
    }

    fn why(&self, f: &QueueFacts, model: &LabModel) -> Why {
        let (sel, min) = (&self.sel, self.min);
        if let Some(w) = missing_label(model, sel) {
            return w;
        }
        let queue = match self.queue {
            Queue::Accept => "why.queue.accept",
            Queue::Recv => "why.queue.recv",
            Queue::Send => "why.queue.send",
            Queue::Backlog => "why.queue.backlog",
        };
        let whose = match &sel.label {
            Some(l) => Why::new("why.queue.of").arg("sock", l),
            None => Why::new("why.queue.of_any"),
        };
        let now = newest(model, sel)
            .and_then(|id| model.sock(id))
            .map(|r| queue_value(r, self.queue))
            .unwrap_or(0);
        let peak = f
            .peak
            .iter()
            .filter(|(k, _)| selects(model, **k, sel))
            .map(|(_, v)| *v)
            .max()
            .unwrap_or(0);
        let key = match self.when {
            When::Ever if self.cmp == Cmp::AtLeast => "why.queue.ever_at_least",
            When::Ever => "why.queue.ever",
            When::Now if self.cmp != Cmp::AtLeast => "why.queue.now",
            When::Now => "why.queue.now_at_least",
        };
        Why::new(key)
            .part("whose", whose)
            .part("queue", Why::new(queue))
            .part("cmp", self.cmp.words(min))
            .arg("min", min)
            .arg("now", now)
            .arg("peak", peak)
    }
}
