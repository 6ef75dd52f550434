//! The bad-input matrix: the real binary fed hostile input, asserting no
//! panic, a clear message, the right exit code and bounded memory. Each area
//! adds its cases as a `#[path]` module.

#[path = "bad_input/headless.rs"]
mod headless;
