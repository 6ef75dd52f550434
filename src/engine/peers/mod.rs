//! Built-in peers: the other end of a conversation, on real sockets that the
//! lab owns and shows like the student's.

mod spec;

pub use spec::{KINDS, PeerKind, PeerSpec, Role, kind_info};

use std::sync::Arc;

use super::error::CallError;
use super::shared::Shared;

pub(crate) fn start(_shared: &Arc<Shared>, spec: PeerSpec) -> Result<String, CallError> {
    spec.validate().map_err(CallError::lab)?;
    Err(CallError::lab("peers are not running yet"))
}
