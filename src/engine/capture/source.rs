//! Where frames come from: the live AF_PACKET socket on `lo`, or a pcap file
//! replayed (the Wire pane's snapshot tests, `capture::replay`). Both give
//! the same [`RawFrame`]s, so everything after them is the same code.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, SystemTime};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::bpf;

/// One frame as captured: when, how long it was on the wire, and the bytes
/// kept (at most the snap length).
#[derive(Clone, Debug)]
pub struct RawFrame {
    /// Since the Unix epoch (pcap's clock).
    pub ts: Duration,
    pub wire_len: u32,
    pub data: Vec<u8>,
}

/// A source of captured frames.
pub trait PacketSource: Send {
    /// Wait for frames and append at most `max` of them to `out`. Ok(false)
    /// once the source has ended (a replayed file); a live source never ends.
    fn read_batch(
        &mut self,
        out: &mut Vec<RawFrame>,
        max: usize,
    ) -> impl Future<Output = io::Result<bool>> + Send;
}

// ---- live ----

const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const PACKET_STATISTICS: libc::c_int = 6;
/// The capture socket's queue (the kernel doubles it for bookkeeping).
const RCVBUF: libc::c_int = 8 << 20;

/// The AF_PACKET socket on `lo`.
pub(crate) struct Live {
    fd: AsyncFd<Socket>,
    buf: Vec<MaybeUninit<u8>>,
}

/// Why opening the live source failed.
pub(crate) enum OpenError {
    Permission(io::Error),
    NoLoopback,
    Other(io::Error),
}

impl Live {
    /// Open, bind to `lo`, see each frame once, attach a drop-all filter and
    /// drain what slipped in before it. Call [`set_filter`] next.
    pub fn open(snap: usize) -> Result<(Live, Socket), OpenError> {
        let proto = Protocol::from((libc::ETH_P_ALL as u16).to_be() as i32);
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(proto)).map_err(|e| {
            match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => OpenError::Permission(e),
                _ => OpenError::Other(e),
            }
        })?;
        // SAFETY: a NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        if ifindex == 0 {
            return Err(OpenError::NoLoopback);
        }
        let other = OpenError::Other;
        set_int(&sock, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1).map_err(other)?;
        set_filter(&sock, &bpf::drop_all()).map_err(other)?;
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid start.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: sll is a valid sockaddr_ll of the size given.
        let rc = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                &sll as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc != 0 {
            return Err(OpenError::Other(io::Error::last_os_error()));
        }
        // Room for bursts: SO_RCVBUFFORCE passes net.core.rmem_max where
        // permitted (root), SO_RCVBUF is capped by it.
        if set_int(&sock, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
            let _ = set_int(&sock, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF);
        }
        sock.set_nonblocking(true).map_err(other)?;
        // Frames queued before the drop-all filter was attached are still
        // there: read them away.
        let mut buf = vec![MaybeUninit::<u8>::uninit(); snap];
        while sock.recv(&mut buf).is_ok() {}
        let _ = kernel_drops(&sock);
        let handle = sock.try_clone().map_err(other)?;
        // SAFETY: the AsyncFd owns `sock`, so its descriptor stays open and
        // the same for the AsyncFd's whole life.
        let fd = unsafe { AsyncFd::register(sock) }.map_err(|e| other(e.into_parts().1))?;
        Ok((Live { fd, buf }, handle))
    }
}

fn set_int(sock: &Socket, level: i32, opt: i32, v: libc::c_int) -> io::Result<()> {
    // SAFETY: v is a c_int of the size given.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            opt,
            &v as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Attach (or replace: the kernel swaps programs atomically) the filter.
pub(crate) fn set_filter(sock: &Socket, prog: &[bpf::Insn]) -> io::Result<()> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut _,
    };
    // SAFETY: fprog points at `prog`, alive for the call; the kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &fprog as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::sock_fprog>() as u32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Frames the kernel dropped (queue full) since the last call.
pub(crate) fn kernel_drops(sock: &Socket) -> io::Result<u32> {
    let mut st = [0u32; 2];
    let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
    // SAFETY: st is a tpacket_stats (two u32) of the size given.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_STATISTICS,
            st.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    };
    if rc == 0 {
        Ok(st[1])
    } else {
        Err(io::Error::last_os_error())
    }
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}

impl PacketSource for Live {
    async fn read_batch(&mut self, out: &mut Vec<RawFrame>, max: usize) -> io::Result<bool> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut got = 0;
            while got < max {
                match guard.get_inner().recv(&mut self.buf) {
                    Ok(n) => {
                        // SAFETY: recv initialised the first n bytes.
                        let data: Vec<u8> = self.buf[..n]
                            .iter()
                            .map(|b| unsafe { b.assume_init() })
                            .collect();
                        out.push(RawFrame {
                            ts: now(),
                            wire_len: n as u32,
                            data,
                        });
                        got += 1;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if got > 0 {
                return Ok(true);
            }
        }
    }
}

// ---- replay ----

/// Frames from a pcap file (LINKTYPE_ETHERNET), all at once.
pub struct PcapSource {
    frames: std::vec::IntoIter<RawFrame>,
}

impl PcapSource {
    pub fn open(path: &Path) -> io::Result<PcapSource> {
        let file = std::fs::File::open(path)?;
        let mut r = pcap_file::pcap::PcapReader::new(file).map_err(io::Error::other)?;
        if r.header().datalink != pcap_file::DataLink::ETHERNET {
            return Err(io::Error::other(format!(
                "{}: not an Ethernet capture ({:?})",
                path.display(),
                r.header().datalink
            )));
        }
        let mut frames = Vec::new();
        while let Some(p) = r.next_packet() {
            let p = p.map_err(io::Error::other)?;
            frames.push(RawFrame {
                ts: p.timestamp,
                wire_len: p.orig_len,
                data: p.data.into_owned(),
            });
        }
        Ok(PcapSource {
            frames: frames.into_iter(),
        })
    }
}

impl PacketSource for PcapSource {
    async fn read_batch(&mut self, out: &mut Vec<RawFrame>, max: usize) -> io::Result<bool> {
        let before = out.len();
        out.extend(self.frames.by_ref().take(max));
        Ok(out.len() > before)
    }
}
