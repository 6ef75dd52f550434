//! `orphan = "TIME_WAIT"`: a connection left in a kernel state with no
//! descriptor (after close), optionally on a port.

use std::collections::HashMap;

use serde::Deserialize;

use crate::engine::event::{Event, EventKind};
use crate::engine::model::LabModel;
use crate::engine::types::{SockId, TcpState};

use super::super::select::*;
use super::super::why::Why;
use super::common::{Errs, OwnerSel, Sel, StrOrInt, When, note};
use super::CheckKind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrphan {
    orphan: String,
    socket: Option<String>,
    owner: Option<String>,
    port: Option<StrOrInt>,
    when: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrphanCheck {
    pub sel: Sel,
    pub state: TcpState,
    pub port: Option<String>,
    pub when: When,
}

#[derive(Clone, Debug, Default)]
pub struct OrphanFacts {
    port: Option<u16>,
    /// Per origin socket (None: no known origin): when first seen.
    first: HashMap<Option<SockId>, u64>,
}

impl OrphanCheck {
    fn port_num(&self) -> Option<u16> {
        self.port.as_deref().and_then(|p| p.trim().parse().ok())
    }
}

impl CheckKind for OrphanCheck {
    const KEYS: &'static [&'static str] = &["orphan"];
    type Raw = RawOrphan;
    type Facts = OrphanFacts;

    fn build(r: RawOrphan, _kind: &str, e: &mut Errs) -> Option<Self> {
        let when = e.when(&r.when);
        // A descriptor-less entry is about a connection, whoever held it.
        let sel = e.sel(&r.socket, &r.owner, OwnerSel::Any);
        Some(OrphanCheck {
            sel,
            state: e.tcp(&r.orphan)?,
            port: r.port.as_ref().map(StrOrInt::text),
            when,
        })
    }
    fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Self {
        OrphanCheck {
            port: self.port.as_deref().map(f),
            ..self.clone()
        }
    }
    fn sel(&self) -> Option<&Sel> {
        Some(&self.sel)
    }
    fn start(&self) -> OrphanFacts {
        OrphanFacts {
            port: self.port_num(),
            first: HashMap::new(),
        }
    }

    fn feed(&self, f: &mut OrphanFacts, ev: &Event, _model: &LabModel) {
        if let EventKind::Orphan {
            origin, to, tuple, ..
        } = &ev.kind
            && *to == Some(self.state)
        {
            let port_ok = f
                .port
                .is_none_or(|p| tuple.local.port() == p || tuple.remote.port() == p);
            if port_ok {
                note(&mut f.first, *origin, ev.seq);
            }
        }
    }

    fn met(&self, f: &OrphanFacts, model: &LabModel) -> Option<u64> {
        let sel = &self.sel;
        let unowned = sel.label.is_none() && sel.owner == OwnerSel::Any;
        match self.when {
            When::Ever => f
                .first
                .iter()
                .filter(|(k, _)| match k {
                    None => unowned,
                    Some(s) => selects(model, *s, sel),
                })
                .map(|(_, s)| *s)
                .min(),
            When::Now => {
                let port = self.port_num();
                model
                    .orphans
                    .values()
                    .any(|o| {
                        o.state == self.state
                            && port.is_none_or(|p| {
                                o.tuple.local.port() == p || o.tuple.remote.port() == p
                            })
                            && match o.origin {
                                Some(s) => selects(model, s, sel),
                                None => unowned,
                            }
                    })
                    .then_some(model.last_seq)
            }
        }
    }

    fn why(&self, _f: &OrphanFacts, _model: &LabModel) -> Why {
        let port = self
            .port
            .as_ref()
            .map(|p| Why::new("why.orphan.port").arg("port", p));
        let key = match self.when {
            When::Ever => "why.orphan.ever",
            When::Now => "why.orphan.now",
        };
        Why::new(key)
            .opt("port", port)
            .arg("state", self.state.name())
    }
}
