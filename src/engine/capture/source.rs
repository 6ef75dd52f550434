//! Where frames come from: the live AF_PACKET socket on `lo`, or a pcap file
//! replayed (the Wire pane's snapshot tests, `capture::replay`). Both give
//! the same [`RawFrame`]s, so everything after them is the same code.

use std::io;
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
/// The kernel stamps each frame as it arrives (SO_TIMESTAMPNS; the
/// asm-generic number, which these architectures use).
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64",
    target_arch = "loongarch64"
))]
const SO_TIMESTAMPNS: Option<libc::c_int> = Some(35);
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64",
    target_arch = "loongarch64"
)))]
const SO_TIMESTAMPNS: Option<libc::c_int> = None;
/// The capture socket's queue (the kernel doubles it for bookkeeping).
const RCVBUF: libc::c_int = 8 << 20;

/// The AF_PACKET socket on `lo`.
pub(crate) struct Live {
    fd: AsyncFd<Socket>,
    buf: Vec<u8>,
}

/// One frame into `buf`: its length and the kernel's time stamp, if any.
fn recv_stamped(sock: &Socket, buf: &mut [u8]) -> io::Result<(usize, Option<Duration>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // u64s: the control buffer must be aligned for cmsghdr.
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; zeroed is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg points at iov and control, both alive for the call.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut ts = None;
    // SAFETY: walking the control messages the kernel wrote into `control`.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET
                && Some((*c).cmsg_type) == SO_TIMESTAMPNS
                && (*c).cmsg_len as usize
                    >= libc::CMSG_LEN(std::mem::size_of::<libc::timespec>() as u32) as usize
            {
                let t: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const _);
                ts = Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, ts))
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
        // Without kernel stamps, frames are stamped when read.
        if let Some(opt) = SO_TIMESTAMPNS {
            let _ = set_int(&sock, libc::SOL_SOCKET, opt, 1);
        }
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
        let mut buf = vec![0u8; snap];
        while recv_stamped(&sock, &mut buf).is_ok() {}
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
                match recv_stamped(guard.get_inner(), &mut self.buf) {
                    Ok((n, ts)) => {
                        out.push(RawFrame {
                            ts: ts.unwrap_or_else(now),
                            wire_len: n as u32,
                            data: self.buf[..n].to_vec(),
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
