//! The check language: what a step's `check` table means, and turning the
//! raw TOML table into a [`Cond`] with every mistake reported.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::engine::error::errno_by_name;
use crate::engine::types::{Dir, LabState, TcpState};

use super::format::unescape;

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
}

impl Sel {
    pub fn any_student() -> Sel {
        Sel {
            label: None,
            owner: OwnerSel::Student,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    Accept,
    Recv,
    Send,
}

/// What a call must have done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallReq {
    pub ok: Option<bool>,
    pub errno: Option<String>,
    pub error: Option<String>,
    /// Escaped bytes (or an integer for calls returning one).
    pub returned: Option<String>,
    pub partial: Option<bool>,
    pub pending: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    /// Each became true at or after the moment the previous one did.
    Seq(Vec<Cond>),
    Lab {
        sel: Sel,
        state: String,
        when: When,
        count: u32,
    },
    Kernel {
        sel: Sel,
        state: TcpState,
        when: When,
        count: u32,
    },
    Queue {
        sel: Sel,
        queue: Queue,
        min: u32,
        when: When,
    },
    Call {
        sel: Sel,
        method: String,
        req: CallReq,
    },
    Data {
        sel: Sel,
        dir: Dir,
        /// Escaped; exactly one chunk.
        bytes: Option<String>,
        /// Escaped; somewhere in everything that moved.
        contains: Option<String>,
        total_at_least: Option<u64>,
    },
    Peer {
        peer: String,
        got: Option<String>,
        said: Option<String>,
        measure: Option<String>,
    },
    Orphan {
        sel: Sel,
        state: TcpState,
        port: Option<String>,
        when: When,
    },
}

impl Cond {
    /// The same condition with `f` applied to every string a placeholder may be in.
    pub fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Cond {
        let o = |s: &Option<String>| s.as_deref().map(f);
        let all = |v: &[Cond]| v.iter().map(|c| c.map_strings(f)).collect();
        match self {
            Cond::All(v) => Cond::All(all(v)),
            Cond::Any(v) => Cond::Any(all(v)),
            Cond::Seq(v) => Cond::Seq(all(v)),
            Cond::Call { sel, method, req } => Cond::Call {
                sel: sel.clone(),
                method: method.clone(),
                req: CallReq {
                    returned: o(&req.returned),
                    ..req.clone()
                },
            },
            Cond::Data {
                sel,
                dir,
                bytes,
                contains,
                total_at_least,
            } => Cond::Data {
                sel: sel.clone(),
                dir: *dir,
                bytes: o(bytes),
                contains: o(contains),
                total_at_least: *total_at_least,
            },
            Cond::Peer {
                peer,
                got,
                said,
                measure,
            } => Cond::Peer {
                peer: peer.clone(),
                got: o(got),
                said: o(said),
                measure: measure.clone(),
            },
            Cond::Orphan {
                sel,
                state,
                port,
                when,
            } => Cond::Orphan {
                sel: sel.clone(),
                state: *state,
                port: o(port),
                when: *when,
            },
            other => other.clone(),
        }
    }

    /// Every peer name the condition names as an owner or a peer.
    pub fn peer_names(&self, out: &mut Vec<String>) {
        match self {
            Cond::All(v) | Cond::Any(v) | Cond::Seq(v) => v.iter().for_each(|c| c.peer_names(out)),
            Cond::Lab { sel, .. }
            | Cond::Kernel { sel, .. }
            | Cond::Queue { sel, .. }
            | Cond::Call { sel, .. }
            | Cond::Data { sel, .. }
            | Cond::Orphan { sel, .. } => {
                if let OwnerSel::Peer(p) = &sel.owner {
                    out.push(p.clone());
                }
            }
            Cond::Peer { peer, .. } => out.push(peer.clone()),
        }
    }

    /// Every student socket label the condition names (for the validator).
    pub fn student_labels(&self, out: &mut Vec<String>) {
        match self {
            Cond::All(v) | Cond::Any(v) | Cond::Seq(v) => {
                v.iter().for_each(|c| c.student_labels(out))
            }
            Cond::Lab { sel, .. }
            | Cond::Kernel { sel, .. }
            | Cond::Queue { sel, .. }
            | Cond::Call { sel, .. }
            | Cond::Data { sel, .. }
            | Cond::Orphan { sel, .. } => {
                if let (Some(l), OwnerSel::Student) = (&sel.label, &sel.owner) {
                    out.push(l.clone());
                }
            }
            Cond::Peer { .. } => {}
        }
    }
}

/// A check table as written. Every key is optional here; which keys belong
/// together is decided by [`convert`], so a mistake gets a specific message.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    all: Option<Vec<Spanned<RawCheck>>>,
    any: Option<Vec<Spanned<RawCheck>>>,
    seq: Option<Vec<Spanned<RawCheck>>>,
    socket: Option<String>,
    owner: Option<String>,
    lab: Option<String>,
    kernel: Option<String>,
    when: Option<String>,
    count: Option<i64>,
    accept_queue: Option<i64>,
    recv_q: Option<i64>,
    send_q: Option<i64>,
    call: Option<String>,
    ok: Option<bool>,
    errno: Option<String>,
    error: Option<String>,
    returned: Option<StrOrInt>,
    partial: Option<bool>,
    pending: Option<bool>,
    data: Option<String>,
    bytes: Option<String>,
    contains: Option<String>,
    total_at_least: Option<i64>,
    peer: Option<String>,
    got: Option<String>,
    said: Option<String>,
    measure: Option<String>,
    orphan: Option<String>,
    port: Option<StrOrInt>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum StrOrInt {
    Str(String),
    Int(i64),
}

impl StrOrInt {
    fn text(&self) -> String {
        match self {
            StrOrInt::Str(s) => s.clone(),
            StrOrInt::Int(i) => i.to_string(),
        }
    }
}

/// A problem found in a check: where (byte range in the file) and what.
pub type CondError = (Range<usize>, String);

/// Kernel state names as lesson files write them (as `ss` prints them).
pub const KERNEL_NAMES: &[&str] = &[
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
];

const EXCEPTIONS: &[&str] = &[
    "OSError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "ConnectionAbortedError",
    "ConnectionError",
    "BrokenPipeError",
    "BlockingIOError",
    "TimeoutError",
    "PermissionError",
    "InterruptedError",
    "KeyboardInterrupt",
    "LabError",
    "ValueError",
    "TypeError",
];

pub fn convert(raw: &Spanned<RawCheck>, errs: &mut Vec<CondError>) -> Option<Cond> {
    let span = raw.span();
    let r = raw.get_ref();
    let mut err = |msg: String| errs.push((span.clone(), msg));

    let mut kinds: Vec<&str> = Vec::new();
    for (present, name) in [
        (r.all.is_some(), "all"),
        (r.any.is_some(), "any"),
        (r.seq.is_some(), "seq"),
        (r.lab.is_some(), "lab"),
        (r.kernel.is_some(), "kernel"),
        (r.accept_queue.is_some(), "accept_queue"),
        (r.recv_q.is_some(), "recv_q"),
        (r.send_q.is_some(), "send_q"),
        (r.call.is_some(), "call"),
        (r.data.is_some(), "data"),
        (r.peer.is_some(), "peer"),
        (r.orphan.is_some(), "orphan"),
    ] {
        if present {
            kinds.push(name);
        }
    }
    let kind = match kinds.as_slice() {
        [k] => *k,
        [] => {
            err("a check needs one of: all, any, seq, lab, kernel, accept_queue, recv_q, send_q, call, data, peer, orphan".to_string());
            return None;
        }
        many => {
            err(format!(
                "a check has exactly one kind, this one has {} (wrap several in all = [...])",
                many.join(", ")
            ));
            return None;
        }
    };

    // Keys each kind accepts besides its own.
    let allowed: &[&str] = match kind {
        "all" | "any" | "seq" => &[],
        "lab" | "kernel" => &["socket", "owner", "when", "count"],
        "accept_queue" | "recv_q" | "send_q" => &["socket", "owner", "when"],
        "call" => &[
            "socket", "owner", "ok", "errno", "error", "returned", "partial", "pending",
        ],
        "data" => &["socket", "owner", "bytes", "contains", "total_at_least"],
        "peer" => &["got", "said", "measure"],
        "orphan" => &["socket", "owner", "port", "when"],
        _ => &[],
    };
    for (present, name) in [
        (r.socket.is_some(), "socket"),
        (r.owner.is_some(), "owner"),
        (r.when.is_some(), "when"),
        (r.count.is_some(), "count"),
        (r.ok.is_some(), "ok"),
        (r.errno.is_some(), "errno"),
        (r.error.is_some(), "error"),
        (r.returned.is_some(), "returned"),
        (r.partial.is_some(), "partial"),
        (r.pending.is_some(), "pending"),
        (r.bytes.is_some(), "bytes"),
        (r.contains.is_some(), "contains"),
        (r.total_at_least.is_some(), "total_at_least"),
        (r.got.is_some(), "got"),
        (r.said.is_some(), "said"),
        (r.measure.is_some(), "measure"),
        (r.port.is_some(), "port"),
    ] {
        if present && !allowed.contains(&name) {
            err(format!("`{name}` does not apply to a `{kind}` check"));
        }
    }

    let when = match r.when.as_deref() {
        None | Some("ever") => When::Ever,
        Some("now") => When::Now,
        Some(other) => {
            err(format!("when = \"{other}\": use \"ever\" or \"now\""));
            When::Ever
        }
    };
    let owner = match r.owner.as_deref() {
        // A descriptor-less entry is about a connection, whoever held it.
        None if kind == "orphan" => OwnerSel::Any,
        None | Some("student") | Some("you") => OwnerSel::Student,
        Some("any") => OwnerSel::Any,
        Some("") => {
            err("owner is empty".to_string());
            OwnerSel::Student
        }
        Some(p) => OwnerSel::Peer(p.to_string()),
    };
    let label = match r.socket.as_deref() {
        None | Some("*") => None,
        Some("") => {
            err("socket is empty (use \"*\" for any socket)".to_string());
            None
        }
        Some(s) => Some(s.to_string()),
    };
    let sel = Sel { label, owner };
    let needs_socket = matches!(
        kind,
        "lab" | "kernel" | "accept_queue" | "recv_q" | "send_q"
    );
    if needs_socket && r.socket.is_none() {
        err(format!(
            "a `{kind}` check needs `socket` (a variable name, or \"*\" for any)"
        ));
    }
    let count = match r.count {
        None => 1,
        Some(n) if (1..=1000).contains(&n) => n as u32,
        Some(n) => {
            err(format!("count = {n}: must be between 1 and 1000"));
            1
        }
    };
    let non_neg = |v: i64, name: &str, errs: &mut Vec<CondError>| -> u32 {
        if (0..=u32::MAX as i64).contains(&v) {
            v as u32
        } else {
            errs.push((span.clone(), format!("{name} = {v}: must be 0 or more")));
            0
        }
    };
    let bytes_ok = |v: &Option<String>, name: &str, errs: &mut Vec<CondError>| {
        if let Some(s) = v
            && let Err(e) = unescape(s)
        {
            errs.push((span.clone(), format!("{name}: {e}")));
        }
    };
    let tcp = |name: &str, errs: &mut Vec<CondError>| -> Option<TcpState> {
        let up = name.trim().to_ascii_uppercase().replace('-', "_");
        if KERNEL_NAMES.contains(&up.as_str()) || up == "CLOSED" {
            TcpState::from_name(name)
        } else {
            errs.push((
                span.clone(),
                format!(
                    "unknown kernel state \"{name}\"; states: {}",
                    KERNEL_NAMES.join(" ")
                ),
            ));
            None
        }
    };
    let kids = |v: &Vec<Spanned<RawCheck>>, errs: &mut Vec<CondError>| -> Option<Vec<Cond>> {
        if v.is_empty() {
            errs.push((span.clone(), format!("`{kind}` needs at least one check")));
            return None;
        }
        let out: Vec<Option<Cond>> = v.iter().map(|c| convert(c, errs)).collect();
        out.into_iter().collect()
    };

    let cond = match kind {
        "all" => Cond::All(kids(r.all.as_ref()?, errs)?),
        "any" => Cond::Any(kids(r.any.as_ref()?, errs)?),
        "seq" => Cond::Seq(kids(r.seq.as_ref()?, errs)?),
        "lab" => {
            let state = r.lab.clone()?;
            let n = state.trim().to_ascii_lowercase().replace('_', "-");
            if !LabState::NAMES.contains(&n.as_str()) {
                errs.push((
                    span.clone(),
                    format!(
                        "unknown lab state \"{state}\"; states: {}",
                        LabState::NAMES.join(" ")
                    ),
                ));
                return None;
            }
            Cond::Lab {
                sel,
                state: n,
                when,
                count,
            }
        }
        "kernel" => Cond::Kernel {
            sel,
            state: tcp(r.kernel.as_deref()?, errs)?,
            when,
            count,
        },
        "accept_queue" | "recv_q" | "send_q" => {
            let (queue, v) = match kind {
                "accept_queue" => (Queue::Accept, r.accept_queue?),
                "recv_q" => (Queue::Recv, r.recv_q?),
                _ => (Queue::Send, r.send_q?),
            };
            Cond::Queue {
                sel,
                queue,
                min: non_neg(v, kind, errs),
                when,
            }
        }
        "call" => {
            let method = r.call.clone()?;
            if !CALL_METHODS.contains(&method.as_str()) {
                errs.push((
                    span.clone(),
                    format!(
                        "unknown call \"{method}\"; calls: {}",
                        CALL_METHODS.join(" ")
                    ),
                ));
            }
            if let Some(e) = &r.errno
                && errno_by_name(e).is_none()
            {
                errs.push((span.clone(), format!("unknown errno name \"{e}\"")));
            }
            if let Some(e) = &r.error
                && !EXCEPTIONS.contains(&e.as_str())
            {
                errs.push((
                    span.clone(),
                    format!("unknown exception \"{e}\"; known: {}", EXCEPTIONS.join(" ")),
                ));
            }
            let returned = r.returned.as_ref().map(StrOrInt::text);
            bytes_ok(&returned, "returned", errs);
            if r.ok == Some(true) && (r.errno.is_some() || r.error.is_some()) {
                errs.push((
                    span.clone(),
                    "ok = true contradicts errno/error (a call that succeeded raised nothing)"
                        .to_string(),
                ));
            }
            Cond::Call {
                sel,
                method,
                req: CallReq {
                    ok: r.ok,
                    errno: r.errno.clone(),
                    error: r.error.clone(),
                    returned,
                    partial: r.partial,
                    pending: r.pending,
                },
            }
        }
        "data" => {
            let dir = match r.data.as_deref()? {
                "sent" => Dir::Sent,
                "received" => Dir::Received,
                other => {
                    errs.push((
                        span.clone(),
                        format!("data = \"{other}\": use \"sent\" or \"received\""),
                    ));
                    return None;
                }
            };
            bytes_ok(&r.bytes, "bytes", errs);
            bytes_ok(&r.contains, "contains", errs);
            let total = r
                .total_at_least
                .map(|v| non_neg(v, "total_at_least", errs) as u64);
            if r.bytes.is_none() && r.contains.is_none() && total.is_none() {
                errs.push((
                    span.clone(),
                    "a `data` check needs bytes, contains or total_at_least".to_string(),
                ));
            }
            Cond::Data {
                sel,
                dir,
                bytes: r.bytes.clone(),
                contains: r.contains.clone(),
                total_at_least: total,
            }
        }
        "peer" => {
            if r.got.is_none() && r.said.is_none() && r.measure.is_none() {
                errs.push((
                    span.clone(),
                    "a `peer` check needs got, said or measure".to_string(),
                ));
            }
            Cond::Peer {
                peer: r.peer.clone()?,
                got: r.got.clone(),
                said: r.said.clone(),
                measure: r.measure.clone(),
            }
        }
        "orphan" => Cond::Orphan {
            sel,
            state: tcp(r.orphan.as_deref()?, errs)?,
            port: r.port.as_ref().map(StrOrInt::text),
            when,
        },
        _ => return None,
    };
    Some(cond)
}

/// Method names a `call` check may name (the Python socket API the lab has).
pub const CALL_METHODS: &[&str] = &[
    "socket",
    "bind",
    "listen",
    "accept",
    "connect",
    "connect_ex",
    "send",
    "sendall",
    "sendto",
    "recv",
    "recvfrom",
    "shutdown",
    "close",
    "setsockopt",
    "getsockopt",
    "getsockname",
    "getpeername",
    "settimeout",
    "gettimeout",
    "setblocking",
    "fileno",
    "select",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        check: Spanned<RawCheck>,
    }

    fn conv(src: &str) -> Result<Cond, Vec<String>> {
        let d: Doc = toml::from_str(src).map_err(|e| vec![e.to_string()])?;
        let mut errs = Vec::new();
        let c = convert(&d.check, &mut errs);
        if errs.is_empty() {
            Ok(c.unwrap())
        } else {
            Err(errs.into_iter().map(|e| e.1).collect())
        }
    }

    #[test]
    fn converts_each_kind() {
        assert_eq!(
            conv(r#"check = { socket = "srv", lab = "listening" }"#).unwrap(),
            Cond::Lab {
                sel: Sel {
                    label: Some("srv".into()),
                    owner: OwnerSel::Student
                },
                state: "listening".into(),
                when: When::Ever,
                count: 1
            }
        );
        let c = conv(
            r#"check = { seq = [ { socket = "*", owner = "client", kernel = "syn_sent", when = "now", count = 2 }, { call = "connect", errno = "ECONNREFUSED" } ] }"#,
        )
        .unwrap();
        let Cond::Seq(v) = c else { panic!("{c:?}") };
        assert!(matches!(
            &v[0],
            Cond::Kernel { sel, state: TcpState::SynSent, when: When::Now, count: 2 }
                if sel.owner == OwnerSel::Peer("client".into()) && sel.label.is_none()
        ));
        assert!(
            matches!(&v[1], Cond::Call { method, req, .. } if method == "connect" && req.errno.as_deref() == Some("ECONNREFUSED"))
        );
        assert!(conv(r#"check = { orphan = "TIME_WAIT", port = "{port}" }"#).is_ok());
        assert!(conv(r#"check = { data = "sent", socket = "c", bytes = "hi\\n" }"#).is_ok());
        assert!(conv(r#"check = { peer = "device", got = "LED ON" }"#).is_ok());
        assert!(conv(r#"check = { socket = "srv", accept_queue = 2 }"#).is_ok());
    }

    #[test]
    fn reports_mistakes() {
        let e = |s: &str| conv(s).unwrap_err().join(" | ");
        assert!(e(r#"check = { socket = "s", lab = "listenning" }"#).contains("unknown lab state"));
        assert!(
            e(r#"check = { socket = "s", kernel = "WAITING" }"#).contains("unknown kernel state")
        );
        assert!(e(r#"check = { call = "connect", errno = "ENOPE" }"#).contains("unknown errno"));
        assert!(e(r#"check = { call = "conect" }"#).contains("unknown call"));
        assert!(e(r#"check = { lab = "bound" }"#).contains("needs `socket`"));
        assert!(
            e(r#"check = { socket = "s", lab = "bound", bytes = "x" }"#).contains("does not apply")
        );
        assert!(
            e(r#"check = { socket = "s", lab = "bound", call = "bind" }"#)
                .contains("exactly one kind")
        );
        assert!(e(r#"check = { socket = "s", lab = "bound", when = "later" }"#).contains("when"));
        assert!(e(r#"check = { data = "sent", bytes = "\\q" }"#).contains("unknown escape"));
        assert!(e(r#"check = { all = [] }"#).contains("at least one"));
        assert!(
            e(r#"check = { socket = "s", lab = "bound", colour = 1 }"#).contains("unknown field")
        );
    }
}
