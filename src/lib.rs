//! socklab: learn network sockets by driving real ones.

pub mod cli;
pub mod engine;
pub mod lang;
pub mod lesson;
pub mod run;
pub mod session;
pub mod tui;
