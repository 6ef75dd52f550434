//! Where each pane goes for a terminal size. Pure, so mouse clicks (in
//! `update`) and drawing agree on the same rectangles.

use ratatui::layout::Rect;

use crate::app::App;
use crate::keys::Pane;

/// Below this the screen shows "terminal too small" instead of panes.
pub const MIN_W: u16 = 60;
pub const MIN_H: u16 = 18;
/// From this width on, Lesson and Code get their own column.
pub const WIDE_W: u16 = 120;
/// From this height on (with the wide layout), the Wire pane gets a row of
/// its own under Traffic and Events; below it, it shares Traffic's slot.
pub const WIRE_ROW_H: u16 = 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaneRect {
    pub pane: Pane,
    pub rect: Rect,
    /// Draw a separator on the left (the pane sits right of another).
    pub left_edge: bool,
    /// Panes sharing this slot (shown as tabs in the title), if any.
    pub shares_with: Option<Pane>,
    /// A third pane in the same slot (narrow screens).
    pub shares_also: Option<Pane>,
    /// Where the left separator meets the title rule: ┬ ├ ┼ or ┌.
    pub corner: &'static str,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub panes: Vec<PaneRect>,
    pub status: Rect,
    /// Set when the terminal is too small: the size needed.
    pub too_small: Option<(u16, u16)>,
}

impl Layout {
    pub fn rect_of(&self, pane: Pane) -> Option<Rect> {
        self.panes.iter().find(|p| p.pane == pane).map(|p| p.rect)
    }
}

fn rect(x: u16, y: u16, w: u16, h: u16) -> Rect {
    Rect::new(x, y, w, h)
}

fn pr(pane: Pane, rect: Rect, left_edge: bool) -> PaneRect {
    PaneRect {
        pane,
        rect,
        left_edge,
        shares_with: None,
        shares_also: None,
        corner: "┌",
    }
}

/// Two panes in one slot: the focused one is shown, the other is a tab.
fn shared(a: Pane, b: Pane, focus: Pane, rect: Rect, left_edge: bool) -> PaneRect {
    let (shown, other) = if focus == b { (b, a) } else { (a, b) };
    PaneRect {
        pane: shown,
        rect,
        left_edge,
        shares_with: Some(other),
        shares_also: None,
        corner: "┌",
    }
}

/// Several panes in one slot: the focused one, else the Wire if it was the
/// last one looked at (it keeps showing while the student types), else the
/// first. The others are tabs.
fn slot(panes: &[Pane], app: &App, rect: Rect, left_edge: bool) -> PaneRect {
    let shown = if panes.contains(&app.focus) {
        app.focus
    } else if app.wire.shown && panes.contains(&Pane::Wire) {
        Pane::Wire
    } else {
        panes[0]
    };
    let mut others = panes.iter().copied().filter(|p| *p != shown);
    PaneRect {
        pane: shown,
        rect,
        left_edge,
        shares_with: others.next(),
        shares_also: others.next(),
        corner: "┌",
    }
}

/// The Wire is what the student looks at in the middle row: focused, or the
/// last of Traffic/Wire looked at while another pane has the focus.
fn wire_in_front(app: &App) -> bool {
    app.focus == Pane::Wire
        || (app.wire.shown && !matches!(app.focus, Pane::Traffic | Pane::Events))
}

/// Pick each separator's top glyph from what meets it: a separator above
/// (same x, ending here) and a title rule coming from the left (same row).
fn set_corners(panes: &mut [PaneRect]) {
    let snapshot: Vec<PaneRect> = panes.to_vec();
    for p in panes.iter_mut().filter(|p| p.left_edge) {
        let above = snapshot
            .iter()
            .any(|q| q.left_edge && q.rect.x == p.rect.x && q.rect.bottom() == p.rect.y);
        let left = snapshot
            .iter()
            .any(|q| q.rect.right() == p.rect.x && q.rect.y == p.rect.y);
        p.corner = match (above, left) {
            (true, true) => "┼",
            (true, false) => "├",
            (false, true) => "┬",
            (false, false) => "┌",
        };
    }
}

pub fn compute(area: Rect, app: &App) -> Layout {
    let (w, h) = (area.width, area.height);
    if w < MIN_W || h < MIN_H {
        return Layout {
            too_small: Some((MIN_W, MIN_H)),
            ..Layout::default()
        };
    }
    let (x0, y0) = (area.x, area.y);
    let status = rect(x0, y0 + h - 1, w, 1);
    let body_h = h - 1;
    let mut panes = Vec::new();
    if w >= WIDE_W {
        let left_w = (w * 32 / 100).clamp(40, 64);
        let lesson_h = body_h * 60 / 100;
        panes.push(pr(Pane::Lesson, rect(x0, y0, left_w, lesson_h), false));
        panes.push(pr(
            Pane::Code,
            rect(x0, y0 + lesson_h, left_w, body_h - lesson_h),
            false,
        ));
        let (rx, rw) = (x0 + left_w, w - left_w);
        let prompt_h = if body_h >= 40 { 10 } else { 7 };
        let send_h = 2;
        let sockets_h = (body_h * 30 / 100).max(6);
        let mid_h = body_h - prompt_h - send_h - sockets_h;
        panes.push(pr(Pane::Sockets, rect(rx, y0, rw, sockets_h), true));
        let my = y0 + sockets_h;
        let traffic_w = rw * 55 / 100;
        if body_h >= WIRE_ROW_H {
            // Room for a ladder of its own, as wide as the column.
            let top = mid_h * 2 / 5;
            panes.push(pr(Pane::Traffic, rect(rx, my, traffic_w, top), true));
            panes.push(pr(
                Pane::Events,
                rect(rx + traffic_w, my, rw - traffic_w, top),
                true,
            ));
            panes.push(pr(Pane::Wire, rect(rx, my + top, rw, mid_h - top), true));
        } else if wire_in_front(app) {
            // A ladder needs the width: it takes the whole row.
            panes.push(slot(
                &[Pane::Wire, Pane::Traffic, Pane::Events],
                app,
                rect(rx, my, rw, mid_h),
                true,
            ));
        } else {
            panes.push(slot(
                &[Pane::Traffic, Pane::Wire],
                app,
                rect(rx, my, traffic_w, mid_h),
                true,
            ));
            panes.push(pr(
                Pane::Events,
                rect(rx + traffic_w, my, rw - traffic_w, mid_h),
                true,
            ));
        }
        let py = my + mid_h;
        panes.push(pr(Pane::Prompt, rect(rx, py, rw, prompt_h), true));
        panes.push(pr(Pane::Send, rect(rx, py + prompt_h, rw, send_h), true));
    } else {
        let prompt_h = if body_h >= 30 { 8 } else { 5 };
        let send_h = 2;
        let rest = body_h - prompt_h - send_h;
        let sockets_h = rest * 5 / 16;
        // The lesson's current step, what it misses and the hint always fit:
        // the pane takes rows from Traffic/Events (which keep a title and a
        // row) when it needs them, and the most it can when it has the focus.
        let mut top_h = rest * 5 / 16;
        if app.lesson.is_some() {
            let need = super::lesson::head_rows(app, w as usize) as u16 + 1;
            let most = rest.saturating_sub(sockets_h + 2);
            top_h = top_h.max(need.min(most));
            if app.focus == Pane::Lesson {
                top_h = top_h.max(most);
            }
        }
        if app.focus == Pane::Wire {
            // Reading the ladder: it takes the Lesson's rows too (the
            // Lesson comes back with the focus elsewhere).
            top_h = 0;
        }
        let mid_h = rest - top_h - sockets_h;
        if top_h > 0 {
            panes.push(shared(
                Pane::Lesson,
                Pane::Code,
                app.focus,
                rect(x0, y0, w, top_h),
                false,
            ));
        }
        panes.push(pr(Pane::Sockets, rect(x0, y0 + top_h, w, sockets_h), false));
        let my = y0 + top_h + sockets_h;
        if wire_in_front(app) {
            panes.push(slot(
                &[Pane::Wire, Pane::Traffic, Pane::Events],
                app,
                rect(x0, my, w, mid_h),
                false,
            ));
        } else if w >= 80 {
            let traffic_w = w * 60 / 100;
            panes.push(slot(
                &[Pane::Traffic, Pane::Wire],
                app,
                rect(x0, my, traffic_w, mid_h),
                false,
            ));
            panes.push(pr(
                Pane::Events,
                rect(x0 + traffic_w, my, w - traffic_w, mid_h),
                true,
            ));
        } else {
            panes.push(slot(
                &[Pane::Traffic, Pane::Wire, Pane::Events],
                app,
                rect(x0, my, w, mid_h),
                false,
            ));
        }
        let py = my + mid_h;
        panes.push(pr(Pane::Prompt, rect(x0, py, w, prompt_h), false));
        panes.push(pr(Pane::Send, rect(x0, py + prompt_h, w, send_h), false));
    }
    set_corners(&mut panes);
    Layout {
        panes,
        status,
        too_small: None,
    }
}
