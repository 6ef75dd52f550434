//! The bad-input matrix: the real binary fed hostile input of every kind,
//! asserting no panic, a clear message, the right exit code, bounded memory
//! and no raw control byte on the terminal. One `#[path]` module per area.

#[path = "bad_input/headless.rs"]
mod headless;
#[path = "bad_input/lessons.rs"]
mod lessons;
