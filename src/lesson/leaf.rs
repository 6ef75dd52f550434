//! Feeding one event to a leaf condition, and asking whether it is met.

use crate::engine::event::{Event, EventKind, PeerNote};
use crate::engine::model::LabModel;
use crate::engine::types::{LabState, Ret, SockId};

use super::cond::{CallReq, Cond, OwnerSel, Queue, Sel, When};
use super::ctx::{CallInfo, Ctx};
use super::eval::{Decoded, Facts, note};

pub(super) fn feed_leaf(c: &Cond, f: &mut Facts, d: &Decoded, ev: &Event, ctx: &Ctx) {
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

pub(super) fn leaf_met(
    c: &Cond,
    f: &Facts,
    _d: &Decoded,
    ctx: &Ctx,
    model: &LabModel,
) -> Option<u64> {
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
