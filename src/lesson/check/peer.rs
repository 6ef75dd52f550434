//! `peer = "device"`: what a built-in peer got, said or measured.

use serde::Deserialize;

use crate::engine::event::{Event, EventKind, PeerNote};
use crate::engine::model::LabModel;
use crate::engine::text::sanitize;

use super::super::select::*;
use super::super::why::{Why, josa};
use super::CheckKind;
use super::common::Errs;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeer {
    peer: String,
    got: Option<String>,
    said: Option<String>,
    measure: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCheck {
    pub peer: String,
    pub got: Option<String>,
    pub said: Option<String>,
    pub measure: Option<String>,
}

/// When the peer first got, said, measured what the check names.
#[derive(Clone, Debug, Default)]
pub struct PeerFacts {
    got: Option<u64>,
    said: Option<u64>,
    measure: Option<u64>,
}

impl CheckKind for PeerCheck {
    const KEYS: &'static [&'static str] = &["peer"];
    type Raw = RawPeer;
    type Facts = PeerFacts;

    fn build(r: RawPeer, _kind: &str, e: &mut Errs) -> Option<Self> {
        if r.got.is_none() && r.said.is_none() && r.measure.is_none() {
            e.err("a `peer` check needs got, said or measure");
        }
        Some(PeerCheck {
            peer: r.peer,
            got: r.got,
            said: r.said,
            measure: r.measure,
        })
    }
    fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Self {
        PeerCheck {
            peer: self.peer.clone(),
            got: self.got.as_deref().map(f),
            said: self.said.as_deref().map(f),
            measure: self.measure.clone(),
        }
    }
    fn peer(&self) -> Option<&str> {
        Some(&self.peer)
    }
    fn start(&self) -> PeerFacts {
        PeerFacts::default()
    }

    fn feed(&self, f: &mut PeerFacts, ev: &Event, _model: &LabModel) {
        let EventKind::Peer { peer: p, note: n } = &ev.kind else {
            return;
        };
        if *p != self.peer {
            return;
        }
        match n {
            PeerNote::Got { text } if self.got.as_ref() == Some(text) => {
                f.got.get_or_insert(ev.seq);
            }
            PeerNote::Said { text } if self.said.as_ref() == Some(text) => {
                f.said.get_or_insert(ev.seq);
            }
            PeerNote::Measure { name, .. } if self.measure.as_ref() == Some(name) => {
                f.measure.get_or_insert(ev.seq);
            }
            _ => {}
        }
    }

    fn met(&self, f: &PeerFacts, _model: &LabModel) -> Option<u64> {
        let mut at = 0;
        for (want, have) in [
            (self.got.is_some(), f.got),
            (self.said.is_some(), f.said),
            (self.measure.is_some(), f.measure),
        ] {
            if want {
                at = at.max(have?);
            }
        }
        Some(at)
    }

    fn why(&self, f: &PeerFacts, model: &LabModel) -> Why {
        let p = sanitize(&self.peer);
        let mut w = if let (Some(g), None) = (&self.got, f.got) {
            let g = sanitize(g);
            Why::new(
                format!("{p} has not received \"{g}\" yet"),
                format!(
                    "{} 아직 \"{g}\"{} 받지 못했어요",
                    josa(&p, "이", "가"),
                    if ends_consonant_q(&g) { "을" } else { "를" }
                ),
            )
        } else if let (Some(s), None) = (&self.said, f.said) {
            let s = sanitize(s);
            Why::new(
                format!("{p} has not said \"{s}\" yet"),
                format!(
                    "{} 아직 \"{s}\"{} 답하지 않았어요",
                    josa(&p, "이", "가"),
                    if ends_consonant_q(&s) {
                        "이라고"
                    } else {
                        "라고"
                    }
                ),
            )
        } else {
            let m = sanitize(self.measure.as_deref().unwrap_or(""));
            Why::new(
                format!("{p} has not reported {m} yet"),
                format!(
                    "{} 아직 {m} 측정값을 보고하지 않았어요",
                    josa(&p, "이", "가")
                ),
            )
        };
        if !has_peer(model, &self.peer) {
            w.en.push_str(&format!(" (no peer named {p} has started)"));
            w.ko.push_str(&format!(
                " ({} 피어가 시작되지 않았어요)",
                josa(&p, "이라는", "라는")
            ));
        }
        w
    }
}

/// Whether quoted text (read as English) ends in a consonant sound, for the particle after it.
fn ends_consonant_q(s: &str) -> bool {
    josa(s, "1", "0").ends_with('1')
}
