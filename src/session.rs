//! A student's session: the command language bound to an engine.
//!
//! `submit` runs a line up to its first socket call and starts that call on
//! the engine; `on_event` (fed every engine event) resumes the line when the
//! call's result arrives — it starts the line's next call, if it makes one,
//! or finishes the line: names are bound, new sockets are labelled with the
//! student's variable, and the line joins the runnable program in `code()`.

use std::collections::{BTreeMap, HashMap};

use crate::describe::error_line;
use crate::engine::peers::{KINDS, Role, kind_info};
use crate::engine::text::{py_bytes_repr, sanitize};
use crate::engine::{
    CallId, Engine, Event, EventKind, Family, LabModel, Note, Op, Owner, PeerSpec, Ret, SockId,
    free_port,
};
use crate::lang::escape::{self, Mode};
use crate::lang::names::*;
use crate::lang::{Done, Frozen, Interp, LangError, MAX_LINE, Step, Stmt, Value, World};
use crate::settings::Lang;

pub mod trace;

/// What `submit` did with a line.
#[derive(Clone, Debug, PartialEq)]
pub enum Submitted {
    /// Blank line or comment.
    Nothing,
    /// Finished at once (pure expression, assignment, `:peer …`) — text to show (may be empty).
    Echo(String),
    /// A socket call began; its Outcome comes via `on_event`.
    Started { call: CallId, text: String },
    /// A `:name args` command the caller handles (`:help :hint :next :quit …`).
    Lab { name: String, args: String },
    /// Python-style error text (may be several lines, e.g. caret for syntax errors).
    Error(String),
}

/// A line of the program with the socket calls it made, in order, and
/// what each returned.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeLine {
    pub text: String,
    pub calls: Vec<(Op, Ret)>,
}

/// How a started call ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub call: CallId,
    /// The line as submitted (placeholders filled in).
    pub text: String,
    pub ok: bool,
    /// The REPL echo (`b'hello\n'`, `conn = <socket …>, addr = (…)`), if any.
    pub echo: Option<String>,
    /// The error, Python-style, if the call or the rest of the line failed.
    pub error: Option<String>,
}

/// The first lines of `code()`: what makes the student's lines run as Python.
pub const CODE_HEADER: [&str; 2] = ["from socket import *", "from select import select"];

struct Pending {
    /// The line's identity: the engine call of its first socket call
    /// (what `Submitted::Started` and `Outcome` name).
    line: CallId,
    /// The engine call it is waiting in now.
    call: CallId,
    sock: Option<SockId>,
    /// Results of the line's calls that already returned, in order.
    rets: Vec<Value>,
    /// The call it waits in, and the calls that returned with what they
    /// returned (for the exported program).
    op: Op,
    calls: Vec<(Op, Ret)>,
    stmt: Stmt,
    frozen: Frozen,
    text: String,
    /// Ctrl-C was pressed for it; its KeyboardInterrupt is on the way.
    cancelled: bool,
    /// The script line it came from (for error messages).
    line_no: usize,
}

/// Most bytes of code the Code pane keeps (16 MiB); a line past it is refused.
pub const MAX_CODE: usize = 16 * 1024 * 1024;

/// The ports the newest labs of this process were given for `{port}` …
/// `{port5}`, so that two labs side by side never share one.
static GIVEN_PORTS: std::sync::Mutex<std::collections::VecDeque<u16>> =
    std::sync::Mutex::new(std::collections::VecDeque::new());
const GIVEN_KEEP: usize = 4096;

pub struct Session {
    engine: Engine,
    interp: Interp,
    model: LabModel,
    pending: Vec<Pending>,
    code: Vec<String>,
    /// The same lines with the socket calls each made (for `:export c`).
    program: Vec<CodeLine>,
    /// Bytes in `code`.
    code_bytes: usize,
    /// Whether successful lines are kept for `code()` (head-less runs do not need them).
    keep_code: bool,
    /// The script line being run, for `File "<stdin>", line N`.
    line_no: usize,
    placeholders: BTreeMap<String, String>,
    /// The label this session gave each socket (events may not have reached the model yet).
    labels: HashMap<SockId, String>,
    /// Programs started with `:trace` (see `session/trace.rs`).
    traces: trace::Traces,
    /// The keyword of a block line (`while True:`) that was refused; the
    /// indented lines under it are an IndentationError, not run.
    refused_block: Option<String>,
    /// See [`Session::code_gen`].
    code_gen: u64,
    /// The language of what the session says (errors' explanations, lab commands' replies).
    lang: Lang,
}

/// Keywords that open a block Python would run the indented lines under.
const BLOCK_KEYWORDS: &[&str] = &[
    "with", "while", "for", "if", "elif", "else", "try", "except", "finally", "def", "class",
    "async",
];

/// `while True:` → Some("while"): a line that opens a block.
fn block_opener(line: &str) -> Option<String> {
    let t = line.trim();
    let word: String = t
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let code = t.split('#').next().unwrap_or("").trim_end();
    (BLOCK_KEYWORDS.contains(&word.as_str()) && code.ends_with(':')).then_some(word)
}

/// Sockets as the model knows them: `<socket fd=6 TCP/v4 127.0.0.1:9000 ⇄ 127.0.0.1:51234>`.
pub fn sock_repr(model: &LabModel, id: SockId) -> String {
    let Some(r) = model.sock(id) else {
        return format!("<socket #{id}>");
    };
    if r.closed {
        return format!("<socket [closed] {}>", r.kind());
    }
    let mut s = format!("<socket fd={} {}", r.fd, r.kind());
    if let Some(l) = r.local {
        s.push_str(&format!(" {l}"));
    }
    if let Some(p) = r.peer {
        s.push_str(&format!(" ⇄ {p}"));
    }
    s.push('>');
    s
}

struct ModelWorld<'a>(&'a LabModel);

impl World for ModelWorld<'_> {
    fn family(&self, sock: SockId) -> Option<Family> {
        self.0.sock(sock).map(|r| r.family)
    }
    fn sock_repr(&self, sock: SockId) -> String {
        sock_repr(self.0, sock)
    }
}

impl Session {
    /// Speak `lang` from now on (English until told).
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Placeholders {port} {port2}..{port5} are fresh free ports, {host} = 127.0.0.1.
    pub fn new(engine: Engine) -> Session {
        Session::with_placeholders(engine, Session::fresh_placeholders())
    }

    pub fn with_placeholders(engine: Engine, ph: BTreeMap<String, String>) -> Session {
        Session {
            engine,
            interp: Interp::new(),
            model: LabModel::new(),
            pending: Vec::new(),
            code: CODE_HEADER.iter().map(|s| s.to_string()).collect(),
            program: Vec::new(),
            code_bytes: 0,
            keep_code: true,
            line_no: 1,
            placeholders: ph,
            labels: HashMap::new(),
            lang: Lang::En,
            traces: trace::Traces::default(),
            refused_block: None,
            code_gen: 0,
        }
    }

    pub fn fresh_placeholders() -> BTreeMap<String, String> {
        let mut ph = BTreeMap::new();
        ph.insert("host".to_string(), "127.0.0.1".to_string());
        ph.insert("programs".to_string(), trace::programs_dir().to_string());
        // The OS may hand out the same free port twice, to this lab or to
        // another one in this process (labs side by side: verify, tests):
        // ask again until it is one no recent lab was given.
        let mut given = GIVEN_PORTS.lock().unwrap_or_else(|e| e.into_inner());
        for name in ["port", "port2", "port3", "port4", "port5"] {
            let port = (0..50)
                .filter_map(|_| free_port().ok())
                .find(|p| !given.contains(p))
                .unwrap_or(0);
            if given.len() == GIVEN_KEEP {
                given.pop_front();
            }
            given.push_back(port);
            ph.insert(name.to_string(), port.to_string());
        }
        ph
    }

    /// Keep (or not) the lines for `code()`; a head-less run streams any
    /// number of lines and needs no Code pane.
    pub fn keep_code(&mut self, keep: bool) {
        self.keep_code = keep;
    }

    /// The line number the next submitted line has in its script (errors
    /// say `File "<stdin>", line N`); the prompt leaves it at 1, as Python's REPL.
    pub fn set_line(&mut self, n: usize) {
        self.line_no = n;
    }

    pub fn placeholders(&self) -> &BTreeMap<String, String> {
        &self.placeholders
    }

    /// Fill in `{port}`, `{host}`, …; unknown `{names}` stay as they are.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.placeholders {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The programs traced in this session (`:trace`).
    pub fn traces(&self) -> &trace::Traces {
        &self.traces
    }

    /// Start a program under trace, as `:trace [--step] CMD…` does.
    pub fn trace(&mut self, argv: Vec<String>, step: bool) -> Submitted {
        match self.traces.start(&self.engine, argv, step, self.lang) {
            Ok(s) => Submitted::Echo(s),
            Err(m) => Submitted::Error(LangError::lab(m).headline()),
        }
    }

    /// Folded from every event seen by `on_event`.
    pub fn model(&self) -> &LabModel {
        &self.model
    }

    /// The student's variables.
    pub fn vars(&self) -> &BTreeMap<String, Value> {
        self.interp.vars()
    }

    /// One line of input: a call, an expression, an assignment, `# comment`, or `:command`.
    pub fn submit(&mut self, line: &str) -> Submitted {
        let line = line.trim_end_matches(['\r', '\n']);
        // Lines pasted from a Python REPL transcript keep their prompt.
        let line = line.trim_start().strip_prefix(">>> ").unwrap_or(line);
        let text = self.expand(line);
        self.submit_expanded(&text)
    }

    fn submit_expanded(&mut self, text: &str) -> Submitted {
        let indent = text.chars().take_while(|c| *c == ' ' || *c == '\t').count();
        let blank = text.trim().is_empty() || text.trim_start().starts_with('#');
        if let Some(kw) = &self.refused_block
            && !blank
        {
            if indent > 0 {
                return Submitted::Error(
                    LangError::new("IndentationError", "unexpected indent")
                        .explained(Note::new("lang.refused_block").with("keyword", kw))
                        .in_lang(self.lang)
                        .at(0, indent)
                        .in_line(text)
                        .render_at(self.line_no),
                );
            }
            self.refused_block = None;
        }
        let stmt = match crate::lang::parse(text) {
            Ok(s) => s,
            Err(e) => {
                if let Some(kw) = block_opener(text) {
                    self.refused_block = Some(kw);
                }
                return Submitted::Error(e.in_lang(self.lang).render_at(self.line_no));
            }
        };
        match &stmt {
            Stmt::Empty => return Submitted::Nothing,
            Stmt::Import => return Submitted::Echo(String::new()),
            Stmt::Lab { name, args } => return self.lab(name, args),
            Stmt::Expr(_) | Stmt::Assign { .. } => {}
        }
        if self.keep_code && self.code_bytes + text.len() > MAX_CODE {
            return Submitted::Error(
                LangError::lab(tr!(self.lang, "lab.code_full", lines = self.code.len())).headline(),
            );
        }
        let world = ModelWorld(&self.model);
        match self.interp.start(&stmt, &world) {
            Err(e) => Submitted::Error(e.in_lang(self.lang).in_line(text).render_at(self.line_no)),
            Ok(Step::Done(d)) => {
                self.record(&d, text, Vec::new());
                Submitted::Echo(d.echo)
            }
            Ok(Step::Call(op)) => {
                if let Some(msg) = self.busy(&op) {
                    return Submitted::Error(msg);
                }
                let sock = op.sock();
                let frozen = self.interp.freeze(&stmt);
                let call = self.engine.call(Owner::Student, op.clone());
                let text = text.trim().to_string();
                self.pending.push(Pending {
                    line: call,
                    call,
                    sock,
                    rets: Vec::new(),
                    op,
                    calls: Vec::new(),
                    stmt,
                    frozen,
                    text: text.clone(),
                    cancelled: false,
                    line_no: self.line_no,
                });
                Submitted::Started { call, text }
            }
        }
    }

    /// A call on a socket that is already waiting is refused, as one thread
    /// per socket would be stuck in the first call.
    fn busy(&self, op: &Op) -> Option<String> {
        let sock = op.sock()?;
        let p = self.pending.iter().find(|p| p.sock == Some(sock))?;
        let name = self
            .var_of(sock)
            .unwrap_or_else(|| self.model.name_of(sock));
        Some(
            LangError::lab_note(
                Note::new("lang.busy")
                    .with("sock", name)
                    .with("call", &p.text),
            )
            .in_lang(self.lang)
            .headline(),
        )
    }

    /// A line finished: label new sockets and add the line to the program.
    fn record(&mut self, d: &Done, text: &str, calls: Vec<(Op, Ret)>) {
        self.code_gen += 1;
        for (name, v) in &d.bound {
            let Value::Socket(s) = v else { continue };
            // Keep the first name while it still refers to the socket
            // (`alias = srv` must not rename srv).
            let keep = self
                .labels
                .get(s)
                .is_some_and(|l| self.interp.get(l) == Some(&Value::Socket(*s)) && l != name);
            if !keep && self.labels.get(s) != Some(name) {
                self.labels.insert(*s, name.clone());
                self.engine.set_label(*s, name);
            }
        }
        if self.keep_code {
            let line = crate::lang::runnable(text, &d.strip);
            self.code_bytes += line.len();
            self.program.push(CodeLine {
                text: line.clone(),
                calls,
            });
            self.code.push(line);
        }
    }

    /// Feed every engine event here (it updates `model()`, binds names when calls finish).
    pub fn on_event(&mut self, ev: &Event) -> Option<Outcome> {
        self.model.apply(ev);
        let (call, result) = match &ev.kind {
            EventKind::CallDone { call, ret, .. } => (*call, Ok(ret)),
            EventKind::CallFailed { call, error, .. } => (*call, Err(error)),
            _ => return None,
        };
        let idx = self.pending.iter().position(|p| p.call == call)?;
        let mut p = self.pending.remove(idx);
        let line = p.line;
        let failed = |p: &Pending, error: String| Outcome {
            call: line,
            text: p.text.clone(),
            ok: false,
            echo: None,
            error: Some(error),
        };
        let ret = match result {
            Ok(ret) => ret,
            Err(e) => return Some(failed(&p, sanitize(&error_line(self.lang, e)))),
        };
        p.rets.push(crate::lang::ret_value(ret));
        if self.keep_code {
            p.calls.push((p.op.clone(), ret.clone()));
        }
        let world = ModelWorld(&self.model);
        match self.interp.resume(&p.stmt, &p.frozen, &p.rets, &world) {
            Ok(Step::Done(d)) => {
                let calls = std::mem::take(&mut p.calls);
                self.record(&d, &p.text, calls);
                Some(Outcome {
                    call: line,
                    text: p.text.clone(),
                    ok: true,
                    echo: (!d.echo.is_empty()).then_some(d.echo),
                    error: None,
                })
            }
            // The line's next call: it stays pending, now waiting in that call.
            Ok(Step::Call(op)) => {
                if let Some(msg) = self.busy(&op) {
                    return Some(failed(&p, msg));
                }
                if p.cancelled {
                    return Some(failed(&p, "KeyboardInterrupt".to_string()));
                }
                p.sock = op.sock();
                p.op = op.clone();
                p.call = self.engine.call(Owner::Student, op);
                self.pending.insert(idx, p);
                None
            }
            Err(e) => Some(failed(
                &p,
                e.in_lang(self.lang).in_line(&p.text).render_at(p.line_no),
            )),
        }
    }

    /// The student's unfinished calls and their text, oldest first.
    pub fn pending(&self) -> Vec<(CallId, String)> {
        self.pending
            .iter()
            .map(|p| (p.line, p.text.clone()))
            .collect()
    }

    /// Cancel the line `line` (as `Submitted::Started` named it) in whichever
    /// of its calls it waits; its Outcome arrives through `on_event`.
    pub fn cancel(&mut self, line: CallId) -> bool {
        match self.pending.iter_mut().find(|p| p.line == line) {
            Some(p) => {
                p.cancelled = true;
                self.engine.cancel(p.call)
            }
            None => false,
        }
    }

    /// Ctrl-C: cancel the newest pending student call. Its Outcome
    /// (`KeyboardInterrupt`) arrives through `on_event`.
    pub fn cancel_latest(&mut self) -> bool {
        // Pressing Ctrl-C again moves on to the next newest call.
        match self.pending.iter_mut().rev().find(|p| !p.cancelled) {
            Some(p) => {
                p.cancelled = true;
                self.engine.cancel(p.call)
            }
            None => false,
        }
    }

    /// The program so far as runnable Python: imports, then each successful line.
    pub fn code(&self) -> &[String] {
        &self.code
    }

    /// The program's lines (after the header) with the socket calls each
    /// made and what they returned, in order.
    pub fn program(&self) -> &[CodeLine] {
        &self.program
    }

    /// The name this session labelled a socket with (the student's variable
    /// when it was made), even after the variable moved on.
    /// Changes whenever the program (its lines or the names of its sockets)
    /// may have changed: a view derived from them is stale when this moved.
    pub fn code_gen(&self) -> u64 {
        self.code_gen
    }

    pub fn label(&self, sock: SockId) -> Option<&str> {
        self.labels.get(&sock).map(String::as_str)
    }

    /// The student's variable for a socket: the name it was labelled with if
    /// that still holds it, else any variable holding it.
    pub fn var_of(&self, sock: SockId) -> Option<String> {
        let want = Value::Socket(sock);
        if let Some(l) = self.labels.get(&sock)
            && self.interp.get(l) == Some(&want)
        {
            return Some(l.clone());
        }
        self.interp
            .vars()
            .iter()
            .find(|(_, v)| **v == want)
            .map(|(k, _)| k.clone())
    }

    /// Send pane: decode escapes (\n \r \t \0 \xNN \\), optionally append \n,
    /// then run `VAR.sendall(b'...')` like a typed line.
    pub fn send_text(&mut self, sock: SockId, text: &str, newline: bool) -> Submitted {
        let Some(var) = self.var_of(sock) else {
            return Submitted::Error(LangError::lab(tr!(self.lang, "send.no_variable")).headline());
        };
        let mut data = match escape::decode_bytes(text, Mode::Text) {
            Ok(d) => d,
            Err(e) => {
                return Submitted::Error(
                    LangError::syntax_note(e.note, e.offset, e.offset + e.len)
                        .in_lang(self.lang)
                        .in_line(text)
                        .render(),
                );
            }
        };
        if newline {
            data.push(b'\n');
        }
        let line = format!("{var}.sendall({})", py_bytes_repr(&data));
        if line.len() > MAX_LINE {
            return Submitted::Error(
                LangError::lab(tr!(self.lang, "send.too_much", n = data.len())).headline(),
            );
        }
        self.submit_expanded(&line)
    }

    /// Cancel everything on the engine and forget names, code and pending calls.
    pub fn reset(&mut self) {
        self.traces.kill_all();
        self.engine.reset();
        self.interp.clear();
        self.pending.clear();
        self.labels.clear();
        self.code_gen += 1;
        self.refused_block = None;
        self.code = CODE_HEADER.iter().map(|s| s.to_string()).collect();
        self.program.clear();
        self.code_bytes = 0;
    }

    /// Candidates for the word at `cursor` (a char index): names, constants and
    /// functions; after `var.` the methods of var's value; after `:` lab
    /// commands. Each candidate is the whole word (the part after the last dot).
    pub fn completions(&self, line: &str, cursor: usize) -> Vec<String> {
        let chars: Vec<char> = line.chars().take(cursor).collect();
        let is_word = |c: char| c == '_' || c.is_alphanumeric();
        let start = chars
            .iter()
            .rposition(|c| !is_word(*c))
            .map_or(0, |i| i + 1);
        let frag: String = chars[start..].iter().collect();
        let before = &chars[..start];
        let lead: String = before.iter().collect::<String>().trim().to_string();
        let mut out: Vec<String> = if line.trim_start().starts_with(':') {
            match lead.as_str() {
                ":" => LAB_COMMANDS.iter().map(|s| s.to_string()).collect(),
                ":peer" => KINDS.iter().map(|k| k.kind.to_string()).collect(),
                ":stop" => self.engine.peers().into_iter().map(|p| p.0).collect(),
                _ => Vec::new(),
            }
        } else if before.last() == Some(&'.') {
            let obj_start = before[..before.len() - 1]
                .iter()
                .rposition(|c| !is_word(*c))
                .map_or(0, |i| i + 1);
            let obj: String = before[obj_start..before.len() - 1].iter().collect();
            let methods: Vec<&str> = match self.interp.get(&obj) {
                Some(Value::Socket(_)) => SOCKET_METHODS.to_vec(),
                Some(Value::Str(_)) => STR_METHODS.to_vec(),
                Some(Value::Bytes(_)) => BYTES_METHODS.to_vec(),
                Some(_) => Vec::new(),
                None if obj == "socket" => CONSTANTS
                    .iter()
                    .map(|(c, _)| *c)
                    .chain(["socket"])
                    .collect(),
                None if obj == "select" => vec!["select"],
                None => Vec::new(),
            };
            methods.into_iter().map(str::to_string).collect()
        } else {
            self.interp
                .vars()
                .keys()
                .cloned()
                .chain(CONSTANTS.iter().map(|(c, _)| c.to_string()))
                .chain(FUNCTIONS.iter().map(|f| f.to_string()))
                .chain(["None", "True", "False"].map(String::from))
                .collect()
        };
        out.retain(|c| c.starts_with(&frag) && *c != frag);
        out.sort();
        out.dedup();
        out
    }

    /// `:peer`, `:peers`, `:stop` and the trace commands (`:trace`, `:rerun`,
    /// `:step`, `:go`, `:until`, `:kill`) run here; other commands go to the caller.
    fn lab(&mut self, name: &str, args: &str) -> Submitted {
        let err = |m: String| Submitted::Error(LangError::lab(m).headline());
        if let Some(r) = self.traces.command(&self.engine, name, args, self.lang) {
            return r.map_or_else(err, Submitted::Echo);
        }
        match name {
            "" => err(tr!(self.lang, "lab.no_name")),
            "peer" => {
                let spec = match PeerSpec::parse(args) {
                    Ok(s) => s,
                    Err(n) => return err(crate::i18n::note(self.lang, &n)),
                };
                let (kind, addr) = (spec.kind.clone(), spec.addr.clone());
                match self.engine.start_peer(spec) {
                    Ok(pname) => {
                        let key = match kind_info(&kind).map(|k| k.role) {
                            Some(Role::Client) => "lab.peer_connecting",
                            _ => "lab.peer_listening",
                        };
                        Submitted::Echo(crate::i18n::text(
                            self.lang,
                            key,
                            &[("peer", pname), ("kind", kind), ("addr", addr)],
                        ))
                    }
                    Err(e) => Submitted::Error(sanitize(&error_line(self.lang, &e))),
                }
            }
            "peers" => {
                let peers = self.engine.peers();
                if peers.is_empty() {
                    return Submitted::Echo(tr!(self.lang, "lab.no_peers"));
                }
                let lines: Vec<String> = peers
                    .iter()
                    .map(|(n, k, a)| format!("{n}  {k}  {a}"))
                    .collect();
                Submitted::Echo(lines.join("\n"))
            }
            "export" if !self.keep_code => err(tr!(self.lang, "lab.export_no_code")),
            "export" => match crate::export::command(self, args, self.lang) {
                Ok(msg) => Submitted::Echo(msg),
                Err(m) => err(m),
            },
            "stop" => {
                let pname = args.trim();
                if pname.is_empty() {
                    return err(tr!(self.lang, "lab.stop_usage"));
                }
                if self.engine.stop_peer(pname) {
                    Submitted::Echo(tr!(self.lang, "lab.stopped", peer = pname))
                } else {
                    let running: Vec<String> =
                        self.engine.peers().into_iter().map(|p| p.0).collect();
                    err(if running.is_empty() {
                        tr!(self.lang, "lab.no_such_peer", peer = pname)
                    } else {
                        tr!(
                            self.lang,
                            "lab.no_such_peer_running",
                            peer = pname,
                            running = running.join(", ")
                        )
                    })
                }
            }
            _ => Submitted::Lab {
                name: name.to_string(),
                args: args.to_string(),
            },
        }
    }
}
