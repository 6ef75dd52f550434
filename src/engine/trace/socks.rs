//! The traced programs' sockets as lab sockets: one [`SockId`] per kernel
//! socket (inode), shared by every descriptor that names it (after `fork`
//! or `dup`), closed when the last one goes. Their kernel state and queues
//! come from sock_diag, matched by inode, since the lab holds no descriptor
//! to ask `TCP_INFO`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use super::sink::Sink;
use crate::engine::diag::{InodeRow, table_by_inode};
use crate::engine::event::EventKind;
use crate::engine::types::*;

pub struct TSock {
    pub id: SockId,
    pub family: Family,
    pub ty: SockType,
    pub lab: LabState,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    pub kernel: Option<TcpState>,
    pub queues: (u32, u32, Option<u32>, Option<u32>),
    /// (process, descriptor) pairs that name this socket.
    pub holders: HashSet<(u32, i32)>,
    pub shut_wr: bool,
}

#[derive(Default)]
pub struct Socks {
    pub by_inode: HashMap<u64, TSock>,
}

impl Socks {
    pub fn get(&mut self, id: SockId) -> Option<&mut TSock> {
        self.by_inode.values_mut().find(|s| s.id == id)
    }

    /// A new lab socket for a kernel socket the program just got.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        out: &Sink,
        inode: u64,
        holder: (u32, i32),
        owner: Owner,
        family: Family,
        ty: SockType,
        lab: LabState,
    ) -> SockId {
        if let Some(s) = self.by_inode.get_mut(&inode) {
            s.holders.insert(holder);
            return s.id;
        }
        let id = out.sh.new_sock_id();
        out.emit(EventKind::SocketCreated {
            sock: id,
            no: out.sh.sock_no(id),
            fd: holder.1,
            family,
            ty,
            owner,
        });
        out.emit(EventKind::SocketLabel {
            sock: id,
            label: format!("fd {}", holder.1),
        });
        if lab != LabState::Created {
            out.emit(EventKind::LabState {
                sock: id,
                from: LabState::Created,
                to: lab,
            });
        }
        self.by_inode.insert(
            inode,
            TSock {
                id,
                family,
                ty,
                lab,
                local: None,
                peer: None,
                kernel: None,
                queues: (0, 0, None, None),
                holders: [holder].into_iter().collect(),
                shut_wr: false,
            },
        );
        id
    }

    pub fn set_lab(&mut self, out: &Sink, id: SockId, to: LabState) {
        if let Some(s) = self.get(id)
            && s.lab != to
        {
            let from = s.lab;
            s.lab = to;
            out.emit(EventKind::LabState { sock: id, from, to });
        }
    }

    /// A descriptor stopped naming its socket; the socket closes with its last one.
    pub fn drop_holder(&mut self, out: &Sink, holder: (u32, i32)) {
        let Some(inode) = self
            .by_inode
            .iter()
            .find(|(_, s)| s.holders.contains(&holder))
            .map(|(i, _)| *i)
        else {
            return;
        };
        let Some(s) = self.by_inode.get_mut(&inode) else {
            return;
        };
        s.holders.remove(&holder);
        if s.holders.is_empty()
            && let Some(s) = self.by_inode.remove(&inode)
        {
            close_sock(out, s);
        }
    }

    /// Every descriptor of a process that ended.
    pub fn drop_process(&mut self, out: &Sink, pid: u32) {
        let held: Vec<(u32, i32)> = self
            .by_inode
            .values()
            .flat_map(|s| s.holders.iter().copied())
            .filter(|(p, _)| *p == pid)
            .collect();
        for h in held {
            self.drop_holder(out, h);
        }
    }

    /// A forked child holds what its parent held.
    pub fn fork(&mut self, parent: u32, child: u32) {
        for s in self.by_inode.values_mut() {
            let fds: Vec<i32> = s
                .holders
                .iter()
                .filter(|(p, _)| *p == parent)
                .map(|(_, fd)| *fd)
                .collect();
            for fd in fds {
                s.holders.insert((child, fd));
            }
        }
    }

    /// Read the kernel's table and report what changed for every traced socket.
    pub fn observe(&mut self, out: &Sink) {
        if self.by_inode.is_empty() {
            return;
        }
        // Only the tables that can hold one of them: each read is a walk of
        // the kernel's whole hash table for that protocol and family.
        let mut rows: HashMap<u64, (InodeRow, bool)> = HashMap::new();
        for udp in [false, true] {
            let ty = if udp {
                SockType::Dgram
            } else {
                SockType::Stream
            };
            let families: Vec<Family> = [Family::V4, Family::V6]
                .into_iter()
                .filter(|f| self.by_inode.values().any(|s| s.ty == ty && s.family == *f))
                .collect();
            if families.is_empty() {
                continue;
            }
            if let Ok(t) = table_by_inode(udp, &families) {
                rows.extend(t.into_iter().map(|r| (r.inode, (r, udp))));
            }
        }
        for (inode, s) in self.by_inode.iter_mut() {
            let Some((row, udp)) = rows.get(inode) else {
                continue;
            };
            let local = (row.local.port() != 0).then_some(row.local);
            let peer = (row.remote.port() != 0).then_some(row.remote);
            if (local, peer) != (s.local, s.peer) {
                s.local = local;
                s.peer = peer;
                out.emit(EventKind::Endpoints {
                    sock: s.id,
                    local,
                    peer,
                });
            }
            let state = if *udp {
                None
            } else {
                TcpState::from_u8(row.state)
            };
            if state != s.kernel {
                let from = s.kernel;
                s.kernel = state;
                out.emit(EventKind::KernelState {
                    sock: s.id,
                    from,
                    to: state,
                });
                if s.lab == LabState::Connecting && state == Some(TcpState::Established) {
                    s.lab = LabState::Connected;
                    out.emit(EventKind::LabState {
                        sock: s.id,
                        from: LabState::Connecting,
                        to: LabState::Connected,
                    });
                }
            }
            let q = if state == Some(TcpState::Listen) {
                (0, 0, Some(row.recv_q), Some(row.send_q))
            } else {
                (row.recv_q, row.send_q, None, None)
            };
            if q != s.queues {
                s.queues = q;
                out.emit(EventKind::Queues {
                    sock: s.id,
                    recv_q: q.0,
                    send_q: q.1,
                    accept_q: q.2,
                    backlog: q.3,
                });
            }
        }
    }

    /// Close every socket (the trace is over).
    pub fn close_all(&mut self, out: &Sink) {
        for (_, s) in std::mem::take(&mut self.by_inode) {
            close_sock(out, s);
        }
    }
}

fn close_sock(out: &Sink, s: TSock) {
    // Only now: while a descriptor holds it, the connection is not "(no fd)".
    if let (Some(l), Some(p), SockType::Stream) = (s.local, s.peer, s.ty) {
        out.remember_tuple(l, p, s.id);
    }
    if s.lab != LabState::Closed {
        out.emit(EventKind::LabState {
            sock: s.id,
            from: s.lab,
            to: LabState::Closed,
        });
    }
    out.emit(EventKind::SocketClosed { sock: s.id });
    // The kernel observer shows what is left without a descriptor (TIME_WAIT).
    out.poke_observer();
}

pub type SharedSocks = Arc<std::sync::Mutex<Socks>>;
