//! A message the engine leaves for the layers above to put into words: a
//! catalogue key (`explain.connect_refused`) and the values it names
//! (`addr = 127.0.0.1:9000`). The engine never holds a sentence in any
//! language; `crate::describe::note` reads a `Note` in the student's one.

use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The catalogue key; "" for no note.
    pub key: &'static str,
    /// Values for the key's `%{name}` holes.
    pub args: Vec<(&'static str, String)>,
}

impl Note {
    pub fn new(key: &'static str) -> Note {
        Note {
            key,
            args: Vec::new(),
        }
    }

    /// A text the lab passes on as it is (a program's message, an OS error
    /// string): the catalogue's `note.verbatim`, which is only `%{text}`.
    pub fn verbatim(text: impl Into<String>) -> Note {
        Note::new("note.verbatim").with("text", text.into())
    }

    pub fn with(mut self, name: &'static str, value: impl ToString) -> Note {
        self.args.push((name, value.to_string()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.key.is_empty()
    }

    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Text without a key is passed on verbatim ("" is no note).
impl From<String> for Note {
    fn from(s: String) -> Note {
        if s.is_empty() {
            Note::default()
        } else {
            Note::verbatim(s)
        }
    }
}

impl From<&str> for Note {
    fn from(s: &str) -> Note {
        Note::from(s.to_string())
    }
}
