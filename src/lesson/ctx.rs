//! What the event log says about sockets, calls and peers: the context
//! every check of a lesson reads when it selects sockets.

use std::collections::HashMap;

use crate::engine::event::{Event, EventKind, PeerNote};
use crate::engine::model::LabModel;
use crate::engine::types::{CallId, LabState, Owner, SockId};

use super::cond::{OwnerSel, Sel};
use super::format::unescape;

#[derive(Clone, Debug)]
pub(super) struct SockInfo {
    pub(super) owner: Owner,
    pub(super) labels: Vec<String>,
    pub(super) was_listener: bool,
}

#[derive(Clone, Debug)]
pub(super) struct CallInfo {
    pub(super) sock: Option<SockId>,
    pub(super) owner: Owner,
    pub(super) method: String,
    pub(super) pending: bool,
    pub(super) given: Option<usize>,
}

/// What the log says about sockets, calls and peers, shared by every check
/// of a lesson.
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    pub(super) socks: HashMap<SockId, SockInfo>,
    pub(super) calls: HashMap<CallId, CallInfo>,
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

    pub(super) fn owner_ok(owner: &Owner, sel: &OwnerSel) -> bool {
        match sel {
            OwnerSel::Any => true,
            OwnerSel::Student => owner.is_student(),
            OwnerSel::Peer(p) => matches!(owner, Owner::Peer(n) if n == p),
        }
    }

    pub(super) fn selects(&self, sock: SockId, sel: &Sel) -> bool {
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
