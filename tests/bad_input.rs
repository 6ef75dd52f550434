//! The bad-input matrix: the real `socklab` binary fed hostile input, head-less
//! and in a pseudo-terminal. Each case asserts no panic, a clear message, the
//! terminal restored, and that the program answers again.

#[path = "bad_input/tty.rs"]
mod tty;
