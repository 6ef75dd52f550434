//! The wire: every segment of the lab's connections, captured on loopback.
//!
//! An AF_PACKET socket bound to `lo` sees each frame once
//! (`PACKET_IGNORE_OUTGOING`; loopback otherwise shows everything twice). A
//! classic BPF filter in the kernel keeps only frames with one of the lab's
//! ports and cuts them to [`SNAP`] bytes; the filter is replaced whenever the
//! lab's ports change (sockets bound, connected, a connect about to be made),
//! and the ports are checked again here. Each kept frame is parsed
//! (etherparse), numbered relative to its conversation as Wireshark does
//! ([`conv`]), matched to the lab sockets at each end, and reported as an
//! [`EventKind::Segment`](super::EventKind::Segment) in the one event log.
//!
//! Nothing here is inferred: without CAP_NET_RAW the engine reports
//! [`CaptureStatus::Unavailable`] once and there are no segments at all.
//!
//! Bounded: at most [`MAX_BATCH`] frames per wake-up, [`SEG_INFLIGHT`]
//! segments waiting in the event channel (more are counted as dropped),
//! [`RING`] raw frames kept for `export_pcap`, and
//! [`conv::MAX_CONVERSATIONS`] conversations. Frames come through a
//! [`PacketSource`], live or replayed from a pcap file, so the logic after
//! it is the same for both and is tested without a kernel.

mod bpf;
mod conv;
mod parse;
mod pcap;
mod source;
mod wire;

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use socket2::Socket;
use tokio::task::AbortHandle;

use super::event::EventKind;
use super::shared::Shared;
use super::types::{Owner, SockType};

pub use source::{PacketSource, PcapSource, RawFrame};
pub use wire::*;

/// Bytes of each frame the kernel copies to the capture: Ethernet, IPv6 and
/// the largest TCP header, plus the payload preview.
pub const SNAP: usize = 14 + 40 + 60 + PREVIEW + 146;
/// The snap length written in pcap files (tcpdump's default).
pub const FILE_SNAPLEN: u32 = 262_144;
/// Raw frames kept for `export_pcap` (the oldest go first).
pub const RING: usize = 16384;
/// Frames handled per wake-up before other tasks get a turn.
pub const MAX_BATCH: usize = 256;
/// Segment events sent and not yet received; past it, segments are counted
/// as dropped instead of queued.
pub const SEG_INFLIGHT: usize = 16384;
/// Destination ports of connects / sends kept in the filter (the local port
/// is not known until the kernel sends the first segment).
const HINTS: usize = 64;
/// Connections remembered after close whose ports stay in the filter (the
/// FIN / ACK after `close()`, TIME_WAIT).
const RECENT_TUPLES: usize = 512;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
struct Ports {
    hints: VecDeque<u16>,
    current: Arc<BTreeSet<u16>>,
}

#[derive(Default)]
struct Ring {
    frames: VecDeque<RawFrame>,
    forgotten: u64,
}

/// The capture's part of the engine's shared state.
#[derive(Default)]
pub(crate) struct Capture {
    /// A handle on the capture socket, to replace its filter.
    sock: Mutex<Option<Socket>>,
    ports: Mutex<Ports>,
    /// Changes whenever a lab socket's endpoints may have changed, so
    /// conversations resolve their ends again.
    generation: AtomicU64,
    ring: Mutex<Ring>,
    task: Mutex<Option<AbortHandle>>,
    /// Segment events sent and not yet received (see `Events`).
    pub inflight: Arc<AtomicUsize>,
}

/// What `export_pcap` wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcapExport {
    /// Frames written.
    pub frames: usize,
    /// Older frames no longer kept (the ring holds the newest [`RING`]).
    pub forgotten: u64,
}

impl Drop for Capture {
    /// The engine is gone without `shutdown()`: stop reading too, so the
    /// capture socket closes now rather than at the next frame.
    fn drop(&mut self) {
        self.stop();
    }
}

impl Capture {
    pub fn stop(&self) {
        if let Some(t) = lock(&self.task).take() {
            t.abort();
        }
        lock(&self.sock).take();
    }

    fn snapshot(&self) -> (u64, Arc<BTreeSet<u16>>) {
        (
            self.generation.load(Ordering::Acquire),
            lock(&self.ports).current.clone(),
        )
    }

    pub fn export(&self, path: &Path) -> io::Result<PcapExport> {
        let (frames, forgotten) = {
            let r = lock(&self.ring);
            (r.frames.iter().cloned().collect::<Vec<_>>(), r.forgotten)
        };
        // The file's snap length is the largest a frame may have been (a
        // loopback GSO frame can be 64 KiB and more), not the SNAP bytes we
        // kept of each: readers (pcap-file among them) refuse a frame whose
        // original length exceeds the file's snap length.
        let n = pcap::write(path, &frames, FILE_SNAPLEN)?;
        Ok(PcapExport {
            frames: n,
            forgotten,
        })
    }

    fn keep(&self, frame: RawFrame) {
        let mut r = lock(&self.ring);
        if r.frames.len() >= RING {
            r.frames.pop_front();
            r.forgotten += 1;
        }
        r.frames.push_back(frame);
    }
}

/// The lab's ports now: every lab socket's own and its peer's, recent
/// connections', and the destinations of connects about to be made.
fn lab_ports(sh: &Shared, hints: &VecDeque<u16>) -> BTreeSet<u16> {
    let mut set: BTreeSet<u16> = hints.iter().copied().collect();
    for e in sh.all_socks() {
        let st = e.st();
        set.extend(st.local.map(|a| a.port()));
        set.extend(st.peer.map(|a| a.port()));
    }
    let tuples = sh.known_tuples();
    for (l, r, _) in tuples.iter().rev().take(RECENT_TUPLES) {
        set.insert(l.port());
        set.insert(r.port());
    }
    set.remove(&0);
    set
}

/// The lab's endpoints may have changed: resolve ends again, and put the
/// current ports in the kernel filter if they changed. Synchronous, so a
/// connect made right after is already seen.
pub(crate) fn endpoints_changed(sh: &Shared, hint: Option<u16>) {
    sh.capture.generation.fetch_add(1, Ordering::AcqRel);
    let sock = lock(&sh.capture.sock);
    let Some(sock) = sock.as_ref() else {
        return;
    };
    let mut ports = lock(&sh.capture.ports);
    if let Some(p) = hint.filter(|p| *p != 0) {
        if !ports.hints.contains(&p) {
            ports.hints.push_back(p);
        }
        while ports.hints.len() > HINTS {
            ports.hints.pop_front();
        }
    }
    let now = lab_ports(sh, &ports.hints);
    if now != *ports.current {
        let list: Vec<u16> = now.iter().copied().collect();
        // A failure leaves the previous filter; user space still checks.
        let _ = source::set_filter(sock, &bpf::program(&list, SNAP as u32));
        ports.current = Arc::new(now);
    }
}

/// Open the capture and start its task; report `Capture` On or Unavailable.
pub(crate) fn start(sh: &Arc<Shared>) {
    let unavailable = |why, detail: String| {
        sh.emit(EventKind::Capture {
            status: CaptureStatus::Unavailable { why, detail },
        })
    };
    let (live, handle) = match source::Live::open(SNAP) {
        Ok(x) => x,
        Err(source::OpenError::Permission(e)) => {
            return unavailable(
                CaptureOff::NoCapNetRaw,
                format!("opening an AF_PACKET socket on lo: {e}"),
            );
        }
        Err(source::OpenError::NoLoopback) => {
            return unavailable(
                CaptureOff::NoLoopback,
                "there is no lo interface here".to_string(),
            );
        }
        Err(source::OpenError::Other(e)) => {
            return unavailable(CaptureOff::Failed, format!("capture on lo: {e}"));
        }
    };
    *lock(&sh.capture.sock) = Some(handle);
    endpoints_changed(sh, None);
    sh.emit(EventKind::Capture {
        status: CaptureStatus::On,
    });
    let task = tokio::spawn(run(Arc::downgrade(sh), live));
    *lock(&sh.capture.task) = Some(task.abort_handle());
}

/// Read frames from `src` until it ends or the engine stops; every kept one
/// becomes a `Segment` event.
async fn run<S: PacketSource>(sh: Weak<Shared>, mut src: S) {
    let mut dec = conv::Decoder::default();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let (mut kernel_dropped, mut not_sent, mut reported) = (0u64, 0u64, 0u64);
    loop {
        batch.clear();
        let read = src.read_batch(&mut batch, MAX_BATCH).await;
        let Some(sh) = sh.upgrade() else { return };
        if sh.is_stopped() {
            return;
        }
        match read {
            Err(e) => {
                sh.emit(EventKind::Capture {
                    status: CaptureStatus::Unavailable {
                        why: CaptureOff::Failed,
                        detail: format!("reading the capture socket: {e}"),
                    },
                });
                return;
            }
            Ok(false) if batch.is_empty() => return,
            Ok(_) => {}
        }
        let (generation, ports) = sh.capture.snapshot();
        for mut f in batch.drain(..) {
            let Some(p) = parse::parse(&f.data) else {
                continue;
            };
            if !ports.contains(&p.from.port()) && !ports.contains(&p.to.port()) {
                continue;
            }
            f.wire_len = p.wire_len;
            // When the kernel saw it, on the engine's clock.
            let t_us = sh
                .now_us()
                .saturating_sub(now_wall().saturating_sub(f.ts).as_micros() as u64);
            let seg = dec.decode(p, t_us, generation, |pr, l, r| resolve(&sh, pr, l, r));
            sh.capture.keep(f);
            let inflight = &sh.capture.inflight;
            if inflight.fetch_add(1, Ordering::AcqRel) >= SEG_INFLIGHT {
                inflight.fetch_sub(1, Ordering::AcqRel);
                not_sent += 1;
                continue;
            }
            sh.emit(EventKind::Segment(Box::new(seg)));
        }
        if let Some(s) = lock(&sh.capture.sock).as_ref() {
            kernel_dropped += source::kernel_drops(s).unwrap_or(0) as u64;
        }
        let total = kernel_dropped + not_sent;
        if total > reported {
            reported = total;
            sh.emit(EventKind::Capture {
                status: CaptureStatus::Dropped { total },
            });
        }
        drop(sh);
        tokio::task::yield_now().await;
    }
}

fn now_wall() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canon(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn same_local(sock: SocketAddr, seen: SocketAddr) -> bool {
    sock.port() == seen.port()
        && (sock.ip().is_unspecified() || canon(sock.ip()) == canon(seen.ip()))
}

fn same(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && canon(a.ip()) == canon(b.ip())
}

/// The lab socket whose local endpoint is `local` (talking to `remote`).
fn resolve(sh: &Shared, proto: Proto, local: SocketAddr, remote: SocketAddr) -> End {
    let ty = match proto {
        Proto::Udp => SockType::Dgram,
        _ => SockType::Stream,
    };
    let mut best: Option<(u8, End)> = None;
    for e in sh.all_socks() {
        if e.ty != ty {
            continue;
        }
        let (mut l, p, label) = {
            let st = e.st();
            (st.local, st.peer, st.label.clone())
        };
        if l.is_none() {
            // A connect in progress: the kernel knows the port already.
            l = e.local_addr();
        }
        if !l.is_some_and(|l| same_local(l, local)) {
            continue;
        }
        let score = match p {
            Some(p) if same(p, remote) => 3,
            None => 2,
            Some(_) => continue,
        };
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((
                score,
                End {
                    sock: Some(e.id),
                    peer: match &e.owner {
                        Owner::Peer(n) => Some(n.clone()),
                        // A traced program's socket: named like a peer's.
                        Owner::Program { .. } => Some(e.owner.to_string()),
                        Owner::Student => None,
                    },
                    label,
                },
            ));
        }
    }
    if let Some((3, end)) = best {
        return end;
    }
    // A connection whose socket is closed (FIN after close, TIME_WAIT).
    if ty == SockType::Stream
        && let Some((_, _, id)) = sh
            .known_tuples()
            .into_iter()
            .rev()
            .find(|(l, r, _)| same(*l, local) && same(*r, remote))
    {
        return End {
            sock: Some(id),
            ..End::default()
        };
    }
    best.map(|(_, e)| e).unwrap_or_default()
}

/// Decode a pcap file into segments, with no lab to match ends against
/// (times from the first frame). For the Wire pane's tests and for looking
/// at an exported capture again.
pub fn replay(path: &Path) -> io::Result<Vec<Segment>> {
    let mut src = PcapSource::open(path)?;
    let mut frames = Vec::new();
    futures::executor::block_on(async {
        while src.read_batch(&mut frames, usize::MAX).await? {}
        Ok::<_, io::Error>(())
    })?;
    Ok(decode_frames(&frames))
}

/// Decode frames (all of them, no port filter, no lab ends).
pub fn decode_frames(frames: &[RawFrame]) -> Vec<Segment> {
    let mut dec = conv::Decoder::default();
    let t0 = frames.first().map(|f| f.ts).unwrap_or_default();
    frames
        .iter()
        .filter_map(|f| {
            let p = parse::parse(&f.data)?;
            let t = f.ts.saturating_sub(t0).as_micros() as u64;
            Some(dec.decode(p, t, 0, |_, _, _| End::default()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
