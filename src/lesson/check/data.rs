//! `data = "sent" | "received"`: bytes that moved through a socket —
//! exactly one chunk (`bytes`), somewhere in the stream (`contains`), or a
//! total (`total_at_least`).

use std::collections::HashMap;

use serde::Deserialize;

use crate::engine::event::{Event, EventKind};
use crate::engine::model::LabModel;
use crate::engine::types::{Dir, SockId};

use super::super::select::*;
use super::super::why::Why;
use super::common::{Errs, OwnerSel, Sel, bytes_repr, decode, missing_label, note};
use super::CheckKind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    data: String,
    socket: Option<String>,
    owner: Option<String>,
    bytes: Option<String>,
    contains: Option<String>,
    total_at_least: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataCheck {
    pub sel: Sel,
    pub dir: Dir,
    /// Escaped; exactly one chunk.
    pub bytes: Option<String>,
    /// Escaped; somewhere in everything that moved.
    pub contains: Option<String>,
    pub total_at_least: Option<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct DataFacts {
    bytes: Option<Vec<u8>>,
    contains: Option<Vec<u8>>,
    /// `bytes`: per socket, when the chunk first moved.
    first: HashMap<Option<SockId>, u64>,
    /// `contains`: when found; the tail of the stream so far.
    found: HashMap<SockId, u64>,
    window: HashMap<SockId, Vec<u8>>,
    /// Totals: bytes so far, when this socket alone crossed the goal, last chunk.
    total: HashMap<SockId, (u64, Option<u64>, u64)>,
}

impl CheckKind for DataCheck {
    const KEYS: &'static [&'static str] = &["data"];
    type Raw = RawData;
    type Facts = DataFacts;

    fn build(r: RawData, _kind: &str, e: &mut Errs) -> Option<Self> {
        let sel = e.sel(&r.socket, &r.owner, OwnerSel::Student);
        let dir = match r.data.as_str() {
            "sent" => Dir::Sent,
            "received" => Dir::Received,
            other => {
                e.err(format!("data = \"{other}\": use \"sent\" or \"received\""));
                return None;
            }
        };
        e.bytes_ok(&r.bytes, "bytes");
        e.bytes_ok(&r.contains, "contains");
        let total = r
            .total_at_least
            .map(|v| e.non_neg(v, "total_at_least") as u64);
        if r.bytes.is_none() && r.contains.is_none() && total.is_none() {
            e.err("a `data` check needs bytes, contains or total_at_least");
        }
        Some(DataCheck {
            sel,
            dir,
            bytes: r.bytes,
            contains: r.contains,
            total_at_least: total,
        })
    }
    fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Self {
        DataCheck {
            bytes: self.bytes.as_deref().map(f),
            contains: self.contains.as_deref().map(f),
            ..self.clone()
        }
    }
    fn sel(&self) -> Option<&Sel> {
        Some(&self.sel)
    }
    fn start(&self) -> DataFacts {
        DataFacts {
            bytes: decode(&self.bytes),
            contains: decode(&self.contains),
            ..DataFacts::default()
        }
    }

    fn feed(&self, f: &mut DataFacts, ev: &Event, _model: &LabModel) {
        let seq = ev.seq;
        let EventKind::Data {
            sock,
            dir,
            data,
            len,
            ..
        } = &ev.kind
        else {
            return;
        };
        if *dir != self.dir {
            return;
        }
        if let Some(b) = &f.bytes
            && data.len() == *len
            && data.as_ref() == b.as_slice()
        {
            note(&mut f.first, Some(*sock), seq);
        }
        if let Some(needle) = &f.contains
            && !f.found.contains_key(sock)
        {
            let w = f.window.entry(*sock).or_default();
            w.extend_from_slice(data);
            if w.windows(needle.len().max(1))
                .any(|x| x == needle.as_slice())
                || needle.is_empty()
            {
                f.found.insert(*sock, seq);
                f.window.remove(sock);
            } else {
                let keep = needle.len().saturating_sub(1);
                let cut = w.len().saturating_sub(keep);
                w.drain(..cut);
            }
        }
        let t = f.total.entry(*sock).or_insert((0, None, 0));
        t.0 += *len as u64;
        t.2 = seq;
        if let Some(n) = self.total_at_least
            && t.0 >= n
            && t.1.is_none()
        {
            t.1 = Some(seq);
        }
    }

    fn met(&self, f: &DataFacts, model: &LabModel) -> Option<u64> {
        let picked = |k: &SockId| selects(model, *k, &self.sel);
        let mut at = 0;
        if self.bytes.is_some() {
            at = at.max(
                f.first
                    .iter()
                    .filter(|(k, _)| k.is_some_and(|k| picked(&k)))
                    .map(|(_, s)| *s)
                    .min()?,
            );
        }
        if self.contains.is_some() {
            at = at.max(
                f.found
                    .iter()
                    .filter(|(k, _)| picked(k))
                    .map(|(_, s)| *s)
                    .min()?,
            );
        }
        if let Some(n) = self.total_at_least {
            let mine: Vec<&(u64, Option<u64>, u64)> = f
                .total
                .iter()
                .filter(|(k, _)| picked(k))
                .map(|(_, t)| t)
                .collect();
            let alone = mine.iter().filter_map(|t| t.1).min();
            let sum: u64 = mine.iter().map(|t| t.0).sum();
            let t = match alone {
                Some(s) => s,
                None if sum >= n => mine.iter().map(|t| t.2).max()?,
                None => return None,
            };
            at = at.max(t);
        }
        Some(at)
    }

    fn why(&self, f: &DataFacts, model: &LabModel) -> Why {
        let sel = &self.sel;
        if let Some(w) = missing_label(model, sel) {
            return w;
        }
        let dir = match self.dir {
            Dir::Sent => "why.dir.sent",
            Dir::Received => "why.dir.received",
        };
        let label = sel.label.as_deref();
        if let Some(b) = &self.bytes {
            let r = bytes_repr(b);
            let at_most_once = f
                .first
                .keys()
                .any(|k| k.is_some_and(|s| selects(model, s, sel)));
            if !at_most_once {
                let w = match label {
                    Some(l) => Why::new("why.data.chunk_one").arg("sock", l),
                    None => Why::new("why.data.chunk_none"),
                };
                return w.part("dir", Why::new(dir)).arg("bytes", r);
            }
        }
        if let Some(x) = &self.contains {
            let r = bytes_repr(x);
            let w = match label {
                Some(l) => Why::new("why.data.contains_one").arg("sock", l),
                None => Why::new("why.data.contains_none"),
            };
            return w.part("dir", Why::new(dir)).arg("bytes", r);
        }
        let n = self.total_at_least.unwrap_or(0);
        let have: u64 = f
            .total
            .iter()
            .filter(|(k, _)| selects(model, **k, sel))
            .map(|(_, t)| t.0)
            .sum();
        let w = match label {
            Some(l) => Why::new("why.data.total_one").arg("sock", l),
            None => Why::new("why.data.total_all"),
        };
        w.part("dir", Why::new(dir)).arg("have", have).arg("n", n)
    }
}
