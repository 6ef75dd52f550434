//! The Sockets pane: one row per socket (the student's and the peers'), and
//! the kernel's descriptor-less entries (TIME_WAIT, …) as dimmed rows.

use std::net::SocketAddr;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use unicode_width::UnicodeWidthStr;

use super::pad;
use crate::app::{App, FADE_US};
use crate::engine::model::{OrphanRow, SockRow};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Col {
    Name,
    Fd,
    Kind,
    Local,
    Peer,
    Lab,
    Kernel,
    RecvQ,
    SendQ,
    Accept,
    Call,
    Owner,
}

/// (column, header, width) in the order they are kept when space runs out.
/// `numbers` are the widest counts shown (RecvQ, SendQ, accq, fd): those
/// columns grow to fit them, as a number is never cut.
fn columns(width: u16, numbers: Numbers) -> (Vec<(Col, &'static str, usize)>, bool) {
    let full_addr = width >= 100;
    let addr_w = if full_addr { 15 } else { 6 };
    let roomy = width >= 129;
    let mut by_priority = vec![
        (Col::Name, "name", 10),
        (Col::Lab, "lab", if roomy { 17 } else { 10 }),
        (Col::Kernel, "kernel", if roomy { 21 } else { 11 }),
        (Col::Local, "local", addr_w),
        (Col::Peer, "peer", addr_w),
        (Col::Call, "call", 10),
        (Col::RecvQ, "RecvQ", numbers.recv_q.max(5)),
        (Col::SendQ, "SendQ", numbers.send_q.max(5)),
        (Col::Accept, "accq", numbers.accept.max(5)),
        (Col::Owner, "owner", 9),
        (Col::Fd, "fd", numbers.fd.max(3)),
        (Col::Kind, "kind", 6),
    ];
    if numbers.program_owner > 0 {
        // A traced program's sockets are named by descriptor (`fd 3`): whose
        // they are matters as much as their name, so the owner comes next.
        by_priority.retain(|c| c.0 != Col::Owner);
        by_priority.insert(1, (Col::Owner, "owner", numbers.program_owner.max(16)));
    }
    let mut used = 0usize;
    let mut keep = Vec::new();
    for c in by_priority.iter().copied() {
        let need = c.2 + usize::from(!keep.is_empty());
        if used + need <= width as usize {
            used += need;
            keep.push(c.0);
        }
    }
    let order = [
        Col::Name,
        Col::Fd,
        Col::Kind,
        Col::Local,
        Col::Peer,
        Col::Lab,
        Col::Kernel,
        Col::RecvQ,
        Col::SendQ,
        Col::Accept,
        Col::Call,
        Col::Owner,
    ];
    let cols = order
        .iter()
        .filter(|c| keep.contains(c))
        .map(|c| *by_priority.iter().find(|p| p.0 == *c).expect("listed"))
        .collect();
    (cols, full_addr)
}

/// The widest number each numeric column shows, in columns.
#[derive(Clone, Copy, Debug, Default)]
struct Numbers {
    recv_q: usize,
    send_q: usize,
    accept: usize,
    fd: usize,
    /// The widest owner name of a traced program's socket (0: none shown).
    program_owner: usize,
}

fn accept_text(q: Option<u32>, b: Option<u32>) -> String {
    match (q, b) {
        (Some(q), Some(b)) => format!("{q}/{b}"),
        (Some(q), None) => q.to_string(),
        _ => "".into(),
    }
}

fn numbers(rows: &[&SockRow], orphans: &[&OrphanRow]) -> Numbers {
    let digits = |n: u64| n.checked_ilog10().unwrap_or(0) as usize + 1;
    let mut n = Numbers::default();
    for r in rows {
        n.recv_q = n.recv_q.max(digits(r.recv_q as u64));
        n.send_q = n.send_q.max(digits(r.send_q as u64));
        n.accept = n.accept.max(accept_text(r.accept_q, r.backlog).len());
        n.fd = n.fd.max(digits(r.fd.max(0) as u64));
        if r.owner.program_pid().is_some() {
            n.program_owner = n.program_owner.max(r.owner.to_string().width());
        }
    }
    for o in orphans {
        n.recv_q = n.recv_q.max(digits(o.recv_q as u64));
        n.send_q = n.send_q.max(digits(o.send_q as u64));
    }
    n
}

fn addr(a: Option<SocketAddr>, full: bool) -> String {
    match a {
        None => "-".into(),
        Some(a) if full => a.to_string(),
        // Narrow: the lab lives on loopback, so the port is what tells sockets apart.
        Some(a) if a.ip().is_loopback() => format!(":{}", a.port()),
        Some(a) => a.to_string(),
    }
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    let rows = app.socket_rows();
    let orphans: Vec<&OrphanRow> = app.session.model().orphans.values().collect();
    let (cols, full) = columns(area.width, numbers(&rows, &orphans));
    let header: Vec<Span> = cols
        .iter()
        .map(|(_, h, w)| Span::styled(format!("{} ", pad(h, *w)), t.header()))
        .collect();
    Line::from(header).render(Rect { height: 1, ..area }, buf);
    let total = rows.len() + orphans.len();
    if total == 0 {
        let msg = "no sockets yet — try: s = socket()";
        Line::styled(msg, t.dim()).render(
            Rect::new(area.x, area.y + 1, area.width, 1).intersection(area),
            buf,
        );
        return;
    }
    let visible = (area.height as usize).saturating_sub(1);
    // Keep the selected row in view.
    let first = if app.sock_sel >= visible {
        app.sock_sel + 1 - visible
    } else {
        0
    };
    for (y, i) in (area.y + 1..).zip(first..total.min(first + visible)) {
        let line = if i < rows.len() {
            sock_line(rows[i], &cols, full, app)
        } else {
            orphan_line(orphans[i - rows.len()], &cols, full, app)
        };
        let line = if i == app.sock_sel && app.focus == crate::keys::Pane::Sockets {
            line.patch_style(t.selected())
        } else {
            line
        };
        line.render(Rect::new(area.x, y, area.width, 1), buf);
    }
    if total > first + visible {
        let more = format!(" +{} more ", total - first - visible);
        let x = area.right().saturating_sub(more.len() as u16);
        buf.set_string(x, area.bottom() - 1, more, t.dim());
    }
}

fn sock_line(
    r: &SockRow,
    cols: &[(Col, &'static str, usize)],
    full: bool,
    app: &App,
) -> Line<'static> {
    let t = &app.theme;
    let fade = app.fades.get(&r.id).copied().unwrap_or_default();
    let base = if r.closed {
        t.dim().add_modifier(Modifier::CROSSED_OUT)
    } else if !r.owner.is_student() {
        t.peer()
    } else {
        Style::new()
    };
    let age = |at: u64| app.now_us.saturating_sub(at);
    let mut spans = Vec::new();
    for (c, _, w) in cols {
        let w = *w;
        let (text, style) = match c {
            Col::Name => (r.name(), base.add_modifier(Modifier::BOLD)),
            Col::Fd => (
                if r.closed {
                    "-".into()
                } else {
                    r.fd.to_string()
                },
                base,
            ),
            Col::Kind => (r.kind().to_string(), base),
            Col::Local => (addr(r.local, full), base),
            Col::Peer => (addr(r.peer, full), base),
            Col::Lab => {
                let now = r.lab.name().to_string();
                match fade
                    .lab
                    .and_then(|(from, at)| t.fade(age(at), FADE_US).map(|s| (from, s)))
                {
                    Some((from, s)) if !r.closed => (transition(from.name(), &now, w), s),
                    _ => (now, if r.closed { base } else { base.patch(t.lab()) }),
                }
            }
            Col::Kernel => {
                // A closed descriptor has no kernel state of its own; what is
                // left of its connection shows as a "(no fd)" row.
                let now = match r.kernel {
                    Some(k) if !r.closed => k.name(),
                    _ => "-",
                }
                .to_string();
                match fade
                    .kernel
                    .and_then(|(from, at)| t.fade(age(at), FADE_US).map(|s| (from, s)))
                {
                    Some((from, s)) if !r.closed => (
                        transition(from.map(|k| k.name()).unwrap_or("-"), &now, w),
                        s,
                    ),
                    _ => (
                        now,
                        if r.closed {
                            base
                        } else {
                            base.patch(t.kernel())
                        },
                    ),
                }
            }
            Col::RecvQ => (r.recv_q.to_string(), base),
            Col::SendQ => (r.send_q.to_string(), base),
            Col::Accept => (accept_text(r.accept_q, r.backlog), base),
            Col::Call => (
                r.pending
                    .as_ref()
                    .map(|(_, m)| format!("{m}()…"))
                    .unwrap_or_default(),
                base.patch(t.warn()),
            ),
            Col::Owner => (crate::engine::text::sanitize(&r.owner.to_string()), base),
        };
        spans.push(Span::styled(pad(&text, w), style));
        spans.push(Span::styled(" ", base));
    }
    Line::from(spans)
}

/// `from→to` when it fits, else `→to`, else just the new state (the
/// highlight alone then shows the change).
fn transition(from: &str, to: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let both = format!("{from}→{to}");
    let arrow = format!("→{to}");
    if both.width() <= width {
        both
    } else if arrow.width() <= width {
        arrow
    } else {
        to.to_string()
    }
}

fn orphan_line(
    o: &OrphanRow,
    cols: &[(Col, &'static str, usize)],
    full: bool,
    app: &App,
) -> Line<'static> {
    let t = &app.theme;
    let style = t.dim();
    let origin = o
        .origin
        .map(|id| format!("was {}", app.session.model().name_of(id)))
        .unwrap_or_default();
    let mut spans = Vec::new();
    for (c, _, w) in cols {
        let text = match c {
            Col::Name => "(no fd)".to_string(),
            Col::Fd => "-".into(),
            Col::Kind => "TCP".into(),
            Col::Local => addr(Some(o.tuple.local), full),
            Col::Peer => addr(Some(o.tuple.remote), full),
            Col::Lab => "-".into(),
            Col::Kernel => o.state.name().into(),
            Col::RecvQ => o.recv_q.to_string(),
            Col::SendQ => o.send_q.to_string(),
            Col::Accept => String::new(),
            Col::Call => String::new(),
            Col::Owner => origin.clone(),
        };
        spans.push(Span::styled(pad(&text, *w), style));
        spans.push(Span::styled(" ", style));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_the_width() {
        for w in [40u16, 60, 78, 80, 100, 136, 200] {
            let (cols, _) = columns(w, Numbers::default());
            let used: usize = cols.iter().map(|c| c.2 + 1).sum::<usize>() - 1;
            assert!(used <= w as usize, "{w}: {used}");
            assert!(cols.iter().any(|c| c.0 == Col::Kernel));
        }
        let (cols, full) = columns(136, Numbers::default());
        assert!(full);
        assert_eq!(cols.len(), 12);
    }

    #[test]
    fn a_number_column_grows_to_fit_its_numbers() {
        let big = Numbers {
            recv_q: 7,
            send_q: 10,
            accept: 9,
            fd: 4,
            program_owner: 0,
        };
        for w in [80u16, 136, 160, 200] {
            let (cols, _) = columns(w, big);
            let used: usize = cols.iter().map(|c| c.2 + 1).sum::<usize>() - 1;
            assert!(used <= w as usize, "{w}: {used}");
            for (c, _, width) in cols {
                let need = match c {
                    Col::RecvQ => 7,
                    Col::SendQ => 10,
                    Col::Accept => 9,
                    Col::Fd => 4,
                    _ => 0,
                };
                assert!(width >= need, "{w}: {c:?} is {width} wide");
            }
        }
        let (cols, _) = columns(160, big);
        assert!(cols.iter().any(|c| c.0 == Col::RecvQ), "RecvQ shown at 160");
    }
}
