//! The subcommands that run without the lab screen, next to `main`:
//! `socklab list`, `check`, `verify` (lessons), `help language`, `peers`.

pub mod lessons;
pub mod reference;
