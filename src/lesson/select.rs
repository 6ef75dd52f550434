//! Socket selection for checks, read from the one [`LabModel`]: which
//! sockets a check's `socket`/`owner` names (by any name a socket has had),
//! whether a peer has started, how many bytes a `send` was given. The model
//! folds the events; nothing here keeps its own copy of them.

use std::net::SocketAddr;

use crate::engine::model::{LabModel, SockRow};
use crate::engine::types::{Owner, SockId};

use super::cond::{OwnerSel, Sel};
use super::format::unescape;

pub(super) fn owner_ok(owner: &Owner, sel: &OwnerSel) -> bool {
    match sel {
        OwnerSel::Any => true,
        OwnerSel::Student => owner.is_student(),
        OwnerSel::Peer(p) => matches!(owner, Owner::Peer(n) if n == p),
    }
}

/// Whether `sel` names socket `sock`.
pub(super) fn selects(model: &LabModel, sock: SockId, sel: &Sel) -> bool {
    let Some(s) = model.socks.get(&sock) else {
        return false;
    };
    owner_ok(&s.owner, &sel.owner)
        && sel.label.as_ref().is_none_or(|l| s.labels.contains(l))
        && sel.ident.allows(Some(sock))
        && sel
            .ident
            .peer_of
            .as_ref()
            .is_none_or(|of| is_peer_of(model, s, of))
        && sel.family.is_none_or(|f| s.family == f)
        && sel.ty.is_none_or(|t| s.ty == t)
        && sel.port.as_deref().is_none_or(|p| {
            let p = p.trim().parse::<u16>().ok();
            [s.local, s.peer]
                .iter()
                .flatten()
                .any(|a| Some(a.port()) == p)
        })
}

/// Whether `row` is the other end of a connection of a student socket named
/// `of` (by any name it has had): each one's local endpoint is the other's
/// peer. Two sockets of one lab on loopback see the same addresses; an
/// IPv4-mapped address is read as the IPv4 one.
pub(super) fn is_peer_of(model: &LabModel, row: &SockRow, of: &str) -> bool {
    let canon = |a: Option<SocketAddr>| a.map(|a| (a.ip().to_canonical(), a.port()));
    let (Some(local), Some(peer)) = (canon(row.local), canon(row.peer)) else {
        return false;
    };
    model.socks.values().any(|o| {
        o.id != row.id
            && o.owner.is_student()
            && o.labels.iter().any(|l| l == of)
            && canon(o.local) == Some(peer)
            && canon(o.peer) == Some(local)
    })
}

/// The newest socket the selection names (for "now: …" in messages).
pub(super) fn newest(model: &LabModel, sel: &Sel) -> Option<SockId> {
    model
        .socks
        .keys()
        .copied()
        .filter(|id| selects(model, *id, sel))
        .max()
}

/// The socket has been a listener at some point.
pub(super) fn was_listener(model: &LabModel, sock: SockId) -> bool {
    model.socks.get(&sock).is_some_and(|s| s.was_listener)
}

pub(super) fn has_peer(model: &LabModel, name: &str) -> bool {
    model.peers.iter().any(|p| p == name)
}

/// How many bytes a `send(b'…')` / `send(b'…' * N)` call was given, read from
/// the call's text (the event log does not carry the argument's length).
pub(super) fn given_len(text: &str) -> Option<usize> {
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
