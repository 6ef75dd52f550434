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
use crate::app::{App, FADE_US, TableRow};
use crate::engine::model::{OrphanRow, SockRow};
use crate::settings::Lang;

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

/// Every column, in the order they are kept when space runs out (a column
/// the lesson's current step names moves up, right after the name).
const PRIORITY: [Col; 12] = [
    Col::Name,
    Col::Lab,
    Col::Kernel,
    Col::Local,
    Col::Peer,
    Col::Kind,
    Col::Call,
    Col::RecvQ,
    Col::SendQ,
    Col::Accept,
    Col::Fd,
    Col::Owner,
];

/// Left to right on screen.
const ORDER: [Col; 12] = [
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

impl Col {
    /// Its header in `lang` (the catalogue's `col.<lesson name>`).
    fn header(self, lang: Lang) -> String {
        crate::i18n::text(lang, &format!("col.{}", self.lesson_name()), &[])
    }

    /// The name a lesson uses for it (`LessonView::focus_cols`).
    fn lesson_name(self) -> &'static str {
        match self {
            Col::Name => "name",
            Col::Fd => "fd",
            Col::Kind => "kind",
            Col::Local => "local",
            Col::Peer => "peer",
            Col::Lab => "lab",
            Col::Kernel => "kernel",
            Col::RecvQ => "recv_q",
            Col::SendQ => "send_q",
            Col::Accept => "accq",
            Col::Call => "call",
            Col::Owner => "owner",
        }
    }

    /// Columns whose text may be cut (with `…`) past this width; every other
    /// column is as wide as its widest value, so an address, a state or a
    /// number is shown whole or not at all.
    fn cap(self) -> usize {
        match self {
            Col::Name => 16,
            Col::Call => 14,
            Col::Owner => 14,
            _ => usize::MAX,
        }
    }
}

/// The header of the column a lesson calls `name`, in `lang` (for tests and lessons).
pub fn header_of(name: &str, lang: Lang) -> Option<String> {
    ORDER
        .iter()
        .find(|c| c.lesson_name() == name)
        .map(|c| c.header(lang))
}

/// The widest text each column shows, in display columns, and the headers.
#[derive(Clone, Debug)]
struct Widths([usize; 12], Vec<String>);

impl Widths {
    fn new(lang: Lang) -> Widths {
        Widths([0; 12], ORDER.iter().map(|c| c.header(lang)).collect())
    }
}

impl Widths {
    fn idx(c: Col) -> usize {
        ORDER.iter().position(|o| *o == c).expect("listed")
    }
    fn see(&mut self, c: Col, text: &str) {
        let i = Self::idx(c);
        self.0[i] = self.0[i].max(unicode_width::UnicodeWidthStr::width(text));
    }
    fn get(&self, c: Col) -> usize {
        let i = Self::idx(c);
        self.0[i]
            .max(unicode_width::UnicodeWidthStr::width(self.1[i].as_str()))
            .min(c.cap())
    }
}

/// (column, header, width) that fit `width`, left to right. `focus` are the
/// columns the lesson's step names: they are kept before the others.
fn columns(width: u16, widths: &Widths, focus: &[&str]) -> Vec<(Col, String, usize)> {
    let mut by_priority: Vec<Col> = vec![Col::Name];
    by_priority.extend(
        PRIORITY
            .iter()
            .filter(|c| focus.contains(&c.lesson_name()) && **c != Col::Name),
    );
    let rest: Vec<Col> = PRIORITY
        .iter()
        .copied()
        .filter(|c| !by_priority.contains(c))
        .collect();
    by_priority.extend(rest);
    let mut used = 0usize;
    let mut keep = Vec::new();
    for c in by_priority {
        let need = widths.get(c) + usize::from(!keep.is_empty());
        if used + need <= width as usize {
            used += need;
            keep.push(c);
        }
    }
    ORDER
        .iter()
        .filter(|c| keep.contains(c))
        .map(|c| (*c, widths.1[Widths::idx(*c)].clone(), widths.get(*c)))
        .collect()
}

fn accept_text(q: Option<u32>, b: Option<u32>) -> String {
    match (q, b) {
        (Some(q), Some(b)) => format!("{q}/{b}"),
        (Some(q), None) => q.to_string(),
        _ => "".into(),
    }
}

fn addr(a: Option<SocketAddr>, full: bool) -> String {
    match a {
        None => "-".into(),
        Some(a) if full => a.to_string(),
        // Narrow: the lab lives on loopback, so the port is what tells sockets
        // apart (the kind column says v4 or v6). Other addresses are whole.
        Some(a) if a.ip().is_loopback() => format!(":{}", a.port()),
        Some(a) => a.to_string(),
    }
}

/// One cell: its text, and for a state that just changed, what it was.
struct Cell {
    text: String,
    from: Option<String>,
    style: Style,
}

fn cell(text: impl Into<String>, style: Style) -> Cell {
    Cell {
        text: text.into(),
        from: None,
        style,
    }
}

pub fn render(buf: &mut Buffer, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let t = &app.theme;
    let full = area.width >= 100;
    let cells: Vec<(Vec<Cell>, bool)> = app
        .table_rows()
        .into_iter()
        .map(|row| match row {
            TableRow::Sock(r) => (sock_cells(r, full, app), false),
            TableRow::Orphan(o) => (orphan_cells(o, full, app), true),
        })
        .collect();
    let mut widths = Widths::new(app.lang);
    for (row, _) in &cells {
        for (c, cell) in ORDER.iter().zip(row) {
            widths.see(*c, &cell.text);
        }
    }
    if area.width >= 129 {
        // Room for a fresh change shown as `from→to` (SYN_SENT→ESTABLISHED).
        widths.see(Col::Lab, &" ".repeat(17));
        widths.see(Col::Kernel, &" ".repeat(21));
    }
    let focus: Vec<&str> = app
        .lesson
        .as_ref()
        .map(|v| v.focus_cols.clone())
        .unwrap_or_default();
    let cols = columns(area.width, &widths, &focus);
    let header: Vec<Span> = cols
        .iter()
        .map(|(_, h, w)| Span::styled(format!("{} ", pad(h, *w)), t.header()))
        .collect();
    Line::from(header).render(Rect { height: 1, ..area }, buf);
    let total = cells.len();
    if total == 0 {
        let msg = tr!(app.lang, "ui.no_sockets");
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
        let (row, _) = &cells[i];
        let mut spans = Vec::new();
        for (c, _, w) in &cols {
            let cell = &row[Widths::idx(*c)];
            let text = match &cell.from {
                Some(from) => transition(from, &cell.text, *w),
                None => cell.text.clone(),
            };
            spans.push(Span::styled(pad(&text, *w), cell.style));
            spans.push(Span::styled(
                " ",
                row[0].style.remove_modifier(Modifier::BOLD),
            ));
        }
        let line = Line::from(spans);
        let line = if i == app.sock_sel && app.focus == crate::keys::Pane::Sockets {
            line.patch_style(t.selected())
        } else {
            line
        };
        line.render(Rect::new(area.x, y, area.width, 1), buf);
    }
    if total > first + visible {
        let n = total - first - visible;
        let more = format!(" {} ", crate::tr!(app.lang, "ui.more_rows", n = n));
        let x = area.right().saturating_sub(more.width() as u16);
        buf.set_string(x, area.bottom() - 1, more, t.dim());
    }
}

/// A socket's cells, in [`ORDER`].
fn sock_cells(r: &SockRow, full: bool, app: &App) -> Vec<Cell> {
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
    ORDER
        .iter()
        .map(|c| match c {
            Col::Name => cell(r.name(), base.add_modifier(Modifier::BOLD)),
            Col::Fd => cell(
                if r.closed {
                    "-".into()
                } else {
                    r.fd.to_string()
                },
                base,
            ),
            Col::Kind => cell(r.kind(), base),
            Col::Local => cell(addr(r.local, full), base),
            Col::Peer => cell(addr(r.peer, full), base),
            Col::Lab => {
                let now = r.lab.name().to_string();
                match fade
                    .lab
                    .and_then(|(from, at)| t.fade(age(at), FADE_US).map(|s| (from, s)))
                {
                    Some((from, s)) if !r.closed => Cell {
                        text: now,
                        from: Some(from.name().to_string()),
                        style: s,
                    },
                    _ => cell(now, if r.closed { base } else { base.patch(t.lab()) }),
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
                    Some((from, s)) if !r.closed => Cell {
                        text: now,
                        from: Some(from.map(|k| k.name()).unwrap_or("-").to_string()),
                        style: s,
                    },
                    _ => cell(
                        now,
                        if r.closed {
                            base
                        } else {
                            base.patch(t.kernel())
                        },
                    ),
                }
            }
            Col::RecvQ => cell(r.recv_q.to_string(), base),
            Col::SendQ => cell(r.send_q.to_string(), base),
            Col::Accept => cell(accept_text(r.accept_q, r.backlog), base),
            Col::Call => cell(
                r.pending
                    .as_ref()
                    .map(|(_, m)| format!("{m}()…"))
                    .unwrap_or_default(),
                base.patch(t.warn()),
            ),
            Col::Owner if r.owner.is_student() => cell(crate::tr!(app.lang, "ui.you"), base),
            Col::Owner => cell(r.owner.to_string(), base),
        })
        .collect()
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

fn orphan_cells(o: &OrphanRow, full: bool, app: &App) -> Vec<Cell> {
    let style = app.theme.dim();
    let origin = o
        .origin
        .map(|id| tr!(app.lang, "ui.was", name = app.session.model().name_of(id)))
        .unwrap_or_default();
    let kind = if o.tuple.local.is_ipv6() {
        "TCP/v6"
    } else {
        "TCP/v4"
    };
    ORDER
        .iter()
        .map(|c| {
            let text = match c {
                Col::Name => tr!(app.lang, "ui.no_fd"),
                Col::Fd => "-".into(),
                Col::Kind => kind.into(),
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
            cell(text, style)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(pairs: &[(Col, usize)]) -> Widths {
        let mut w = Widths::new(Lang::En);
        for (c, n) in pairs {
            w.see(*c, &"x".repeat(*n));
        }
        w
    }

    #[test]
    fn columns_fit_the_width_and_keep_every_value_whole() {
        let w = widths(&[(Col::Local, 24), (Col::Peer, 24), (Col::Lab, 16)]);
        for width in [40u16, 60, 78, 80, 100, 136, 200] {
            let cols = columns(width, &w, &[]);
            let used: usize = cols.iter().map(|c| c.2 + 1).sum::<usize>() - 1;
            assert!(used <= width as usize, "{width}: {used}");
            for (c, _, cw) in &cols {
                assert!(*cw >= w.get(*c), "{c:?} narrower than its values");
            }
        }
        let cols = columns(200, &w, &[]);
        assert_eq!(cols.len(), 12);
    }

    #[test]
    fn a_column_the_step_names_is_kept_first() {
        let w = widths(&[(Col::Local, 24), (Col::Peer, 24)]);
        let plain = columns(67, &w, &[]);
        assert!(!plain.iter().any(|c| c.0 == Col::Fd));
        let named = columns(67, &w, &["fd"]);
        assert!(named.iter().any(|c| c.0 == Col::Fd));
    }

    #[test]
    fn typical_rows_show_fd_and_kind_at_80() {
        let w = widths(&[
            (Col::Name, 5),
            (Col::Fd, 2),
            (Col::Kind, 6),
            (Col::Local, 6),
            (Col::Peer, 6),
            (Col::Lab, 10),
            (Col::Kernel, 11),
            (Col::Accept, 3),
            (Col::Call, 9),
        ]);
        let cols = columns(80, &w, &[]);
        for c in [Col::Fd, Col::Kind, Col::RecvQ, Col::SendQ, Col::Call] {
            assert!(cols.iter().any(|x| x.0 == c), "{c:?} at 80");
        }
    }
}
