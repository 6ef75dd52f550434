//! The command language: a strict subset of Python's socket API.
//!
//! One line at a time: [`parse`] turns it into a [`Stmt`], [`Interp`] runs it
//! up to its next socket call, which becomes an engine
//! [`Op`](crate::engine::Op); each call's result resumes the line. Errors are
//! [`LangError`]s that read like Python's.

mod arith;
pub mod ast;
mod calls;
mod compare;
mod convert;
pub mod error;
pub mod escape;
pub mod interp;
pub mod lexer;
pub mod names;
pub mod parser;
mod textmeth;
pub mod value;

pub use arith::{MAX_BYTES, MAX_ITEMS};
pub use ast::{CmpOp, Expr, ExprKind, Stmt, Target};
pub use error::LangError;
pub use interp::{Done, Frozen, Interp, NoWorld, Step, World, runnable};
pub use lexer::MAX_LINE;
pub use parser::{MAX_DEPTH, parse};
pub use value::{Value, addr_value, ret_value};

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod limit_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
