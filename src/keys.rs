//! Every key the screen understands, as one table.
//!
//! The same table drives key handling (`lookup`), the status line (`hints`)
//! and the `?` help overlay, so what the screen says about keys is always what
//! the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::InputRequest;

/// The panes that can have focus, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pane {
    Prompt,
    Send,
    Sockets,
    Traffic,
    Wire,
    Events,
    Code,
    Lesson,
}

impl Pane {
    pub const ORDER: [Pane; 8] = [
        Pane::Prompt,
        Pane::Send,
        Pane::Sockets,
        Pane::Traffic,
        Pane::Wire,
        Pane::Events,
        Pane::Code,
        Pane::Lesson,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Prompt => "Prompt",
            Pane::Send => "Send",
            Pane::Sockets => "Sockets",
            Pane::Traffic => "Traffic",
            Pane::Wire => "Wire",
            Pane::Events => "Events",
            Pane::Code => "Code",
            Pane::Lesson => "Lesson",
        }
    }

    /// The pane's title in `lang` (the catalogue's `pane.*` keys).
    pub fn title_in(self, lang: crate::settings::Lang) -> String {
        let key = format!("pane.{}", self.title().to_lowercase());
        crate::tr!(lang, key.as_str())
    }

    /// Panes where typed characters are text, so letters cannot be commands.
    pub fn takes_text(self) -> bool {
        matches!(self, Pane::Prompt | Pane::Send)
    }

    pub fn next(self) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ORDER[(i + 1) % Pane::ORDER.len()]
    }

    pub fn prev(self) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ORDER[(i + Pane::ORDER.len() - 1) % Pane::ORDER.len()]
    }
}

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere.
    Global,
    /// Prompt and Send (they take text).
    Text,
    /// Every pane that takes no text.
    Panes,
    /// One pane only.
    Only(Pane),
    /// While the help overlay is open.
    Help,
}

impl Scope {
    pub fn applies(self, focus: Pane, help_open: bool) -> bool {
        if help_open {
            return matches!(self, Scope::Help);
        }
        match self {
            Scope::Global => true,
            Scope::Text => focus.takes_text(),
            Scope::Panes => !focus.takes_text(),
            Scope::Only(p) => p == focus,
            Scope::Help => false,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scope::Global => "everywhere",
            Scope::Text => "prompt and send",
            Scope::Panes => "other panes",
            Scope::Only(p) => p.title(),
            Scope::Help => "help",
        }
    }

    /// The scope a `label()` names (pane titles included).
    pub fn from_label(label: &str) -> Option<Scope> {
        [Scope::Global, Scope::Text, Scope::Panes, Scope::Help]
            .into_iter()
            .chain(Pane::ORDER.map(Scope::Only))
            .find(|s| s.label() == label)
    }

    /// More specific scopes win over general ones.
    fn rank(self) -> u8 {
        match self {
            Scope::Help | Scope::Only(_) => 0,
            Scope::Text | Scope::Panes => 1,
            Scope::Global => 2,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// Ctrl-C: cancel the newest pending call, or quit when none is pending.
    Interrupt,
    NextFocus,
    PrevFocus,
    /// Prompt: complete the word at the cursor; on an empty line, next pane.
    Complete,
    Submit,
    HistoryPrev,
    HistoryNext,
    Edit(InputRequest),
    ToggleHelp,
    CloseHelp,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    /// Scroll to the newest line and follow new data again.
    Bottom,
    ToggleHex,
    /// Wire pane: show the next (older) connection.
    WireNextConn,
    /// Wire pane: the header of the highlighted segment.
    WireHeader,
    /// Wire pane: absolute / relative sequence numbers.
    WireAbsolute,
    /// Code pane: show the program in Python or in C.
    ToggleCodeLang,
    /// Send pane: choose the previous / next connected socket.
    TargetPrev,
    TargetNext,
    ToggleNewline,
    /// Sockets pane: send to the selected socket.
    SendToSelected,
    FocusPrompt,
    /// Ctrl-Z: give the terminal back to the shell until `fg`.
    Suspend,
    /// A traced program: run the call it is stopped before and stop before the next.
    TraceStep,
    /// A traced program: go on freely.
    TraceGo,
    /// A traced program: go on until a kind of call (typed at the prompt).
    TraceUntil,
}

impl Action {
    /// The step keys of trace mode (shown on the status line only while a program is stopped).
    pub fn is_trace(self) -> bool {
        matches!(
            self,
            Action::TraceStep | Action::TraceGo | Action::TraceUntil
        )
    }
}

/// A key as the table writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

const fn ch(c: char) -> Key {
    k(KeyCode::Char(c))
}

impl Key {
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("C-{base}")
        } else {
            base
        }
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub key: Key,
    pub scope: Scope,
    pub action: Action,
    pub help: &'static str,
    /// The status line's word for it; empty = not on the status line (it
    /// shows only the most useful few per pane).
    pub short: &'static str,
}

const fn b(
    key: Key,
    scope: Scope,
    action: Action,
    help: &'static str,
    short: &'static str,
) -> Binding {
    Binding {
        key,
        scope,
        action,
        help,
        short,
    }
}

use Action as A;
use KeyCode as C;
use Scope as S;

/// The key table. Order matters only for display.
#[rustfmt::skip]
pub static KEYS: &[Binding] = &[
    b(k(C::Esc), S::Help, A::CloseHelp, "close help", "close"),
    b(ch('?'), S::Help, A::CloseHelp, "close help", ""),
    b(ch('q'), S::Help, A::CloseHelp, "close help", ""),
    b(k(C::F(1)), S::Help, A::CloseHelp, "close help", ""),
    b(k(C::Up), S::Help, A::Up, "scroll", "scroll"),
    b(k(C::Down), S::Help, A::Down, "scroll", ""),
    b(k(C::Enter), S::Only(Pane::Prompt), A::Submit, "run the line", "run"),
    b(k(C::Tab), S::Only(Pane::Prompt), A::Complete, "complete the name (empty line: next pane)", "complete"),
    b(k(C::Up), S::Only(Pane::Prompt), A::HistoryPrev, "previous line from history", "history"),
    b(k(C::Down), S::Only(Pane::Prompt), A::HistoryNext, "next line from history", ""),
    b(k(C::PageUp), S::Only(Pane::Prompt), A::PageUp, "scroll back through the output", ""),
    b(k(C::PageDown), S::Only(Pane::Prompt), A::PageDown, "scroll the output forward", ""),
    b(k(C::Enter), S::Only(Pane::Send), A::Submit, "sendall() the text", "send"),
    b(ctrl('n'), S::Only(Pane::Send), A::ToggleNewline, "toggle adding a newline on Enter", "+\\n"),
    b(k(C::Up), S::Only(Pane::Send), A::TargetPrev, "previous target socket", "target"),
    b(k(C::Down), S::Only(Pane::Send), A::TargetNext, "next target socket", ""),
    b(k(C::Esc), S::Text, A::FocusPrompt, "back to the prompt", ""),
    b(k(C::Left), S::Text, A::Edit(InputRequest::GoToPrevChar), "move the cursor", ""),
    b(k(C::Right), S::Text, A::Edit(InputRequest::GoToNextChar), "move the cursor", ""),
    b(k(C::Home), S::Text, A::Edit(InputRequest::GoToStart), "start of line", ""),
    b(k(C::End), S::Text, A::Edit(InputRequest::GoToEnd), "end of line", ""),
    b(ctrl('a'), S::Text, A::Edit(InputRequest::GoToStart), "start of line", ""),
    b(ctrl('e'), S::Text, A::Edit(InputRequest::GoToEnd), "end of line", ""),
    b(k(C::Backspace), S::Text, A::Edit(InputRequest::DeletePrevChar), "delete back", ""),
    b(k(C::Delete), S::Text, A::Edit(InputRequest::DeleteNextChar), "delete forward", ""),
    b(ctrl('w'), S::Text, A::Edit(InputRequest::DeletePrevWord), "delete a word back", ""),
    b(ctrl('u'), S::Text, A::Edit(InputRequest::DeleteLine), "delete the line", ""),
    b(ctrl('k'), S::Text, A::Edit(InputRequest::DeleteTillEnd), "delete to the end", ""),
    b(ch('q'), S::Panes, A::Quit, "quit", "quit"),
    b(ch('?'), S::Panes, A::ToggleHelp, "help", "help"),
    b(k(C::Esc), S::Panes, A::FocusPrompt, "back to the prompt", ""),
    b(ch('h'), S::Only(Pane::Traffic), A::ToggleHex, "text / hexdump", "hex"),
    b(ch('c'), S::Only(Pane::Wire), A::WireNextConn, "next connection", "connection"),
    b(ch('h'), S::Only(Pane::Wire), A::WireHeader, "header of the bottom segment", "header"),
    b(ch('a'), S::Only(Pane::Wire), A::WireAbsolute, "absolute / relative seq and ack", "abs/rel"),
    b(ch('c'), S::Only(Pane::Code), A::ToggleCodeLang, "show the program in Python / C", "py/c"),
    b(k(C::Enter), S::Only(Pane::Sockets), A::SendToSelected, "send to this socket", "send to"),
    b(k(C::Up), S::Panes, A::Up, "scroll / select", "scroll"),
    b(k(C::Down), S::Panes, A::Down, "scroll / select", ""),
    b(ch('k'), S::Panes, A::Up, "scroll / select", ""),
    b(ch('j'), S::Panes, A::Down, "scroll / select", ""),
    b(k(C::PageUp), S::Panes, A::PageUp, "page up", ""),
    b(k(C::PageDown), S::Panes, A::PageDown, "page down", ""),
    b(k(C::Home), S::Panes, A::Top, "oldest", ""),
    b(k(C::End), S::Panes, A::Bottom, "newest, follow new data", "follow"),
    b(k(C::Tab), S::Global, A::NextFocus, "next pane", "next pane"),
    b(k(C::BackTab), S::Global, A::PrevFocus, "previous pane", ""),
    b(ctrl('c'), S::Global, A::Interrupt, "cancel the waiting call; at an idle prompt, quit", "cancel/quit"),
    b(k(C::F(1)), S::Global, A::ToggleHelp, "help", ""),
    b(ctrl('z'), S::Global, A::Suspend, "suspend to the shell (fg comes back)", ""),
    b(k(C::F(5)), S::Global, A::TraceStep, "traced program: run this call, stop before the next (step)", "run it"),
    b(k(C::F(6)), S::Global, A::TraceGo, "traced program: go on freely (step mode off)", "go on"),
    b(k(C::F(7)), S::Global, A::TraceUntil, "traced program: run until a kind of call (:until accept)", "until…"),
];

/// The action for a key press with this focus, if the table has one.
pub fn lookup(key: &KeyEvent, focus: Pane, help_open: bool) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    // Shift is part of the character itself ('?', 'A'); only Ctrl changes meaning.
    let mods = key.modifiers & KeyModifiers::CONTROL;
    KEYS.iter()
        .filter(|b| b.key.code == key.code && b.key.mods == mods)
        .filter(|b| b.scope.applies(focus, help_open))
        .min_by_key(|b| b.scope.rank())
        .map(|b| b.action)
}

/// The status-line hints for this focus: (key, help), most specific first.
pub fn hints(focus: Pane, help_open: bool) -> Vec<(String, &'static str)> {
    let mut rows: Vec<&Binding> = KEYS
        .iter()
        .filter(|b| !b.short.is_empty() && b.scope.applies(focus, help_open))
        .filter(|b| !b.action.is_trace())
        .collect();
    rows.sort_by_key(|b| b.scope.rank());
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for b in rows {
        // A key shadowed by a more specific binding is not what that key does here.
        if lookup(&KeyEvent::new(b.key.code, b.key.mods), focus, help_open) != Some(b.action) {
            continue;
        }
        out.push((b.key.label(), b.short));
    }
    out
}

/// The step keys of trace mode: (key, short word), as the table has them.
pub fn trace_hints() -> Vec<(String, &'static str)> {
    KEYS.iter()
        .filter(|b| b.action.is_trace())
        .map(|b| (b.key.label(), b.short))
        .collect()
}

/// The catalogue key of a help or status-line word from the table:
/// `key.` and its words joined by `_` (`"send to"` → `key.send_to`).
pub fn word_key(text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let slug: Vec<&str> = slug.split('_').filter(|w| !w.is_empty()).collect();
    format!("key.{}", slug.join("_"))
}

/// A help or status-line word from the table, in `lang`.
pub fn word(text: &str, lang: crate::settings::Lang) -> String {
    let key = word_key(text);
    crate::tr!(lang, key.as_str())
}

/// Rows for the help overlay: (scope, keys joined, help), grouped by scope.
pub fn help_rows() -> Vec<(&'static str, String, &'static str)> {
    let mut out: Vec<(&'static str, String, &'static str)> = Vec::new();
    for b in KEYS.iter().filter(|b| b.scope != Scope::Help) {
        let scope = b.scope.label();
        if let Some(row) = out.iter_mut().find(|(s, _, h)| *s == scope && *h == b.help) {
            row.1.push(' ');
            row.1.push_str(&b.key.label());
        } else {
            out.push((scope, b.key.label(), b.help));
        }
    }
    out.sort_by_key(|(s, _, _)| {
        [
            "everywhere",
            "prompt and send",
            "Prompt",
            "Send",
            "other panes",
        ]
        .iter()
        .position(|x| x == s)
        .unwrap_or(5)
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn q_quits_only_where_no_text_is_typed() {
        assert_eq!(
            lookup(&press(KeyCode::Char('q')), Pane::Sockets, false),
            Some(Action::Quit)
        );
        assert_eq!(
            lookup(&press(KeyCode::Char('q')), Pane::Prompt, false),
            None
        );
        assert_eq!(lookup(&press(KeyCode::Char('q')), Pane::Send, false), None);
    }

    #[test]
    fn specific_bindings_win() {
        assert_eq!(
            lookup(&press(KeyCode::Tab), Pane::Prompt, false),
            Some(Action::Complete)
        );
        assert_eq!(
            lookup(&press(KeyCode::Tab), Pane::Traffic, false),
            Some(Action::NextFocus)
        );
        assert_eq!(
            lookup(&press(KeyCode::Up), Pane::Prompt, false),
            Some(Action::HistoryPrev)
        );
        assert_eq!(
            lookup(&press(KeyCode::Esc), Pane::Traffic, true),
            Some(Action::CloseHelp)
        );
    }

    #[test]
    fn status_hints_match_lookup() {
        for focus in Pane::ORDER {
            let hints = hints(focus, false);
            assert!(!hints.is_empty());
            for (key, _) in &hints {
                assert!(!key.is_empty());
            }
        }
        let h = hints(Pane::Prompt, false);
        assert!(
            h.iter()
                .any(|(k, help)| k == "Tab" && help.starts_with("complete"))
        );
        assert!(!h.iter().any(|(_, help)| *help == "next pane"));
    }

    #[test]
    fn every_word_of_the_table_is_in_the_catalogue() {
        use crate::settings::Lang;
        for b in KEYS {
            for text in [b.help, b.short] {
                if text.is_empty() {
                    continue;
                }
                let en = word(text, Lang::En);
                assert_eq!(en, text, "{} in en.yml", word_key(text));
                assert_ne!(word(text, Lang::Ko), word_key(text));
            }
        }
        for p in Pane::ORDER {
            assert_eq!(p.title_in(Lang::En), p.title());
        }
    }

    #[test]
    fn help_lists_every_action() {
        let rows = help_rows();
        for b in KEYS.iter().filter(|b| b.scope != Scope::Help) {
            assert!(
                rows.iter().any(|(_, keys, help)| *help == b.help
                    && keys.split(' ').any(|k| k == b.key.label()))
            );
        }
    }
}
