//! Settings every layer may read (the language, the app mode), kept apart from the
//! command line so nothing has to import `cli` to know them.

use clap::ValueEnum;

#[derive(
    ValueEnum,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Lang {
    /// From `LC_ALL`, `LC_MESSAGES`, `LANG` (first set wins), as POSIX does.
    pub fn from_env() -> Lang {
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(v) = std::env::var(var)
                && !v.is_empty()
            {
                return if v.to_ascii_lowercase().starts_with("ko") {
                    Lang::Ko
                } else {
                    Lang::En
                };
            }
        }
        Lang::En
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }
}

/// What the app opens: a lesson to continue, one asked for, or the sandbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `socklab`: continue where the student left off.
    Continue,
    /// `socklab learn [ID]`.
    Learn(Option<String>),
    /// `socklab sandbox`: no lesson.
    Sandbox,
    /// `socklab trace [--step] -- CMD…`: the sandbox with this program
    /// running under trace.
    Trace { argv: Vec<String>, step: bool },
}
