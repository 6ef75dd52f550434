//! One way to word an engine event, in the interface language: the Events
//! pane and `socklab run` transcripts both read it (they differ only in
//! which events they list and how they lay a line out).
//!
//! Everything a peer or a program supplied is escaped here, so no caller
//! can forget: a described line never holds a control character.

use std::net::SocketAddr;

use crate::engine::capture::{CaptureOff, CaptureStatus, End, Segment};
use crate::engine::event::{ProgramNote, Stream};
use crate::engine::model::LabModel;
use crate::engine::text::{escape_display, py_bytes_repr, sanitize};
use crate::engine::{
    CallError, Dir, Event, EventKind, Note, Owner, PeerNote, Ret, SockId, kind_label,
};
use crate::settings::Lang;

/// A failed call as the student reads it: Python's own line, exactly as
/// Python prints it (exception, errno, C message), then what it means in
/// the lab in the student's language:
/// `ConnectionRefusedError: [Errno 111] Connection refused — nothing is listening on …`.
pub fn error_line(lang: Lang, e: &CallError) -> String {
    let mut s = e.python();
    if !e.explain.is_empty() {
        s.push_str(e.joiner());
        s.push_str(&crate::i18n::note(lang, &e.explain));
    }
    s
}

/// What kind of thing happened, for colouring and filtering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvClass {
    Socket,
    /// Addresses became known.
    Endpoints,
    Lab,
    Kernel,
    /// A call started.
    Started,
    /// A call waits on the kernel.
    Waiting,
    /// A captured segment (the Wire pane draws these).
    Wire,
    /// The capture started, stopped or lost segments.
    Capture,
    Ok,
    Fail,
    Data,
    Peer,
    Notice,
}

/// One event, worded.
#[derive(Clone, Debug, PartialEq)]
pub struct Described {
    /// The socket the line is about: its name goes in front of `text`
    /// (looked up by the caller, since a socket's name can arrive later).
    pub sock: Option<SockId>,
    pub class: EvClass,
    /// Made by a peer (or a traced program), not by the student.
    pub by_peer: bool,
    /// The student's own call (its `>>>` line already says it in `run`).
    pub by_student_call: bool,
    pub text: String,
}

/// Longest value shown inside a line (a result, a payload).
const VALUE_CUT: usize = 200;

/// Word `ev`. `model` has already applied `ev` (so a finished call can
/// still be named through [`LabModel::call`]); `name` gives the name to use
/// for a socket inside the text (a `select` result, an orphan's origin).
pub fn describe(
    ev: &Event,
    model: &LabModel,
    lang: Lang,
    name: &dyn Fn(SockId) -> String,
) -> Option<Described> {
    let by_peer_sock = |id: SockId| model.sock(id).is_some_and(|r| !r.owner.is_student());
    let call_of = |id| model.call(id);
    let mut by_student_call = false;
    let (sock, class, by_peer, text) = match &ev.kind {
        EventKind::SocketCreated {
            sock,
            no: _,
            fd,
            family,
            ty,
            owner,
        } => {
            let kind = kind_label(*family, *ty);
            let text = match owner {
                Owner::Student => tr!(lang, "ev.created", fd = fd, kind = kind),
                other => tr!(
                    lang,
                    "ev.created_for",
                    fd = fd,
                    kind = kind,
                    owner = sanitize(&other.to_string())
                ),
            };
            (Some(*sock), EvClass::Socket, !owner.is_student(), text)
        }
        EventKind::SocketLabel { .. } | EventKind::Queues { .. } => return None,
        EventKind::Endpoints { sock, local, peer } => (
            Some(*sock),
            EvClass::Endpoints,
            by_peer_sock(*sock),
            tr!(
                lang,
                "ev.endpoints",
                local = opt_addr(local),
                peer = opt_addr(peer)
            ),
        ),
        EventKind::LabState { sock, from, to } => (
            Some(*sock),
            EvClass::Lab,
            by_peer_sock(*sock),
            tr!(lang, "ev.lab", from = from, to = to),
        ),
        EventKind::KernelState { sock, from, to } => (
            Some(*sock),
            EvClass::Kernel,
            by_peer_sock(*sock),
            tr!(
                lang,
                "ev.kernel",
                from = from.map(|s| s.name()).unwrap_or("-"),
                to = to.map(|s| s.name()).unwrap_or("-")
            ),
        ),
        EventKind::Orphan {
            tuple,
            origin,
            from,
            to,
            ..
        } => {
            let gone = tr!(lang, "ev.gone");
            (
                None,
                EvClass::Kernel,
                origin.is_some_and(by_peer_sock),
                tr!(
                    lang,
                    "ev.orphan",
                    local = tuple.local,
                    remote = tuple.remote,
                    origin = origin
                        .map(|o| format!(" [{}]", sanitize(&name(o))))
                        .unwrap_or_default(),
                    from = from.map(|s| s.name()).unwrap_or("-"),
                    to = to.map(|s| s.name()).unwrap_or(&gone)
                ),
            )
        }
        EventKind::SocketClosed { sock } => (
            Some(*sock),
            EvClass::Socket,
            by_peer_sock(*sock),
            tr!(lang, "ev.closed"),
        ),
        EventKind::CallStarted { text, owner, .. } => {
            by_student_call = owner.is_student();
            (
                None,
                EvClass::Started,
                !owner.is_student(),
                tr!(lang, "ev.started", call = call_line(owner, text)),
            )
        }
        EventKind::CallPending { call, .. } => {
            let c = call_of(*call)?;
            by_student_call = c.owner.is_student();
            (
                None,
                EvClass::Waiting,
                !c.owner.is_student(),
                tr!(lang, "ev.pending", call = call_line(&c.owner, &c.text)),
            )
        }
        EventKind::CallDone { call, ret, .. } => {
            let c = call_of(*call)?;
            by_student_call = c.owner.is_student();
            (
                None,
                EvClass::Ok,
                !c.owner.is_student(),
                tr!(
                    lang,
                    "ev.done",
                    call = call_line(&c.owner, &c.text),
                    ret = ret_text(ret, model, name)
                ),
            )
        }
        EventKind::CallFailed { call, error, .. } => {
            let c = call_of(*call)?;
            by_student_call = c.owner.is_student();
            (
                None,
                EvClass::Fail,
                !c.owner.is_student(),
                tr!(
                    lang,
                    "ev.failed",
                    call = call_line(&c.owner, &c.text),
                    error = sanitize(&error_line(lang, error))
                ),
            )
        }
        EventKind::Data {
            sock,
            dir,
            data,
            len,
            addr,
        } => {
            let shown = &data[..data.len().min(VALUE_CUT)];
            let cut = if *len > shown.len() { "…" } else { "" };
            let (key, around) = match dir {
                Dir::Sent => ("ev.sent", "ev.to"),
                Dir::Received => ("ev.received", "ev.from"),
            };
            let addr = addr
                .map(|a| tr!(lang, around, addr = a))
                .unwrap_or_default();
            let bytes = if *len == 1 {
                tr!(lang, "ev.byte")
            } else {
                tr!(lang, "ev.bytes")
            };
            let text = format!("{}{cut}", escape_display(shown));
            (
                Some(*sock),
                EvClass::Data,
                by_peer_sock(*sock),
                tr!(
                    lang,
                    key,
                    len = len,
                    bytes = bytes,
                    addr = addr,
                    text = text
                ),
            )
        }
        EventKind::Peer { peer, note } => (
            None,
            EvClass::Peer,
            true,
            peer_text(lang, &sanitize(peer), note),
        ),
        EventKind::Segment(seg) => (
            // The text names both ends.
            None,
            EvClass::Wire,
            seg.from_end.peer.is_some() && seg.to_end.peer.is_some(),
            tr!(
                lang,
                "ev.segment",
                from = end_name(model, &seg.from_end, seg.from, seg.to),
                to = end_name(model, &seg.to_end, seg.to, seg.from),
                what = segment_text(seg)
            ),
        ),
        EventKind::Capture { status } => (
            None,
            EvClass::Capture,
            false,
            match status {
                CaptureStatus::On => tr!(lang, "cap.on"),
                CaptureStatus::Unavailable { why, detail } => match why {
                    CaptureOff::NoCapNetRaw => tr!(lang, "cap.no_cap_net_raw"),
                    CaptureOff::NoLoopback => tr!(lang, "cap.no_loopback"),
                    CaptureOff::Failed => tr!(lang, "cap.failed", detail = sanitize(detail)),
                },
                CaptureStatus::Dropped { total } => tr!(lang, "cap.dropped", total = total),
            },
        ),
        EventKind::Program { pid, note } => {
            let (class, text) = program_text(lang, *pid, model, note);
            (None, class, true, text)
        }
        EventKind::Notice { note } => (
            None,
            EvClass::Notice,
            false,
            tr!(
                lang,
                "ev.notice",
                text = sanitize(&crate::i18n::note(lang, note))
            ),
        ),
    };
    Some(Described {
        sock,
        class,
        by_peer,
        by_student_call,
        text: sanitize(&text),
    })
}

/// Who is at one end of a segment: the lab socket there now (its name can
/// arrive after the segment, and a closed socket keeps its name), else what
/// the capture noted, else the address of a program outside the lab.
pub fn end_name(model: &LabModel, end: &End, addr: SocketAddr, other: SocketAddr) -> String {
    let row = model
        .socks
        .values()
        .rev()
        .find(|r| r.local == Some(addr) && r.peer == Some(other))
        .or_else(|| end.sock.and_then(|id| model.sock(id)));
    if let Some(r) = row {
        return sanitize(&r.name());
    }
    match (&end.label, &end.peer) {
        (Some(l), _) => sanitize(l),
        (None, Some(p)) => sanitize(p),
        (None, None) => addr.to_string(),
    }
}

/// A segment as a ladder arrow's label: `SYN seq=0 win=65495 mss=65495`,
/// `PSH,ACK seq=1 ack=1 len=6 "hello\n"`.
pub fn segment_text(seg: &Segment) -> String {
    let mut s = seg.label();
    if let Some(t) = &seg.tcp {
        if t.flags.syn || t.flags.rst {
            s += &format!(" win={}", t.window);
        }
        let o = &t.options;
        if let Some(m) = o.mss {
            s += &format!(" mss={m}");
        }
        if let Some(w) = o.wscale {
            s += &format!(" wscale={w}");
        }
        if o.sack_permitted {
            s += " sack_perm";
        }
    }
    if !seg.preview.is_empty() {
        let more = if (seg.len as usize) > seg.preview.len() {
            "…"
        } else {
            ""
        };
        s += &format!(" \"{}{more}\"", escape_display(&seg.preview));
    }
    s
}

/// A traced program's name as the lab shows it: `python3[4711]`.
fn program_name(model: &LabModel, pid: u32) -> String {
    model
        .programs
        .get(&pid)
        .map(|p| format!("{}[{pid}]", sanitize(&p.name)))
        .unwrap_or_else(|| format!("[{pid}]"))
}

fn program_text(lang: Lang, pid: u32, model: &LabModel, note: &ProgramNote) -> (EvClass, String) {
    let who = program_name(model, pid);
    match note {
        ProgramNote::Started { argv, exec, .. } => (
            EvClass::Peer,
            tr!(
                lang,
                if *exec { "prog.runs" } else { "prog.started" },
                who = who,
                cmd = sanitize(&argv.join(" "))
            ),
        ),
        ProgramNote::AboutToCall { owner, text, .. } => (
            EvClass::Waiting,
            tr!(
                lang,
                "prog.about_to_call",
                who = sanitize(&owner.to_string()),
                call = sanitize(text)
            ),
        ),
        ProgramNote::Resumed => (EvClass::Peer, tr!(lang, "prog.resumed", who = who)),
        ProgramNote::Output { stream, text } => (
            EvClass::Peer,
            tr!(
                lang,
                match stream {
                    Stream::Stdout => "prog.stdout",
                    Stream::Stderr => "prog.stderr",
                },
                who = who,
                text = escape_display(text.trim_end_matches('\n').as_bytes())
            ),
        ),
        ProgramNote::Exited { how, .. } => (
            EvClass::Peer,
            tr!(
                lang,
                "prog.exited",
                who = who,
                how = sanitize(&crate::i18n::note(lang, how))
            ),
        ),
    }
}

/// A call as written, with its maker in front when it is not the student.
fn call_line(owner: &Owner, text: &str) -> String {
    match owner {
        Owner::Student => sanitize(text),
        other => format!("{}: {}", sanitize(&other.to_string()), sanitize(text)),
    }
}

fn opt_addr(a: &Option<SocketAddr>) -> String {
    a.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", escape_display(text.as_bytes()))
}

fn peer_text(lang: Lang, peer: &str, note: &PeerNote) -> String {
    match note {
        PeerNote::Started { kind, addr } => tr!(
            lang,
            "peer.started",
            peer = peer,
            kind = sanitize(kind),
            addr = sanitize(addr)
        ),
        PeerNote::Stopped { reason } => tr!(
            lang,
            "peer.stopped",
            peer = peer,
            reason = sanitize(&crate::i18n::note(lang, reason))
        ),
        PeerNote::Got { text } => tr!(lang, "peer.got", peer = peer, text = quoted(text)),
        PeerNote::Said { text } => tr!(lang, "peer.said", peer = peer, text = quoted(text)),
        PeerNote::Measure { name, value, unit } => tr!(
            lang,
            "peer.measured",
            peer = peer,
            name = sanitize(name),
            value = format!("{value:.3}"),
            unit = if unit.is_empty() {
                String::new()
            } else {
                format!(" {}", sanitize(unit))
            }
        ),
        PeerNote::Error { message, explain } => tr!(
            lang,
            "peer.error",
            peer = peer,
            message = sanitize(&with_explain(lang, message, explain))
        ),
        PeerNote::Paused { message, explain } => tr!(
            lang,
            "peer.paused",
            peer = peer,
            reason = sanitize(&with_explain(lang, message, explain))
        ),
        PeerNote::Remark { note } => tr!(
            lang,
            "peer.remark",
            peer = peer,
            text = sanitize(&crate::i18n::note(lang, note))
        ),
        PeerNote::Resumed => tr!(lang, "peer.resumed", peer = peer),
    }
}

/// Python's line of an error, then what it means in the lab (` — …`).
fn with_explain(lang: Lang, python: &str, explain: &Note) -> String {
    if explain.is_empty() {
        return python.to_string();
    }
    let joiner = if python == "LabError" { ": " } else { " — " };
    format!("{python}{joiner}{}", crate::i18n::note(lang, explain))
}

/// A call's result as Python would print it (long values cut).
pub fn ret_text(ret: &Ret, model: &LabModel, name: &dyn Fn(SockId) -> String) -> String {
    let addr = |a: &SocketAddr| format!("('{}', {})", a.ip(), a.port());
    let cut = |s: String| cut_to(&s, VALUE_CUT);
    // The student's name for a new socket is bound only after this event.
    let sock = |id: SockId| match model.sock(id) {
        Some(r) => format!("<socket fd={}>", r.fd),
        None => "<socket>".to_string(),
    };
    // A traced program's calls return descriptors, as the C library does.
    let traced = |id: SockId| {
        model
            .sock(id)
            .filter(|r| matches!(r.owner, Owner::Program { .. }))
            .map(|r| sanitize(&r.name()))
    };
    match ret {
        Ret::None => "None".into(),
        Ret::Int(n) => n.to_string(),
        Ret::Float(f) => f.to_string(),
        Ret::Bytes(b) => cut(py_bytes_repr(b)),
        Ret::Addr(a) => addr(a),
        Ret::Socket(s) => traced(*s).unwrap_or_else(|| sock(*s)),
        Ret::Accepted(s, a) => match traced(*s) {
            Some(fd) => format!("{fd} {}", addr(a)),
            None => format!("({}, {})", sock(*s), addr(a)),
        },
        Ret::Datagram(b, a) => cut(format!("({}, {})", py_bytes_repr(b), addr(a))),
        Ret::Select(r, w, x) => {
            let names = |v: &Vec<SockId>| {
                v.iter()
                    .map(|s| sanitize(&name(*s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("([{}], [{}], [{}])", names(r), names(w), names(x))
        }
        Ret::Timeout(None) => "None".into(),
        Ret::Timeout(Some(t)) => t.to_string(),
        Ret::RawOpt(b) => cut(py_bytes_repr(b)),
    }
}

/// At most `width` display columns of `s`, with `…` where it was cut.
fn cut_to(s: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if s.width() <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > width {
            out.push('…');
            return out;
        }
        w += cw;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Event, Family, SockType, TcpState};

    fn ev(kind: EventKind) -> Event {
        Event {
            seq: 1,
            t_us: 0,
            kind,
        }
    }

    fn words(kind: EventKind, lang: Lang) -> Described {
        let mut model = LabModel::new();
        let e = ev(kind);
        model.apply(&e);
        describe(&e, &model, lang, &|s| format!("#{s}")).expect("worded")
    }

    #[test]
    fn one_wording_in_each_language() {
        let created = EventKind::SocketCreated {
            sock: 1,
            no: 1,
            fd: 9,
            family: Family::V4,
            ty: SockType::Stream,
            owner: Owner::Student,
        };
        let en = words(created.clone(), Lang::En);
        assert_eq!(en.text, "new socket: fd 9, TCP/v4");
        assert_eq!(
            (en.sock, en.class, en.by_peer),
            (Some(1), EvClass::Socket, false)
        );
        assert_eq!(words(created, Lang::Ko).text, "새 소켓: fd 9, TCP/v4");
        let kernel = EventKind::KernelState {
            sock: 1,
            from: Some(TcpState::Established),
            to: Some(TcpState::TimeWait),
        };
        assert_eq!(
            words(kernel, Lang::En).text,
            "kernel ESTABLISHED → TIME_WAIT"
        );
    }

    #[test]
    fn what_a_peer_supplies_is_escaped() {
        let d = words(
            EventKind::Peer {
                peer: "evil\x1b]0;x\x07".into(),
                note: PeerNote::Got {
                    text: "\x1b[2Jhi".into(),
                },
            },
            Lang::En,
        );
        assert!(!d.text.chars().any(|c| c.is_control()), "{:?}", d.text);
        assert!(d.text.contains("\\x1b[2Jhi"), "{}", d.text);
    }

    #[test]
    fn a_finished_call_is_still_named() {
        let mut model = LabModel::new();
        let start = ev(EventKind::CallStarted {
            call: 7,
            sock: None,
            owner: Owner::peer("echo"),
            method: "accept".into(),
            text: "echo.accept()".into(),
        });
        model.apply(&start);
        let done = ev(EventKind::CallDone {
            call: 7,
            sock: None,
            ret: Ret::Int(3),
        });
        model.apply(&done);
        let d = describe(&done, &model, Lang::En, &|s| format!("#{s}")).unwrap();
        assert_eq!(d.text, "echo: echo.accept() → 3");
        assert!(d.by_peer && !d.by_student_call);
    }
}
