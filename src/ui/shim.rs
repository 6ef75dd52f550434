//! TEMPORARY: the documented `Session` API (CONTRACT.md) until the real
//! `crate::session` lands on main. Only folds events into a model; every
//! line is refused. Deleted when the real session is merged.
#![allow(dead_code)]

use std::collections::BTreeMap;

use crate::engine::{CallId, Engine, Event, LabModel, SockId};

pub struct Session {
    engine: Engine,
    model: LabModel,
    ph: BTreeMap<String, String>,
    code: Vec<String>,
}

pub enum Submitted {
    Nothing,
    Echo(String),
    Started { call: CallId, text: String },
    Lab { name: String, args: String },
    Error(String),
}

pub struct Outcome {
    pub call: CallId,
    pub text: String,
    pub ok: bool,
    pub echo: Option<String>,
    pub error: Option<String>,
}

impl Session {
    pub fn new(engine: Engine) -> Session {
        Session {
            engine,
            model: LabModel::new(),
            ph: BTreeMap::new(),
            code: Vec::new(),
        }
    }
    pub fn placeholders(&self) -> &BTreeMap<String, String> {
        &self.ph
    }
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
    pub fn model(&self) -> &LabModel {
        &self.model
    }
    pub fn submit(&mut self, line: &str) -> Submitted {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            return Submitted::Nothing;
        }
        if let Some(rest) = t.strip_prefix(':') {
            let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
            return Submitted::Lab {
                name: name.to_string(),
                args: args.trim().to_string(),
            };
        }
        Submitted::Error("NotImplementedError: the command language is not built yet".into())
    }
    pub fn on_event(&mut self, ev: &Event) -> Option<Outcome> {
        self.model.apply(ev);
        None
    }
    pub fn pending(&self) -> Vec<(CallId, String)> {
        Vec::new()
    }
    pub fn cancel_latest(&mut self) -> bool {
        false
    }
    pub fn code(&self) -> &[String] {
        &self.code
    }
    pub fn completions(&self, _line: &str, _cursor: usize) -> Vec<String> {
        Vec::new()
    }
    pub fn send_text(&mut self, _sock: SockId, _text: &str, _newline: bool) -> Submitted {
        Submitted::Error("NotImplementedError: sending is not built yet".into())
    }
    pub fn var_of(&self, _sock: SockId) -> Option<String> {
        None
    }
    pub fn reset(&mut self) {
        self.engine.reset();
        self.code.clear();
    }
}
