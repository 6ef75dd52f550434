//! Conversation state, as Wireshark keeps it: one small struct per
//! connection, keyed by its two endpoints, remembering the first sequence
//! number of each direction (to show relative numbers) and how far each
//! direction has got (to mark a byte range seen again as a retransmission).
//! Pure: frames in, segments out; the lab's sockets come in through a
//! resolver closure.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::parse::{Packet, RawTcp};
use super::wire::{End, Proto, Segment, TcpSeg};

/// Most conversations remembered; the least recently seen goes first.
pub(crate) const MAX_CONVERSATIONS: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct DirState {
    /// First sequence number seen in this direction.
    base: u32,
    /// One past the highest sequence number seen (SYN and FIN count one).
    next: u32,
}

#[derive(Debug)]
struct Conv {
    /// Index 0: from the lower endpoint to the higher; 1: back.
    dirs: [Option<DirState>; 2],
    last_used: u64,
    /// Who is at each end (lower, higher), and the lab's endpoint generation
    /// they were resolved at.
    ends: Option<(u64, End, End)>,
}

type Key = (Proto, SocketAddr, SocketAddr);

/// `a` before `b` in sequence space (RFC 1982 serial arithmetic).
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Turns parsed packets into segments.
#[derive(Debug)]
pub(crate) struct Decoder {
    convs: HashMap<Key, Conv>,
    tick: u64,
    cap: usize,
    /// Segments decoded so far.
    pub count: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::with_cap(MAX_CONVERSATIONS)
    }
}

impl Decoder {
    pub fn with_cap(cap: usize) -> Decoder {
        Decoder {
            convs: HashMap::new(),
            tick: 0,
            cap: cap.max(1),
            count: 0,
        }
    }

    #[cfg(test)]
    pub fn conversations(&self) -> usize {
        self.convs.len()
    }

    /// Turn one packet into a segment. `generation` is the lab's endpoint
    /// generation: ends are resolved again (through `resolve(proto, local,
    /// remote)`) only when it changed, and an end once found is kept.
    pub fn decode(
        &mut self,
        p: Packet,
        t_us: u64,
        generation: u64,
        mut resolve: impl FnMut(Proto, SocketAddr, SocketAddr) -> End,
    ) -> Segment {
        self.tick += 1;
        self.count += 1;
        // ICMP errors belong to the conversation they quote.
        let conv_proto = match (p.proto, p.icmp.and_then(|i| i.quoted)) {
            (Proto::Icmp, Some(q)) => q,
            (pr, _) => pr,
        };
        let forward = p.from <= p.to;
        let key = if forward {
            (conv_proto, p.from, p.to)
        } else {
            (conv_proto, p.to, p.from)
        };
        if !self.convs.contains_key(&key) && self.convs.len() >= self.cap {
            self.evict();
        }
        let tick = self.tick;
        let conv = self.convs.entry(key).or_insert(Conv {
            dirs: [None, None],
            last_used: tick,
            ends: None,
        });
        conv.last_used = tick;
        let tcp = p
            .tcp
            .map(|raw| tcp_seg(conv, if forward { 0 } else { 1 }, &raw, p.len));
        let (lo, hi) = (key.1, key.2);
        let ends = match conv.ends.take() {
            Some((g, a, b)) if g == generation => (g, a, b),
            old => {
                let (mut a, mut b) = (resolve(conv_proto, lo, hi), resolve(conv_proto, hi, lo));
                if let Some((_, oa, ob)) = old {
                    if a.sock.is_none() {
                        a = oa;
                    }
                    if b.sock.is_none() {
                        b = ob;
                    }
                }
                (generation, a, b)
            }
        };
        let (from_end, to_end) = if forward {
            (ends.1.clone(), ends.2.clone())
        } else {
            (ends.2.clone(), ends.1.clone())
        };
        conv.ends = Some(ends);
        Segment {
            n: self.count,
            captured_us: t_us,
            proto: p.proto,
            from: p.from,
            to: p.to,
            from_end,
            to_end,
            tcp,
            icmp: p.icmp,
            len: p.len,
            preview: p.preview,
        }
    }

    fn evict(&mut self) {
        if let Some(k) = self
            .convs
            .iter()
            .min_by_key(|(_, c)| c.last_used)
            .map(|(k, _)| *k)
        {
            self.convs.remove(&k);
        }
    }
}

fn tcp_seg(conv: &mut Conv, d: usize, raw: &RawTcp, len: u32) -> TcpSeg {
    let f = raw.flags;
    // A SYN with another initial sequence number: the 4-tuple is used again
    // by a new connection.
    if f.syn && conv.dirs[d].is_some_and(|s| s.base != raw.seq) {
        if f.ack {
            conv.dirs[d] = None;
        } else {
            conv.dirs = [None, None];
        }
    }
    let st = conv.dirs[d].get_or_insert(DirState {
        base: raw.seq,
        next: raw.seq,
    });
    let seg_len = len.wrapping_add(f.syn as u32).wrapping_add(f.fin as u32);
    let end = raw.seq.wrapping_add(seg_len);
    // A keep-alive (one byte before what was sent) is not a retransmission.
    let keepalive = len <= 1 && !f.syn && !f.fin && raw.seq.wrapping_add(1) == st.next;
    let retransmission = seg_len > 0 && before(raw.seq, st.next) && !keepalive;
    if before(st.next, end) {
        st.next = end;
    }
    let seq = raw.seq.wrapping_sub(st.base);
    let ack = if f.ack {
        let other = conv.dirs[1 - d].get_or_insert(DirState {
            base: raw.ack,
            next: raw.ack,
        });
        Some(raw.ack.wrapping_sub(other.base))
    } else {
        None
    };
    TcpSeg {
        flags: f,
        seq,
        ack,
        abs_seq: raw.seq,
        abs_ack: raw.ack,
        window: raw.window,
        options: raw.options,
        retransmission,
    }
}
