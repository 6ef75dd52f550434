//! The bad-input matrix: the real `socklab` binary fed hostile input of every
//! kind, head-less and in a pseudo-terminal. Each case asserts no panic, a
//! clear message, the right exit code, bounded memory, no raw control byte on
//! the terminal, the terminal restored, and that the program answers again.
//! One `#[path]` module per area.

#[path = "bad_input/headless.rs"]
mod headless;
#[path = "bad_input/lessons.rs"]
mod lessons;
#[path = "bad_input/tty.rs"]
mod tty;
