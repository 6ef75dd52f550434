//! `traced = "accept"`: a socket call made by a traced program (`:trace`),
//! matched by kind (`accept` answers to `accept4`, `recv` to `recvfrom`,
//! `read`…, `send` to `sendto`, `sendmsg`, `write`…) or by the exact
//! system call name; optionally only a program whose command line
//! contains `program`, one that was stopped before the call in step mode
//! (`stopped = true`: met the moment it stops), how it ended (`ok`,
//! `errno`) and bytes it moved (`contains`). `traced = "exit"`: the
//! program itself (not a fork of it) has ended.

use std::collections::HashSet;

use serde::Deserialize;

use crate::engine::error::{errno_by_name, errno_name};
use crate::engine::event::{Event, EventKind, ProgramNote};
use crate::engine::model::LabModel;
use crate::engine::trace::kind_by_name;
use crate::engine::types::{CallId, Owner, Ret};

use super::super::why::Why;
use super::CheckKind;
use super::common::{Errs, decode, did_you_mean};

/// Names a `traced` check may use.
const KINDS: &[&str] = &[
    "socket", "bind", "listen", "accept", "connect", "send", "sendall", "sendto", "sendmsg",
    "write", "recv", "recvfrom", "recvmsg", "read", "close", "shutdown", "select", "poll",
    "setsockopt", "getsockopt", "exit",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraced {
    traced: String,
    program: Option<String>,
    stopped: Option<bool>,
    ok: Option<bool>,
    errno: Option<String>,
    contains: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedCheck {
    pub call: String,
    pub program: Option<String>,
    pub stopped: bool,
    pub ok: Option<bool>,
    pub errno: Option<String>,
    pub contains: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct TracedFacts {
    /// Matching calls started and not finished.
    open: HashSet<CallId>,
    met: Option<u64>,
    want: Option<Vec<u8>>,
    /// How the last matching call ended, for "why not yet".
    last_errno: Option<i32>,
    seen: bool,
}

impl TracedCheck {
    fn matches(&self, method: &str) -> bool {
        method == self.call
            || kind_by_name(method).is_some_and(|k| kind_by_name(&self.call) == Some(k))
    }

    fn program_ok(&self, model: &LabModel, pid: u32) -> bool {
        let Some(want) = &self.program else {
            return true;
        };
        model
            .programs
            .get(&pid)
            .is_some_and(|p| p.argv.join(" ").contains(want.as_str()))
    }

    fn needs_end(&self) -> bool {
        self.ok.is_some() || self.errno.is_some() || self.contains.is_some()
    }

    fn who(&self) -> Why {
        match &self.program {
            Some(p) => Why::new("why.traced.who_named").arg("program", p),
            None => Why::new("why.traced.who_any"),
        }
    }
}

impl CheckKind for TracedCheck {
    const KEYS: &'static [&'static str] = &["traced"];
    type Raw = RawTraced;
    type Facts = TracedFacts;

    fn build(r: RawTraced, _kind: &str, e: &mut Errs) -> Option<Self> {
        if !KINDS.contains(&r.traced.as_str()) && kind_by_name(&r.traced).is_none() {
            e.err(format!(
                "traced = \"{}\" is not a kind of socket call{}",
                r.traced,
                did_you_mean(&r.traced, KINDS)
            ));
            return None;
        }
        if let Some(n) = &r.errno
            && errno_by_name(n).is_none()
        {
            e.err(format!("errno = \"{n}\" is not an errno name (ECONNREFUSED, …)"));
        }
        if r.stopped == Some(true) && (r.ok.is_some() || r.errno.is_some() || r.contains.is_some()) {
            e.err("stopped = true is met before the call runs: it cannot also ask how the call ended");
        }
        e.bytes_ok(&r.contains, "contains");
        Some(TracedCheck {
            call: r.traced,
            program: r.program,
            stopped: r.stopped.unwrap_or(false),
            ok: r.ok,
            errno: r.errno,
            contains: r.contains,
        })
    }

    fn map_strings(&self, f: &dyn Fn(&str) -> String) -> Self {
        TracedCheck {
            program: self.program.as_deref().map(f),
            contains: self.contains.as_deref().map(f),
            ..self.clone()
        }
    }

    fn start(&self) -> TracedFacts {
        TracedFacts {
            want: decode(&self.contains),
            ..TracedFacts::default()
        }
    }

    fn feed(&self, f: &mut TracedFacts, ev: &Event, model: &LabModel) {
        if f.met.is_some() {
            return;
        }
        match &ev.kind {
            EventKind::Program {
                pid,
                note: ProgramNote::AboutToCall { method, .. },
            } if self.stopped && self.matches(method) && self.program_ok(model, *pid) => {
                f.met = Some(ev.seq);
            }
            EventKind::Program {
                pid,
                note: ProgramNote::Exited { .. },
            } if self.call == "exit"
                && model.programs.get(pid).is_some_and(|p| p.parent.is_none())
                && self.program_ok(model, *pid) =>
            {
                f.met = Some(ev.seq);
            }
            EventKind::CallStarted {
                call,
                owner: Owner::Program { pid, .. },
                method,
                ..
            } if !self.stopped && self.matches(method) && self.program_ok(model, *pid) => {
                f.seen = true;
                if self.needs_end() {
                    f.open.insert(*call);
                } else {
                    f.met = Some(ev.seq);
                }
            }
            EventKind::CallDone { call, ret, .. } if f.open.remove(call) => {
                f.last_errno = None;
                let bytes: Option<&[u8]> = match ret {
                    Ret::Bytes(b) | Ret::Datagram(b, _) => Some(b),
                    _ => None,
                };
                let data_ok = match &f.want {
                    None => true,
                    Some(w) => bytes.is_some_and(|b| contains(b, w)) || sent_contains(model, *call, w),
                };
                if self.ok != Some(false) && self.errno.is_none() && data_ok {
                    f.met = Some(ev.seq);
                }
            }
            EventKind::CallFailed { call, error, .. } if f.open.remove(call) => {
                f.last_errno = error.errno;
                let errno_ok = match &self.errno {
                    None => true,
                    Some(n) => error.errno.is_some() && error.errno == errno_by_name(n),
                };
                if self.ok != Some(true) && self.contains.is_none() && errno_ok {
                    f.met = Some(ev.seq);
                }
            }
            _ => {}
        }
    }

    fn met(&self, f: &TracedFacts, _model: &LabModel) -> Option<u64> {
        f.met
    }

    fn why(&self, f: &TracedFacts, _model: &LabModel) -> Why {
        let c = &self.call;
        let key = if self.stopped {
            "why.traced.not_stopped"
        } else if c == "exit" {
            "why.traced.not_ended"
        } else if f.seen {
            let how = match (f.last_errno.and_then(errno_name), &self.errno, &self.contains) {
                (Some(got), Some(want), _) => {
                    Some(Why::new("why.traced.failed_not").arg("got", got).arg("want", want))
                }
                (Some(got), None, _) => Some(Why::new("why.traced.failed").arg("got", got)),
                (None, Some(want), _) => Some(Why::new("why.traced.did_not_fail").arg("want", want)),
                (None, None, Some(b)) => Some(
                    Why::new("why.traced.no_bytes")
                        .arg("call", c)
                        .arg("bytes", b),
                ),
                _ => None,
            };
            return Why::new("why.traced.not_as_asked")
                .part("who", self.who())
                .arg("call", c)
                .opt("how", how);
        } else {
            "why.traced.no_call"
        };
        Why::new(key).part("who", self.who()).arg("call", c)
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// A send's bytes are in its call's arguments as written (`sendto(fd 3, b'hi\n')`).
fn sent_contains(model: &LabModel, call: CallId, want: &[u8]) -> bool {
    model.call(call).is_some_and(|c| {
        let repr = crate::engine::text::py_bytes_repr(want);
        let inner = repr.trim_start_matches("b'").trim_end_matches('\'');
        c.text.contains(inner)
    })
}
