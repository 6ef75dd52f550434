//! Printing for the command-line paths: every line escaped, so no lesson file
//! (titles, check strings, file names) or peer can move the cursor, clear the
//! screen or retitle the terminal.

use crate::engine::text::sanitize;

/// Text for the terminal: every line escaped, the line breaks kept.
pub fn safe(text: &str) -> String {
    text.split('\n')
        .map(sanitize)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Print to standard output, escaped.
pub fn say(text: &str) {
    println!("{}", safe(text));
}

/// Print to standard error, escaped.
pub fn warn(text: &str) {
    eprintln!("{}", safe(text));
}
