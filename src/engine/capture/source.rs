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

/// One frame into `buf`: how many bytes of it were copied (never more than
/// `buf.len()`, whatever the kernel returns) and the kernel's time stamp, if
/// any.
fn recv_stamped(sock: &Socket, buf: &mut [u8]) -> io::Result<(usize, Option<Duration>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // u64s: the control buffer must be aligned for cmsghdr.
    let mut control = [0u64; 8];
    let control_cap = std::mem::size_of_val(&control);
    // SAFETY: msghdr is a repr(C) struct of integers and raw pointers; all
    // zero bytes (null pointers, zero lengths) is a valid value of it.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = control_cap as _;
    // SAFETY: `msg` points at one iovec (`iov`) describing exactly
    // `buf.len()` writable bytes of `buf`, and at `control`, `control_cap`
    // writable bytes; all three outlive the call and the kernel keeps no
    // pointer after it returns. The descriptor is borrowed from `sock`, so
    // it is open for the call. No MSG_TRUNC: the kernel writes at most
    // `iov_len` bytes (the length returned is clamped below all the same).
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // Only what fits in the buffer was written, whatever length comes back.
    let n = (n as usize).min(buf.len());
    Ok((n, timestamp(&msg, control_cap)))
}

/// The SO_TIMESTAMPNS stamp among the control messages `recvmsg` wrote into
/// `msg.msg_control` (`cap` bytes). Every length the kernel put there is
/// checked against the buffer before anything is read through it.
fn timestamp(msg: &libc::msghdr, cap: usize) -> Option<Duration> {
    let opt = SO_TIMESTAMPNS?;
    // The kernel shrinks msg_controllen to what it wrote; never trust it
    // beyond the buffer.
    // (msg_controllen is a size_t with glibc, a socklen_t with musl.)
    #[allow(clippy::unnecessary_cast)]
    let filled = (msg.msg_controllen as usize).min(cap);
    let base = msg.msg_control as usize;
    let end = base + filled;
    let want = std::mem::size_of::<libc::timespec>();
    let mut bounded = *msg;
    bounded.msg_controllen = filled as _;
    let mut ts = None;
    // SAFETY: `bounded.msg_control` points at `filled` initialised bytes
    // (the caller's control buffer, alive for this call, which the kernel
    // filled; `filled` is at most its size). CMSG_FIRSTHDR returns a header
    // only if a whole `cmsghdr` fits in those bytes; CMSG_NXTHDR is called
    // only for a header whose declared length lies inside the buffer, and
    // returns the next one only if it and its declared length fit too, so
    // every `*c` read is of a header inside the buffer. The payload is read only after checking
    // that a whole timespec lies inside both the header's declared length
    // and the buffer; read_unaligned because CMSG_DATA need not be aligned
    // for timespec.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&bounded);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c) as usize;
            let declared_end = (c as usize).saturating_add((*c).cmsg_len as usize);
            if (*c).cmsg_level == libc::SOL_SOCKET
                && (*c).cmsg_type == opt
                && data + want <= declared_end
                && data + want <= end
            {
                let t: libc::timespec = std::ptr::read_unaligned(data as *const libc::timespec);
                ts = stamp(t.tv_sec as i64, t.tv_nsec as i64);
            }
            // A header claiming more than the buffer holds ends the walk
            // (CMSG_NXTHDR would add that length to a pointer).
            if declared_end > end {
                break;
            }
            c = libc::CMSG_NXTHDR(&bounded, c);
        }
    }
    ts
}

/// A kernel time stamp as a Duration; None for one that makes no sense.
fn stamp(sec: i64, nsec: i64) -> Option<Duration> {
    let sec = u64::try_from(sec).ok()?;
    let nsec = u32::try_from(nsec).ok().filter(|n| *n < 1_000_000_000)?;
    Some(Duration::new(sec, nsec))
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
        // Protocol 0: the socket receives nothing until `bind` names
        // ETH_P_ALL and `lo`. Opened with ETH_P_ALL, the socket would be
        // hooked in at once, and bind would have to unhook it first — a
        // synchronize_net() in the kernel that cost ~12 ms of start-up.
        let sock =
            Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0))).map_err(|e| match e
                .raw_os_error()
            {
                Some(libc::EPERM) | Some(libc::EACCES) => OpenError::Permission(e),
                _ => OpenError::Other(e),
            })?;
        // SAFETY: `c"lo"` is a static NUL-terminated string; if_nametoindex
        // only reads it, up to the NUL, and keeps no pointer.
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
        // SAFETY: sockaddr_ll is a repr(C) struct of integers and byte
        // arrays; all zero bytes is a valid value of it.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: the address points at `sll`, a live, initialised
        // sockaddr_ll, and the length given is exactly its size; bind only
        // reads it during the call. The descriptor is `sock`'s, open here.
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
        // SAFETY: (AsyncFd::register's contract) the AsyncFd takes `sock` by
        // value and closes it only when dropped, after deregistering, so the
        // descriptor stays open and refers to this socket for the
        // registration's whole life. `handle` is a dup: a descriptor of its
        // own, closed by its own drop, so nothing is closed twice.
        let fd = unsafe { AsyncFd::register(sock) }.map_err(|e| other(e.into_parts().1))?;
        Ok((Live { fd, buf }, handle))
    }
}

fn set_int(sock: &Socket, level: i32, opt: i32, v: libc::c_int) -> io::Result<()> {
    // SAFETY: optval points at `v`, a live c_int, and optlen is exactly its
    // size; setsockopt only reads it during the call.
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
    // The kernel reads `len` instructions: a count cut to 16 bits would
    // attach a different (shorter) program than the one given.
    let len = u16::try_from(prog.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a capture filter of {} instructions is longer than a socket filter can be",
                prog.len()
            ),
        )
    })?;
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr() as *mut _,
    };
    // SAFETY: optval points at `fprog`, a live sock_fprog of exactly the
    // size given; its `filter` points at `prog`, `len` = prog.len() live
    // instructions (`bpf::Insn` is `libc::sock_filter`, the layout the
    // kernel reads). The kernel copies the program during the call
    // (sk_attach_filter) and keeps no pointer to either; it never writes.
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
    let cap = std::mem::size_of_val(&st);
    let mut len = cap as libc::socklen_t;
    // SAFETY: optval points at `st`, a live, initialised, writable
    // `struct tpacket_stats` (two u32: packets, drops) of `len` bytes, and
    // optlen at `len`. The kernel writes at most min(len, its struct size)
    // bytes and stores that count in `len`; it keeps neither pointer.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_STATISTICS,
            st.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    };
    if rc == 0 && len as usize == cap {
        Ok(st[1])
    } else if rc == 0 {
        Err(io::Error::other(format!(
            "PACKET_STATISTICS returned {len} bytes, not {cap}"
        )))
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
                            wire_len: u32::try_from(n).unwrap_or(u32::MAX),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::MaybeUninit;
    use std::net::SocketAddr;

    fn ret(k: u32) -> bpf::Insn {
        bpf::Insn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k,
        }
    }

    fn udp() -> Socket {
        Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap()
    }

    #[test]
    fn a_filter_too_long_for_its_count_is_refused_not_cut() {
        let s = udp();
        set_filter(&s, &[ret(0)]).unwrap();
        // 65 537 instructions: as a u16 count that is 1, and the kernel would
        // take the one-instruction program `ret 0` without a word.
        let e = set_filter(&s, &vec![ret(0); 65_537]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("65537"), "{e}");
    }

    #[test]
    fn a_datagram_longer_than_the_buffer_gives_the_buffer_and_the_stamp() {
        let rx = udp();
        rx.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        set_int(&rx, libc::SOL_SOCKET, SO_TIMESTAMPNS.unwrap(), 1).unwrap();
        let tx = udp();
        let sent: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        tx.send_to(&sent, &rx.local_addr().unwrap()).unwrap();
        // A blocking peek waits for the datagram; recv_stamped does not wait.
        rx.peek(&mut [MaybeUninit::new(0u8); 1]).unwrap();
        let mut buf = vec![0xAAu8; 10];
        let (n, ts) = recv_stamped(&rx, &mut buf).unwrap();
        assert_eq!(n, 10);
        assert_eq!(buf, sent[..10]);
        let ts = ts.expect("SO_TIMESTAMPNS was set: the kernel stamps the datagram");
        assert!(ts > Duration::from_secs(1_000_000_000), "{ts:?}");
    }

    /// A control buffer with one SOL_SOCKET/SO_TIMESTAMPNS header at byte
    /// `at` declaring `cmsg_len`, followed (if it fits) by 5 s + 7 ns.
    fn forged(at: usize, cmsg_len: usize) -> Option<Duration> {
        let mut control = [0u64; 8];
        let cap = std::mem::size_of_val(&control);
        let base = control.as_mut_ptr() as *mut u8;
        let hdr = std::mem::size_of::<libc::cmsghdr>();
        // SAFETY: test set-up: every write is checked to lie inside `control`.
        unsafe {
            assert!(at + hdr <= cap);
            let mut h: libc::cmsghdr = std::mem::zeroed();
            h.cmsg_len = cmsg_len as _;
            h.cmsg_level = libc::SOL_SOCKET;
            h.cmsg_type = SO_TIMESTAMPNS.unwrap();
            std::ptr::write_unaligned(base.add(at) as *mut libc::cmsghdr, h);
            let t = libc::timespec {
                tv_sec: 5,
                tv_nsec: 7,
            };
            if at + hdr + std::mem::size_of_val(&t) <= cap {
                std::ptr::write_unaligned(base.add(at + hdr) as *mut libc::timespec, t);
            }
        }
        // SAFETY: msghdr is plain data; all zeroes is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_control = base as *mut libc::c_void;
        msg.msg_controllen = cap as _;
        // Headers before `at`: one padding header of type 0 that spans them.
        if at > 0 {
            let mut pad: libc::cmsghdr = unsafe { std::mem::zeroed() };
            pad.cmsg_len = at as _;
            // SAFETY: at >= a header's size here (callers use 0 or >= 16).
            unsafe { std::ptr::write_unaligned(base as *mut libc::cmsghdr, pad) };
        }
        timestamp(&msg, cap)
    }

    #[test]
    fn control_messages_are_read_only_inside_the_buffer() {
        let hdr = std::mem::size_of::<libc::cmsghdr>();
        let whole = hdr + std::mem::size_of::<libc::timespec>();
        // Well formed: read.
        assert_eq!(forged(0, whole), Some(Duration::new(5, 7)));
        // A header whose payload would end past the buffer: not read.
        assert_eq!(forged(64 - hdr, whole), None);
        // Lengths that claim far more than the buffer: no read, no overflow.
        assert_eq!(forged(0, usize::MAX), Some(Duration::new(5, 7)));
        assert_eq!(forged(64 - hdr, usize::MAX), None);
        // Too short to hold a timespec: not read.
        assert_eq!(forged(0, hdr + 8), None);
    }

    #[test]
    fn nonsense_stamps_are_dropped() {
        assert_eq!(stamp(1, 2), Some(Duration::new(1, 2)));
        assert_eq!(stamp(-1, 0), None);
        assert_eq!(stamp(1, 1_000_000_000), None);
        assert_eq!(stamp(1, -1), None);
    }
}
