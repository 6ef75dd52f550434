//! State shared by the engine's handle and its tasks.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::EngineConfig;
use super::event::{Event, EventKind};
use super::types::*;

pub(crate) struct Shared {
    pub cfg: EngineConfig,
    tx: UnboundedSender<Event>,
    start: Instant,
}

impl Shared {
    pub fn new(cfg: EngineConfig, tx: UnboundedSender<Event>) -> Arc<Shared> {
        Arc::new(Shared {
            cfg,
            tx,
            start: Instant::now(),
        })
    }
    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }
    pub fn emit(&self, kind: EventKind) {
        let _ = self.tx.send(Event {
            seq: 0,
            t_us: self.now_us(),
            kind,
        });
    }
    pub fn cancel(&self, _call: CallId) -> bool {
        false
    }
    pub fn set_label(&self, sock: SockId, label: &str) {
        self.emit(EventKind::SocketLabel {
            sock,
            label: label.to_string(),
        });
    }
    pub fn stop_peer(&self, _name: &str) -> bool {
        false
    }
    pub fn peer_list(&self) -> Vec<(String, String, String)> {
        Vec::new()
    }
    pub fn reset(&self) {}
    pub fn poke_observer(&self) {}
    pub fn fd_of(&self, _sock: SockId) -> Option<i32> {
        None
    }
    pub fn shutdown(&self) {}
}
