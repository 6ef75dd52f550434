//! Reading a traced program out of an event log, for the trace tests.
#![allow(dead_code)]

use socklab::engine::{Event, EventKind, ProgramNote};

/// The calls a process made, in order: (call id, method, text).
pub fn calls_of(log: &[Event], pid: u32) -> Vec<(u64, String, String)> {
    log.iter()
        .filter_map(|e| match &e.kind {
            EventKind::CallStarted {
                call,
                owner,
                method,
                text,
                ..
            } if owner.program_pid() == Some(pid) => Some((*call, method.clone(), text.clone())),
            _ => None,
        })
        .collect()
}

/// Everything a process wrote to its stdout and stderr, in order.
pub fn output_of(log: &[Event], pid: u32) -> String {
    log.iter()
        .filter_map(|e| match &e.kind {
            EventKind::Program {
                pid: p,
                note: ProgramNote::Output { text, .. },
            } if *p == pid => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The log, one event a line, for failure messages.
pub fn dump(log: &[Event]) -> String {
    log.iter()
        .map(|e| format!("{:?}", e.kind))
        .collect::<Vec<_>>()
        .join("\n")
}
