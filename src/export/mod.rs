//! Code to take home: the session written out as a program.
//!
//! `:export py FILE` writes the Python the Code pane shows; `:export c FILE`
//! writes the same socket calls as a C program in the style of Beej's guide
//! (see [`c`]). [`command`] is the one dispatcher for `:export FORMAT FILE`:
//! a new format is a new arm in [`render`] (and a word in [`FORMATS`]).

pub mod c;

use crate::session::Session;
use crate::settings::Lang as UiLang;

/// The formats `:export` writes, as the student types them.
/// (`pcap` — the captured wire — is to come from the capture module; it
/// becomes one more arm in [`command`], which writes its own bytes.)
pub const FORMATS: &[&str] = &["py", "c"];

/// Which language a program is shown or written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Python,
    C,
}

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "Python",
            Lang::C => "C",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Python => Lang::C,
            Lang::C => Lang::Python,
        }
    }
}

/// The session's program in `lang`, one string per line.
pub fn lines(session: &Session, lang: Lang) -> Vec<String> {
    match lang {
        Lang::Python => session.code().to_vec(),
        Lang::C => c::program(session.program(), &|s| session.label(s).map(str::to_string)),
    }
}

/// The text of a format's file, or why it cannot be written (in `ui`).
fn render(session: &Session, format: &str, ui: UiLang) -> Result<String, String> {
    let lang = match format {
        "py" | "python" => Lang::Python,
        "c" => Lang::C,
        other => {
            let other = crate::engine::text::sanitize(other);
            let formats = FORMATS.join(", ");
            return Err(
                match crate::lang::error::did_you_mean(&other, FORMATS.iter().copied()) {
                    Some(near) => tr!(
                        ui,
                        "export.code_unknown_near",
                        format = &other,
                        near = near,
                        formats = formats
                    ),
                    None => tr!(
                        ui,
                        "export.code_unknown",
                        format = &other,
                        formats = formats
                    ),
                },
            );
        }
    };
    Ok(lines(session, lang).join("\n") + "\n")
}

/// `:export FORMAT FILE`: write the file, say what was written (in `ui`).
pub fn command(session: &Session, args: &str, ui: UiLang) -> Result<String, String> {
    let formats = FORMATS.join(", ");
    let mut words = args.split_whitespace();
    let (Some(format), Some(file)) = (words.next(), words.next()) else {
        return Err(tr!(ui, "export.code_usage", formats = formats));
    };
    if words.next().is_some() {
        return Err(tr!(ui, "export.code_spaces", formats = formats));
    }
    let text = render(session, format, ui)?;
    let shown = crate::engine::text::sanitize(file);
    std::fs::write(file, &text).map_err(|e| tr!(ui, "export.failed", file = &shown, error = e))?;
    let n = text.lines().count();
    let key = match format {
        "c" => "export.wrote_c",
        _ => "export.wrote_py",
    };
    Ok(tr!(ui, key, n = n, file = shown))
}
