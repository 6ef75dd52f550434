//! The Events pane: state transitions and call results, newest last,
//! coloured by kind. `describe` turns an engine event into one line (called
//! from `update`, so the text is fixed when the event happens).

use std::collections::HashMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{fit, fmt_time};
use crate::app::{App, EvClass, EvLine};
use crate::engine::model::LabModel;
use crate::engine::text::{escape_display, py_bytes_repr, sanitize};
use crate::engine::{CallId, Event, EventKind, PeerNote, Ret};

/// One line for the Events pane, or None for events it does not list
/// (queue sizes, bytes — those have their own panes).
pub fn describe(
    ev: &Event,
    model: &LabModel,
    calls: &HashMap<CallId, (String, bool)>,
) -> Option<EvLine> {
    let peer_sock = |id: u32| model.sock(id).is_some_and(|r| !r.owner.is_student());
    // Socket lines are stored without the socket's name: the student's name
    // for a socket arrives only after its call returns, so it is looked up
    // when drawing (see `render`).
    let (class, peer_owned, text) = match &ev.kind {
        EventKind::SocketCreated {
            fd,
            family,
            ty,
            owner,
            ..
        } => (
            EvClass::Socket,
            !owner.is_student(),
            format!(
                "new socket, fd {fd} {} ({owner})",
                crate::engine::kind_label(*family, *ty)
            ),
        ),
        EventKind::LabState { sock, from, to } => {
            (EvClass::Lab, peer_sock(*sock), format!("{from} → {to}"))
        }
        EventKind::KernelState { sock, from, to } => (
            EvClass::Kernel,
            peer_sock(*sock),
            format!(
                "kernel {} → {}",
                from.map(|s| s.name()).unwrap_or("-"),
                to.map(|s| s.name()).unwrap_or("-")
            ),
        ),
        EventKind::Orphan {
            tuple, from, to, ..
        } => (
            EvClass::Kernel,
            false,
            format!(
                "(no fd) {}↔{} {} → {}",
                short_addr(&tuple.local),
                short_addr(&tuple.remote),
                from.map(|s| s.name()).unwrap_or("-"),
                to.map(|s| s.name()).unwrap_or("gone")
            ),
        ),
        EventKind::SocketClosed { sock } => {
            (EvClass::Socket, peer_sock(*sock), "closed".to_string())
        }
        EventKind::CallPending { call, .. } => {
            let (text, student) = calls.get(call)?;
            (EvClass::Call, !student, format!("{text} … waiting"))
        }
        EventKind::CallDone { call, ret, .. } => {
            let (text, student) = calls.get(call)?;
            (
                EvClass::Ok,
                !student,
                format!("{text} → {}", ret_text(ret, model)),
            )
        }
        EventKind::CallFailed { call, error, .. } => {
            let (text, student) = calls.get(call)?;
            (
                EvClass::Fail,
                !student,
                format!("{text} ✗ {}", error.python()),
            )
        }
        EventKind::Peer { peer, note } => (EvClass::Peer, true, peer_text(peer, note)?),
        EventKind::Notice { text } => (EvClass::Notice, false, text.clone()),
        EventKind::SocketLabel { .. }
        | EventKind::Endpoints { .. }
        | EventKind::Queues { .. }
        | EventKind::CallStarted { .. }
        | EventKind::Program { .. }
        | EventKind::Data { .. } => return None,
    };
    let sock = match &ev.kind {
        EventKind::SocketCreated { sock, .. }
        | EventKind::LabState { sock, .. }
        | EventKind::KernelState { sock, .. }
        | EventKind::SocketClosed { sock } => Some(*sock),
        _ => None,
    };
    Some(EvLine {
        t_us: ev.t_us,
        sock,
        class,
        peer_owned,
        text: sanitize(&text),
    })
}

/// `:9000` for loopback (the lab's usual case), the full address otherwise.
fn short_addr(a: &std::net::SocketAddr) -> String {
    if a.ip().is_loopback() {
        format!(":{}", a.port())
    } else {
        a.to_string()
    }
}

fn peer_text(peer: &str, note: &PeerNote) -> Option<String> {
    Some(match note {
        PeerNote::Started { kind, addr } => format!("peer {peer} ({kind}) started on {addr}"),
        PeerNote::Stopped { reason } => format!("peer {peer} stopped: {reason}"),
        PeerNote::Got { text } => format!("{peer} got: {}", escape_display(text.as_bytes())),
        PeerNote::Said { text } => format!("{peer} said: {}", escape_display(text.as_bytes())),
        PeerNote::Measure { name, value, unit } => format!("{peer} {name} = {value} {unit}"),
        PeerNote::Error { message } => format!("peer {peer} error: {message}"),
        PeerNote::Paused { reason } => format!("peer {peer} paused: {reason}"),
        PeerNote::Resumed => format!("peer {peer} goes on"),
    })
}

/// A call's result, roughly as Python would print it.
pub fn ret_text(ret: &Ret, model: &LabModel) -> String {
    let addr = |a: &std::net::SocketAddr| format!("('{}', {})", a.ip(), a.port());
    let cut = |s: String| fit(&s, 60);
    // The student's name for a new socket is bound only after this event.
    let sock = |id: u32| match model.sock(id) {
        Some(r) => format!("<socket fd={}>", r.fd),
        None => "<socket>".to_string(),
    };
    match ret {
        Ret::None => "None".into(),
        Ret::Int(n) => n.to_string(),
        Ret::Float(f) => f.to_string(),
        Ret::Bytes(b) => cut(py_bytes_repr(b)),
        Ret::Addr(a) => addr(a),
        Ret::Socket(s) => sock(*s),
        Ret::Accepted(s, a) => format!("({}, {})", sock(*s), addr(a)),
        Ret::Datagram(b, a) => cut(format!("({}, {})", py_bytes_repr(b), addr(a))),
        Ret::Select(r, w, x) => {
            let names = |v: &Vec<u32>| {
                v.iter()
                    .map(|s| model.name_of(*s))
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

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    if app.events.is_empty() {
        Line::styled("nothing has happened yet", t.dim()).render(Rect { height: 1, ..area }, buf);
        return;
    }
    let h = area.height as usize;
    let end = app.events.len() - app.events_back.min(app.events.len() - 1);
    let start = end.saturating_sub(h);
    let show_time = area.width >= 40;
    for (i, e) in app.events.range(start..end).enumerate() {
        let mut style = match e.class {
            EvClass::Socket => Style::new(),
            EvClass::Lab => t.lab(),
            EvClass::Kernel => t.kernel(),
            EvClass::Call => t.warn(),
            EvClass::Ok => t.ok(),
            EvClass::Fail => t.error(),
            EvClass::Peer => t.peer(),
            EvClass::Notice => t.info(),
        };
        if e.peer_owned && e.class != EvClass::Peer {
            style = style.patch(t.dim());
        }
        let mut spans = Vec::new();
        let mut room = area.width as usize;
        if show_time {
            spans.push(Span::styled(format!("{} ", fmt_time(e.t_us)), t.dim()));
            room = room.saturating_sub(8);
        }
        if let Some(id) = e.sock {
            let name = sanitize(&app.session.model().name_of(id));
            let w = unicode_width::UnicodeWidthStr::width(name.as_str()) + 1;
            spans.push(Span::styled(
                format!("{} ", fit(&name, room.saturating_sub(1))),
                style.add_modifier(ratatui::style::Modifier::BOLD),
            ));
            room = room.saturating_sub(w);
        }
        spans.push(Span::styled(fit(&e.text, room), style));
        Line::from(spans).render(Rect::new(area.x, area.y + i as u16, area.width, 1), buf);
    }
}
