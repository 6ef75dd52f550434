//! Errors of socket calls, shaped like Python's `OSError` family, and
//! (in `explain`) the one table of what each errno means for each call.
//!
//! The engine speaks no language: what an error means in the lab is a
//! [`Note`], a catalogue key with named values, which the layers above
//! (`crate::describe`) put into words in the student's language.

mod explain;
mod note;

pub use explain::{Call, Facts, explain, explain_keys};
pub use note::Note;

use std::fmt;

use serde::Serialize;

/// A failed call, as Python would raise it, plus what it means in the lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallError {
    /// Python exception class: `ConnectionRefusedError`, `OSError`, `TimeoutError`, ...
    pub exc: String,
    /// The errno, where the kernel gave one.
    pub errno: Option<i32>,
    /// The symbolic errno name (`ECONNREFUSED`), where there is one.
    pub errno_name: Option<String>,
    /// Python's message: `Connection refused`, `timed out`.
    pub message: String,
    /// What it means here (`nothing is listening on 127.0.0.1:9000`), as a
    /// catalogue key and its values; empty when there is nothing to add.
    pub explain: Note,
}

impl CallError {
    /// An error from the kernel's errno; `explain` says what it means for this call.
    pub fn os(errno: i32, explain: impl Into<Note>) -> CallError {
        CallError {
            exc: exception_for(errno).to_string(),
            errno: Some(errno),
            errno_name: errno_name(errno).map(str::to_string),
            message: strerror(errno),
            explain: explain.into(),
        }
    }

    /// An error that is not an errno (`TimeoutError: timed out`, `ValueError: ...`).
    pub fn other(exc: &str, message: impl Into<String>, explain: impl Into<Note>) -> CallError {
        CallError {
            exc: exc.to_string(),
            errno: None,
            errno_name: None,
            message: message.into(),
            explain: explain.into(),
        }
    }

    /// The call was cancelled (Ctrl-C), as `KeyboardInterrupt`.
    pub fn cancelled(what: &str) -> CallError {
        CallError::other(
            "KeyboardInterrupt",
            "",
            Note::new("explain.cancelled").with("call", what),
        )
    }

    /// The lab refused the call (limits, loopback-only), in words the
    /// layers above translate (a `lab.*` note; the engine holds no sentence).
    pub fn lab_note(note: Note) -> CallError {
        CallError::other("LabError", "", note)
    }

    pub fn is_errno(&self, errno: i32) -> bool {
        self.errno == Some(errno)
    }

    /// The line as Python prints it, without the lab's explanation:
    /// `ConnectionRefusedError: [Errno 111] Connection refused`.
    pub fn python(&self) -> String {
        let mut s = self.exc.clone();
        match (self.errno, self.message.is_empty()) {
            (Some(e), _) => s.push_str(&format!(": [Errno {e}] {}", self.message)),
            (None, false) => s.push_str(&format!(": {}", self.message)),
            (None, true) => {}
        }
        s
    }

    /// What goes between [`CallError::python`] and the explanation in words:
    /// `: ` when the explanation is the whole message (a lab refusal, or a
    /// `lab.*` note in place of Python's message), else ` — `.
    pub fn joiner(&self) -> &'static str {
        if self.errno.is_none()
            && self.message.is_empty()
            && (self.exc == "LabError" || self.explain.key.starts_with("lab."))
        {
            ": "
        } else {
            " — "
        }
    }
}

/// Python's line and the explanation's key (`… — [explain.connect_refused]`);
/// the words are `crate::describe`'s.
impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.python())?;
        if !self.explain.is_empty() {
            write!(f, "{}[{}]", self.joiner(), self.explain.key)?;
        }
        Ok(())
    }
}

impl std::error::Error for CallError {}

/// Python's mapping from errno to an `OSError` subclass.
pub fn exception_for(errno: i32) -> &'static str {
    match errno {
        libc::ECONNREFUSED => "ConnectionRefusedError",
        libc::ECONNRESET => "ConnectionResetError",
        libc::ECONNABORTED => "ConnectionAbortedError",
        libc::EPIPE | libc::ESHUTDOWN => "BrokenPipeError",
        libc::EAGAIN | libc::EALREADY | libc::EINPROGRESS => "BlockingIOError",
        libc::ETIMEDOUT => "TimeoutError",
        libc::EACCES | libc::EPERM => "PermissionError",
        libc::EINTR => "InterruptedError",
        _ => "OSError",
    }
}

/// The C name of an errno value.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    ERRNO_NAMES
        .iter()
        .find(|(v, _)| *v == errno)
        .map(|(_, n)| *n)
}

/// errno by C name (`ECONNREFUSED` → 111), for lesson checks.
pub fn errno_by_name(name: &str) -> Option<i32> {
    let n = name.trim().to_ascii_uppercase();
    ERRNO_NAMES.iter().find(|(_, m)| *m == n).map(|(v, _)| *v)
}

const ERRNO_NAMES: &[(i32, &str)] = &[
    (libc::EPERM, "EPERM"),
    (libc::EINTR, "EINTR"),
    (libc::EBADF, "EBADF"),
    (libc::EAGAIN, "EAGAIN"),
    (libc::EACCES, "EACCES"),
    (libc::EFAULT, "EFAULT"),
    (libc::EINVAL, "EINVAL"),
    (libc::EMFILE, "EMFILE"),
    (libc::EPIPE, "EPIPE"),
    (libc::ENOTSOCK, "ENOTSOCK"),
    (libc::EDESTADDRREQ, "EDESTADDRREQ"),
    (libc::EMSGSIZE, "EMSGSIZE"),
    (libc::EPROTOTYPE, "EPROTOTYPE"),
    (libc::ENOPROTOOPT, "ENOPROTOOPT"),
    (libc::EPROTONOSUPPORT, "EPROTONOSUPPORT"),
    (libc::EOPNOTSUPP, "EOPNOTSUPP"),
    (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
    (libc::EADDRINUSE, "EADDRINUSE"),
    (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
    (libc::ENETUNREACH, "ENETUNREACH"),
    (libc::ECONNABORTED, "ECONNABORTED"),
    (libc::ECONNRESET, "ECONNRESET"),
    (libc::EISCONN, "EISCONN"),
    (libc::ENOTCONN, "ENOTCONN"),
    (libc::ESHUTDOWN, "ESHUTDOWN"),
    (libc::ETIMEDOUT, "ETIMEDOUT"),
    (libc::ECONNREFUSED, "ECONNREFUSED"),
    (libc::EHOSTUNREACH, "EHOSTUNREACH"),
    (libc::EALREADY, "EALREADY"),
    (libc::EINPROGRESS, "EINPROGRESS"),
];

/// The C library's message for an errno ("Connection refused").
pub fn strerror(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    // std appends " (os error N)"; Python does not.
    match s.rfind(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
