//! socklab: learn network sockets by driving real ones.

pub mod app;
pub mod cli;
pub mod engine;
pub mod keys;
pub mod lang;
pub mod lesson;
pub mod run;
pub mod session;
pub mod trace_cmd;
pub mod tui;
pub mod ui;
