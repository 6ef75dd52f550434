//! What a captured segment says, as the event log carries it. Plain data: the
//! UI, transcripts, lesson checks and the JSON output all read these.

use std::net::SocketAddr;

use bytes::Bytes;
use serde::{Serialize, Serializer};

use crate::engine::types::SockId;

/// The protocol of a captured packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    /// ICMP or ICMPv6 (see [`Segment::icmp`]).
    Icmp,
}

/// Who is at one end of a segment, as the lab knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct End {
    /// The lab socket with this endpoint (it may be closed by now: a FIN after
    /// `close()`), or None for a program outside the lab.
    pub sock: Option<SockId>,
    /// The built-in peer owning that socket, if it is a peer's.
    pub peer: Option<String>,
    /// The socket's label when the segment was seen (`cli`, `srv`).
    pub label: Option<String>,
}

/// TCP header flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub psh: bool,
    pub fin: bool,
    pub rst: bool,
    pub urg: bool,
    pub ece: bool,
    pub cwr: bool,
}

impl TcpFlags {
    /// As Wireshark writes them: `SYN,ACK`, `PSH,ACK`, `FIN,ACK`, `RST`.
    pub fn label(&self) -> String {
        // Wireshark's order, SYN first: "SYN,ACK", "PSH,ACK", "FIN,ACK".
        [
            (self.syn, "SYN"),
            (self.fin, "FIN"),
            (self.rst, "RST"),
            (self.psh, "PSH"),
            (self.urg, "URG"),
            (self.ece, "ECE"),
            (self.cwr, "CWR"),
            (self.ack, "ACK"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
    }
}

/// TCP options a student meets on loopback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    /// TSval, TSecr.
    pub timestamps: Option<(u32, u32)>,
}

/// The TCP part of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TcpSeg {
    pub flags: TcpFlags,
    /// Sequence number relative to the first one seen in this direction of the
    /// connection (0 for the SYN), as Wireshark shows it.
    pub seq: u32,
    /// Acknowledgment number relative to the other direction's first
    /// sequence number; None unless the ACK flag is set.
    pub ack: Option<u32>,
    /// The numbers on the wire.
    pub abs_seq: u32,
    pub abs_ack: u32,
    /// The window field as sent (not scaled).
    pub window: u16,
    pub options: TcpOptions,
    /// This byte range (or SYN / FIN) was already seen in this direction.
    pub retransmission: bool,
}

/// What an ICMP / ICMPv6 message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IcmpKind {
    /// Destination unreachable, port unreachable: nothing listens there
    /// (answers a UDP datagram).
    PortUnreachable,
    /// Any other destination-unreachable code.
    Unreachable,
    Other,
}

/// An ICMP error and the header it quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Icmp {
    pub v6: bool,
    pub kind: IcmpKind,
    pub ty: u8,
    pub code: u8,
    /// The protocol of the quoted packet (what was refused).
    pub quoted: Option<Proto>,
}

/// One captured packet of a lab connection.
///
/// For an ICMP error, `from` is the endpoint the quoted packet was sent *to*
/// and `to` the endpoint that sent it: the error travels back to the sender,
/// so it lines up with the lab socket it is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Segment {
    /// Capture number, from 1 (what `tcpdump -r` counts).
    pub n: u64,
    /// Microseconds since the engine started, when it was captured.
    pub captured_us: u64,
    pub proto: Proto,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub from_end: End,
    pub to_end: End,
    /// TCP only.
    pub tcp: Option<TcpSeg>,
    /// ICMP only.
    pub icmp: Option<Icmp>,
    /// Payload bytes the segment (or datagram) carried; exact even when the
    /// preview is short.
    pub len: u32,
    /// The first bytes of the payload (at most [`PREVIEW`]); escaped in JSON.
    #[serde(serialize_with = "ser_preview")]
    pub preview: Bytes,
}

/// Most payload bytes kept per segment.
pub const PREVIEW: usize = 64;

fn ser_preview<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::engine::text::escape_bytes(b))
}

impl Segment {
    /// A short label: `SYN seq=0`, `SYN,ACK seq=0 ack=1`, `PSH,ACK seq=1
    /// ack=1 len=6`, `UDP len=5`, `ICMP port unreachable`.
    pub fn label(&self) -> String {
        match (&self.tcp, &self.icmp) {
            (Some(t), _) => {
                let mut s = format!("{} seq={}", t.flags.label(), t.seq);
                if let Some(a) = t.ack {
                    s += &format!(" ack={a}");
                }
                if self.len > 0 {
                    s += &format!(" len={}", self.len);
                }
                if t.retransmission {
                    s += " (retransmission)";
                }
                s
            }
            (None, Some(i)) => match i.kind {
                IcmpKind::PortUnreachable => "ICMP port unreachable".to_string(),
                IcmpKind::Unreachable => format!("ICMP unreachable code={}", i.code),
                IcmpKind::Other => format!("ICMP type={} code={}", i.ty, i.code),
            },
            (None, None) => format!("UDP len={}", self.len),
        }
    }
}

/// Why the wire cannot be captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureOff {
    /// Opening an AF_PACKET socket needs CAP_NET_RAW (EPERM / EACCES):
    /// `sudo setcap cap_net_raw+ep "$(command -v socklab)"`, or `--netns`.
    NoCapNetRaw,
    /// The system has no `lo` interface in this network namespace.
    NoLoopback,
    /// Anything else the kernel refused (the detail says what).
    Failed,
}

/// The state of the capture, reported as `Capture` events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CaptureStatus {
    /// Capturing on `lo`.
    On,
    /// Not capturing, and why; everything else works as before.
    Unavailable { why: CaptureOff, detail: String },
    /// Segments lost so far (kernel queue full, or a flood faster than the
    /// event log is read). Reported when the count grows.
    Dropped { total: u64 },
}
