//! A traced call's end: what it returned, as lab events (CallDone or
//! CallFailed with the errno and the lab's explanation, the sockets it made
//! or closed, their lab state, the bytes it moved read from the program).

use bytes::Bytes;
use nix::unistd::Pid;

use super::decode::{self, KEEP};
use super::lock;
use super::table::Kind;
use super::tracer::{CallView, Tracer};
use crate::engine::error::CallError;
use crate::engine::event::EventKind;
use crate::engine::types::*;

pub(super) fn report(t: &mut Tracer, tgid: u32, c: &CallView<'_>, rval: i64) {
    let a = c.args;
    let fd = a[0] as i32;
    let pid = Pid::from_raw(tgid as i32);
    if c.silent {
        if rval >= 0 {
            dup(t, tgid, c, rval as i32);
        }
        return;
    }
    if rval < 0 {
        let errno = (-rval) as i32;
        if c.row.kind == Kind::Close {
            // The descriptor is gone even when close fails.
            lock(&t.socks).drop_holder(&t.ctl.out, (tgid, fd));
        }
        if c.row.kind == Kind::Connect && errno == libc::EINPROGRESS {
            set_lab(t, c.sock, LabState::Connecting);
        }
        let explain = match c.deny {
            Some(d) => d.explain(),
            None => t.explain(c.row.kind, c.sock, errno, c.addr.and_then(|a| a.inet())),
        };
        if let Some(d) = c.deny {
            t.ctl.out.emit(EventKind::Notice {
                note: d.notice(&t.owner_of(tgid).to_string(), c.text()),
            });
        }
        t.ctl.out.emit(EventKind::CallFailed {
            call: c.id,
            sock: c.sock,
            error: CallError::os(errno, explain),
        });
        return;
    }
    let ret = match c.row.kind {
        Kind::Socket => {
            let newfd = rval as i32;
            let (f, ty) = match kinds(a[0], a[1]) {
                Some(k) => k,
                None => return done(t, c, Ret::Int(rval)),
            };
            match inode(tgid, newfd) {
                Some(i) => {
                    let id = lock(&t.socks).create(
                        &t.ctl.out,
                        i,
                        (tgid, newfd),
                        t.owner_of(tgid),
                        f,
                        ty,
                        LabState::Created,
                    );
                    t.set_fd(tgid, newfd, Some(i));
                    Ret::Socket(id)
                }
                None => Ret::Int(rval),
            }
        }
        Kind::Accept => {
            let newfd = rval as i32;
            let (f, ty) = {
                let mut s = lock(&t.socks);
                c.sock
                    .and_then(|id| s.get(id))
                    .map(|s| (s.family, s.ty))
                    .unwrap_or((Family::V4, SockType::Stream))
            };
            let peer = decode::read_sockaddr_out(pid, a[1], a[2]).and_then(|s| s.inet());
            match inode(tgid, newfd) {
                Some(i) => {
                    let id = lock(&t.socks).create(
                        &t.ctl.out,
                        i,
                        (tgid, newfd),
                        t.owner_of(tgid),
                        f,
                        ty,
                        LabState::Connected,
                    );
                    t.set_fd(tgid, newfd, Some(i));
                    match peer {
                        Some(p) => Ret::Accepted(id, p),
                        None => Ret::Socket(id),
                    }
                }
                None => Ret::Int(rval),
            }
        }
        Kind::Bind => {
            set_lab(t, c.sock, LabState::Bound);
            Ret::Int(rval)
        }
        Kind::Listen => {
            set_lab(t, c.sock, LabState::Listening);
            Ret::Int(rval)
        }
        Kind::Connect => {
            set_lab(t, c.sock, LabState::Connected);
            Ret::Int(rval)
        }
        Kind::Shutdown => {
            let how = Shut::from_how(a[1] as i64).unwrap_or(Shut::RdWr);
            if let Some(id) = c.sock {
                let mut s = lock(&t.socks);
                if let Some(ts) = s.get(id) {
                    ts.shut_wr |= how != Shut::Rd;
                }
                let to = match s.get(id).map(|s| s.lab) {
                    Some(LabState::HalfClosed(prev)) => LabState::HalfClosed(prev.merge(how)),
                    _ => LabState::HalfClosed(how),
                };
                s.set_lab(&t.ctl.out, id, to);
            }
            Ret::Int(rval)
        }
        Kind::Close => {
            done(t, c, Ret::Int(rval));
            lock(&t.socks).drop_holder(&t.ctl.out, (tgid, fd));
            return;
        }
        Kind::Name => match decode::read_sockaddr_out(pid, a[1], a[2]).and_then(|s| s.inet()) {
            Some(addr) => Ret::Addr(addr),
            None => Ret::Int(rval),
        },
        Kind::Send => {
            let data = match c.pre {
                // Read before the call (it was shown then): the first bytes the kernel took.
                Some(pre) => pre[..pre.len().min(rval as usize)].to_vec(),
                None => sent_bytes(pid, c, rval as usize),
            };
            if let Some(sock) = c.sock {
                let addr = c.addr.and_then(|a| a.inet());
                t.ctl.out.emit(EventKind::Data {
                    sock,
                    dir: Dir::Sent,
                    data: Bytes::from(data),
                    len: rval as usize,
                    addr,
                });
            }
            Ret::Int(rval)
        }
        Kind::Recv => {
            let data = Bytes::from(received_bytes(pid, c, rval as usize));
            let from = match c.row.name {
                "recvfrom" => decode::read_sockaddr_out(pid, a[4], a[5]).and_then(|s| s.inet()),
                _ => None,
            };
            if let Some(sock) = c.sock
                && rval > 0
            {
                t.ctl.out.emit(EventKind::Data {
                    sock,
                    dir: Dir::Received,
                    data: data.clone(),
                    len: rval as usize,
                    addr: from,
                });
            }
            match from {
                Some(f) => Ret::Datagram(data, f),
                None => Ret::Bytes(data),
            }
        }
        Kind::SocketPair | Kind::SockOpt | Kind::Wait | Kind::Control | Kind::Dup => Ret::Int(rval),
    };
    done(t, c, ret);
}

fn done(t: &Tracer, c: &CallView<'_>, ret: Ret) {
    t.ctl.out.emit(EventKind::CallDone {
        call: c.id,
        sock: c.sock,
        ret,
    });
}

fn set_lab(t: &Tracer, sock: Option<SockId>, to: LabState) {
    if let Some(id) = sock {
        lock(&t.socks).set_lab(&t.ctl.out, id, to);
    }
}

fn kinds(family: u64, ty: u64) -> Option<(Family, SockType)> {
    super::tracer::kinds(family as i64, ty as i64)
}

fn inode(tgid: u32, fd: i32) -> Option<u64> {
    super::tracer::inode_of(tgid, fd)
}

/// The bytes a send-like call moved (its first `n`), capped at [`KEEP`].
fn sent_bytes(pid: Pid, c: &CallView<'_>, n: usize) -> Vec<u8> {
    let a = c.args;
    match c.row.name {
        "sendmsg" => match decode::read_msghdr(pid, a[1]) {
            Some((_, _, iov, cnt)) => decode::gather(pid, &decode::read_iov(pid, iov, cnt), n),
            None => Vec::new(),
        },
        "writev" => decode::gather(pid, &decode::read_iov(pid, a[1], a[2]), n),
        _ => decode::read_mem(pid, a[1], n.min(KEEP)),
    }
}

/// The bytes a recv-like call wrote into the program's buffers.
fn received_bytes(pid: Pid, c: &CallView<'_>, n: usize) -> Vec<u8> {
    let a = c.args;
    match c.row.name {
        "recvmsg" => match decode::read_msghdr(pid, a[1]) {
            Some((_, _, iov, cnt)) => decode::gather(pid, &decode::read_iov(pid, iov, cnt), n),
            None => Vec::new(),
        },
        "readv" => decode::gather(pid, &decode::read_iov(pid, a[1], a[2]), n),
        _ => decode::read_mem(pid, a[1], n.min(KEEP)),
    }
}

/// `dup`, `dup2`, `dup3`: the new descriptor names what the old one named;
/// whatever it named before is closed.
fn dup(t: &mut Tracer, tgid: u32, c: &CallView<'_>, newfd: i32) {
    let old = c.args[0] as i32;
    if newfd == old {
        return;
    }
    if t.lab_fd(tgid, newfd).is_some() {
        lock(&t.socks).drop_holder(&t.ctl.out, (tgid, newfd));
    }
    t.forget_fd(tgid, newfd);
    if let Some(i) = t.lab_fd(tgid, old) {
        if let Some(s) = lock(&t.socks).by_inode.get_mut(&i) {
            s.holders.insert((tgid, newfd));
        }
        t.set_fd(tgid, newfd, Some(i));
    }
}
