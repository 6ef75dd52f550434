//! `call = "connect"`: a call the student (or a peer) made, and how it
//! ended: ok, errno, the exception, what it returned, whether it sent only
//! part, whether it had to wait, and what its arguments said
//! (`args = "SO_REUSEADDR"`: the arguments as typed contain that text).

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
    /// Text the call's arguments (as typed) must contain.
    pub args: Option<String>,
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
    first: HashMap<Option<SockId>, u64>,
    returned: Option<Vec<u8>>,
    errno: Option<i32>,
}

impl CheckKind for CallCheck {
    const KEYS: &'static [&'static str] = &["call"];
    type Raw = RawCall;
    type Facts = CallFacts;

    fn build(r: RawCall, _kind: &str, e: &mut Errs) -> Option<Self> {
        let sel = e.sel(&r.socket, &r.owner, OwnerSel::Student);
        let method = r.call;
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
                EventKind::CallDone { ret, .. } => {
                    if let (None, Ret::Socket(s)) = (key, ret) {
                        key = Some(*s);
                    }
                    call_done_ok(req, f, info, ret)
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
        let sel = &self.sel;
        f.first
            .iter()
            .filter(|(k, _)| match k {
                None => sel.label.is_none(),
                // The call's owner was checked when it was fed.
                Some(s) => sel
                    .label
                    .as_ref()
                    .is_none_or(|l| model.socks.get(s).is_some_and(|i| i.labels.contains(l))),
            })
            .map(|(_, s)| *s)
            .min()
    }

    fn why(&self, _f: &CallFacts, _model: &LabModel) -> Why {
        call_why(&self.sel, &self.method, &self.req)
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

/// The arguments of a call as typed: `srv.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`
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

fn call_why(sel: &Sel, method: &str, req: &CallReq) -> Why {
    let target = match &sel.label {
        // A call that makes the socket is written as the student types it.
        Some(l) if matches!(method, "socket" | "socketpair") => format!("{l} = {method}()"),
        Some(l) => format!("{l}.{method}()"),
        None => format!("{method}()"),
    };
    let by = match &sel.owner {
        OwnerSel::Peer(p) => Some(Why::new("why.call.by").arg("peer", p)),
        _ => None,
    };
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
    let w = if how.is_empty() {
        Why::new("why.call.none")
    } else {
        Why::new("why.call.none_such").list("how", Why::new("why.sep.and"), how)
    };
    w.arg("target", target).opt("by", by)
}
