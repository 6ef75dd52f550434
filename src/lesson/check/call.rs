//! `call = "connect"`: a call the student (or a peer) made, and how it
//! ended: ok, errno, the exception, what it returned, whether it sent only
//! part, whether it had to wait, and what its arguments said
//! (`args = "SO_REUSEADDR"`: the arguments as the log writes them, with
//! values rather than the variables they came from, contain that text);
//! for `select`, which socket it returned as readable (`readable = "a"`).

use std::collections::HashMap;

use serde::Deserialize;

use crate::engine::error::{errno_by_name, errno_name};
use crate::engine::event::{Event, EventKind};
use crate::engine::model::LabModel;
use crate::engine::types::{Ret, SockId};

use crate::engine::model::OpenCall;
use super::super::select::*;
use super::super::why::Why;
use super::common::{did_you_mean, Errs, OwnerSel, Sel, StrOrInt, bytes_repr, decode, note};
use super::CheckKind;

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

/// Every errno name the engine knows (for "did you mean").
fn errno_names() -> Vec<&'static str> {
    (1..200).filter_map(errno_name).collect()
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCall {
    call: String,
    socket: Option<String>,
    owner: Option<String>,
    ok: Option<bool>,
    errno: Option<String>,
    error: Option<String>,
    returned: Option<StrOrInt>,
    partial: Option<bool>,
    pending: Option<bool>,
    args: Option<String>,
    readable: Option<String>,
    #[serde(rename = "as")]
    name_as: Option<String>,
    same: Option<String>,
    other: Option<String>,
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
    /// Text the call's arguments (as the log writes them) must contain.
    pub args: Option<String>,
    /// `select` only: what counts is a socket it returned in its first
    /// list; the check's `sel` names that socket (`readable = "a"`; `"*"`:
    /// any), as a select is on no socket of its own.
    pub readable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallCheck {
    pub sel: Sel,
    pub method: String,
    pub req: CallReq,
}

#[derive(Clone, Debug, Default)]
pub struct CallFacts {
    /// Per socket (None: a call with no socket): the first matching call.
    /// With `readable`: per socket the select returned as readable.
    first: HashMap<Option<SockId>, u64>,
    returned: Option<Vec<u8>>,
    errno: Option<i32>,
}

impl CheckKind for CallCheck {
    const KEYS: &'static [&'static str] = &["call"];
    type Raw = RawCall;
    type Facts = CallFacts;

    fn build(r: RawCall, _kind: &str, e: &mut Errs) -> Option<Self> {
        let mut sel = e.sel(&r.socket, &r.owner, OwnerSel::Student);
        sel.ident = Box::new(e.ident(&r.name_as, &r.same, &r.other));
        let method = r.call;
        let readable = match r.readable.as_deref() {
            None => false,
            Some(_) if method != "select" => {
                e.err(format!(
                    "`readable` is what a select() returned; this is a `{method}` check"
                ));
                false
            }
            Some(_) if r.socket.is_some() => {
                e.err("a select() call is on no socket of its own: name the one it returned with `readable`, not `socket`");
                false
            }
            Some("") => {
                e.err("readable is empty (use \"*\" for any socket)");
                false
            }
            // The socket it returned is the one the check is about.
            Some("*") => true,
            Some(l) => {
                sel.label = Some(l.to_string());
                true
            }
        };
        if readable && r.ok == Some(false) {
            e.err("readable with ok = false: a select() that failed returned nothing");
        }
        if !CALL_METHODS.contains(&method.as_str()) {
            e.err(format!(
                "unknown call \"{method}\"{}; calls: {}",
                did_you_mean(&method, CALL_METHODS),
                CALL_METHODS.join(" ")
            ));
        }
        if let Some(x) = &r.errno
            && errno_by_name(x).is_none()
        {
            e.err(format!(
                "unknown errno name \"{x}\"{}",
                did_you_mean(x, &errno_names())
            ));
        }
        if let Some(x) = &r.error
            && !EXCEPTIONS.contains(&x.as_str())
        {
            e.err(format!(
                "unknown exception \"{x}\"{}; known: {}",
                did_you_mean(x, EXCEPTIONS),
                EXCEPTIONS.join(" ")
            ));
        }
        let returned = r.returned.as_ref().map(StrOrInt::text);
        e.bytes_ok(&returned, "returned");
        if r.ok == Some(true) && (r.errno.is_some() || r.error.is_some()) {
            e.err("ok = true contradicts errno/error (a call that succeeded raised nothing)");
        }
        Some(CallCheck {
            sel,
            method,
            req: CallReq {
                ok: r.ok,
                errno: r.errno,
                error: r.error,
                returned,
                partial: r.partial,
                pending: r.pending,
                args: r.args,
                readable,
            },
        })
    }
    fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Self {
        let mut c = self.clone();
        c.req.returned = self.req.returned.as_deref().map(f);
        c.req.args = self.req.args.as_deref().map(f);
        c
    }
    fn sel(&self) -> Option<&Sel> {
        Some(&self.sel)
    }
    fn sel_mut(&mut self) -> Option<&mut Sel> {
        Some(&mut self.sel)
    }
    fn what(&self) -> Why {
        let target = call_target(&self.sel, &self.method, self.req.readable);
        if self.req.readable {
            return Why::new("why.cap.readable").arg("target", target);
        }
        if self.method == "socket" {
            return Why::new("why.cap.made").arg("target", target);
        }
        let how = call_how(&self.sel, &self.req);
        if how.is_empty() {
            Why::new("why.cap.call").arg("target", target)
        } else {
            Why::new("why.cap.call_how")
                .arg("target", target)
                .list("how", Why::new("why.sep.and"), how)
        }
    }
    fn matched(&self, f: &CallFacts, model: &LabModel) -> Vec<SockId> {
        let mut out: Vec<SockId> = f
            .first
            .keys()
            .filter(|k| self.counts(k, model))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out
    }
    fn start(&self) -> CallFacts {
        CallFacts {
            first: HashMap::new(),
            returned: decode(&self.req.returned),
            errno: self.req.errno.as_deref().and_then(errno_by_name),
        }
    }

    fn feed(&self, f: &mut CallFacts, ev: &Event, model: &LabModel) {
        let req = &self.req;
        let (call, phase) = match &ev.kind {
            EventKind::CallStarted { call, .. } => (call, 0),
            EventKind::CallPending { call, .. } => (call, 1),
            EventKind::CallDone { call, .. } | EventKind::CallFailed { call, .. } => (call, 2),
            _ => return,
        };
        let Some(info) = model.call(*call) else {
            return;
        };
        if info.method != self.method || !owner_ok(&info.owner, &self.sel.owner) {
            return;
        }
        let wants_end = req.ok.is_some()
            || req.readable
            || req.errno.is_some()
            || req.error.is_some()
            || req.returned.is_some()
            || req.partial.is_some()
            || req.pending == Some(false);
        let wanted_phase = if wants_end {
            2
        } else if req.pending == Some(true) {
            1
        } else {
            0
        };
        if phase != wanted_phase {
            return;
        }
        if req.pending.is_some_and(|p| p != info.pending) {
            return;
        }
        if let Some(a) = &req.args
            && !no_spaces(call_args(&info.text)).contains(&no_spaces(a))
        {
            return;
        }
        let mut key = info.sock;
        if phase == 2 {
            let ok = match &ev.kind {
                EventKind::CallDone {
                    ret: Ret::Select(ready, ..),
                    ..
                } if req.readable => {
                    // One fact per socket it returned as readable.
                    for s in ready {
                        note(&mut f.first, Some(*s), ev.seq);
                    }
                    return;
                }
                EventKind::CallDone { ret, .. } => {
                    if let (None, Ret::Socket(s)) = (key, ret) {
                        key = Some(*s);
                    }
                    !req.readable && call_done_ok(req, f, info, ret)
                }
                EventKind::CallFailed { error, .. } => {
                    req.ok != Some(true)
                        && req.returned.is_none()
                        && req.partial.is_none()
                        && req.errno.as_ref().is_none_or(|n| {
                            error
                                .errno_name
                                .as_deref()
                                .is_some_and(|e| e.eq_ignore_ascii_case(n))
                                || (f.errno.is_some() && error.errno == f.errno)
                        })
                        && req
                            .error
                            .as_ref()
                            .is_none_or(|x| exc_matches(x, &error.exc, error.errno))
                }
                _ => false,
            };
            if !ok {
                return;
            }
        }
        note(&mut f.first, key, ev.seq);
    }

    fn met(&self, f: &CallFacts, model: &LabModel) -> Option<u64> {
        f.first
            .iter()
            .filter(|(k, _)| self.counts(k, model))
            .map(|(_, s)| *s)
            .min()
    }

    fn why(&self, _f: &CallFacts, _model: &LabModel) -> Why {
        call_why(&self.sel, &self.method, &self.req)
    }
}

impl CallCheck {
    /// Whether a matching call on `key` (the call's socket, the one it made,
    /// or one a select returned) counts for the check's names. The call's
    /// owner was checked when it was fed.
    fn counts(&self, key: &Option<SockId>, model: &LabModel) -> bool {
        let label = &self.sel.label;
        let by_name = match key {
            // A select's facts are the sockets it returned.
            None => label.is_none() && !self.req.readable,
            Some(s) => label
                .as_ref()
                .is_none_or(|l| model.socks.get(s).is_some_and(|i| i.labels.contains(l))),
        };
        by_name && self.sel.ident.allows(*key)
    }
}

fn call_done_ok(req: &CallReq, d: &CallFacts, info: &OpenCall, ret: &Ret) -> bool {
    // connect_ex reports failure as a returned errno, not an exception.
    let ex_errno = match (info.method.as_str(), ret) {
        ("connect_ex", Ret::Int(n)) if *n != 0 => Some(*n as i32),
        _ => None,
    };
    if let Some(n) = d.errno.or(req.errno.as_ref().map(|_| -1)) {
        return ex_errno == Some(n) && req.ok != Some(true);
    }
    if req.error.is_some() || req.ok == Some(false) {
        return false;
    }
    if let Some(want) = &d.returned {
        let same = match ret {
            Ret::Bytes(b) | Ret::Datagram(b, _) => b.as_ref() == want.as_slice(),
            Ret::Int(n) => std::str::from_utf8(want).ok() == Some(n.to_string().as_str()),
            _ => false,
        };
        if !same {
            return false;
        }
    }
    if let Some(p) = req.partial {
        let short = match (ret, given_len(&info.text)) {
            (Ret::Int(n), Some(g)) => (*n as usize) < g,
            _ => false,
        };
        if short != p {
            return false;
        }
    }
    true
}

/// The arguments of a call as the log writes it: `srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`
/// gives `SOL_SOCKET, SO_REUSEADDR, 1`.
fn call_args(text: &str) -> &str {
    match text.find('(') {
        Some(i) => text[i + 1..].strip_suffix(')').unwrap_or(&text[i + 1..]),
        None => "",
    }
}

/// Text without its spaces: `args = ", 0)"` matches `("127.0.0.1",0)` too.
fn no_spaces(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn exc_matches(want: &str, exc: &str, errno: Option<i32>) -> bool {
    want == exc
        || (want == "OSError" && errno.is_some())
        || (want == "ConnectionError"
            && matches!(
                exc,
                "ConnectionRefusedError"
                    | "ConnectionResetError"
                    | "ConnectionAbortedError"
                    | "BrokenPipeError"
            ))
}

/// The call as the student types it: `cli = socket()`, `cli.connect()`, `select()`.
fn call_target(sel: &Sel, method: &str, readable: bool) -> String {
    match &sel.label {
        // A select's `sel` names what it returned.
        _ if readable => format!("{method}()"),
        // A call that makes the socket is written as the student types it.
        Some(l) if matches!(method, "socket" | "socketpair") => format!("{l} = {method}()"),
        Some(l) => format!("{l}.{method}()"),
        None => format!("{method}()"),
    }
}

/// How the call must have ended, as phrases ("failed with ECONNREFUSED").
fn call_how(sel: &Sel, req: &CallReq) -> Vec<Why> {
    let mut how: Vec<Why> = Vec::new();
    match req.ok {
        Some(true) => how.push(Why::new("why.call.succeeded")),
        Some(false) if req.errno.is_none() && req.error.is_none() => {
            how.push(Why::new("why.call.failed"))
        }
        _ => {}
    }
    if let Some(e) = &req.errno {
        how.push(Why::new("why.call.failed_with").arg("errno", e));
    }
    if let Some(e) = &req.error {
        how.push(Why::new("why.call.raised").arg("error", e));
    }
    if let Some(r) = &req.returned {
        how.push(Why::new("why.call.returned").arg("value", bytes_repr(r)));
    }
    match req.partial {
        Some(true) => how.push(Why::new("why.call.partial")),
        Some(false) => how.push(Why::new("why.call.whole")),
        None => {}
    }
    match req.pending {
        Some(true) => how.push(Why::new("why.call.waited")),
        Some(false) => how.push(Why::new("why.call.no_wait")),
        None => {}
    }
    if let Some(a) = &req.args {
        how.push(Why::new("why.call.args").arg("args", a));
    }
    match (&sel.label, req.readable) {
        (Some(l), true) => how.push(Why::new("why.call.readable").arg("sock", l)),
        (None, true) => how.push(Why::new("why.call.readable_any")),
        _ => {}
    }
    how
}

fn call_why(sel: &Sel, method: &str, req: &CallReq) -> Why {
    let target = call_target(sel, method, req.readable);
    let by = match &sel.owner {
        OwnerSel::Peer(p) => Some(Why::new("why.call.by").arg("peer", p)),
        _ => None,
    };
    let how = call_how(sel, req);
    let w = if how.is_empty() {
        Why::new("why.call.none")
    } else {
        Why::new("why.call.none_such").list("how", Why::new("why.sep.and"), how)
    };
    w.arg("target", target).opt("by", by)
}
