//! Evaluating a parsed line: names, pure expressions, and the socket calls
//! a line makes.
//!
//! A line runs in passes. `start` evaluates up to the first socket call and
//! hands back its [`Op`]; the engine runs it; `resume` evaluates the line
//! again with the results so far in place of the calls that made them, in
//! Python's order of evaluation (arguments before the call), up to the next
//! call or the end. Everything but the socket calls is pure, so running the
//! rest again is harmless.
//!
//! Over 600 lines on purpose: every value is measured against the limits
//! where it is made (`charge`, `container`, names), so the evaluator and its
//! bookkeeping stay in one place.

use std::collections::BTreeMap;

use super::arith;
use super::ast::*;
use super::calls;
use super::compare;
use super::convert;
use super::error::{LangError, suggestion};
use super::names::*;
use super::textmeth;
use super::value::Value;
use crate::engine::Note;
use crate::engine::text::sanitize;
use crate::engine::{Family, Op, SockId};

/// What the interpreter needs to know about sockets it does not own.
pub trait World {
    /// The socket's address family (decides the shape of addresses).
    fn family(&self, sock: SockId) -> Option<Family>;
    /// How the socket prints: `<socket fd=6 TCP/v4 127.0.0.1:9000>`.
    fn sock_repr(&self, sock: SockId) -> String;
}

/// A world that knows nothing: IPv4, `<socket #3>`.
pub struct NoWorld;

impl World for NoWorld {
    fn family(&self, _sock: SockId) -> Option<Family> {
        None
    }
    fn sock_repr(&self, sock: SockId) -> String {
        format!("<socket #{sock}>")
    }
}

/// A finished line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Done {
    /// What the REPL shows: printed text, then the value (nothing for None);
    /// for assignments `name = value`.
    pub echo: String,
    /// Names this line assigned, in order.
    pub bound: Vec<(String, Value)>,
    /// Char spans of `socket.` / `select.` prefixes to drop so the line runs
    /// after `from socket import *` (see [`runnable`]).
    pub strip: Vec<(usize, usize)>,
}

/// Values a waiting line reads (see [`Interp::freeze`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frozen(Vec<(String, Value)>);

pub enum Step {
    Done(Done),
    /// The line's socket call; give its result to [`Interp::finish`].
    Call(Op),
}

/// Most bytes all variables together may hold (256 MiB).
pub const MAX_HELD: usize = 256 * 1024 * 1024;

/// Bytes a value holds (roughly: the payload of bytes and str values).
fn held(v: &Value) -> usize {
    match v {
        Value::Bytes(b) => b.len(),
        Value::Str(s) => s.len(),
        Value::Tuple(x) | Value::List(x) => x.iter().map(held).sum(),
        _ => 0,
    }
}

/// Most bytes the values one line builds may take together (256 MiB): every
/// value is counted as it is made, with shared bytes counted as copies.
pub const LINE_BUDGET: usize = 256 * 1024 * 1024;

/// Most bytes all variable names together may take (1 MiB), and most names.
pub const MAX_NAME_BYTES: usize = 1024 * 1024;
pub const MAX_NAMES: usize = 10_000;

/// How much `print` output one line may produce (chars).
const PRINT_MAX: usize = 4096;

#[derive(Clone, Debug, Default)]
pub struct Interp {
    vars: BTreeMap<String, Value>,
}

type KwValues = Vec<(String, Value)>;

enum Flow {
    Err(LangError),
    Call(Op),
}

impl From<LangError> for Flow {
    fn from(e: LangError) -> Flow {
        Flow::Err(e)
    }
}

impl Interp {
    pub fn new() -> Interp {
        Interp::default()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    pub fn vars(&self) -> &BTreeMap<String, Value> {
        &self.vars
    }

    pub fn set(&mut self, name: &str, v: Value) {
        self.vars.insert(name.to_string(), v);
    }

    pub fn clear(&mut self) {
        self.vars.clear();
    }

    /// Run a line up to its first socket call.
    pub fn start(&mut self, stmt: &Stmt, world: &dyn World) -> Result<Step, LangError> {
        match self.run(stmt, world, Vec::new()) {
            Ok(done) => Ok(Step::Done(done)),
            Err(Flow::Call(op)) => Ok(Step::Call(op)),
            Err(Flow::Err(e)) => Err(e),
        }
    }

    /// The current values of the names a line reads, taken when its call
    /// starts: other lines may rebind them while the call waits, and the
    /// line must finish with what it started with.
    pub fn freeze(&self, stmt: &Stmt) -> Frozen {
        let mut names: Vec<(String, Value)> = Vec::new();
        if let Stmt::Expr(e) | Stmt::Assign { value: e, .. } = stmt {
            e.walk(&mut |x| {
                if let ExprKind::Name(n) = &x.kind
                    && let Some(v) = self.vars.get(n)
                    && !names.iter().any(|(m, _)| m == n)
                {
                    names.push((n.clone(), v.clone()));
                }
            });
        }
        Frozen(names)
    }

    /// Go on with a line whose socket calls so far returned `rets` (in the
    /// order they ran), reading the names as they were when it started:
    /// the line finishes, or stops at its next socket call.
    pub fn resume(
        &mut self,
        stmt: &Stmt,
        frozen: &Frozen,
        rets: &[Value],
        world: &dyn World,
    ) -> Result<Step, LangError> {
        let saved: Vec<(String, Option<Value>)> = frozen
            .0
            .iter()
            .map(|(n, v)| (n.clone(), self.vars.insert(n.clone(), v.clone())))
            .collect();
        let result = self.run(stmt, world, rets.to_vec());
        for (n, old) in saved {
            if matches!(&result, Ok(d) if d.bound.iter().any(|(b, _)| *b == n)) {
                continue;
            }
            match old {
                Some(v) => self.vars.insert(n, v),
                None => self.vars.remove(&n),
            };
        }
        match result {
            Ok(done) => Ok(Step::Done(done)),
            Err(Flow::Err(e)) => Err(e),
            Err(Flow::Call(op)) => Ok(Step::Call(op)),
        }
    }

    /// Finish a line whose only socket call returned `ret`.
    pub fn finish(
        &mut self,
        stmt: &Stmt,
        frozen: &Frozen,
        ret: Value,
        world: &dyn World,
    ) -> Result<Done, LangError> {
        match self.resume(stmt, frozen, &[ret], world)? {
            Step::Done(d) => Ok(d),
            Step::Call(op) => Err(LangError::lab_note(
                Note::new("lang.second_call").with("call", op.method()),
            )),
        }
    }

    /// Run a whole line that makes no socket call (fails if it tries to).
    pub fn eval_pure(&mut self, stmt: &Stmt, world: &dyn World) -> Result<Done, LangError> {
        match self.start(stmt, world)? {
            Step::Done(d) => Ok(d),
            Step::Call(op) => Err(LangError::lab_note(
                Note::new("lang.is_socket_call").with("call", op.method()),
            )),
        }
    }

    /// Spans of `socket.` in `socket.AF_INET` / `socket.socket` and of
    /// `select.` in `select.select`, found without evaluating anything (the
    /// second pass skips the socket call's arguments).
    fn module_prefixes(&self, e: &Expr) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        e.walk(&mut |x| {
            if let ExprKind::Attr {
                obj,
                name,
                name_start,
            } = &x.kind
                && let ExprKind::Name(m) = &obj.kind
                && !self.vars.contains_key(m)
                && (m == "socket" && (name == "socket" || constant(name).is_some())
                    || m == "select" && name == "select")
            {
                out.push((obj.start, *name_start));
            }
        });
        out
    }

    fn run(&mut self, stmt: &Stmt, world: &dyn World, holes: Vec<Value>) -> Result<Done, Flow> {
        let strip = match stmt {
            Stmt::Expr(e) | Stmt::Assign { value: e, .. } => self.module_prefixes(e),
            _ => Vec::new(),
        };
        let mut ev = Eval {
            vars: &self.vars,
            world,
            holes: holes.into(),
            out: String::new(),
            spent: 0,
        };
        let repr = |id: SockId| world.sock_repr(id);
        let (mut echo, bound) = match stmt {
            Stmt::Expr(e) => {
                let v = ev.eval(e)?;
                let shown = if v == Value::None {
                    String::new()
                } else {
                    v.show(&repr)
                };
                (shown, Vec::new())
            }
            Stmt::Assign { target, value } => {
                let v = ev.eval(value)?;
                let mut bound = Vec::new();
                bind(target, v, &mut bound)?;
                let shown: Vec<String> = bound
                    .iter()
                    .map(|(n, v)| format!("{n} = {}", v.show(&repr)))
                    .collect();
                (shown.join(", "), bound)
            }
            Stmt::Empty | Stmt::Import | Stmt::Lab { .. } => (String::new(), Vec::new()),
        };
        let printed = std::mem::take(&mut ev.out);
        let others: usize = self
            .vars
            .iter()
            .filter(|(k, _)| !bound.iter().any(|(n, _)| n == *k))
            .map(|(_, v)| held(v))
            .sum();
        let total = others + bound.iter().map(|(_, v)| held(v)).sum::<usize>();
        if total > MAX_HELD {
            return Err(LangError::noted(
                "MemoryError",
                Note::new("lang.vars_too_big").with("total", total),
            )
            .into());
        }
        let new_names: Vec<&str> = bound
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !self.vars.contains_key(*n))
            .collect();
        if !new_names.is_empty() {
            let count = self.vars.len() + new_names.len();
            let bytes = self.vars.keys().map(String::len).sum::<usize>()
                + new_names.iter().map(|n| n.len()).sum::<usize>();
            if count > MAX_NAMES || bytes > MAX_NAME_BYTES {
                return Err(LangError::noted(
                    "MemoryError",
                    Note::new("lang.too_many_names")
                        .with("bytes", bytes)
                        .with("count", count)
                        .with("max", MAX_NAMES),
                )
                .into());
            }
        }
        for (n, v) in &bound {
            self.vars.insert(n.clone(), v.clone());
        }
        if !printed.is_empty() {
            let printed = printed.strip_suffix('\n').unwrap_or(&printed);
            let safe: Vec<String> = printed.split('\n').map(sanitize).collect();
            echo = if echo.is_empty() {
                safe.join("\n")
            } else {
                format!("{}\n{echo}", safe.join("\n"))
            };
        }
        Ok(Done { echo, bound, strip })
    }
}

/// Unpack `value` into `target`, all or nothing.
fn bind(target: &Target, value: Value, out: &mut Vec<(String, Value)>) -> Result<(), LangError> {
    match target {
        Target::Name { name, .. } => {
            out.push((name.clone(), value));
            Ok(())
        }
        Target::Seq { items, .. } => {
            let vals = arith::unpack(&value, items.len())?;
            for (t, v) in items.iter().zip(vals) {
                bind(t, v, out)?;
            }
            Ok(())
        }
    }
}

/// The line without the `socket.` prefixes [`Done::strip`] lists.
pub fn runnable(line: &str, strip: &[(usize, usize)]) -> String {
    line.chars()
        .enumerate()
        .filter(|(i, _)| !strip.iter().any(|(a, b)| (*a..*b).contains(i)))
        .map(|(_, c)| c)
        .collect::<String>()
        .trim()
        .to_string()
}

struct Eval<'a> {
    vars: &'a BTreeMap<String, Value>,
    world: &'a dyn World,
    /// Results of this line's socket calls that already ran, in the order
    /// they ran; each call takes the next one instead of running again.
    holes: std::collections::VecDeque<Value>,
    out: String,
    /// Bytes the values this line built take (see [`LINE_BUDGET`]).
    spent: usize,
}

impl Eval<'_> {
    /// Count a value the line just made against [`LINE_BUDGET`].
    fn charge(&mut self, v: Value) -> Result<Value, LangError> {
        self.spent = self.spent.saturating_add(v.cost());
        if self.spent > LINE_BUDGET {
            return Err(LangError::noted(
                "MemoryError",
                Note::new("lang.line_too_big").with("spent", self.spent),
            ));
        }
        Ok(v)
    }

    /// A tuple or list of `items`, within the size and nesting limits.
    fn container(&mut self, items: Vec<Value>, tuple: bool) -> Result<Value, LangError> {
        let nodes = 1 + items.iter().map(|v| v.nodes() as u128).sum::<u128>();
        if nodes > arith::MAX_ITEMS as u128 {
            return Err(arith::too_many(nodes));
        }
        let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
        if depth > arith::MAX_NEST {
            return Err(arith::too_deep(depth));
        }
        // The items were counted as they were made; this is the list itself.
        self.spent = self
            .spent
            .saturating_add((items.len() + 1) * std::mem::size_of::<Value>());
        Ok(if tuple {
            Value::Tuple(items)
        } else {
            Value::List(items)
        })
    }

    fn eval(&mut self, e: &Expr) -> Result<Value, Flow> {
        let v = self.eval_inner(e)?;
        Ok(match &e.kind {
            // Literals are small (a line is at most 64 KiB); lists and tuples
            // were checked as they were built.
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Bytes(_)
            | ExprKind::None
            | ExprKind::Bool(_)
            | ExprKind::Tuple(_)
            | ExprKind::List(_) => v,
            _ => self.charge(v)?,
        })
    }

    fn eval_inner(&mut self, e: &Expr) -> Result<Value, Flow> {
        Ok(match &e.kind {
            ExprKind::Name(n) => self.name(n)?,
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Str(s) => Value::Str(s.clone()),
            ExprKind::Bytes(b) => Value::Bytes(b.clone()),
            ExprKind::None => Value::None,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Tuple(items) => {
                let v = self.eval_all(items)?;
                self.container(v, true)?
            }
            ExprKind::List(items) => {
                let v = self.eval_all(items)?;
                self.container(v, false)?
            }
            ExprKind::Attr { obj, name, .. } => {
                if let Some(v) = self.module_attr(obj, name)? {
                    return Ok(v);
                }
                let o = self.eval(obj)?;
                let methods = methods_of(&o);
                if methods.contains(&name.as_str()) {
                    return Err(LangError::lab_note(
                        Note::new("lang.method_not_called").with("name", name),
                    )
                    .into());
                }
                return Err(no_attr(&o, name).into());
            }
            ExprKind::Call { func, args, kwargs } => return self.call(func, args, kwargs),
            ExprKind::Index(obj, idx) => {
                let o = self.eval(obj)?;
                let i = self.eval(idx)?;
                arith::index(&o, &i)?
            }
            ExprKind::Slice(obj, lo, hi) => {
                let o = self.eval(obj)?;
                let lo = lo.as_ref().map(|x| self.eval(x)).transpose()?;
                let hi = hi.as_ref().map(|x| self.eval(x)).transpose()?;
                arith::slice(&o, lo.as_ref(), hi.as_ref())?
            }
            ExprKind::Bin(op, a, b) => {
                let x = self.eval(a)?;
                let y = self.eval(b)?;
                arith::binop(*op, &x, &y)?
            }
            ExprKind::Not(_) | ExprKind::BoolOp(..) | ExprKind::Compare(..) => {
                return self.logic(e);
            }
            ExprKind::Neg(a) => arith::negate(&self.eval(a)?, true)?,
            ExprKind::Pos(a) => arith::negate(&self.eval(a)?, false)?,
        })
    }

    /// `not`, `and`, `or` and comparisons, out of `eval_inner` so its
    /// stack frame (paid once per level of nesting) stays small.
    #[inline(never)]
    fn logic(&mut self, e: &Expr) -> Result<Value, Flow> {
        Ok(match &e.kind {
            ExprKind::Not(a) => Value::Bool(!self.eval(a)?.truthy()),
            ExprKind::BoolOp(and, a, b) => {
                let x = self.eval(a)?;
                if x.truthy() != *and { x } else { self.eval(b)? }
            }
            ExprKind::Compare(first, rest) => {
                let mut left = self.eval(first)?;
                for (op, e) in rest {
                    let right = self.eval(e)?;
                    if !compare::compare(*op, &left, &right)? {
                        return Ok(Value::Bool(false));
                    }
                    left = right;
                }
                Value::Bool(true)
            }
            _ => unreachable!("logic() is only called for not/and/or/comparisons"),
        })
    }

    fn eval_all(&mut self, items: &[Expr]) -> Result<Vec<Value>, Flow> {
        items.iter().map(|x| self.eval(x)).collect()
    }

    fn name(&self, n: &str) -> Result<Value, LangError> {
        if let Some(v) = self.vars.get(n) {
            return Ok(v.clone());
        }
        if let Some(c) = constant(n) {
            return Ok(Value::Int(c));
        }
        if let Some(f) = FUNCTIONS.iter().find(|f| **f == n) {
            return Ok(Value::Builtin(f));
        }
        if let Some(hint) = hint_for(n) {
            return Err(LangError::lab_note(hint));
        }
        let candidates = self
            .vars
            .keys()
            .map(String::as_str)
            .chain(CONSTANTS.iter().map(|(c, _)| *c))
            .chain(FUNCTIONS.iter().copied())
            .chain(["None", "True", "False"]);
        Err(LangError::new(
            "NameError",
            format!("name '{n}' is not defined{}", suggestion(n, candidates)),
        ))
    }

    /// `socket.AF_INET`, `socket.socket`, `select.select` (module access),
    /// unless the student has a variable of that name.
    fn module_attr(&self, obj: &Expr, name: &str) -> Result<Option<Value>, LangError> {
        let ExprKind::Name(m) = &obj.kind else {
            return Ok(None);
        };
        if self.vars.contains_key(m) {
            return Ok(None);
        }
        let found = match m.as_str() {
            "socket" => constant(name)
                .map(Value::Int)
                .or((name == "socket").then_some(Value::Builtin("socket"))),
            "select" => (name == "select").then_some(Value::Builtin("select")),
            _ => return Ok(None),
        };
        match found {
            Some(v) => Ok(Some(v)),
            None => {
                if let Some(hint) = hint_for(name) {
                    return Err(LangError::lab_note(hint));
                }
                let candidates: Vec<&str> = if m == "socket" {
                    CONSTANTS
                        .iter()
                        .map(|(c, _)| *c)
                        .chain(["socket"])
                        .collect()
                } else {
                    vec!["select"]
                };
                Err(LangError::new(
                    "AttributeError",
                    format!(
                        "module '{m}' has no attribute '{name}'{}",
                        suggestion(name, candidates)
                    ),
                ))
            }
        }
    }

    fn args(
        &mut self,
        args: &[Expr],
        kwargs: &[(String, Expr)],
    ) -> Result<(Vec<Value>, KwValues), Flow> {
        let a = self.eval_all(args)?;
        let mut k = Vec::with_capacity(kwargs.len());
        for (n, e) in kwargs {
            k.push((n.clone(), self.eval(e)?));
        }
        Ok((a, k))
    }

    fn call(
        &mut self,
        func: &Expr,
        args: &[Expr],
        kwargs: &[(String, Expr)],
    ) -> Result<Value, Flow> {
        if let ExprKind::Attr { obj, name, .. } = &func.kind {
            if let Some(f) = self.module_attr(obj, name)? {
                return self.call_builtin(f, args, kwargs);
            }
            let o = self.eval(obj)?;
            return self.method(o, name, args, kwargs);
        }
        let f = self.eval(func)?;
        self.call_builtin(f, args, kwargs)
    }

    fn call_builtin(
        &mut self,
        f: Value,
        args: &[Expr],
        kwargs: &[(String, Expr)],
    ) -> Result<Value, Flow> {
        let Value::Builtin(name) = f else {
            return Err(LangError::type_error(format!(
                "'{}' object is not callable",
                f.type_name()
            ))
            .into());
        };
        let (a, k) = self.args(args, kwargs)?;
        if is_call_function(name)
            && let Some(v) = self.holes.pop_front()
        {
            return Ok(v);
        }
        match name {
            "socket" => Err(Flow::Call(calls::socket_op(&a, &k)?)),
            "select" => Err(Flow::Call(calls::select_op(&a, &k)?)),
            "len" => Ok(calls::len(&a, &k)?),
            "str" | "int" | "bytes" | "repr" => {
                let world = self.world;
                Ok(convert::convert(name, &a, &k, &|id| world.sock_repr(id))?)
            }
            _ => {
                self.print(&a, &k)?;
                Ok(Value::None)
            }
        }
    }

    fn print(&mut self, a: &[Value], k: &[(String, Value)]) -> Result<(), LangError> {
        let mut sep = " ".to_string();
        let mut end = "\n".to_string();
        for (n, v) in k {
            let slot = match n.as_str() {
                "sep" => &mut sep,
                "end" => &mut end,
                other => {
                    return Err(LangError::type_error(format!(
                        "'{other}' is an invalid keyword argument for print()"
                    )));
                }
            };
            match v {
                Value::Str(s) => *slot = s.clone(),
                Value::None => {}
                other => {
                    return Err(LangError::type_error(format!(
                        "{n} must be None or a string, not {}",
                        other.type_name()
                    )));
                }
            }
        }
        let world = self.world;
        let repr = |id: SockId| world.sock_repr(id);
        // Build at most what fits: a huge str is not copied to be cut short.
        let room = PRINT_MAX.saturating_sub(self.out.chars().count());
        let mut text = String::new();
        let mut chars = 0usize;
        let mut piece = |t: &str, text: &mut String| {
            let n = t.chars().count();
            if chars < room {
                text.extend(t.chars().take(room - chars));
            }
            chars += n;
        };
        for (i, v) in a.iter().enumerate() {
            if i > 0 {
                piece(&sep, &mut text);
            }
            match v {
                Value::Str(s) => piece(s, &mut text),
                v => piece(&v.show(&repr), &mut text),
            }
        }
        piece(&end, &mut text);
        self.out.push_str(&text);
        if chars > room {
            self.out.push_str(&format!("… ({chars} chars)\n"));
        }
        Ok(())
    }

    fn method(
        &mut self,
        o: Value,
        m: &str,
        args: &[Expr],
        kwargs: &[(String, Expr)],
    ) -> Result<Value, Flow> {
        if !methods_of(&o).contains(&m) {
            return Err(no_attr(&o, m).into());
        }
        if let Value::Socket(id) = o {
            // Arguments first (their calls run first, as in Python).
            let (a, k) = self.args(args, kwargs)?;
            if let Some(v) = self.holes.pop_front() {
                return Ok(v);
            }
            let family = self.world.family(id).unwrap_or(Family::V4);
            return Err(Flow::Call(calls::socket_method(id, family, m, &a, &k)?));
        }
        let (a, k) = self.args(args, kwargs)?;
        Ok(match &o {
            Value::Str(s) => textmeth::str_method(s, m, &a, &k)?,
            Value::Bytes(b) => textmeth::bytes_method(b, m, &a, &k)?,
            _ => return Err(no_attr(&o, m).into()),
        })
    }
}

fn methods_of(v: &Value) -> &'static [&'static str] {
    match v {
        Value::Socket(_) => SOCKET_METHODS,
        Value::Str(_) => STR_METHODS,
        Value::Bytes(_) => BYTES_METHODS,
        _ => &[],
    }
}

/// Methods Python's str and bytes have that socklab's do not.
const PY_TEXT_METHODS: &[&str] = &[
    "split",
    "rsplit",
    "splitlines",
    "join",
    "replace",
    "find",
    "rfind",
    "index",
    "rindex",
    "count",
    "format",
    "partition",
    "rpartition",
    "lstrip",
    "rstrip",
    "title",
    "capitalize",
    "isdigit",
    "isalpha",
    "isspace",
    "zfill",
    "center",
    "ljust",
    "rjust",
    "swapcase",
    "casefold",
    "removeprefix",
    "removesuffix",
    "isupper",
    "islower",
    "expandtabs",
];

fn no_attr(o: &Value, name: &str) -> LangError {
    if matches!(o, Value::Str(_) | Value::Bytes(_)) && PY_TEXT_METHODS.contains(&name) {
        return LangError::lab_note(
            Note::new("lang.no_text_method")
                .with("type", o.type_name())
                .with("name", name)
                .with("methods", methods_of(o).join(", ")),
        );
    }
    LangError::new(
        "AttributeError",
        format!(
            "'{}' object has no attribute '{name}'{}",
            o.type_name(),
            suggestion(name, methods_of(o).iter().copied())
        ),
    )
}
