//! What every op reports as it changes a socket: lab states, endpoints,
//! bytes moved, and new sockets joining the lab.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use socket2::Socket;

use super::super::error::{CallError, Note};
use super::super::event::{DATA_KEEP, EventKind};
use super::super::shared::Shared;
use super::super::sock::SockEntry;
use super::super::types::*;
use super::errno_of;

pub(crate) fn set_lab(sh: &Shared, entry: &SockEntry, to: LabState) {
    let from = {
        let mut st = entry.st();
        let from = st.lab;
        st.lab = to;
        from
    };
    if from != to {
        sh.emit(EventKind::LabState {
            sock: entry.id,
            from,
            to,
        });
    }
}

/// Report the endpoints if they changed, and remember connections.
pub(crate) fn refresh_endpoints(sh: &Shared, entry: &SockEntry) {
    let local = entry
        .local_addr()
        .filter(|a| a.port() != 0 || entry.ty == SockType::Dgram);
    let peer = entry.peer_addr();
    let changed = {
        let mut st = entry.st();
        let changed = st.local != local || st.peer != peer;
        st.local = local;
        st.peer = peer;
        changed
    };
    if changed {
        sh.emit(EventKind::Endpoints {
            sock: entry.id,
            local,
            peer,
        });
    }
    if let (Some(l), Some(p), SockType::Stream) = (local, peer, entry.ty) {
        sh.remember_tuple(l, p, entry.id);
    }
    super::super::capture::endpoints_changed(sh, None);
}

/// Report bytes moved (the first `preview` bytes kept, the length exact).
pub(crate) fn data_event(
    sh: &Shared,
    sock: SockId,
    dir: Dir,
    data: &[u8],
    addr: Option<SocketAddr>,
    preview: usize,
) {
    if dir == Dir::Sent
        && let Some(e) = sh.get_sock(sock)
    {
        e.st().last_sent_us = sh.now_us();
    }
    let keep = &data[..data.len().min(preview.min(DATA_KEEP))];
    sh.emit(EventKind::Data {
        sock,
        dir,
        data: Bytes::copy_from_slice(keep),
        len: data.len(),
        addr,
    });
}

/// Create and register a lab socket around an OS socket.
pub(crate) fn adopt(
    sh: &Shared,
    owner: &Owner,
    family: Family,
    ty: SockType,
    sock: Socket,
) -> Result<Arc<SockEntry>, CallError> {
    let id = sh.new_sock_id();
    let entry = SockEntry::new(id, sh.sock_no(id), owner.clone(), family, ty, sock)
        .map_err(|e| CallError::os(errno_of(&e), Note::new("explain.register_failed")))?;
    let entry = Arc::new(entry);
    sh.insert_sock(entry.clone());
    sh.emit(EventKind::SocketCreated {
        sock: id,
        no: entry.no,
        fd: entry.raw_fd,
        family,
        ty,
        owner: owner.clone(),
    });
    Ok(entry)
}

/// `('0.0.0.0', 0)` or `('::', 0)`, where the kernel gave no address.
pub(super) fn unspecified(family: Family) -> SocketAddr {
    match family {
        Family::V4 => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
        Family::V6 => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0),
    }
}
