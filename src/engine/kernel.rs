//! Reading the kernel's view of the lab's sockets.
use super::shared::Shared;
use std::sync::Arc;
pub(crate) fn spawn_observer(_shared: Arc<Shared>) {}
