//! Built-in peers: the other end of a conversation, on real sockets that the
//! lab owns and shows like the student's (owner = the peer's name).
//!
//! Peers make their notable calls (accept, connect, close) with call events,
//! and their routine reads and writes quietly (bytes are still reported).

mod clients;
mod servers;
mod spec;

pub use spec::{CLIENT_OPTS, KINDS, PeerKind, PeerSpec, Role, kind_info};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use super::error::{CallError, Note};
use super::event::{EventKind, PeerNote};
use super::ops::{self, Purpose};
use super::shared::{PeerHandle, Shared};
use super::sock::SockEntry;
use super::types::*;

/// Everything a peer task needs.
#[derive(Clone)]
pub(crate) struct PeerCtx {
    pub sh: Arc<Shared>,
    pub name: String,
    pub owner: Owner,
    pub spec: PeerSpec,
    pub addr: SocketAddr,
    pub family: Family,
}

impl PeerCtx {
    pub fn note(&self, note: PeerNote) {
        self.sh.emit(EventKind::Peer {
            peer: self.name.clone(),
            note,
        });
    }

    /// A call of the peer failed: Python's line, and what it means (a note
    /// the layers above put into words).
    pub fn error(&self, e: &CallError) {
        self.note(PeerNote::Error {
            message: e.python(),
            explain: e.explain.clone(),
        });
    }

    pub fn measure(&self, name: &str, value: f64, unit: &str) {
        self.note(PeerNote::Measure {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
        });
    }

    /// The peer cannot go on: say why, close its sockets and take it off
    /// the list of running peers, so nothing waits on a peer that is gone.
    pub fn fail(&self, e: &CallError) {
        self.error(e);
        self.sh
            .stop_peer_because(&self.name, Note::verbatim(e.python()));
    }

    /// Run another task that belongs to this peer (stopped with it).
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        let t = tokio::spawn(fut);
        self.sh.add_peer_task(&self.name, t.abort_handle());
    }

    pub async fn quiet(&self, op: Op) -> Result<Ret, CallError> {
        ops::run_quiet(&self.sh, &self.owner, op, crate::engine::event::DATA_KEEP).await
    }

    /// A quiet call that keeps only the first `preview` bytes of each chunk.
    pub async fn quiet_glimpse(&self, op: Op, preview: usize) -> Result<Ret, CallError> {
        ops::run_quiet(&self.sh, &self.owner, op, preview).await
    }

    pub async fn logged(&self, op: Op) -> Result<Ret, CallError> {
        ops::run_logged(&self.sh, &self.owner, op).await
    }

    /// An OS socket the lab does not show (yet).
    pub fn raw_socket(&self, ty: SockType) -> Result<socket2::Socket, CallError> {
        let domain = match self.family {
            Family::V4 => socket2::Domain::IPV4,
            Family::V6 => socket2::Domain::IPV6,
        };
        let (t, p) = match ty {
            SockType::Stream => (socket2::Type::STREAM, socket2::Protocol::TCP),
            SockType::Dgram => (socket2::Type::DGRAM, socket2::Protocol::UDP),
        };
        let s = socket2::Socket::new(domain, t, Some(p))
            .map_err(|e| CallError::os(e.raw_os_error().unwrap_or(libc::EIO), ""))?;
        s.set_nonblocking(true)
            .map_err(|e| CallError::os(e.raw_os_error().unwrap_or(libc::EIO), ""))?;
        Ok(s)
    }

    pub fn new_socket(&self, ty: SockType) -> Result<SockId, CallError> {
        ops::check_limit(&self.sh, &self.owner)?;
        let s = self.raw_socket(ty)?;
        let entry = ops::adopt(&self.sh, &self.owner, self.family, ty, s)?;
        Ok(entry.id)
    }

    /// Show a probe socket in the lab, under this peer, with a label.
    pub fn adopt(&self, probe: SockEntry, label: &str) -> Result<Arc<SockEntry>, CallError> {
        ops::check_limit(&self.sh, &self.owner)?;
        let entry = ops::adopt(&self.sh, &self.owner, self.family, probe.ty, probe.fd)?;
        self.label(entry.id, label);
        Ok(entry)
    }

    pub fn label(&self, sock: SockId, label: &str) {
        self.sh.set_label(sock, label);
    }
}

/// Split `host:port` / `[v6]:port`.
pub(crate) fn parse_addr(addr: &str) -> Result<AddrArg, Note> {
    let bad = || Note::new("lab.peer_bad_addr").with("addr", addr);
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(bad)?;
        (h, p)
    } else {
        addr.rsplit_once(':').ok_or_else(bad)?
    };
    let port: i64 = port.parse().map_err(|_| bad())?;
    Ok(AddrArg {
        host: host.to_string(),
        port,
    })
}

pub(crate) fn start(sh: &Arc<Shared>, spec: PeerSpec) -> Result<String, CallError> {
    spec.validate().map_err(CallError::lab_note)?;
    let info = kind_info(&spec.kind).ok_or_else(|| {
        CallError::lab_note(Note::new("lab.peer_unknown_kind").with("kind", &spec.kind))
    })?;
    if sh.peer_count() >= sh.cfg.max_peers {
        return Err(CallError::lab_note(
            Note::new("lab.peer_limit").with("max", sh.cfg.max_peers),
        ));
    }
    let arg = parse_addr(&spec.addr).map_err(CallError::lab_note)?;
    let family = if arg.host.contains(':') {
        Family::V6
    } else {
        Family::V4
    };
    let purpose = match info.role {
        Role::Server => Purpose::Bind,
        Role::Client => Purpose::Connect,
    };
    let addr = ops::resolve(sh, family, &arg, purpose, "peer")?;
    let base = spec.name.clone().unwrap_or_else(|| info.kind.to_string());
    let mut name = base.clone();
    let mut n = 2;
    while sh.has_peer(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    let ctx = PeerCtx {
        sh: sh.clone(),
        name: name.clone(),
        owner: Owner::peer(&name),
        spec: spec.clone(),
        addr,
        family,
    };
    sh.add_peer(
        &name,
        PeerHandle {
            kind: info.kind.to_string(),
            addr: addr.to_string(),
            tasks: Vec::new(),
        },
    );
    let started = match info.role {
        Role::Server => servers::start(&ctx, info.kind),
        Role::Client => clients::start(&ctx, info.kind),
    };
    if let Err(e) = started {
        sh.stop_peer(&name);
        return Err(e);
    }
    ctx.note(PeerNote::Started {
        kind: info.kind.to_string(),
        addr: addr.to_string(),
    });
    Ok(name)
}

/// Splits a byte stream into lines (without `\r\n`), keeping the partial rest.
#[derive(Default)]
pub(crate) struct LineBuf {
    buf: Vec<u8>,
}

impl LineBuf {
    pub fn push(&mut self, data: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(data);
        let mut lines = Vec::new();
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=i).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            lines.push(String::from_utf8_lossy(&line).into_owned());
        }
        // A peer sending an endless line must not grow memory without bound.
        if self.buf.len() > 64 * 1024 {
            let rest = std::mem::take(&mut self.buf);
            lines.push(String::from_utf8_lossy(&rest).into_owned());
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_forms() {
        assert_eq!(parse_addr("127.0.0.1:9000").unwrap().port, 9000);
        let v6 = parse_addr("[::1]:80").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 80));
        assert!(parse_addr("nope").is_err());
        assert!(parse_addr("1.2.3.4:x").is_err());
    }

    #[test]
    fn lines_split_across_chunks() {
        let mut lb = LineBuf::default();
        assert!(lb.push(b"LED O").is_empty());
        assert_eq!(lb.push(b"N\r\nPING\nx"), vec!["LED ON", "PING"]);
        assert_eq!(lb.push(b"\n"), vec!["x"]);
    }
}
