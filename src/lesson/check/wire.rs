//! `segment = "RST"`: a segment captured on the wire — its TCP flags (`SYN`,
//! `SYN,ACK`, `FIN`, `RST` …), or `UDP`, `ICMP`, `ICMP port unreachable`;
//! optionally `from` / `to` a socket (the student's variable) or a peer (by
//! name), a `retransmission`, an exact payload `len` or `payload`, and at
//! least `count` of them.
//!
//! Flags: every flag named is set; SYN, FIN and RST not named are clear;
//! ACK is free (`FIN` is FIN,ACK, `RST` is RST or RST,ACK) except that a bare
//! `SYN` is the opening SYN only (ACK clear) — the answer is `SYN,ACK`.
//!
//! Never a dead end: when the capture is unavailable (no CAP_NET_RAW) the
//! leaf counts as met — no segment is inferred — and says so among the step's
//! "not yet" lines. That is honest only if the step has other evidence, so a
//! lesson may use `segment` only as a part of an `all` or `seq` beside a part
//! that is not about the wire, and never inside `not` / `never` (an absence
//! cannot be proved without the capture); [`placement`] is that rule, which
//! `socklab check` applies.

use serde::Deserialize;

use crate::engine::capture::{End, IcmpKind, Proto, Segment, TcpFlags};
use crate::engine::event::{Event, EventKind};
use crate::engine::model::LabModel;
use crate::engine::text::sanitize;
use crate::engine::types::Owner;
use crate::engine::{CaptureOff, CaptureStatus};

use super::super::format::unescape;
use super::super::why::Why;
use super::common::{Errs, bytes_repr, decode, did_you_mean};
use super::{CheckKind, Cond, Leaf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSegment {
    segment: String,
    from: Option<String>,
    to: Option<String>,
    retransmission: Option<bool>,
    count: Option<i64>,
    len: Option<i64>,
    payload: Option<String>,
}

/// What kind of packet a `segment` check is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The flags named (see the module doc for the ones not named).
    Tcp(TcpFlags),
    Udp,
    /// Any ICMP / ICMPv6 message, or only a port unreachable.
    Icmp { port_unreachable: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentCheck {
    pub shape: Shape,
    /// A socket label or a peer name at the sending / receiving end.
    pub from: Option<String>,
    pub to: Option<String>,
    pub retransmission: Option<bool>,
    pub count: u32,
    pub len: Option<u32>,
    /// Escaped; the whole payload.
    pub payload: Option<String>,
}

/// Flag names as lesson files write them.
const FLAGS: &[&str] = &["SYN", "ACK", "FIN", "RST", "PSH", "URG", "ECE", "CWR"];
/// Every spelling of a `segment` value, for "did you mean".
const SPELLINGS: &[&str] = &[
    "SYN",
    "SYN,ACK",
    "ACK",
    "FIN",
    "RST",
    "PSH",
    "UDP",
    "ICMP",
    "ICMP port unreachable",
];

/// A segment that had the right shape, and its ends (names are looked up
/// when asked: a variable name may arrive after its first segment).
#[derive(Clone, Debug)]
pub struct Hit {
    seq: u64,
    from: End,
    to: End,
}

/// Most matching segments remembered (the first ones: `met` wants the earliest).
const MAX_HITS: usize = 1024;

#[derive(Clone, Debug, Default)]
pub struct WireFacts {
    payload: Option<Vec<u8>>,
    hits: Vec<Hit>,
}

fn sorted(w: &str) -> Vec<char> {
    let mut c: Vec<char> = w.chars().collect();
    c.sort_unstable();
    c
}

fn parse_shape(s: &str) -> Result<Shape, String> {
    let up = s.trim().to_ascii_uppercase();
    let words: Vec<&str> = up.split_whitespace().collect();
    match words.as_slice() {
        ["UDP"] => return Ok(Shape::Udp),
        ["ICMP"] => {
            return Ok(Shape::Icmp {
                port_unreachable: false,
            });
        }
        ["ICMP", "PORT", "UNREACHABLE"] | ["ICMP", "PORT-UNREACHABLE"] => {
            return Ok(Shape::Icmp {
                port_unreachable: true,
            });
        }
        _ => {}
    }
    let mut f = TcpFlags::default();
    let mut any = false;
    for w in up.split([',', '+', '-', '|', ' ']).filter(|w| !w.is_empty()) {
        let flag = match w {
            "SYN" => &mut f.syn,
            "ACK" => &mut f.ack,
            "FIN" => &mut f.fin,
            "RST" => &mut f.rst,
            "PSH" => &mut f.psh,
            "URG" => &mut f.urg,
            "ECE" => &mut f.ece,
            "CWR" => &mut f.cwr,
            _ => {
                // Flags are short: a swap or one wrong letter (`SNY`, `RTS`).
                let near = FLAGS
                    .iter()
                    .find(|k| strsim::damerau_levenshtein(w, k) == 1 || sorted(w) == sorted(k))
                    .map(|k| format!(" (did you mean \"{k}\"?)"))
                    .unwrap_or_else(|| did_you_mean(w, FLAGS));
                let near = if near.is_empty() {
                    did_you_mean(s.trim(), SPELLINGS)
                } else {
                    near
                };
                return Err(format!(
                    "unknown segment \"{s}\"{near}; write TCP flags (SYN, SYN,ACK, FIN, RST, PSH …), UDP, ICMP or ICMP port unreachable"
                ));
            }
        };
        *flag = true;
        any = true;
    }
    if !any {
        return Err("segment is empty; write e.g. \"SYN\", \"RST\" or \"ICMP port unreachable\"".into());
    }
    Ok(Shape::Tcp(f))
}

impl Shape {
    fn fits(&self, s: &Segment) -> bool {
        match self {
            Shape::Udp => s.proto == Proto::Udp,
            Shape::Icmp { port_unreachable } => s.icmp.is_some_and(|i| {
                !port_unreachable || i.kind == IcmpKind::PortUnreachable
            }),
            Shape::Tcp(want) => {
                let Some(t) = &s.tcp else { return false };
                let have = t.flags;
                let bare_syn = *want
                    == TcpFlags {
                        syn: true,
                        ..TcpFlags::default()
                    };
                have.syn == want.syn
                    && have.fin == want.fin
                    && have.rst == want.rst
                    && (!want.ack || have.ack)
                    && (!bare_syn || !have.ack)
                    && (!want.psh || have.psh)
                    && (!want.urg || have.urg)
                    && (!want.ece || have.ece)
                    && (!want.cwr || have.cwr)
            }
        }
    }

    fn name(&self) -> String {
        match self {
            Shape::Tcp(f) => f.label(),
            Shape::Udp => "UDP datagram".into(),
            Shape::Icmp {
                port_unreachable: true,
            } => "ICMP port unreachable".into(),
            Shape::Icmp { .. } => "ICMP message".into(),
        }
    }
}

/// Whether `name` (a socket's variable or a peer's name) is the one at `end`.
fn end_is(model: &LabModel, end: &End, name: &str) -> bool {
    end.label.as_deref() == Some(name)
        || end.peer.as_deref() == Some(name)
        || end.sock.and_then(|id| model.sock(id)).is_some_and(|r| {
            r.labels.iter().any(|l| l == name) || matches!(&r.owner, Owner::Peer(p) if p == name)
        })
}

impl SegmentCheck {
    fn hits<'a>(&'a self, f: &'a WireFacts, model: &'a LabModel) -> impl Iterator<Item = &'a Hit> {
        f.hits.iter().filter(move |h| {
            self.from.as_deref().is_none_or(|n| end_is(model, &h.from, n))
                && self.to.as_deref().is_none_or(|n| end_is(model, &h.to, n))
        })
    }

    /// "RST from resetter to cli" in the student's language.
    fn what(&self) -> Why {
        let name = self.shape.name();
        let shape = match self.retransmission {
            Some(true) => Why::new("why.seg.again").arg("name", name),
            _ => Why::plain(name),
        };
        let extra = if let Some(p) = &self.payload {
            Some(Why::new("why.seg.payload").arg("bytes", bytes_repr(p)))
        } else {
            self.len.map(|n| Why::new("why.seg.len").arg("n", n))
        };
        let from = self.from.as_deref().map(sanitize);
        let to = self.to.as_deref().map(sanitize);
        let ends = match (from, to) {
            (Some(f), Some(t)) => Some(Why::new("why.seg.from_to").arg("from", f).arg("to", t)),
            (Some(f), None) => Some(Why::new("why.seg.from").arg("from", f)),
            (None, Some(t)) => Some(Why::new("why.seg.to").arg("to", t)),
            (None, None) => None,
        };
        Why::new("why.seg.what")
            .part("shape", shape)
            .opt("extra", extra)
            .opt("ends", ends)
    }
}

/// The capture is off, and why (None while it is on or not reported yet).
fn capture_off(model: &LabModel) -> Option<Why> {
    match &model.wire.status {
        Some(CaptureStatus::Unavailable { why, .. }) => Some(Why::new(match why {
            CaptureOff::NoCapNetRaw => "why.capture.no_cap_net_raw",
            CaptureOff::NoLoopback => "why.capture.no_loopback",
            CaptureOff::Failed => "why.capture.failed",
        })),
        _ => None,
    }
}

impl CheckKind for SegmentCheck {
    const KEYS: &'static [&'static str] = &["segment"];
    type Raw = RawSegment;
    type Facts = WireFacts;

    fn build(r: RawSegment, _kind: &str, e: &mut Errs) -> Option<Self> {
        let shape = match parse_shape(&r.segment) {
            Ok(s) => s,
            Err(m) => {
                e.err(m);
                return None;
            }
        };
        for (v, name) in [(&r.from, "from"), (&r.to, "to")] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                e.err(format!("{name} is empty (a socket's variable or a peer's name)"));
            }
        }
        if r.retransmission.is_some() && !matches!(shape, Shape::Tcp(_)) {
            e.err("retransmission applies to TCP segments only");
        }
        let count = e.count(r.count);
        let len = r.len.map(|n| e.non_neg(n, "len"));
        e.bytes_ok(&r.payload, "payload");
        if let Some(p) = &r.payload
            && let Ok(b) = unescape(p)
        {
            if b.len() > crate::engine::capture::PREVIEW {
                e.err(format!(
                    "payload: at most {} bytes (the capture keeps no more of a segment)",
                    crate::engine::capture::PREVIEW
                ));
            }
            if len.is_some_and(|n| n as usize != b.len()) {
                e.err("len and payload disagree (payload alone is enough)");
            }
        }
        Some(SegmentCheck {
            shape,
            from: r.from,
            to: r.to,
            retransmission: r.retransmission,
            count,
            len,
            payload: r.payload,
        })
    }

    fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Self {
        SegmentCheck {
            from: self.from.as_deref().map(f),
            to: self.to.as_deref().map(f),
            payload: self.payload.as_deref().map(f),
            ..self.clone()
        }
    }

    fn names(&self) -> Vec<&str> {
        self.from.iter().chain(self.to.iter()).map(String::as_str).collect()
    }

    fn start(&self) -> WireFacts {
        WireFacts {
            payload: decode(&self.payload),
            hits: Vec::new(),
        }
    }

    fn feed(&self, f: &mut WireFacts, ev: &Event, _model: &LabModel) {
        let EventKind::Segment(s) = &ev.kind else {
            return;
        };
        if f.hits.len() >= MAX_HITS || !self.shape.fits(s) {
            return;
        }
        if let Some(r) = self.retransmission
            && s.tcp.is_none_or(|t| t.retransmission != r)
        {
            return;
        }
        if let Some(p) = &f.payload {
            if s.len as usize != p.len() || s.preview.as_ref() != p.as_slice() {
                return;
            }
        } else if self.len.is_some_and(|n| n != s.len) {
            return;
        }
        f.hits.push(Hit {
            seq: ev.seq,
            from: s.from_end.clone(),
            to: s.to_end.clone(),
        });
    }

    fn met(&self, f: &WireFacts, model: &LabModel) -> Option<u64> {
        if capture_off(model).is_some() {
            // Counted on the step's other evidence (see the module doc).
            return Some(model.last_seq);
        }
        self.hits(f, model)
            .nth(self.count as usize - 1)
            .map(|h| h.seq)
    }

    fn note(&self, _f: &WireFacts, model: &LabModel) -> Option<Why> {
        Some(Why::new("why.wire.capture_off").part("why", capture_off(model)?))
    }

    fn why(&self, f: &WireFacts, model: &LabModel) -> Why {
        if model.wire.status.is_none() {
            return Why::new("why.wire.waiting").part("what", self.what());
        }
        let have = self.hits(f, model).count();
        let w = if self.count > 1 {
            Why::new("why.wire.some")
                .arg("have", have)
                .arg("count", self.count)
        } else {
            Why::new("why.wire.none")
        };
        let lost = (model.wire.dropped > 0)
            .then(|| Why::new("why.wire.lost").arg("n", model.wire.dropped));
        w.part("what", self.what()).opt("lost", lost)
    }
}

/// Where a `segment` check may stand (see the module doc): the problems
/// with `c`, empty when every segment leaf sits beside other evidence.
pub fn placement(c: &Cond) -> Vec<String> {
    let mut out = Vec::new();
    walk(c, None, false, &mut out);
    out.sort();
    out.dedup();
    out
}

pub(super) fn is_wire(c: &Cond) -> bool {
    match c {
        Cond::Leaf(Leaf::Segment(_)) => true,
        Cond::Leaf(_) => false,
        Cond::All(v) | Cond::Any(v) | Cond::Seq(v) | Cond::Not(v) | Cond::Never(v) => {
            v.iter().any(is_wire)
        }
    }
}

/// `parent`: the combinator holding `c` and its parts; `negated`: under `not` / `never`.
fn walk(c: &Cond, parent: Option<&Cond>, negated: bool, out: &mut Vec<String>) {
    match c {
        Cond::Leaf(Leaf::Segment(_)) => {
            if negated {
                out.push(
                    "a `segment` check cannot stand inside `not` or `never` (without the capture an absence proves nothing)".into(),
                );
                return;
            }
            let beside_other = match parent {
                Some(Cond::All(v)) | Some(Cond::Seq(v)) => v.iter().any(|k| !is_wire(k)),
                _ => false,
            };
            if !beside_other {
                out.push(
                    "a `segment` check must be a part of `all` or `seq` beside a check that is not about the wire (when capture is off the step counts on that evidence)".into(),
                );
            }
        }
        Cond::Leaf(_) => {}
        Cond::All(v) | Cond::Any(v) | Cond::Seq(v) => {
            v.iter().for_each(|k| walk(k, Some(c), negated, out))
        }
        Cond::Not(v) | Cond::Never(v) => v.iter().for_each(|k| walk(k, Some(c), true, out)),
    }
}
