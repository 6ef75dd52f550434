//! The Wire pane's state, and its ladder: which connection it shows, how far
//! back it is scrolled, and the rows it draws. The rows are a pure function of
//! the model (every one is a captured segment, or a run of them), built here
//! so that key handling (scroll bounds) and drawing agree.

use std::net::SocketAddr;

use crate::engine::SockId;
use crate::engine::capture::{Proto, Segment};
use crate::engine::model::{LabModel, StateMark};
use crate::engine::text::escape_display;
use crate::settings::Lang;

/// What the student chose in the Wire pane.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireState {
    /// 0: the connection of the selected socket (or the newest); n: n
    /// connections older than that (`c` steps back, wrapping round).
    pub conv_back: usize,
    /// Rows hidden below the view; 0 = follow new segments.
    pub back: usize,
    /// Show the header of the highlighted segment (`h`).
    pub header: bool,
    /// Absolute sequence numbers instead of relative ones (`a`).
    pub absolute: bool,
    /// The Traffic/Wire slot shows the Wire (the last of the two focused).
    pub shown: bool,
}

/// One connection (or UDP flow) seen on the wire: its two endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub a: SocketAddr,
    pub b: SocketAddr,
    pub proto: Proto,
}

impl Conversation {
    fn has(&self, s: &Segment) -> bool {
        (s.from == self.a && s.to == self.b) || (s.from == self.b && s.to == self.a)
    }
}

/// Each connection once, in the order its first segment was captured.
pub fn conversations(model: &LabModel) -> Vec<Conversation> {
    let mut seen: std::collections::HashSet<(SocketAddr, SocketAddr)> = Default::default();
    let mut out: Vec<Conversation> = Vec::new();
    for s in &model.wire.segments {
        let key = if s.from <= s.to {
            (s.from, s.to)
        } else {
            (s.to, s.from)
        };
        if !seen.insert(key) {
            continue;
        }
        let proto = match (s.proto, s.icmp.and_then(|i| i.quoted)) {
            (Proto::Icmp, Some(q)) => q,
            (p, _) => p,
        };
        out.push(Conversation {
            a: s.from,
            b: s.to,
            proto,
        });
    }
    out
}

/// How a row is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// SYN / FIN: a connection opening or closing.
    Control,
    Reset,
    Retransmission,
    /// ICMP error.
    Error,
}

/// One row of the ladder.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub t_us: u64,
    /// Left end to right end.
    pub rightward: bool,
    pub label: String,
    pub tone: Tone,
    /// The segment behind the row (index into `model.wire.segments`); the
    /// first one of a collapsed run.
    pub seg: usize,
    /// How many segments the row stands for (1, or a collapsed run).
    pub count: usize,
    /// Kernel states each end entered after this row (before the next one).
    pub left_state: Vec<String>,
    pub right_state: Vec<String>,
}

/// One end of the ladder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LadderEnd {
    pub name: String,
    pub addr: SocketAddr,
}

/// What the pane draws for one connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Ladder {
    pub left: LadderEnd,
    pub right: LadderEnd,
    pub proto: Proto,
    pub rows: Vec<Row>,
    /// Which connection this is (1 = oldest) and how many there are.
    pub number: usize,
    pub of: usize,
}

/// Payload bytes an arrow's label shows.
const PREVIEW_IN_LABEL: usize = 16;

/// A run of at least this many data segments one way becomes one row.
const COLLAPSE: usize = 4;

/// The name of the lab socket (or peer) at `addr` talking to `other`
/// (`describe::end_name`), or nothing: a program outside the lab, or the
/// kernel answering for a port nobody holds (the address says which port).
fn end_name(model: &LabModel, addr: SocketAddr, other: SocketAddr, segs: &[&Segment]) -> String {
    let end = segs
        .iter()
        .rev()
        .find_map(|s| {
            if s.from == addr {
                Some(&s.from_end)
            } else if s.to == addr {
                Some(&s.to_end)
            } else {
                None
            }
        })
        .filter(|e| e.sock.is_some() || e.label.is_some() || e.peer.is_some());
    let known = model
        .socks
        .values()
        .any(|r| r.local == Some(addr) && r.peer == Some(other));
    match end {
        Some(e) => crate::describe::end_name(model, e, addr, other),
        None if known => crate::describe::end_name(model, &Default::default(), addr, other),
        None => String::new(),
    }
}

/// The ladder to show: the connection of `selected` (or the newest), stepped
/// back `st.conv_back` connections; its words in English.
pub fn ladder(model: &LabModel, st: &WireState, selected: Option<SockId>) -> Option<Ladder> {
    ladder_in(model, st, selected, Lang::En)
}

/// [`ladder`] with its words (runs of segments, states) in `lang`.
pub fn ladder_in(
    model: &LabModel,
    st: &WireState,
    selected: Option<SockId>,
    lang: Lang,
) -> Option<Ladder> {
    let convs = conversations(model);
    if convs.is_empty() {
        return None;
    }
    // A listener has no connection of its own: its clients' are shown,
    // each with the client on the left, as for no selection at all.
    let sel = selected
        .and_then(|s| model.sock(s))
        .filter(|r| r.peer.is_some());
    let mine = |c: &Conversation| {
        sel.and_then(|r| r.local).is_some_and(|l| {
            (c.a == l || c.b == l)
                && sel
                    .and_then(|r| r.peer)
                    .is_none_or(|p| c.a == p || c.b == p)
        })
    };
    let base = convs.iter().rposition(mine).unwrap_or(convs.len() - 1);
    let n = convs.len();
    let i = (base + n - st.conv_back % n) % n;
    let c = convs[i];
    let segs: Vec<(usize, &Segment)> = model
        .wire
        .segments
        .iter()
        .enumerate()
        .filter(|(_, s)| c.has(s))
        .collect();
    // Whoever spoke first (the client's SYN) on the left, as ladders are
    // drawn in books. Not the selected socket: the Sockets pane reorders its
    // rows as steps change, and the ladder must not flip under the student.
    let left_addr = segs.first().map(|(_, s)| s.from).unwrap_or(c.a);
    let right_addr = if left_addr == c.a { c.b } else { c.a };
    let only: Vec<&Segment> = segs.iter().map(|(_, s)| *s).collect();
    let left = LadderEnd {
        name: end_name(model, left_addr, right_addr, &only),
        addr: left_addr,
    };
    let right = LadderEnd {
        name: end_name(model, right_addr, left_addr, &only),
        addr: right_addr,
    };
    let mut rows = build_rows(&segs, left_addr, st.absolute, lang);
    place_states(model, &mut rows, left_addr, right_addr, lang);
    Some(Ladder {
        left,
        right,
        proto: c.proto,
        rows,
        number: i + 1,
        of: n,
    })
}

fn is_data(s: &Segment) -> bool {
    s.len > 0
        && s.tcp
            .is_some_and(|t| !t.flags.syn && !t.flags.fin && !t.flags.rst && !t.retransmission)
}

fn is_pure_ack(s: &Segment) -> bool {
    s.len == 0
        && s.tcp.is_some_and(|t| {
            t.flags.ack && !t.flags.syn && !t.flags.fin && !t.flags.rst && !t.flags.psh
        })
}

fn build_rows(
    segs: &[(usize, &Segment)],
    left: SocketAddr,
    absolute: bool,
    lang: Lang,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < segs.len() {
        let (idx, s) = segs[i];
        let rightward = s.from == left;
        if is_data(s) {
            // A run: data one way, pure ACKs the other way in between.
            let mut j = i;
            let (mut data, mut acks, mut bytes) = (0usize, 0usize, 0u64);
            while j < segs.len() {
                let t = segs[j].1;
                if is_data(t) && (t.from == left) == rightward {
                    data += 1;
                    bytes += u64::from(t.len);
                } else if is_pure_ack(t) && (t.from == left) != rightward {
                    acks += 1;
                } else {
                    break;
                }
                j += 1;
            }
            if data >= COLLAPSE {
                let arrow = if rightward { "→" } else { "←" };
                let mut label = tr!(
                    lang,
                    "wire.run",
                    n = group(data as u64),
                    size = human_bytes(bytes, lang),
                    arrow = arrow
                );
                if acks > 0 {
                    label += &tr!(lang, "wire.run_acks", n = group(acks as u64));
                }
                rows.push(Row {
                    t_us: s.captured_us,
                    rightward,
                    label,
                    tone: Tone::Plain,
                    seg: idx,
                    count: j - i,
                    left_state: Vec::new(),
                    right_state: Vec::new(),
                });
                i = j;
                continue;
            }
        }
        rows.push(Row {
            t_us: s.captured_us,
            rightward,
            label: label(s, absolute, lang),
            tone: tone(s),
            seg: idx,
            count: 1,
            left_state: Vec::new(),
            right_state: Vec::new(),
        });
        i += 1;
    }
    rows
}

fn tone(s: &Segment) -> Tone {
    match (&s.tcp, &s.icmp) {
        (Some(t), _) if t.retransmission => Tone::Retransmission,
        (Some(t), _) if t.flags.rst => Tone::Reset,
        (Some(t), _) if t.flags.syn || t.flags.fin => Tone::Control,
        (None, Some(_)) => Tone::Error,
        _ => Tone::Plain,
    }
}

/// An arrow's label: `SYN seq=0`, `SYN,ACK seq=0 ack=1`, `PSH,ACK seq=1
/// ack=1 len=6 "hello\n"`, `UDP len=5 "ping"`, `ICMP port unreachable`.
pub fn label(s: &Segment, absolute: bool, lang: Lang) -> String {
    let mut out = match (&s.tcp, &s.icmp) {
        (Some(t), _) => {
            let (seq, ack) = if absolute {
                (t.abs_seq, t.ack.map(|_| t.abs_ack))
            } else {
                (t.seq, t.ack)
            };
            let mut l = format!("{} seq={seq}", t.flags.label());
            if let Some(a) = ack {
                l += &format!(" ack={a}");
            }
            if s.len > 0 {
                l += &format!(" len={}", s.len);
            }
            if t.flags.syn {
                l += &format!(" win={}", t.window);
                if let Some(m) = t.options.mss {
                    l += &format!(" mss={m}");
                }
            }
            l
        }
        (None, Some(_)) => s.label(),
        (None, None) => format!("UDP len={}", s.len),
    };
    if !s.preview.is_empty() {
        // A glimpse: the whole payload preview is in the header view (`h`).
        let shown = &s.preview[..s.preview.len().min(PREVIEW_IN_LABEL)];
        let more = if (s.len as usize) > shown.len() {
            "…"
        } else {
            ""
        };
        out += &format!(" \"{}{more}\"", escape_display(shown));
    }
    if s.tcp.is_some_and(|t| t.retransmission) {
        out += &tr!(lang, "wire.again");
    }
    out
}

/// Put each kernel state an end entered beside the last row before it.
fn place_states(
    model: &LabModel,
    rows: &mut [Row],
    left: SocketAddr,
    right: SocketAddr,
    lang: Lang,
) {
    if rows.is_empty() {
        return;
    }
    let first = rows[0].t_us;
    // A connection "gone" from the socket table and seen again (it left the
    // accept queue for a descriptor) did not end: only a last "gone" stays.
    let marks: Vec<&StateMark> = model.wire.states.iter().collect();
    let seen_later = |i: usize, local: SocketAddr, remote: SocketAddr| {
        marks[i + 1..]
            .iter()
            .any(|m| m.local == local && m.remote == remote && m.state.is_some())
    };
    // The same state can be read twice (through the descriptor, then from
    // the socket table once the descriptor is gone): say it once.
    let mut last: [Option<String>; 2] = [None, None];
    for (i, m) in marks.iter().enumerate() {
        if m.t_us < first || (m.state.is_none() && seen_later(i, m.local, m.remote)) {
            continue;
        }
        let side = if m.local == left && m.remote == right {
            true
        } else if m.local == right && m.remote == left {
            false
        } else {
            continue;
        };
        let at = rows.partition_point(|r| r.t_us <= m.t_us).saturating_sub(1);
        let name = m
            .state
            .map(|s| s.name().to_string())
            .unwrap_or_else(|| tr!(lang, "ev.gone"));
        let k = usize::from(!side);
        if last[k].as_ref() == Some(&name) {
            continue;
        }
        last[k] = Some(name.clone());
        let list = if side {
            &mut rows[at].left_state
        } else {
            &mut rows[at].right_state
        };
        list.push(name);
    }
}

/// `1532` → `1 532`.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn human_bytes(n: u64, lang: Lang) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GB", n as f64 / 1e9),
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.1} kB", n as f64 / 1e3),
        n => tr!(lang, "wire.bytes", n = n),
    }
}

/// The header of one segment, field by field (`h` in the Wire pane); its
/// time counts from `t0_us`, the start of this lab.
pub fn header_lines(
    s: &Segment,
    left: &LadderEnd,
    right: &LadderEnd,
    t0_us: u64,
    lang: Lang,
) -> Vec<String> {
    let who = |a: SocketAddr| {
        let name = if a == left.addr {
            left.name.clone()
        } else if a == right.addr {
            right.name.clone()
        } else {
            String::new()
        };
        if name.is_empty() { a.to_string() } else { name }
    };
    let proto = match s.proto {
        Proto::Tcp => "TCP",
        Proto::Udp => "UDP",
        Proto::Icmp => "ICMP",
    };
    let mut out = vec![format!(
        "#{}  {:.3} s  {proto}  {} → {}  ({} → {})",
        s.n,
        s.captured_us.saturating_sub(t0_us) as f64 / 1e6,
        s.from,
        s.to,
        who(s.from),
        who(s.to)
    )];
    if let Some(t) = &s.tcp {
        let ack = match t.ack {
            Some(a) => tr!(lang, "wire.h_ack", ack = a, abs = t.abs_ack),
            None => tr!(lang, "wire.h_no_ack"),
        };
        out.push(tr!(
            lang,
            "wire.h_flags",
            flags = t.flags.label(),
            seq = t.seq,
            abs = t.abs_seq,
            ack = ack
        ));
        let o = &t.options;
        let mut opts = Vec::new();
        if let Some(m) = o.mss {
            opts.push(format!("MSS {m}"));
        }
        if let Some(w) = o.wscale {
            opts.push(format!("window scale {w}"));
        }
        if o.sack_permitted {
            opts.push("SACK permitted".into());
        }
        if let Some((v, e)) = o.timestamps {
            opts.push(format!("timestamps {v}/{e}"));
        }
        out.push(tr!(
            lang,
            "wire.h_window",
            window = t.window,
            len = s.len,
            options = if opts.is_empty() {
                tr!(lang, "wire.h_no_options")
            } else {
                opts.join(", ")
            },
            again = if t.retransmission {
                tr!(lang, "wire.h_retransmission")
            } else {
                String::new()
            }
        ));
    } else if let Some(i) = &s.icmp {
        out.push(format!(
            "ICMP{} type {} code {}: {}",
            if i.v6 { "v6" } else { "" },
            i.ty,
            i.code,
            s.label()
        ));
    } else {
        out.push(tr!(lang, "wire.h_payload_len", len = s.len));
    }
    if !s.preview.is_empty() {
        out.push(tr!(
            lang,
            "wire.h_payload",
            text = escape_display(&s.preview)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_in_groups() {
        assert_eq!(group(1532), "1 532");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000_000), "1 000 000");
        assert_eq!(human_bytes(2_100_000, Lang::En), "2.1 MB");
        assert_eq!(human_bytes(12, Lang::En), "12 bytes");
    }
}
