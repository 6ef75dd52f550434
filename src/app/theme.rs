//! Colours, or only bold / dim / reverse when `NO_COLOR` is set.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    pub fn plain() -> Theme {
        Theme { color: false }
    }

    fn pick(&self, color: Style, mono: Style) -> Style {
        if self.color { color } else { mono }
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.pick(
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            )
        } else {
            self.pick(
                Style::new().fg(Color::Cyan),
                Style::new().add_modifier(Modifier::BOLD),
            )
        }
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.pick(Style::new().fg(Color::Cyan), Style::new())
        } else {
            self.pick(
                Style::new().fg(Color::DarkGray),
                Style::new().add_modifier(Modifier::DIM),
            )
        }
    }
    pub fn dim(&self) -> Style {
        self.pick(
            Style::new().fg(Color::DarkGray),
            Style::new().add_modifier(Modifier::DIM),
        )
    }
    pub fn header(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Gray).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )
    }
    pub fn error(&self) -> Style {
        self.pick(
            Style::new().fg(Color::LightRed),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    pub fn ok(&self) -> Style {
        self.pick(Style::new().fg(Color::LightGreen), Style::new())
    }
    pub fn warn(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    pub fn info(&self) -> Style {
        self.pick(Style::new().fg(Color::LightBlue), Style::new())
    }
    pub fn peer(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Magenta),
            Style::new().add_modifier(Modifier::ITALIC),
        )
    }
    pub fn kernel(&self) -> Style {
        self.pick(Style::new().fg(Color::LightCyan), Style::new())
    }
    pub fn lab(&self) -> Style {
        self.pick(Style::new().fg(Color::LightYellow), Style::new())
    }
    pub fn escape(&self) -> Style {
        self.pick(
            Style::new().fg(Color::DarkGray),
            Style::new().add_modifier(Modifier::DIM),
        )
    }
    pub fn sent(&self) -> Style {
        self.pick(
            Style::new().fg(Color::LightGreen),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    pub fn received(&self) -> Style {
        self.pick(
            Style::new().fg(Color::LightMagenta),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    pub fn selected(&self) -> Style {
        self.pick(
            Style::new().bg(Color::DarkGray),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }
    pub fn prompt(&self) -> Style {
        self.pick(
            Style::new()
                .fg(Color::LightGreen)
                .add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    /// A state that just changed: strong at first, then softer, then normal.
    pub fn fade(&self, age_us: u64, total_us: u64) -> Option<Style> {
        if age_us >= total_us {
            return None;
        }
        Some(if age_us < total_us / 2 {
            self.pick(
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            )
        } else {
            self.pick(
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::BOLD),
            )
        })
    }
}
