//! The check language's names where callers have always found them
//! (`lesson::cond::{RawCheck, convert}`); each kind lives in `check/`.

pub use super::check::call::{CALL_METHODS, CallReq};
pub use super::check::queue::Queue;
pub use super::check::{
    CheckKind, Cond, CondError, KERNEL_NAMES, Leaf, OwnerSel, RawCheck, Sel, When, convert,
};
