//! The bad-input matrix: the real binary fed hostile input of every kind,
//! asserting no panic, a clear message, the right exit code, nothing lost
//! and no raw control byte on the terminal. One module per area.

#[path = "bad_input/lessons.rs"]
mod lessons;
