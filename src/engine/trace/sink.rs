//! The trace's events on their way to the log, in batches.
//!
//! A program in a send/recv loop makes tens of thousands of calls a second,
//! three events each (started, data, done). Putting each in the log at once
//! wakes the log's reader once an event, and on a two-core machine those
//! wake-ups cost the program more than the ptrace stops. So the tracer, its
//! watcher and the output readers queue their events here, in the order they
//! happened, and the queue goes to the log as one burst: when its oldest event
//! is [`FLUSH_AFTER`] old (the watcher sends it, on the other CPU than the
//! one the tracer shares with the program), and at once for what someone
//! waits for (a program stopped before a call, its output, its end, a call
//! still in the kernel). Nothing is dropped or reordered; an event reaches
//! the log at most a few milliseconds late.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::lock;
use crate::engine::event::EventKind;
use crate::engine::shared::Shared;
use crate::engine::types::SockId;

/// The longest an event waits in the queue (about; the watcher ticks at this rate).
pub const FLUSH_AFTER: Duration = Duration::from_millis(5);

enum Item {
    Event(EventKind),
    /// A connection to remember for its kernel entry after close (in order
    /// with the socket's close, so the lab's observer never sees it first).
    Tuple(SocketAddr, SocketAddr, SockId),
}

#[derive(Default)]
struct Queue {
    items: Vec<Item>,
    /// When the oldest queued item came.
    since: Option<Instant>,
    /// Wake the lab's kernel observer after the burst.
    poke: bool,
}

pub(crate) struct Sink {
    pub sh: Arc<Shared>,
    q: Mutex<Queue>,
    /// Held by whoever sends a burst (with an empty vector to swap in), so
    /// that bursts never interleave while the queue itself is locked only
    /// for a swap: the tracer queueing its next event does not wait for a
    /// burst going out.
    sending: Mutex<Vec<Item>>,
}

impl Sink {
    pub fn new(sh: Arc<Shared>) -> Sink {
        Sink {
            sh,
            q: Mutex::new(Queue::default()),
            sending: Mutex::new(Vec::new()),
        }
    }

    fn push(&self, it: Item) -> bool {
        let mut q = lock(&self.q);
        let first = q.items.is_empty();
        if first {
            q.since = Some(Instant::now());
        }
        q.items.push(it);
        first
    }

    /// Queue an event; true when the queue was empty (someone must come for it).
    pub fn emit(&self, kind: EventKind) -> bool {
        self.push(Item::Event(kind))
    }

    /// Queue an event and send everything queued.
    pub fn emit_now(&self, kind: EventKind) {
        self.push(Item::Event(kind));
        self.flush();
    }

    pub fn remember_tuple(&self, local: SocketAddr, peer: SocketAddr, sock: SockId) {
        self.push(Item::Tuple(local, peer, sock));
    }

    /// Wake the lab's kernel observer once the queued events are in the log.
    pub fn poke_observer(&self) {
        lock(&self.q).poke = true;
    }

    /// When the oldest queued event is due, if any is queued.
    pub fn due(&self) -> Option<Instant> {
        lock(&self.q).since.map(|t| t + FLUSH_AFTER)
    }

    /// Send the queue if its oldest event has waited long enough.
    pub fn flush_if_due(&self) {
        if self.due().is_some_and(|d| Instant::now() >= d) {
            self.flush();
        }
    }

    /// Send everything queued to the log, in order.
    pub fn flush(&self) {
        let mut burst = lock(&self.sending);
        let poke = {
            let mut q = lock(&self.q);
            q.since = None;
            std::mem::swap(&mut q.items, &mut *burst);
            std::mem::take(&mut q.poke)
        };
        for it in burst.drain(..) {
            match it {
                Item::Event(k) => self.sh.emit(k),
                Item::Tuple(l, p, s) => self.sh.remember_tuple(l, p, s),
            }
        }
        if poke {
            self.sh.poke_observer();
        }
    }
}
