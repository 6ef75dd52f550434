//! One lab socket: the real OS socket plus what the lab knows about it.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard};

use std::time::Duration;
use tokio::io::unix::AsyncFd;

use socket2::Socket;

use super::types::*;

/// What the lab tracks about a socket besides the descriptor.
#[derive(Debug)]
pub(crate) struct SockState {
    pub lab: LabState,
    pub label: Option<String>,
    /// Python's timeout: None blocks forever, Some(0) is non-blocking.
    pub timeout: Option<Duration>,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
    /// The call currently waiting on this socket.
    pub pending: Option<CallId>,
    /// Last values read from the kernel, to report only changes.
    pub kernel: Option<TcpState>,
    pub queues: (u32, u32, Option<u32>, Option<u32>),
    pub shut: Option<Shut>,
    /// `shutdown()` was called before the socket was connected: it failed
    /// with ENOTCONN, but Linux keeps it (a later send is EPIPE).
    pub shut_early: bool,
    /// A non-blocking connect returned EINPROGRESS and has not been resolved.
    pub connecting: bool,
    pub closed: bool,
    /// When this socket last sent bytes (µs), for the device peer's latency.
    pub last_sent_us: u64,
}

pub(crate) struct SockEntry {
    pub id: SockId,
    /// The number in its `#N` name (see `Shared::sock_no`).
    pub no: u32,
    pub owner: Owner,
    pub family: Family,
    pub ty: SockType,
    pub raw_fd: i32,
    /// Always in O_NONBLOCK mode; Python's blocking is done by waiting for
    /// readiness (see `ops::wait_ready`).
    pub fd: Socket,
    st: Mutex<SockState>,
    /// A reactor registration kept once the socket is connected or listening
    /// (see `ops::ready`); dropped at close so its duplicate descriptor does
    /// not keep the socket open.
    pub reg: Mutex<Option<Arc<AsyncFd<Socket>>>>,
    /// Becomes true at close: every wait on this socket ends, so no task keeps
    /// a duplicate descriptor (which would keep the connection open: no FIN).
    closing: tokio::sync::watch::Sender<bool>,
}

impl SockEntry {
    pub fn new(
        id: SockId,
        no: u32,
        owner: Owner,
        family: Family,
        ty: SockType,
        sock: Socket,
    ) -> std::io::Result<SockEntry> {
        sock.set_nonblocking(true)?;
        let raw_fd = sock.as_raw_fd();
        Ok(SockEntry {
            id,
            no,
            owner,
            family,
            ty,
            raw_fd,
            fd: sock,
            reg: Mutex::new(None),
            closing: tokio::sync::watch::Sender::new(false),
            st: Mutex::new(SockState {
                lab: LabState::Created,
                label: None,
                timeout: None,
                local: None,
                peer: None,
                pending: None,
                kernel: None,
                queues: (0, 0, None, None),
                shut: None,
                shut_early: false,
                connecting: false,
                closed: false,
                last_sent_us: 0,
            }),
        })
    }

    pub fn st(&self) -> MutexGuard<'_, SockState> {
        // A poisoned lock means a task panicked mid-update; the state is still
        // the best we have, and the lab must keep going.
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// At close: end every wait and drop the kept reactor registration.
    pub fn unregister(&self) {
        self.closing.send_replace(true);
        self.reg.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Resolves when the socket is being closed.
    pub async fn closed(&self) {
        let mut rx = self.closing.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    pub fn sock(&self) -> &Socket {
        &self.fd
    }

    pub fn name(&self) -> String {
        match &self.st().label {
            Some(l) => l.clone(),
            None => format!("#{}", self.no),
        }
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.sock().local_addr().ok().and_then(|a| a.as_socket())
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.sock().peer_addr().ok().and_then(|a| a.as_socket())
    }
}
