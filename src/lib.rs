//! socklab: learn network sockets by driving real ones.

rust_i18n::i18n!("src/locales", fallback = "en");

#[macro_use]
pub mod i18n;

pub mod app;
pub mod cli;
pub mod cmd;
pub mod describe;
pub mod engine;
pub mod export;
pub mod keys;
pub mod lang;
pub mod lesson;
pub mod netns;
pub mod run;
pub mod session;
pub mod settings;
pub mod trace_cmd;
pub mod tui;
pub mod ui;
