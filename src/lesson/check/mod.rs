//! The check language: what a step's `check` table means.
//!
//! Each kind of check has ONE home, a file in this folder: its on-disk shape
//! (a `#[serde(deny_unknown_fields)]` struct, so a typo in a lesson is a
//! `file:line` error), how it is built and validated, how it folds events,
//! when it is met, and its "why not yet" lines — the [`CheckKind`] trait.
//! [`KINDS`](kinds!) below is the one list of kinds: a new kind (a segment
//! check for the Wire, a traced-program check) is one new file plus one line
//! there. The combinators (`all`, `any`, `seq`, `not`, `never`) live in `combine.rs`; what
//! every kind shares (socket selection, `when`, the shared messages) in
//! `common.rs`; reading a check table into a [`Cond`] in `raw.rs`.

use std::fmt::Debug;

use serde::de::DeserializeOwned;

use crate::engine::event::Event;
use crate::engine::model::LabModel;
use crate::engine::types::SockId;

use super::why::Why;

mod combine;
pub mod common;
mod raw;
#[cfg(test)]
mod tests;

pub(super) use combine::Node;
pub use common::{Captured, Errs, Ident, OwnerSel, Sel, When};
pub use raw::{CondError, KERNEL_NAMES, RawCheck, convert};

/// One kind of leaf check: everything about it in one place.
pub trait CheckKind: Clone + Debug + PartialEq + Eq + Sized {
    /// The keys that name this kind in a check table (`lab = "…"`); one
    /// kind may answer to several (`accept_queue`, `recv_q`, `send_q`).
    const KEYS: &'static [&'static str];
    /// The table as written. Its fields are every key this kind accepts.
    type Raw: DeserializeOwned;
    /// What the check remembers while events are folded in.
    type Facts: Clone + Debug;

    /// Build from the table; `key` is which of [`Self::KEYS`] named it.
    /// Every mistake goes to `errs`; `None` when nothing usable is left.
    fn build(raw: Self::Raw, key: &str, errs: &mut Errs) -> Option<Self>;
    /// The same check with `f` applied to every string a placeholder may be in.
    fn map_strings(&self, _f: &dyn Fn(&str) -> String) -> Self {
        self.clone()
    }
    /// Which sockets it is about, if any (for the validator).
    fn sel(&self) -> Option<&Sel> {
        None
    }
    /// The peer it names, if any (for the validator).
    fn peer(&self) -> Option<&str> {
        None
    }
    /// Names that may be a socket's variable or a peer's (`from`, `to` of a
    /// segment), for the validator: each must be one or the other.
    fn names(&self) -> Vec<&str> {
        Vec::new()
    }
    /// Student variables it names besides `socket` (`peer_of`, a select's
    /// `readable`), for the validator: each must be told and assigned.
    fn student_names(&self) -> Vec<&str> {
        self.sel()
            .and_then(|s| s.ident.peer_of.as_deref())
            .into_iter()
            .collect()
    }
    /// Its selection, to be changed: a `seq` fills in which sockets `same`
    /// and `other` name while it runs. Kinds that take `same` / `other`
    /// give it.
    fn sel_mut(&mut self) -> Option<&mut Sel> {
        None
    }
    /// The sockets that have met it so far: what `as` names. Kinds that
    /// take `as` give them.
    fn matched(&self, _f: &Self::Facts, _model: &LabModel) -> Vec<SockId> {
        Vec::new()
    }
    /// What it is, as a phrase for the sockets `as` names in "not yet"
    /// lines ("the socket `cli = socket()` made").
    fn what(&self) -> Why {
        Why::new("why.cap.earlier")
    }

    /// Fresh memory (byte strings decoded once, after placeholders are filled).
    fn start(&self) -> Self::Facts;
    /// Fold one event (after `model.apply(ev)`).
    fn feed(&self, f: &mut Self::Facts, ev: &Event, model: &LabModel);
    /// The seq at which the check became met, if it is.
    fn met(&self, f: &Self::Facts, model: &LabModel) -> Option<u64>;
    /// What is still missing, in both languages.
    fn why(&self, f: &Self::Facts, model: &LabModel) -> Why;
    /// Something the student should know while the step is not done, even
    /// though this part is met (a wire part counted without the capture).
    fn note(&self, _f: &Self::Facts, _model: &LabModel) -> Option<Why> {
        None
    }
}

/// THE list of check kinds: `file { Variant(Type) … }`, one line per file.
macro_rules! kinds {
    ($($file:ident { $($var:ident($ty:ident)),+ })+) => {
        $(pub mod $file; pub use $file::{$($ty),+};)+

        /// A leaf check: one of the kinds.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Leaf {
            $($($var($ty),)+)+
        }

        /// A leaf check with its memory.
        #[derive(Clone, Debug)]
        pub(super) enum LeafRun {
            $($($var($ty, <$ty as CheckKind>::Facts),)+)+
        }

        /// Every key that names a kind, with the kind's accepted fields and
        /// a builder.
        const KINDS: &[raw::KindEntry] = &[
            $($(raw::KindEntry {
                keys: <$ty as CheckKind>::KEYS,
                fields: raw::fields_of::<<$ty as CheckKind>::Raw>,
                fits: raw::fits::<<$ty as CheckKind>::Raw>,
                build: |t, key, errs| raw::build_kind::<$ty>(t, key, errs).map(Leaf::$var),
            },)+)+
        ];

        impl Leaf {
            pub fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Leaf {
                match self { $($(Leaf::$var(c) => Leaf::$var(c.map_strings(f)),)+)+ }
            }
            pub fn sel(&self) -> Option<&Sel> {
                match self { $($(Leaf::$var(c) => c.sel(),)+)+ }
            }
            pub fn peer(&self) -> Option<&str> {
                match self { $($(Leaf::$var(c) => c.peer(),)+)+ }
            }
            pub fn names(&self) -> Vec<&str> {
                match self { $($(Leaf::$var(c) => c.names(),)+)+ }
            }
            pub fn student_names(&self) -> Vec<&str> {
                match self { $($(Leaf::$var(c) => c.student_names(),)+)+ }
            }
            pub(super) fn start(&self) -> LeafRun {
                match self { $($(Leaf::$var(c) => LeafRun::$var(c.clone(), c.start()),)+)+ }
            }
        }

        impl LeafRun {
            pub(super) fn feed(&mut self, ev: &Event, model: &LabModel) {
                match self { $($(LeafRun::$var(c, f) => c.feed(f, ev, model),)+)+ }
            }
            pub(super) fn met(&self, model: &LabModel) -> Option<u64> {
                match self { $($(LeafRun::$var(c, f) => c.met(f, model),)+)+ }
            }
            pub(super) fn why(&self, model: &LabModel) -> Why {
                match self { $($(LeafRun::$var(c, f) => why_ident(c, f, model),)+)+ }
            }
            pub(super) fn matched(&self, model: &LabModel) -> Vec<SockId> {
                match self { $($(LeafRun::$var(c, f) => c.matched(f, model),)+)+ }
            }
            pub(super) fn sel(&self) -> Option<&Sel> {
                match self { $($(LeafRun::$var(c, _) => c.sel(),)+)+ }
            }
            pub(super) fn sel_mut(&mut self) -> Option<&mut Sel> {
                match self { $($(LeafRun::$var(c, _) => c.sel_mut(),)+)+ }
            }
            pub(super) fn what(&self) -> Why {
                match self { $($(LeafRun::$var(c, _) => c.what(),)+)+ }
            }
            pub(super) fn note(&self, model: &LabModel) -> Option<Why> {
                match self { $($(LeafRun::$var(c, f) => c.note(f, model),)+)+ }
            }
        }
    };
}

kinds! {
    state { Lab(LabCheck), Kernel(KernelCheck) }
    queue { Queue(QueueCheck) }
    call { Call(CallCheck) }
    data { Data(DataCheck) }
    peer { Peer(PeerCheck) }
    orphan { Orphan(OrphanCheck) }
    traced { Traced(TracedCheck) }
    wire { Segment(SegmentCheck) }
}

/// A leaf's "not yet" line; with `same` / `other`, it says which sockets
/// the part is about, and whether it was met on another one.
fn why_ident<K: CheckKind>(c: &K, f: &K::Facts, model: &LabModel) -> Why {
    let base = c.why(f, model);
    let Some(ident) = c.sel().map(|s| &s.ident).filter(|i| i.demands()) else {
        return base;
    };
    let mut on = Vec::new();
    for (cap, key) in [
        (&ident.same, "why.ident.same"),
        (&ident.other, "why.ident.other"),
    ] {
        if let Some(cap) = cap {
            let what = cap
                .what
                .clone()
                .unwrap_or_else(|| Why::new("why.cap.earlier"));
            on.push(Why::new(key).part("cap", what));
        }
    }
    let mut free = c.clone();
    if let Some(s) = free.sel_mut() {
        *s = s.by_name();
    }
    let elsewhere = free
        .met(f, model)
        .is_some()
        .then(|| Why::new("why.ident.elsewhere"));
    Why::new("why.ident.on")
        .part("why", base)
        .list("on", Why::new("why.sep.and"), on)
        .opt("else", elsewhere)
}

/// A check: a leaf of some kind, or a combination of checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    /// Each became true at or after the moment the previous one did.
    Seq(Vec<Cond>),
    /// None of them holds now.
    Not(Vec<Cond>),
    /// None of them has held at any moment since the checks started.
    Never(Vec<Cond>),
    Leaf(Leaf),
}

impl Cond {
    /// The same condition with `f` applied to every string a placeholder may be in.
    pub fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Cond {
        let all = |v: &[Cond]| v.iter().map(|c| c.map_strings(f)).collect();
        match self {
            Cond::All(v) => Cond::All(all(v)),
            Cond::Any(v) => Cond::Any(all(v)),
            Cond::Seq(v) => Cond::Seq(all(v)),
            Cond::Not(v) => Cond::Not(all(v)),
            Cond::Never(v) => Cond::Never(all(v)),
            Cond::Leaf(l) => Cond::Leaf(l.map_strings(f)),
        }
    }

    fn leaves<'a>(&'a self, out: &mut Vec<&'a Leaf>) {
        match self {
            Cond::All(v) | Cond::Any(v) | Cond::Seq(v) | Cond::Not(v) | Cond::Never(v) => {
                v.iter().for_each(|c| c.leaves(out))
            }
            Cond::Leaf(l) => out.push(l),
        }
    }

    /// Every peer name the condition names as an owner or a peer.
    pub fn peer_names(&self, out: &mut Vec<String>) {
        let mut leaves = Vec::new();
        self.leaves(&mut leaves);
        for l in leaves {
            if let Some(OwnerSel::Peer(p)) = l.sel().map(|s| &s.owner) {
                out.push(p.clone());
            }
            if let Some(p) = l.peer() {
                out.push(p.to_string());
            }
        }
    }

    /// Every name the condition gives a segment's end (`from`, `to`): each
    /// must be a socket's variable or a peer's name (for the validator).
    pub fn end_names(&self, out: &mut Vec<String>) {
        let mut leaves = Vec::new();
        self.leaves(&mut leaves);
        for l in leaves {
            out.extend(l.names().into_iter().map(str::to_string));
        }
    }

    /// Whether any part of the condition is about the wire (`segment`).
    pub fn has_wire(&self) -> bool {
        wire::is_wire(self)
    }

    /// Problems with where the condition's `segment` parts stand (see
    /// `wire.rs`): a wire part must sit beside other evidence.
    pub fn wire_placement(&self) -> Vec<String> {
        wire::placement(self)
    }

    /// Every student socket label the condition names (for the validator):
    /// `socket`, and `peer_of` and a select's `readable`.
    pub fn student_labels(&self, out: &mut Vec<String>) {
        let mut leaves = Vec::new();
        self.leaves(&mut leaves);
        for l in leaves {
            if let Some(s) = l.sel()
                && let (Some(label), OwnerSel::Student) = (&s.label, &s.owner)
            {
                out.push(label.clone());
            }
            out.extend(l.student_names().into_iter().map(str::to_string));
        }
    }

    /// The `as` names of its leaves (for a `seq` part: the names it gives
    /// the later parts).
    pub fn capture_names(&self, out: &mut Vec<String>) {
        let mut leaves = Vec::new();
        self.leaves(&mut leaves);
        for l in leaves {
            if let Some(n) = l.sel().and_then(|s| s.ident.name.as_ref())
                && !out.contains(n)
            {
                out.push(n.clone());
            }
        }
    }
}
