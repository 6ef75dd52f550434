//! One Ethernet frame from `lo` → what it says (pure; etherparse does the
//! slicing). Frames may be cut short by the capture's snap length: lengths
//! come from the IP header, not from how many bytes were kept.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use etherparse::{LaxNetSlice, LaxSlicedPacket, TcpOptionElement, TransportSlice};

use super::wire::{Icmp, IcmpKind, PREVIEW, Proto, TcpFlags, TcpOptions};

/// The TCP header fields, before conversation state makes them relative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawTcp {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub options: TcpOptions,
}

/// A parsed packet of one of the protocols the lab captures.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Packet {
    pub proto: Proto,
    /// For ICMP errors: the quoted packet's destination → its source.
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub tcp: Option<RawTcp>,
    pub icmp: Option<Icmp>,
    pub len: u32,
    pub preview: Bytes,
    /// The frame's length on the wire (Ethernet header + IP packet).
    pub wire_len: u32,
}

/// Parse a frame; None for anything the lab does not show (ARP, IGMP, ICMP
/// echo, IP fragments after the first, frames too short to say their ports).
pub(crate) fn parse(frame: &[u8]) -> Option<Packet> {
    let p = LaxSlicedPacket::from_ethernet(frame).ok()?;
    let (src, dst, ip_payload_len, fragment) = match p.net.as_ref()? {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let len = (h.total_len() as usize).saturating_sub(h.ihl() as usize * 4);
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                len,
                h.is_fragmenting_payload() && h.fragments_offset().value() != 0,
            )
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let ext = v6.extensions().slice().len();
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                (h.payload_length() as usize).saturating_sub(ext),
                v6.payload().fragmented,
            )
        }
        LaxNetSlice::Arp(_) => return None,
    };
    if fragment {
        return None;
    }
    // Ethernet and IP headers as kept, plus the IP payload as the header says.
    let headers = frame.len() - p.ip_payload()?.payload.len();
    let wire_len = (headers + ip_payload_len) as u32;
    match p.transport.as_ref()? {
        TransportSlice::Tcp(t) => {
            let hlen = t.data_offset() as usize * 4;
            let len = ip_payload_len.saturating_sub(hlen);
            let payload = t.payload();
            let mut options = TcpOptions::default();
            for o in t.options_iterator().flatten() {
                match o {
                    TcpOptionElement::MaximumSegmentSize(m) => options.mss = Some(m),
                    TcpOptionElement::WindowScale(w) => options.wscale = Some(w),
                    TcpOptionElement::SelectiveAcknowledgementPermitted => {
                        options.sack_permitted = true
                    }
                    TcpOptionElement::Timestamp(a, b) => options.timestamps = Some((a, b)),
                    _ => {}
                }
            }
            Some(Packet {
                proto: Proto::Tcp,
                from: SocketAddr::new(src, t.source_port()),
                to: SocketAddr::new(dst, t.destination_port()),
                tcp: Some(RawTcp {
                    flags: TcpFlags {
                        syn: t.syn(),
                        ack: t.ack(),
                        psh: t.psh(),
                        fin: t.fin(),
                        rst: t.rst(),
                        urg: t.urg(),
                        ece: t.ece(),
                        cwr: t.cwr(),
                    },
                    seq: t.sequence_number(),
                    ack: t.acknowledgment_number(),
                    window: t.window_size(),
                    options,
                }),
                icmp: None,
                len: len as u32,
                preview: preview(payload, len),
                wire_len,
            })
        }
        TransportSlice::Udp(u) => {
            let len = ip_payload_len.saturating_sub(8);
            Some(Packet {
                proto: Proto::Udp,
                from: SocketAddr::new(src, u.source_port()),
                to: SocketAddr::new(dst, u.destination_port()),
                tcp: None,
                icmp: None,
                len: len as u32,
                preview: preview(u.payload(), len),
                wire_len,
            })
        }
        TransportSlice::Icmpv4(i) => {
            let (ty, code) = (i.type_u8(), i.code_u8());
            if ty != 3 {
                return None;
            }
            let kind = if code == 3 {
                IcmpKind::PortUnreachable
            } else {
                IcmpKind::Unreachable
            };
            icmp_error(false, ty, code, kind, i.payload(), wire_len)
        }
        TransportSlice::Icmpv6(i) => {
            let (ty, code) = (i.type_u8(), i.code_u8());
            if ty != 1 {
                return None;
            }
            let kind = if code == 4 {
                IcmpKind::PortUnreachable
            } else {
                IcmpKind::Unreachable
            };
            icmp_error(true, ty, code, kind, i.payload(), wire_len)
        }
        TransportSlice::Igmp(_) => None,
    }
}

fn preview(payload: &[u8], len: usize) -> Bytes {
    Bytes::copy_from_slice(&payload[..payload.len().min(len).min(PREVIEW)])
}

/// An ICMP error quotes the start of the packet it refuses: its IP header
/// and at least 8 bytes after it (the ports).
fn icmp_error(
    v6: bool,
    ty: u8,
    code: u8,
    kind: IcmpKind,
    quoted: &[u8],
    wire_len: u32,
) -> Option<Packet> {
    let q = LaxSlicedPacket::from_ip(quoted).ok()?;
    let (src, dst) = match q.net.as_ref()? {
        LaxNetSlice::Ipv4(v4) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
        ),
        LaxNetSlice::Ipv6(v6) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
        ),
        LaxNetSlice::Arp(_) => return None,
    };
    let ip = q.ip_payload()?;
    let proto = match ip.ip_number.0 {
        6 => Proto::Tcp,
        17 => Proto::Udp,
        _ => return None,
    };
    let b = ip.payload;
    if b.len() < 4 {
        return None;
    }
    let sport = u16::from_be_bytes([b[0], b[1]]);
    let dport = u16::from_be_bytes([b[2], b[3]]);
    Some(Packet {
        proto: Proto::Icmp,
        from: SocketAddr::new(dst, dport),
        to: SocketAddr::new(src, sport),
        tcp: None,
        icmp: Some(Icmp {
            v6,
            kind,
            ty,
            code,
            quoted: Some(proto),
        }),
        len: 0,
        preview: Bytes::new(),
        wire_len,
    })
}
