//! `lab = "listening"` and `kernel = "TIME_WAIT"`: sockets in a state, ever
//! or now, at least `count` of them; `family = "AF_INET6"` narrows them to
//! one address family (an IPv6 step is not met by IPv4 sockets), `port =
//! "{port}"` to the sockets with that local or peer port, `type =
//! "SOCK_STREAM"` to one socket type (a TCP step is not met by UDP sockets),
//! `peer_of = "cli"` to the other end of `cli`'s connection; in a `seq`,
//! `as`, `same` and `other` name sockets across its parts.

use std::collections::HashMap;

use serde::Deserialize;

use crate::engine::event::{Event, EventKind};
use crate::engine::model::LabModel;
use crate::engine::types::{LabState, SockId, TcpState};

use super::super::select::*;
use super::super::why::Why;
use super::common::{Errs, OwnerSel, Sel, StrOrInt, When, missing_label, note, subject};
use super::CheckKind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLab {
    lab: String,
    socket: Option<String>,
    owner: Option<String>,
    when: Option<String>,
    count: Option<i64>,
    family: Option<String>,
    port: Option<StrOrInt>,
    #[serde(rename = "type")]
    ty: Option<String>,
    peer_of: Option<String>,
    #[serde(rename = "as")]
    name_as: Option<String>,
    same: Option<String>,
    other: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKernel {
    kernel: String,
    socket: Option<String>,
    owner: Option<String>,
    when: Option<String>,
    count: Option<i64>,
    family: Option<String>,
    port: Option<StrOrInt>,
    #[serde(rename = "type")]
    ty: Option<String>,
    peer_of: Option<String>,
    #[serde(rename = "as")]
    name_as: Option<String>,
    same: Option<String>,
    other: Option<String>,
}

/// The lab's own state of a socket (`created`, `bound`, `listening`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabCheck {
    pub sel: Sel,
    pub state: String,
    pub when: When,
    pub count: u32,
}

/// The kernel's TCP state of a socket (as `ss` shows it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelCheck {
    pub sel: Sel,
    pub state: TcpState,
    pub when: When,
    pub count: u32,
}

/// Per socket (None: no socket), when the state was first reached.
pub type First = HashMap<Option<SockId>, u64>;

impl CheckKind for LabCheck {
    const KEYS: &'static [&'static str] = &["lab"];
    type Raw = RawLab;
    type Facts = First;

    fn build(r: RawLab, kind: &str, e: &mut Errs) -> Option<Self> {
        let when = e.when(&r.when);
        let mut sel = e.sel(&r.socket, &r.owner, OwnerSel::Student);
        sel.family = e.family(&r.family);
        sel.port = e.port(&r.port);
        sel.ty = e.sock_type(&r.ty);
        sel.ident = Box::new(e.ident(&r.name_as, &r.same, &r.other));
        sel.ident.peer_of = e.peer_of(&r.peer_of, &r.socket);
        e.need_socket(&r.socket, kind);
        let count = e.count(r.count);
        let n = r.lab.trim().to_ascii_lowercase().replace('_', "-");
        if !LabState::NAMES.contains(&n.as_str()) {
            e.err(format!(
                "unknown lab state \"{}\"{}; states: {}",
                r.lab,
                super::common::did_you_mean(&n, LabState::NAMES),
                LabState::NAMES.join(" ")
            ));
            return None;
        }
        Some(LabCheck {
            sel,
            state: n,
            when,
            count,
        })
    }
    fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Self {
        let mut c = self.clone();
        c.sel.port = self.sel.port.as_deref().map(f);
        c
    }
    fn sel(&self) -> Option<&Sel> {
        Some(&self.sel)
    }
    fn sel_mut(&mut self) -> Option<&mut Sel> {
        Some(&mut self.sel)
    }
    fn matched(&self, f: &First, model: &LabModel) -> Vec<SockId> {
        match self.when {
            When::Ever => ever_matched(f, model, &self.sel),
            When::Now => model
                .socks
                .values()
                .filter(|r| selects(model, r.id, &self.sel) && r.lab.matches_name(&self.state))
                .map(|r| r.id)
                .collect(),
        }
    }
    fn what(&self) -> Why {
        state_what(&self.sel, &self.state)
    }
    fn start(&self) -> First {
        First::new()
    }

    fn feed(&self, f: &mut First, ev: &Event, _model: &LabModel) {
        let state = &self.state;
        match &ev.kind {
            EventKind::SocketCreated { sock, .. } if LabState::Created.matches_name(state) => {
                note(f, Some(*sock), ev.seq)
            }
            EventKind::LabState { sock, to, .. } if to.matches_name(state) => {
                note(f, Some(*sock), ev.seq)
            }
            EventKind::SocketClosed { sock } if state == "closed" => note(f, Some(*sock), ev.seq),
            _ => {}
        }
    }

    fn met(&self, f: &First, model: &LabModel) -> Option<u64> {
        match self.when {
            When::Ever => nth_selected(f, model, &self.sel, self.count),
            When::Now => {
                let n = model
                    .socks
                    .values()
                    .filter(|r| selects(model, r.id, &self.sel) && r.lab.matches_name(&self.state))
                    .count();
                (n >= self.count as usize).then_some(model.last_seq)
            }
        }
    }

    fn why(&self, f: &First, model: &LabModel) -> Why {
        let sel = &self.sel;
        if let Some(w) = missing_label(model, sel) {
            return w;
        }
        let cur = newest(model, sel)
            .and_then(|id| model.sock(id))
            .map(|r| r.lab.name().to_string());
        let have = match self.when {
            When::Ever => ever_count(f, model, sel),
            When::Now => model
                .socks
                .values()
                .filter(|r| selects(model, r.id, sel) && r.lab.matches_name(&self.state))
                .count(),
        };
        state_why(sel, &self.state, self.when, self.count, have, cur)
    }
}

impl CheckKind for KernelCheck {
    const KEYS: &'static [&'static str] = &["kernel"];
    type Raw = RawKernel;
    type Facts = First;

    fn build(r: RawKernel, kind: &str, e: &mut Errs) -> Option<Self> {
        let when = e.when(&r.when);
        let mut sel = e.sel(&r.socket, &r.owner, OwnerSel::Student);
        sel.family = e.family(&r.family);
        sel.port = e.port(&r.port);
        sel.ty = e.sock_type(&r.ty);
        sel.ident = Box::new(e.ident(&r.name_as, &r.same, &r.other));
        sel.ident.peer_of = e.peer_of(&r.peer_of, &r.socket);
        e.need_socket(&r.socket, kind);
        let count = e.count(r.count);
        Some(KernelCheck {
            sel,
            state: e.tcp(&r.kernel)?,
            when,
            count,
        })
    }
    fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Self {
        let mut c = self.clone();
        c.sel.port = self.sel.port.as_deref().map(f);
        c
    }
    fn sel(&self) -> Option<&Sel> {
        Some(&self.sel)
    }
    fn sel_mut(&mut self) -> Option<&mut Sel> {
        Some(&mut self.sel)
    }
    fn matched(&self, f: &First, model: &LabModel) -> Vec<SockId> {
        match self.when {
            When::Ever => ever_matched(f, model, &self.sel),
            When::Now => kernel_now_ids(model, &self.sel, self.state),
        }
    }
    fn what(&self) -> Why {
        state_what(&self.sel, self.state.name())
    }
    fn start(&self) -> First {
        First::new()
    }

    fn feed(&self, f: &mut First, ev: &Event, model: &LabModel) {
        match &ev.kind {
            EventKind::KernelState { sock, to, .. } if *to == Some(self.state) => {
                note(f, Some(*sock), ev.seq)
            }
            EventKind::Orphan {
                origin: Some(o),
                to,
                ..
            } if *to == Some(self.state) && !was_listener(model, *o) => {
                note(f, Some(*o), ev.seq)
            }
            _ => {}
        }
    }

    fn met(&self, f: &First, model: &LabModel) -> Option<u64> {
        match self.when {
            When::Ever => nth_selected(f, model, &self.sel, self.count),
            When::Now => (kernel_now(model, &self.sel, self.state) >= self.count as usize)
                .then_some(model.last_seq),
        }
    }

    fn why(&self, f: &First, model: &LabModel) -> Why {
        let sel = &self.sel;
        if let Some(w) = missing_label(model, sel) {
            return w;
        }
        let cur = newest(model, sel).map(|id| {
            let row = model.sock(id);
            let orphan = model
                .orphans
                .values()
                .find(|o| o.origin == Some(id))
                .map(|o| o.state.name());
            match (row.and_then(|r| r.kernel), orphan) {
                (Some(k), _) if !row.is_some_and(|r| r.closed) => k.name().to_string(),
                (_, Some(o)) => o.to_string(),
                _ if row.is_some_and(|r| r.closed) => "closed".to_string(),
                _ => "-".to_string(),
            }
        });
        let have = match self.when {
            When::Ever => ever_count(f, model, sel),
            When::Now => kernel_now(model, sel, self.state),
        };
        state_why(sel, self.state.name(), self.when, self.count, have, cur)
    }
}

/// When the `count`-th selected socket first reached the state.
fn nth_selected(f: &First, model: &LabModel, sel: &Sel, count: u32) -> Option<u64> {
    let mut seqs: Vec<u64> = f
        .iter()
        .filter(|(k, _)| match k {
            Some(s) => selects(model, *s, sel),
            None => sel.label.is_none(),
        })
        .map(|(_, s)| *s)
        .collect();
    seqs.sort_unstable();
    seqs.get(count as usize - 1).copied()
}

/// The selected sockets that have reached the state.
fn ever_matched(f: &First, model: &LabModel, sel: &Sel) -> Vec<SockId> {
    let mut ids: Vec<SockId> = f
        .keys()
        .flatten()
        .copied()
        .filter(|s| selects(model, *s, sel))
        .collect();
    ids.sort_unstable();
    ids
}

/// "the socket named srv that reached listening": what `as` names.
fn state_what(sel: &Sel, state: &str) -> Why {
    let whose = sel
        .label
        .as_ref()
        .map(|l| Why::new("why.whose.named").arg("sock", l));
    Why::new("why.cap.state").opt("whose", whose).arg("state", state)
}

fn ever_count(f: &First, model: &LabModel, sel: &Sel) -> usize {
    f.keys()
        .filter(|k| k.is_some_and(|s| selects(model, s, sel)))
        .count()
}

/// Selected sockets in `state` now, counting a closed socket's descriptor-less entry.
fn kernel_now(model: &LabModel, sel: &Sel, state: TcpState) -> usize {
    kernel_now_ids(model, sel, state).len()
}

fn kernel_now_ids(model: &LabModel, sel: &Sel, state: TcpState) -> Vec<SockId> {
    let mut ids: Vec<SockId> = model
        .live()
        // A socket the program closed has no kernel state of its own, even
        // if the observation saying so has not arrived yet.
        .filter(|r| selects(model, r.id, sel) && r.kernel == Some(state) && r.lab != LabState::Closed)
        .map(|r| r.id)
        .collect();
    for o in model.orphans.values() {
        if let Some(s) = o.origin
            && o.state == state
            && selects(model, s, sel)
            && !was_listener(model, s)
        {
            ids.push(s);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn state_why(
    sel: &Sel,
    state: &str,
    when: When,
    count: u32,
    have: usize,
    cur: Option<String>,
) -> Why {
    let now = cur.map(|c| Why::new("why.now").arg("state", c));
    if let (Some(l), 1) = (&sel.label, count) {
        let key = match when {
            When::Ever => "why.state.ever_one",
            When::Now => "why.state.now_one",
        };
        return Why::new(key)
            .arg("sock", l)
            .arg("state", state)
            .opt("now", now);
    }
    if count == 1 {
        let key = match when {
            When::Ever => "why.state.ever_none",
            When::Now => "why.state.now_none",
        };
        return Why::new(key)
            .part("subj", subject(sel))
            .arg("state", state);
    }
    let whose = match (&sel.label, &sel.owner) {
        (Some(l), _) => Some(Why::new("why.whose.named").arg("sock", l)),
        (None, OwnerSel::Peer(p)) => Some(Why::new("why.whose.peer").arg("peer", p)),
        _ => None,
    };
    let key = match when {
        When::Ever => "why.state.ever_some",
        When::Now => "why.state.now_some",
    };
    Why::new(key)
        .arg("have", have)
        .arg("count", count)
        .opt("whose", whose)
        .arg("state", state)
}
