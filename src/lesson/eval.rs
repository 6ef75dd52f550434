//! Evaluating checks over the event log (what happened since the lesson
//! started) and the current [`LabModel`] (what is true now).
//!
//! Evaluation is incremental: each event is fed once, and every leaf keeps
//! the first moment (event seq) its fact held, per socket. Socket selection
//! by label happens when asking, not when feeding, because the student's
//! variable name arrives (`SocketLabel`) after the socket's first events.

use std::collections::HashMap;

use crate::engine::error::errno_by_name;
use crate::engine::event::{Event, EventKind, PeerNote};
use crate::engine::model::LabModel;
use crate::engine::types::{CallId, LabState, Owner, Ret, SockId};

use super::cond::{CallReq, Cond, OwnerSel, Queue, Sel, When};
use super::format::unescape;
use super::why::Why;

#[derive(Clone, Debug)]
struct SockInfo {
    owner: Owner,
    labels: Vec<String>,
    was_listener: bool,
}

#[derive(Clone, Debug)]
struct CallInfo {
    sock: Option<SockId>,
    owner: Owner,
    method: String,
    pending: bool,
    given: Option<usize>,
}

/// What the log says about sockets, calls and peers, shared by every check
/// of a lesson.
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    socks: HashMap<SockId, SockInfo>,
    calls: HashMap<CallId, CallInfo>,
    peers: Vec<String>,
}

impl Ctx {
    /// Start from sockets that already exist (the log may begin after them).
    pub fn from_model(model: &LabModel) -> Ctx {
        let mut c = Ctx::default();
        for r in model.socks.values() {
            c.socks.insert(
                r.id,
                SockInfo {
                    owner: r.owner.clone(),
                    labels: r.label.iter().cloned().collect(),
                    was_listener: r.lab == LabState::Listening,
                },
            );
        }
        c
    }

    /// Apply an event before the checks see it.
    pub fn begin(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::SocketCreated { sock, owner, .. } => {
                self.socks.insert(
                    *sock,
                    SockInfo {
                        owner: owner.clone(),
                        labels: Vec::new(),
                        was_listener: false,
                    },
                );
            }
            EventKind::SocketLabel { sock, label } => {
                if let Some(s) = self.socks.get_mut(sock)
                    && !s.labels.contains(label)
                {
                    s.labels.push(label.clone());
                }
            }
            EventKind::LabState {
                sock,
                to: LabState::Listening,
                ..
            } => {
                if let Some(s) = self.socks.get_mut(sock) {
                    s.was_listener = true;
                }
            }
            EventKind::CallStarted {
                call,
                sock,
                owner,
                method,
                text,
            } => {
                self.calls.insert(
                    *call,
                    CallInfo {
                        sock: *sock,
                        owner: owner.clone(),
                        method: method.clone(),
                        pending: false,
                        given: given_len(text),
                    },
                );
            }
            EventKind::CallPending { call, .. } => {
                if let Some(c) = self.calls.get_mut(call) {
                    c.pending = true;
                }
            }
            EventKind::Peer {
                peer,
                note: PeerNote::Started { .. },
            } if !self.peers.contains(peer) => self.peers.push(peer.clone()),
            _ => {}
        }
    }

    /// Forget what no check needs after this event.
    pub fn end(&mut self, ev: &Event) {
        if let EventKind::CallDone { call, .. } | EventKind::CallFailed { call, .. } = &ev.kind {
            self.calls.remove(call);
        }
    }

    fn owner_ok(owner: &Owner, sel: &OwnerSel) -> bool {
        match sel {
            OwnerSel::Any => true,
            OwnerSel::Student => owner.is_student(),
            OwnerSel::Peer(p) => matches!(owner, Owner::Peer(n) if n == p),
        }
    }

    fn selects(&self, sock: SockId, sel: &Sel) -> bool {
        let Some(s) = self.socks.get(&sock) else {
            return false;
        };
        Ctx::owner_ok(&s.owner, &sel.owner)
            && sel.label.as_ref().is_none_or(|l| s.labels.contains(l))
    }

    /// The newest socket the selection names (for "now: …" in messages).
    fn newest(&self, sel: &Sel) -> Option<SockId> {
        self.socks
            .keys()
            .copied()
            .filter(|id| self.selects(*id, sel))
            .max()
    }
}

/// How many bytes a `send(b'…')` / `send(b'…' * N)` call was given, read from
/// the call's text (the event log does not carry the argument's length).
fn given_len(text: &str) -> Option<usize> {
    let open = text.find(".send(")? + ".send(".len();
    // Long arguments are shown shortened, with their length: `b'xxxx…' (100000 bytes)`.
    if let Some(end) = text.rfind(" bytes") {
        let digits = text[..end].rsplit(|c: char| !c.is_ascii_digit()).next()?;
        if let Ok(n) = digits.parse() {
            return Some(n);
        }
    }
    let arg = text[open..].strip_suffix(')')?.trim();
    let (lit, mult) = match arg.rsplit_once('*') {
        Some((a, b)) if b.trim().parse::<usize>().is_ok() => {
            (a.trim(), b.trim().parse::<usize>().ok()?)
        }
        Some((a, b)) if a.trim().parse::<usize>().is_ok() => {
            (b.trim(), a.trim().parse::<usize>().ok()?)
        }
        _ => (arg, 1),
    };
    let body = lit.strip_prefix('b')?;
    let q = body.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = body.strip_prefix(q)?.strip_suffix(q)?;
    Some(unescape(inner).ok()?.len() * mult)
}

/// One leaf's memory.
#[derive(Clone, Debug, Default)]
struct Facts {
    /// Per socket (None: a call with no socket, an orphan with no origin):
    /// when the leaf's fact first held.
    first: HashMap<Option<SockId>, u64>,
    /// Data `contains`: when found; the tail of the stream so far.
    found: HashMap<SockId, u64>,
    window: HashMap<SockId, Vec<u8>>,
    /// Data totals: bytes so far, when this socket alone crossed the goal, last chunk.
    total: HashMap<SockId, (u64, Option<u64>, u64)>,
    /// Queues: the highest value seen.
    peak: HashMap<SockId, u32>,
    got: Option<u64>,
    said: Option<u64>,
    measure: Option<u64>,
}

fn note(map: &mut HashMap<Option<SockId>, u64>, key: Option<SockId>, seq: u64) {
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
struct Decoded {
    bytes: Option<Vec<u8>>,
    contains: Option<Vec<u8>>,
    returned: Option<Vec<u8>>,
    port: Option<u16>,
    errno: Option<i32>,
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

fn feed_leaf(c: &Cond, f: &mut Facts, d: &Decoded, ev: &Event, ctx: &Ctx) {
    let seq = ev.seq;
    match (c, &ev.kind) {
        (Cond::Lab { state, .. }, EventKind::SocketCreated { sock, .. })
            if LabState::Created.matches_name(state) =>
        {
            note(&mut f.first, Some(*sock), seq)
        }
        (Cond::Lab { state, .. }, EventKind::LabState { sock, to, .. })
            if to.matches_name(state) =>
        {
            note(&mut f.first, Some(*sock), seq)
        }
        (Cond::Lab { state, .. }, EventKind::SocketClosed { sock }) if state == "closed" => {
            note(&mut f.first, Some(*sock), seq)
        }
        (Cond::Kernel { state, .. }, EventKind::KernelState { sock, to, .. })
            if *to == Some(*state) =>
        {
            note(&mut f.first, Some(*sock), seq)
        }
        (
            Cond::Kernel { state, .. },
            EventKind::Orphan {
                origin: Some(o),
                to,
                ..
            },
        ) if *to == Some(*state) && !ctx.socks.get(o).is_some_and(|s| s.was_listener) => {
            note(&mut f.first, Some(*o), seq)
        }
        (
            Cond::Queue { queue, min, .. },
            EventKind::Queues {
                sock,
                recv_q,
                send_q,
                accept_q,
                ..
            },
        ) => {
            let v = match queue {
                Queue::Accept => accept_q.unwrap_or(0),
                Queue::Recv => *recv_q,
                Queue::Send => *send_q,
            };
            let p = f.peak.entry(*sock).or_insert(0);
            *p = (*p).max(v);
            if v >= *min {
                note(&mut f.first, Some(*sock), seq);
            }
        }
        (Cond::Call { sel, method, req }, kind) => {
            feed_call(sel, method, req, f, d, ctx, kind, seq)
        }
        (
            Cond::Data {
                dir: want,
                total_at_least,
                ..
            },
            EventKind::Data {
                sock,
                dir,
                data,
                len,
                ..
            },
        ) if dir == want => {
            if let Some(b) = &d.bytes
                && data.len() == *len
                && data.as_ref() == b.as_slice()
            {
                note(&mut f.first, Some(*sock), seq);
            }
            if let Some(needle) = &d.contains
                && !f.found.contains_key(sock)
            {
                let w = f.window.entry(*sock).or_default();
                w.extend_from_slice(data);
                if w.windows(needle.len().max(1))
                    .any(|x| x == needle.as_slice())
                    || needle.is_empty()
                {
                    f.found.insert(*sock, seq);
                    f.window.remove(sock);
                } else {
                    let keep = needle.len().saturating_sub(1);
                    let cut = w.len().saturating_sub(keep);
                    w.drain(..cut);
                }
            }
            let t = f.total.entry(*sock).or_insert((0, None, 0));
            t.0 += *len as u64;
            t.2 = seq;
            if let Some(n) = total_at_least
                && t.0 >= *n
                && t.1.is_none()
            {
                t.1 = Some(seq);
            }
        }
        (
            Cond::Peer {
                peer,
                got,
                said,
                measure,
            },
            EventKind::Peer { peer: p, note: n },
        ) if p == peer => match n {
            PeerNote::Got { text } if got.as_ref() == Some(text) => {
                f.got.get_or_insert(seq);
            }
            PeerNote::Said { text } if said.as_ref() == Some(text) => {
                f.said.get_or_insert(seq);
            }
            PeerNote::Measure { name, .. } if measure.as_ref() == Some(name) => {
                f.measure.get_or_insert(seq);
            }
            _ => {}
        },
        (
            Cond::Orphan { state, .. },
            EventKind::Orphan {
                origin, to, tuple, ..
            },
        ) if *to == Some(*state) => {
            let port_ok = d
                .port
                .is_none_or(|p| tuple.local.port() == p || tuple.remote.port() == p);
            if port_ok {
                note(&mut f.first, *origin, seq);
            }
        }
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn feed_call(
    sel: &Sel,
    method: &str,
    req: &CallReq,
    f: &mut Facts,
    d: &Decoded,
    ctx: &Ctx,
    kind: &EventKind,
    seq: u64,
) {
    let (call, phase) = match kind {
        EventKind::CallStarted { call, .. } => (call, 0),
        EventKind::CallPending { call, .. } => (call, 1),
        EventKind::CallDone { call, .. } | EventKind::CallFailed { call, .. } => (call, 2),
        _ => return,
    };
    let Some(info) = ctx.calls.get(call) else {
        return;
    };
    if info.method != method || !Ctx::owner_ok(&info.owner, &sel.owner) {
        return;
    }
    let wants_end = req.ok.is_some()
        || req.errno.is_some()
        || req.error.is_some()
        || req.returned.is_some()
        || req.partial.is_some()
        || req.pending == Some(false);
    let wanted_phase = if wants_end {
        2
    } else if req.pending == Some(true) {
        1
    } else {
        0
    };
    if phase != wanted_phase {
        return;
    }
    if req.pending.is_some_and(|p| p != info.pending) {
        return;
    }
    let mut key = info.sock;
    if phase == 2 {
        let ok = match kind {
            EventKind::CallDone { ret, .. } => {
                if let (None, Ret::Socket(s)) = (key, ret) {
                    key = Some(*s);
                }
                call_done_ok(req, d, info, ret)
            }
            EventKind::CallFailed { error, .. } => {
                req.ok != Some(true)
                    && req.returned.is_none()
                    && req.partial.is_none()
                    && req.errno.as_ref().is_none_or(|n| {
                        error
                            .errno_name
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(n))
                            || (d.errno.is_some() && error.errno == d.errno)
                    })
                    && req
                        .error
                        .as_ref()
                        .is_none_or(|x| exc_matches(x, &error.exc, error.errno))
            }
            _ => false,
        };
        if !ok {
            return;
        }
    }
    note(&mut f.first, key, seq);
}

fn call_done_ok(req: &CallReq, d: &Decoded, info: &CallInfo, ret: &Ret) -> bool {
    // connect_ex reports failure as a returned errno, not an exception.
    let ex_errno = match (info.method.as_str(), ret) {
        ("connect_ex", Ret::Int(n)) if *n != 0 => Some(*n as i32),
        _ => None,
    };
    if let Some(n) = d.errno.or(req.errno.as_ref().map(|_| -1)) {
        return ex_errno == Some(n) && req.ok != Some(true);
    }
    if req.error.is_some() || req.ok == Some(false) {
        return false;
    }
    if let Some(want) = &d.returned {
        let same = match ret {
            Ret::Bytes(b) | Ret::Datagram(b, _) => b.as_ref() == want.as_slice(),
            Ret::Int(n) => std::str::from_utf8(want).ok() == Some(n.to_string().as_str()),
            _ => false,
        };
        if !same {
            return false;
        }
    }
    if let Some(p) = req.partial {
        let short = match (ret, info.given) {
            (Ret::Int(n), Some(g)) => (*n as usize) < g,
            _ => false,
        };
        if short != p {
            return false;
        }
    }
    true
}

fn exc_matches(want: &str, exc: &str, errno: Option<i32>) -> bool {
    want == exc
        || (want == "OSError" && errno.is_some())
        || (want == "ConnectionError"
            && matches!(
                exc,
                "ConnectionRefusedError"
                    | "ConnectionResetError"
                    | "ConnectionAbortedError"
                    | "BrokenPipeError"
            ))
}

fn leaf_met(c: &Cond, f: &Facts, _d: &Decoded, ctx: &Ctx, model: &LabModel) -> Option<u64> {
    let now = model.last_seq;
    let sel_of = |key: &Option<SockId>, sel: &Sel| match key {
        Some(s) => ctx.selects(*s, sel),
        None => sel.label.is_none(),
    };
    match c {
        Cond::Lab {
            sel,
            when: When::Ever,
            count,
            ..
        }
        | Cond::Kernel {
            sel,
            when: When::Ever,
            count,
            ..
        } => {
            let mut seqs: Vec<u64> = f
                .first
                .iter()
                .filter(|(k, _)| sel_of(k, sel))
                .map(|(_, s)| *s)
                .collect();
            seqs.sort_unstable();
            seqs.get(*count as usize - 1).copied()
        }
        Cond::Lab {
            sel,
            when: When::Now,
            count,
            state,
        } => {
            let n = model
                .socks
                .values()
                .filter(|r| ctx.selects(r.id, sel) && r.lab.matches_name(state))
                .count();
            (n >= *count as usize).then_some(now)
        }
        Cond::Kernel {
            sel,
            when: When::Now,
            count,
            state,
        } => (kernel_now(ctx, model, sel, *state) >= *count as usize).then_some(now),
        Cond::Queue {
            sel,
            when: When::Ever,
            ..
        }
        | Cond::Call { sel, .. }
        | Cond::Orphan {
            sel,
            when: When::Ever,
            ..
        } => {
            let orphan_any = matches!(c, Cond::Orphan { .. });
            f.first
                .iter()
                .filter(|(k, _)| match k {
                    None if orphan_any => sel.label.is_none() && sel.owner == OwnerSel::Any,
                    // A call's owner was checked when it was fed.
                    Some(s) if matches!(c, Cond::Call { .. }) => sel
                        .label
                        .as_ref()
                        .is_none_or(|l| ctx.socks.get(s).is_some_and(|i| i.labels.contains(l))),
                    k => sel_of(k, sel),
                })
                .map(|(_, s)| *s)
                .min()
        }
        Cond::Queue {
            sel,
            queue,
            min,
            when: When::Now,
        } => model
            .live()
            .any(|r| ctx.selects(r.id, sel) && queue_value(r, *queue) >= *min)
            .then_some(now),
        Cond::Orphan {
            sel,
            state,
            when: When::Now,
            ..
        } => {
            let port = match c {
                Cond::Orphan { port: Some(p), .. } => p.trim().parse::<u16>().ok(),
                _ => None,
            };
            model
                .orphans
                .values()
                .any(|o| {
                    o.state == *state
                        && port
                            .is_none_or(|p| o.tuple.local.port() == p || o.tuple.remote.port() == p)
                        && match o.origin {
                            Some(s) => ctx.selects(s, sel),
                            None => sel.label.is_none() && sel.owner == OwnerSel::Any,
                        }
                })
                .then_some(now)
        }
        Cond::Data {
            sel,
            bytes,
            contains,
            total_at_least,
            ..
        } => {
            let picked = |k: &SockId| ctx.selects(*k, sel);
            let mut at = 0;
            if bytes.is_some() {
                at = at.max(
                    f.first
                        .iter()
                        .filter(|(k, _)| k.is_some_and(|k| picked(&k)))
                        .map(|(_, s)| *s)
                        .min()?,
                );
            }
            if contains.is_some() {
                at = at.max(
                    f.found
                        .iter()
                        .filter(|(k, _)| picked(k))
                        .map(|(_, s)| *s)
                        .min()?,
                );
            }
            if let Some(n) = total_at_least {
                let mine: Vec<&(u64, Option<u64>, u64)> = f
                    .total
                    .iter()
                    .filter(|(k, _)| picked(k))
                    .map(|(_, t)| t)
                    .collect();
                let alone = mine.iter().filter_map(|t| t.1).min();
                let sum: u64 = mine.iter().map(|t| t.0).sum();
                let t = match alone {
                    Some(s) => s,
                    None if sum >= *n => mine.iter().map(|t| t.2).max()?,
                    None => return None,
                };
                at = at.max(t);
            }
            Some(at)
        }
        Cond::Peer {
            got, said, measure, ..
        } => {
            let mut at = 0;
            for (want, have) in [
                (got.is_some(), f.got),
                (said.is_some(), f.said),
                (measure.is_some(), f.measure),
            ] {
                if want {
                    at = at.max(have?);
                }
            }
            Some(at)
        }
        Cond::All(_) | Cond::Any(_) | Cond::Seq(_) => None,
    }
}

pub(super) fn queue_value(r: &crate::engine::model::SockRow, q: Queue) -> u32 {
    match q {
        Queue::Accept => r.accept_q.unwrap_or(0),
        Queue::Recv => r.recv_q,
        Queue::Send => r.send_q,
    }
}

/// Selected sockets in `state` now, counting a closed socket's descriptor-less entry.
pub(super) fn kernel_now(
    ctx: &Ctx,
    model: &LabModel,
    sel: &Sel,
    state: crate::engine::types::TcpState,
) -> usize {
    let mut ids: Vec<SockId> = model
        .live()
        // A socket the program closed has no kernel state of its own, even
        // if the observation saying so has not arrived yet.
        .filter(|r| ctx.selects(r.id, sel) && r.kernel == Some(state) && r.lab != LabState::Closed)
        .map(|r| r.id)
        .collect();
    for o in model.orphans.values() {
        if let Some(s) = o.origin
            && o.state == state
            && ctx.selects(s, sel)
            && !ctx.socks.get(&s).is_some_and(|i| i.was_listener)
        {
            ids.push(s);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids.len()
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

impl Ctx {
    pub(super) fn newest_sock(&self, sel: &Sel) -> Option<SockId> {
        self.newest(sel)
    }
    pub(super) fn selects_sock(&self, sock: SockId, sel: &Sel) -> bool {
        self.selects(sock, sel)
    }
    pub(super) fn has_peer(&self, name: &str) -> bool {
        self.peers.iter().any(|p| p == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_len_reads_send_arguments() {
        assert_eq!(given_len("cli.send(b'hello\\n')"), Some(6));
        assert_eq!(given_len("cli.send(b'x' * 100000)"), Some(100000));
        assert_eq!(given_len("cli.send(3 * b\"ab\")"), Some(6));
        assert_eq!(given_len("cli.send(b'xxxx…' (100000 bytes))"), Some(100000));
        assert_eq!(given_len("cli.send(<10000000 bytes>)"), Some(10000000));
        assert_eq!(given_len("c.send(b'xxxxxxxx'…(100 bytes))"), Some(100));
        assert_eq!(given_len("cli.sendall(b'x')"), None);
        assert_eq!(given_len("cli.send(data)"), None);
    }
}
