//! `peer = "device"`: what a built-in peer got, said or measured.

use serde::Deserialize;

use crate::engine::event::{Event, EventKind, PeerNote};
use crate::engine::model::LabModel;
use crate::engine::text::sanitize;

use super::super::select::*;
use super::super::why::Why;
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
        let w = if let (Some(g), None) = (&self.got, f.got) {
            Why::new("why.peer.not_got").arg("text", sanitize(g))
        } else if let (Some(s), None) = (&self.said, f.said) {
            Why::new("why.peer.not_said").arg("text", sanitize(s))
        } else {
            let m = sanitize(self.measure.as_deref().unwrap_or(""));
            Why::new("why.peer.not_measured").arg("name", m)
        };
        let started = (!has_peer(model, &self.peer))
            .then(|| Why::new("why.peer.not_started").arg("peer", &p));
        w.arg("peer", p).opt("started", started)
    }
}
