//! What every kind of check shares: which sockets it is about ([`Sel`]),
//! `when`, reporting mistakes ([`Errs`]), and the messages about sockets.

use std::collections::HashMap;
use std::ops::Range;

use crate::engine::text::py_bytes_repr;
use crate::engine::types::{Family, SockId, SockType, TcpState};

use crate::engine::model::LabModel;

use super::super::format::unescape;
use super::super::select::*;
use super::super::why::Why;
use super::raw::{CondError, KERNEL_NAMES};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Ever,
    Now,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerSel {
    Student,
    Peer(String),
    Any,
}

/// Which sockets a condition is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sel {
    /// The student's variable (or a peer's role name); `None` = any socket (`"*"`).
    pub label: Option<String>,
    pub owner: OwnerSel,
    /// `family = "AF_INET6"`: only sockets of this address family.
    pub family: Option<Family>,
    /// `port = "{port}"`: only sockets whose local or peer port is this
    /// (as written, placeholders filled in when the lesson starts).
    pub port: Option<String>,
    /// `type = "SOCK_STREAM"` (or `"SOCK_DGRAM"`): only sockets of this type.
    pub ty: Option<SockType>,
    /// Which socket beyond its names: `peer_of`, and `as`, `same`, `other`
    /// across the parts of a `seq` (boxed: most checks have none, and a
    /// leaf stays small).
    pub ident: Box<Ident>,
}

impl Sel {
    pub fn any_student() -> Sel {
        Sel {
            label: None,
            owner: OwnerSel::Student,
            family: None,
            port: None,
            ty: None,
            ident: Box::default(),
        }
    }

    /// The same selection without its identity demands (`same`, `other`):
    /// which sockets it would name by their names and endpoints alone.
    pub fn by_name(&self) -> Sel {
        Sel {
            ident: Box::new(Ident {
                same: None,
                other: None,
                ..(*self.ident).clone()
            }),
            ..self.clone()
        }
    }
}

/// Which socket, beyond the names it has had. Names alone cannot say it: a
/// variable can be pointed at another socket (`tmp = cli`, `cli = socket()`,
/// `cli = tmp`), a socket's identity (its `#N`) cannot. `peer_of` picks the
/// other end of a named socket's connection; in a `seq`, the sockets that
/// met one part are named (`as = "fresh"`), and a later part may demand one
/// of them (`same = "fresh"`) or none of them (`other = "fresh"`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ident {
    /// `peer_of = "cli"`: only the other end of a connection of a student
    /// socket named so (its local endpoint is that socket's peer, and its
    /// peer endpoint that socket's local one).
    pub peer_of: Option<String>,
    /// `as = "fresh"`: the sockets that met this part, for the later parts.
    pub name: Option<String>,
    /// `same = "fresh"`: only one of the sockets so named.
    pub same: Option<Captured>,
    /// `other = "refused"`: none of the sockets so named.
    pub other: Option<Captured>,
}

/// The sockets an `as` name stands for, filled in while its `seq` runs
/// (empty until the part that names them is met).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captured {
    pub name: String,
    pub socks: Vec<SockId>,
    /// What the naming part was, for "not yet" lines ("the socket
    /// `cli = socket()` made").
    pub what: Option<Why>,
}

impl Ident {
    /// Whether socket `sock` (None: a call on no socket) meets `same` and `other`.
    pub fn allows(&self, sock: Option<SockId>) -> bool {
        self.same
            .as_ref()
            .is_none_or(|c| sock.is_some_and(|s| c.socks.contains(&s)))
            && self
                .other
                .as_ref()
                .is_none_or(|c| sock.is_none_or(|s| !c.socks.contains(&s)))
    }

    /// Whether it demands anything of a socket.
    pub fn demands(&self) -> bool {
        self.same.is_some() || self.other.is_some()
    }
}

/// Mistakes in one check table, all at its place in the file.
pub struct Errs<'a> {
    pub(super) span: Range<usize>,
    pub(super) out: &'a mut Vec<CondError>,
}

impl Errs<'_> {
    pub fn err(&mut self, msg: impl Into<String>) {
        self.out.push((self.span.clone(), msg.into()));
    }

    /// `when = "ever" | "now"` (default ever).
    pub fn when(&mut self, when: &Option<String>) -> When {
        match when.as_deref() {
            None | Some("ever") => When::Ever,
            Some("now") => When::Now,
            Some(other) => {
                self.err(format!("when = \"{other}\": use \"ever\" or \"now\""));
                When::Ever
            }
        }
    }

    /// `socket` and `owner`; `default` is the owner when none is given.
    pub fn sel(
        &mut self,
        socket: &Option<String>,
        owner: &Option<String>,
        default: OwnerSel,
    ) -> Sel {
        let owner = match owner.as_deref() {
            None => default,
            Some("student") | Some("you") => OwnerSel::Student,
            Some("any") => OwnerSel::Any,
            Some("") => {
                self.err("owner is empty");
                OwnerSel::Student
            }
            Some(p) => OwnerSel::Peer(p.to_string()),
        };
        let label = match socket.as_deref() {
            None | Some("*") => None,
            Some("") => {
                self.err("socket is empty (use \"*\" for any socket)");
                None
            }
            Some(s) => Some(s.to_string()),
        };
        Sel {
            label,
            owner,
            family: None,
            port: None,
            ty: None,
            ident: Box::default(),
        }
    }

    /// `as`, `same` and `other` (names for sockets across a `seq`; which
    /// names exist is checked where the whole `seq` is read).
    pub fn ident(
        &mut self,
        name: &Option<String>,
        same: &Option<String>,
        other: &Option<String>,
    ) -> Ident {
        for (key, v) in [("as", name), ("same", same), ("other", other)] {
            if let Some(v) = v
                && !is_capture_name(v)
            {
                self.err(format!(
                    "{key} = \"{v}\": a name for sockets is a word of letters, digits and _ (like \"fresh\")"
                ));
            }
        }
        if let (Some(s), Some(o)) = (same, other)
            && s == o
        {
            self.err(format!(
                "same = \"{s}\" and other = \"{o}\" contradict each other (no socket is both)"
            ));
        }
        let captured = |n: &Option<String>| {
            n.as_ref().map(|n| Captured {
                name: n.clone(),
                ..Captured::default()
            })
        };
        Ident {
            peer_of: None,
            name: name.clone(),
            same: captured(same),
            other: captured(other),
        }
    }

    /// `peer_of = "cli"`: a student variable, not the check's own socket.
    pub fn peer_of(&mut self, peer_of: &Option<String>, socket: &Option<String>) -> Option<String> {
        let p = peer_of.as_ref()?;
        if p.is_empty() || p == "*" {
            self.err("peer_of names one socket variable (like \"cli\"), not \"\" or \"*\"");
            return None;
        }
        if socket.as_ref() == Some(p) {
            self.err(format!(
                "socket = \"{p}\" and peer_of = \"{p}\": a socket is not the other end of its own connection"
            ));
        }
        Some(p.clone())
    }

    /// The `socket` key a kind requires.
    pub fn need_socket(&mut self, socket: &Option<String>, kind: &str) {
        if socket.is_none() {
            self.err(format!(
                "a `{kind}` check needs `socket` (a variable name, or \"*\" for any)"
            ));
        }
    }

    /// `count` (default 1).
    pub fn count(&mut self, count: Option<i64>) -> u32 {
        match count {
            None => 1,
            Some(n) if (1..=1000).contains(&n) => n as u32,
            Some(n) => {
                self.err(format!("count = {n}: must be between 1 and 1000"));
                1
            }
        }
    }

    pub fn non_neg(&mut self, v: i64, name: &str) -> u32 {
        if (0..=u32::MAX as i64).contains(&v) {
            v as u32
        } else {
            self.err(format!("{name} = {v}: must be 0 or more"));
            0
        }
    }

    /// A byte string with lesson escapes (`\n`, `\xNN`).
    pub fn bytes_ok(&mut self, v: &Option<String>, name: &str) {
        if let Some(s) = v
            && let Err(e) = unescape(s)
        {
            self.err(format!("{name}: {e}"));
        }
    }

    /// A kernel state name as `ss` prints it.
    /// `type = "SOCK_STREAM"` or `"SOCK_DGRAM"` (also `TCP` / `UDP`, any case).
    pub fn sock_type(&mut self, name: &Option<String>) -> Option<SockType> {
        let n = name.as_deref()?.trim().to_ascii_lowercase();
        match n.trim_start_matches("sock_") {
            "stream" | "tcp" => Some(SockType::Stream),
            "dgram" | "udp" => Some(SockType::Dgram),
            _ => {
                self.err(format!(
                    "unknown type \"{}\"; use \"SOCK_STREAM\" or \"SOCK_DGRAM\"",
                    name.as_deref().unwrap_or_default()
                ));
                None
            }
        }
    }

    /// `port = "{port}"` or a number: a placeholder, or 1–65535.
    pub fn port(&mut self, port: &Option<StrOrInt>) -> Option<String> {
        let p = port.as_ref()?.text();
        let t = p.trim();
        let placeholder = t.starts_with('{') && t.ends_with('}');
        if !placeholder && !t.parse::<u16>().is_ok_and(|n| n > 0) {
            self.err(format!(
                "port = \"{p}\": use a placeholder (\"{{port}}\") or a number 1–65535"
            ));
        }
        Some(p)
    }

    /// `family = "AF_INET6"` (also `AF_INET`; `inet6`/`ipv6`/`v6` and
    /// `inet`/`ipv4`/`v4` are read as the same).
    pub fn family(&mut self, name: &Option<String>) -> Option<Family> {
        let n = name.as_deref()?.trim().to_ascii_lowercase();
        match n.trim_start_matches("af_") {
            "inet6" | "ipv6" | "v6" => Some(Family::V6),
            "inet" | "ipv4" | "v4" => Some(Family::V4),
            _ => {
                self.err(format!(
                    "unknown family \"{}\"; use \"AF_INET\" or \"AF_INET6\"",
                    name.as_deref().unwrap_or_default()
                ));
                None
            }
        }
    }

    /// A kernel state name. Loose spellings are read as the kernel's name
    /// on purpose: any case, `-` for `_`, and `ss`'s `ESTAB`, `FIN-WAIT-1`,
    /// `CLOSED`, `SYN-RECEIVED`.
    pub fn tcp(&mut self, name: &str) -> Option<TcpState> {
        let up = normal_tcp_name(name);
        if KERNEL_NAMES.contains(&up.as_str()) {
            TcpState::from_name(&up)
        } else {
            self.err(format!(
                "unknown kernel state \"{name}\"{}; states: {}",
                did_you_mean(&up, KERNEL_NAMES),
                KERNEL_NAMES.join(" ")
            ));
            None
        }
    }
}

/// `ss`'s and other loose spellings of a kernel state, as the kernel names it.
pub fn normal_tcp_name(name: &str) -> String {
    let up = name.trim().to_ascii_uppercase().replace(['-', ' '], "_");
    match up.as_str() {
        "ESTAB" => "ESTABLISHED".to_string(),
        "CLOSED" => "CLOSE".to_string(),
        "SYN_RECEIVED" => "SYN_RECV".to_string(),
        "FIN_WAIT_1" => "FIN_WAIT1".to_string(),
        "FIN_WAIT_2" => "FIN_WAIT2".to_string(),
        _ => up,
    }
}

/// ` (did you mean "x"?)` when one of `known` is close to `word`, else "".
pub fn did_you_mean(word: &str, known: &[&str]) -> String {
    let w = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(&w, &k.to_ascii_lowercase()), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" (did you mean \"{k}\"?)"))
        .unwrap_or_default()
}

/// A string or an integer (`returned = 5`, `port = "{port}"`).
#[derive(serde::Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum StrOrInt {
    Str(String),
    Int(i64),
}

impl StrOrInt {
    pub fn text(&self) -> String {
        match self {
            StrOrInt::Str(s) => s.clone(),
            StrOrInt::Int(i) => i.to_string(),
        }
    }
}

/// Remember the first seq a fact held for this key.
pub fn note(map: &mut HashMap<Option<SockId>, u64>, key: Option<SockId>, seq: u64) {
    map.entry(key).or_insert(seq);
}

/// A lesson byte string, decoded (as written if it does not decode).
pub fn decode(s: &Option<String>) -> Option<Vec<u8>> {
    s.as_ref()
        .map(|s| unescape(s).unwrap_or_else(|_| s.as_bytes().to_vec()))
}

pub fn bytes_repr(s: &str) -> String {
    py_bytes_repr(&unescape(s).unwrap_or_else(|_| s.as_bytes().to_vec()))
}

/// "no socket" / "no socket of client": the subject of a "not yet" sentence.
pub fn subject(sel: &Sel) -> Why {
    match (&sel.label, &sel.owner) {
        (Some(l), _) => Why::plain(l),
        (None, OwnerSel::Peer(p)) => Why::new("why.subj.peer").arg("peer", p),
        (None, _) => Why::new("why.subj.any"),
    }
}

/// "there is no socket named srv yet", when the check names a socket not made
/// yet (or "srv is not on port 4321" when one is, on another port or family;
/// "conn is not the other end of cli's connection" with `peer_of`). Which
/// sockets a `seq` named (`same`, `other`) is said by the kind's line itself.
pub fn missing_label(model: &LabModel, sel: &Sel) -> Option<Why> {
    let l = sel.label.as_ref()?;
    let sel = &sel.by_name();
    if let Some(f) = sel.family {
        let any_family = Sel {
            family: None,
            ..sel.clone()
        };
        if newest(model, sel).is_none() && newest(model, &any_family).is_some() {
            let family = match f {
                Family::V6 => "AF_INET6",
                Family::V4 => "AF_INET",
            };
            return Some(
                Why::new("why.wrong_family")
                    .arg("sock", l)
                    .arg("family", family),
            );
        }
    }
    if let Some(p) = &sel.port {
        let any_port = Sel {
            port: None,
            ..sel.clone()
        };
        if newest(model, sel).is_none() && newest(model, &any_port).is_some() {
            return Some(Why::new("why.wrong_port").arg("sock", l).arg("port", p));
        }
    }
    if let Some(of) = &sel.ident.peer_of {
        let any_peer = Sel {
            ident: Box::default(),
            ..sel.clone()
        };
        if newest(model, sel).is_none() && newest(model, &any_peer).is_some() {
            return Some(Why::new("why.not_peer_of").arg("sock", l).arg("of", of));
        }
    }
    newest(model, sel)
        .is_none()
        .then(|| Why::new("why.no_socket").arg("sock", l))
}

/// A name `as`, `same` and `other` take: letters, digits, `_`.
pub fn is_capture_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The earliest seq at which a selected socket's fact held.
pub fn first_selected(
    first: &HashMap<Option<SockId>, u64>,
    model: &LabModel,
    sel: &Sel,
) -> Option<u64> {
    first
        .iter()
        .filter(|(k, _)| match k {
            Some(s) => selects(model, *s, sel),
            None => sel.label.is_none(),
        })
        .map(|(_, s)| *s)
        .min()
}
