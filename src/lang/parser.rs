//! Recursive descent over one line's tokens.

use super::ast::*;
use super::error::LangError;
use super::lexer::{Tok, Token, tokenize};
use crate::engine::Note;

/// Deepest nesting of brackets (and of unary signs) accepted.
pub const MAX_DEPTH: usize = 32;
/// Tallest expression tree accepted (`a + a + … + a` is as tall as it is long).
pub const MAX_TREE: usize = 200;

const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// Parse one line. Errors carry the line, so `render()` can draw a caret.
pub fn parse(line: &str) -> Result<Stmt, LangError> {
    parse_inner(line).map_err(|e| e.in_line(line))
}

fn parse_inner(line: &str) -> Result<Stmt, LangError> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix(':') {
        let rest = rest.trim();
        let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        return Ok(Stmt::Lab {
            name: name.to_string(),
            args: args.trim().to_string(),
        });
    }
    let toks = tokenize(line)?;
    check_brackets(&toks)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        eol: line.chars().count(),
    };
    p.statement()
}

fn check_brackets(toks: &[Token]) -> Result<(), LangError> {
    let mut stack: Vec<&Token> = Vec::new();
    for t in toks {
        let Tok::Op(op) = t.tok else { continue };
        match op {
            "(" | "[" | "{" => {
                stack.push(t);
                if stack.len() > MAX_DEPTH {
                    return Err(LangError::syntax_note(
                        Note::new("lang.nested_parens").with("max", MAX_DEPTH),
                        t.start,
                        t.end,
                    ));
                }
            }
            ")" | "]" | "}" => match stack.pop() {
                None => {
                    return Err(LangError::syntax(
                        format!("unmatched '{op}'"),
                        t.start,
                        t.end,
                    ));
                }
                Some(open) => {
                    let Tok::Op(o) = open.tok else { continue };
                    if closing(o) != op {
                        return Err(LangError::syntax(
                            format!(
                                "closing parenthesis '{op}' does not match opening parenthesis '{o}'"
                            ),
                            t.start,
                            t.end,
                        ));
                    }
                }
            },
            _ => {}
        }
    }
    match stack.pop() {
        Some(open) => {
            let Tok::Op(o) = open.tok else { return Ok(()) };
            Err(LangError::syntax(
                format!("'{o}' was never closed"),
                open.start,
                open.end,
            ))
        }
        None => Ok(()),
    }
}

fn closing(open: &str) -> &'static str {
    match open {
        "(" => ")",
        "[" => "]",
        _ => "}",
    }
}

type KwExprs = Vec<(String, Expr)>;

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    eol: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|t| &t.tok)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Op(o), .. }) if *o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let yes = self.is_op(op);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn is_name(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Name(n), .. }) if n == name)
    }

    /// End of the previous token (for spans).
    fn last_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.end)
    }

    /// `invalid syntax` at the current token, or a more helpful message for
    /// things Python has and socklab does not.
    fn unexpected(&self) -> LangError {
        let Some(t) = self.peek() else {
            return LangError::syntax("invalid syntax", self.eol, self.eol + 1);
        };
        let note = match &t.tok {
            Tok::Op("**") => Note::new("lang.no_power"),
            Tok::Op("{") => Note::new("lang.no_dicts"),
            Tok::Op(";") => Note::new("lang.no_semicolon"),
            Tok::Name(n) if KEYWORDS.contains(&n.as_str()) => keyword_note(n),
            _ => return LangError::syntax("invalid syntax", t.start, t.end),
        };
        LangError::syntax_note(note, t.start, t.end)
    }

    fn expect_op(&mut self, op: &str) -> Result<(), LangError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn statement(&mut self) -> Result<Stmt, LangError> {
        if self.toks.is_empty() {
            return Ok(Stmt::Empty);
        }
        if self.is_name("import") || self.is_name("from") {
            return self.import();
        }
        if self.is_name("pass") && self.toks.len() == 1 {
            return Ok(Stmt::Empty);
        }
        // Python 2's `print x`, still all over old socket tutorials.
        if self.is_name("print")
            && let Some(t) = self.toks.get(1)
            && !matches!(t.tok, Tok::Op("(" | "=" | "." | "[" | "," | "+="))
        {
            return Err(LangError::syntax(
                "Missing parentheses in call to 'print'. Did you mean print(...)?",
                self.toks[0].start,
                t.end,
            ));
        }
        let lhs = self.expr_list()?;
        let stmt = if self.eat_op("=") {
            let target = to_target(&lhs)?;
            let value = self.expr_list()?;
            if let Some(t) = self.peek().filter(|_| self.is_op("=")) {
                return Err(LangError::syntax_note(
                    Note::new("lang.no_chained_assign"),
                    t.start,
                    t.end,
                ));
            }
            Stmt::Assign { target, value }
        } else if let Some(op) = self.aug_op() {
            let at = self.toks[self.pos - 1].clone();
            let ExprKind::Name(_) = &lhs.kind else {
                return Err(LangError::syntax_note(
                    Note::new("lang.aug_assign_name"),
                    at.start,
                    at.end,
                ));
            };
            let target = to_target(&lhs)?;
            let rhs = self.expr_list()?;
            let (start, end) = (lhs.start, rhs.end);
            let value = node(ExprKind::Bin(op, Box::new(lhs), Box::new(rhs)), start, end);
            Stmt::Assign { target, value }
        } else {
            Stmt::Expr(lhs)
        };
        if self.peek().is_some() {
            let t = self.peek().cloned();
            // `f(a) b` is more likely a missing operator than anything else.
            return Err(match t {
                Some(t) if matches!(t.tok, Tok::Name(ref n) if !KEYWORDS.contains(&n.as_str())) => {
                    LangError::syntax("invalid syntax", t.start, t.end)
                }
                _ => self.unexpected(),
            });
        }
        Ok(stmt)
    }

    fn aug_op(&mut self) -> Option<BinOp> {
        let op = match self.peek()?.tok {
            Tok::Op("+=") => BinOp::Add,
            Tok::Op("-=") => BinOp::Sub,
            Tok::Op("*=") => BinOp::Mul,
            Tok::Op("/=") => BinOp::Div,
            Tok::Op("//=") => BinOp::FloorDiv,
            Tok::Op("%=") => BinOp::Mod,
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    /// `import socket`, `import socket, select`, `from socket import *`,
    /// `from select import select`: what the lab already provides.
    fn import(&mut self) -> Result<Stmt, LangError> {
        let from = self.is_name("from");
        self.pos += 1;
        let mut modules = Vec::new();
        loop {
            match self.peek().cloned() {
                Some(Token {
                    tok: Tok::Name(m),
                    start,
                    end,
                }) => {
                    modules.push((m, start, end));
                    self.pos += 1;
                }
                _ => return Err(self.unexpected()),
            }
            if from || !self.eat_op(",") {
                break;
            }
        }
        for (m, start, end) in &modules {
            if m != "socket" && m != "select" {
                return Err(LangError::new(
                    "ModuleNotFoundError",
                    format!("No module named '{m}'"),
                )
                .explained(Note::new("lang.only_socket_select"))
                .at(*start, *end));
            }
        }
        if from {
            if !self.is_name("import") {
                return Err(self.unexpected());
            }
            self.pos += 1;
            if !self.eat_op("*") {
                loop {
                    match self.peek() {
                        Some(Token {
                            tok: Tok::Name(_), ..
                        }) => self.pos += 1,
                        _ => return Err(self.unexpected()),
                    }
                    if !self.eat_op(",") {
                        break;
                    }
                }
            }
        }
        if self.is_name("as") {
            let t = self.peek().cloned().unwrap_or_else(|| self.toks[0].clone());
            return Err(LangError::syntax_note(
                Note::new("lang.no_import_as"),
                t.start,
                t.end,
            ));
        }
        match self.peek() {
            None => Ok(Stmt::Import),
            Some(_) => Err(self.unexpected()),
        }
    }

    fn starts_expr(&self) -> bool {
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Name(n)) => n == "not" || !KEYWORDS.contains(&n.as_str()),
            Some(Tok::Op(op)) => matches!(*op, "(" | "[" | "-" | "+"),
            Some(_) => true,
            None => false,
        }
    }

    /// `a` or `a, b` (a tuple without parentheses).
    fn expr_list(&mut self) -> Result<Expr, LangError> {
        let first = self.expr()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let start = first.start;
        let mut items = vec![first];
        while self.eat_op(",") {
            if !self.starts_expr() {
                break;
            }
            items.push(self.expr()?);
        }
        let end = self.last_end();
        Ok(node(ExprKind::Tuple(items), start, end))
    }

    /// `a or b` (the lowest precedence socklab has).
    fn expr(&mut self) -> Result<Expr, LangError> {
        self.bool_op("or", false, Self::and_test)
    }

    fn and_test(&mut self) -> Result<Expr, LangError> {
        self.bool_op("and", true, Self::not_test)
    }

    /// `operand (word operand)*`, left-associative: `and` (is_and) or `or`.
    fn bool_op(
        &mut self,
        word: &str,
        is_and: bool,
        operand: fn(&mut Self) -> Result<Expr, LangError>,
    ) -> Result<Expr, LangError> {
        let mut lhs = operand(self)?;
        while self.is_name(word) {
            self.pos += 1;
            let rhs = operand(self)?;
            let (start, end) = (lhs.start, rhs.end);
            lhs = check_tree(node(
                ExprKind::BoolOp(is_and, Box::new(lhs), Box::new(rhs)),
                start,
                end,
            ))?;
        }
        Ok(lhs)
    }

    fn not_test(&mut self) -> Result<Expr, LangError> {
        if self.is_name("not") {
            let start = self.peek().map_or(0, |t| t.start);
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(LangError::syntax_note(
                    Note::new("lang.too_deeply_nested").with("max", MAX_DEPTH),
                    start,
                    start + 3,
                ));
            }
            self.pos += 1;
            let inner = self.not_test()?;
            self.depth -= 1;
            let end = inner.end;
            return Ok(node(ExprKind::Not(Box::new(inner)), start, end));
        }
        self.comparison()
    }

    fn cmp_op(&mut self) -> Option<CmpOp> {
        let op = match self.peek().map(|t| &t.tok) {
            Some(Tok::Op("==")) => CmpOp::Eq,
            Some(Tok::Op("!=")) => CmpOp::Ne,
            Some(Tok::Op("<")) => CmpOp::Lt,
            Some(Tok::Op("<=")) => CmpOp::Le,
            Some(Tok::Op(">")) => CmpOp::Gt,
            Some(Tok::Op(">=")) => CmpOp::Ge,
            Some(Tok::Name(n)) if n == "in" => CmpOp::In,
            Some(Tok::Name(n)) if n == "is" => {
                if matches!(self.peek_at(1), Some(Tok::Name(m)) if m == "not") {
                    self.pos += 1;
                    CmpOp::IsNot
                } else {
                    CmpOp::Is
                }
            }
            Some(Tok::Name(n))
                if n == "not" && matches!(self.peek_at(1), Some(Tok::Name(m)) if m == "in") =>
            {
                self.pos += 1;
                CmpOp::NotIn
            }
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    fn comparison(&mut self) -> Result<Expr, LangError> {
        let first = self.arith()?;
        let mut rest = Vec::new();
        while let Some(op) = self.cmp_op() {
            rest.push((op, self.arith()?));
        }
        if rest.is_empty() {
            return Ok(first);
        }
        let (start, end) = (first.start, rest.last().map_or(first.end, |(_, e)| e.end));
        check_tree(node(ExprKind::Compare(Box::new(first), rest), start, end))
    }

    fn arith(&mut self) -> Result<Expr, LangError> {
        let mut lhs = self.term()?;
        loop {
            let op = if self.eat_op("+") {
                BinOp::Add
            } else if self.eat_op("-") {
                BinOp::Sub
            } else {
                return Ok(lhs);
            };
            let rhs = self.term()?;
            let (start, end) = (lhs.start, rhs.end);
            lhs = check_tree(node(
                ExprKind::Bin(op, Box::new(lhs), Box::new(rhs)),
                start,
                end,
            ))?;
        }
    }

    fn term(&mut self) -> Result<Expr, LangError> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek().map(|t| &t.tok) {
                Some(Tok::Op("*")) => BinOp::Mul,
                Some(Tok::Op("/")) => BinOp::Div,
                Some(Tok::Op("//")) => BinOp::FloorDiv,
                Some(Tok::Op("%")) => BinOp::Mod,
                _ => return Ok(lhs),
            };
            self.pos += 1;
            let rhs = self.unary()?;
            let (start, end) = (lhs.start, rhs.end);
            lhs = check_tree(node(
                ExprKind::Bin(op, Box::new(lhs), Box::new(rhs)),
                start,
                end,
            ))?;
        }
    }

    fn unary(&mut self) -> Result<Expr, LangError> {
        let neg = self.is_op("-");
        if neg || self.is_op("+") {
            let start = self.peek().map_or(0, |t| t.start);
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(LangError::syntax_note(
                    Note::new("lang.too_deeply_nested").with("max", MAX_DEPTH),
                    start,
                    start + 1,
                ));
            }
            self.pos += 1;
            let inner = self.unary()?;
            self.depth -= 1;
            let end = inner.end;
            let kind = if neg {
                ExprKind::Neg(Box::new(inner))
            } else {
                ExprKind::Pos(Box::new(inner))
            };
            return Ok(node(kind, start, end));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, LangError> {
        let mut e = self.atom()?;
        loop {
            e = check_tree(e)?;
            if self.eat_op(".") {
                match self.peek().cloned() {
                    Some(Token {
                        tok: Tok::Name(name),
                        start,
                        end,
                    }) => {
                        self.pos += 1;
                        let s = e.start;
                        e = node(
                            ExprKind::Attr {
                                obj: Box::new(e),
                                name,
                                name_start: start,
                            },
                            s,
                            end,
                        );
                    }
                    _ => return Err(self.unexpected()),
                }
            } else if self.eat_op("(") {
                let (args, kwargs) = self.call_args()?;
                let s = e.start;
                e = node(
                    ExprKind::Call {
                        func: Box::new(e),
                        args,
                        kwargs,
                    },
                    s,
                    self.last_end(),
                );
            } else if self.eat_op("[") {
                e = self.subscript(e)?;
            } else {
                return Ok(e);
            }
        }
    }

    /// After `(`: positional and keyword arguments up to `)`.
    fn call_args(&mut self) -> Result<(Vec<Expr>, KwExprs), LangError> {
        let mut args = Vec::new();
        let mut kwargs: Vec<(String, Expr)> = Vec::new();
        while !self.eat_op(")") {
            if let Some(t) = self.peek().filter(|_| self.is_op("*") || self.is_op("**")) {
                return Err(LangError::syntax_note(
                    Note::new("lang.no_star_args"),
                    t.start,
                    t.end,
                ));
            }
            let kw = match (self.peek_at(0), self.peek_at(1)) {
                (Some(Tok::Name(n)), Some(Tok::Op("="))) => Some(n.clone()),
                _ => None,
            };
            if let Some(name) = kw {
                let t = self.toks[self.pos].clone();
                self.pos += 2;
                if kwargs.iter().any(|(k, _)| *k == name) {
                    return Err(LangError::syntax(
                        format!("keyword argument repeated: {name}"),
                        t.start,
                        t.end,
                    ));
                }
                kwargs.push((name, self.expr()?));
            } else {
                let e = self.expr()?;
                if !kwargs.is_empty() {
                    return Err(LangError::syntax(
                        "positional argument follows keyword argument",
                        e.start,
                        e.end,
                    ));
                }
                args.push(e);
            }
            if !self.eat_op(",") && !self.is_op(")") {
                return Err(self.missing_comma());
            }
        }
        Ok((args, kwargs))
    }

    fn missing_comma(&self) -> LangError {
        let mut e = self.unexpected();
        if e.message == "invalid syntax" && self.starts_expr() {
            e.message = "invalid syntax. Perhaps you forgot a comma?".to_string();
        }
        e
    }

    /// After `[`: `x[i]` or `x[a:b]`.
    fn subscript(&mut self, obj: Expr) -> Result<Expr, LangError> {
        let start = obj.start;
        let lo = if self.is_op(":") {
            None
        } else {
            Some(self.expr()?)
        };
        let kind = if self.eat_op(":") {
            let hi = if self.is_op("]") || self.is_op(":") {
                None
            } else {
                Some(Box::new(self.expr()?))
            };
            if let Some(t) = self.peek().filter(|_| self.is_op(":")) {
                return Err(LangError::syntax_note(
                    Note::new("lang.no_slice_step"),
                    t.start,
                    t.end,
                ));
            }
            ExprKind::Slice(Box::new(obj), lo.map(Box::new), hi)
        } else {
            match lo {
                Some(i) => ExprKind::Index(Box::new(obj), Box::new(i)),
                None => return Err(self.unexpected()),
            }
        };
        self.expect_op("]")?;
        Ok(node(kind, start, self.last_end()))
    }

    fn atom(&mut self) -> Result<Expr, LangError> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        let (start, end) = (t.start, t.end);
        let kind = match t.tok {
            Tok::Int(v) => ExprKind::Int(v),
            Tok::Float(v) => ExprKind::Float(v),
            Tok::Str(_) | Tok::Bytes(_) => return self.literals(),
            Tok::Name(n) => match n.as_str() {
                "None" => ExprKind::None,
                "True" => ExprKind::Bool(true),
                "False" => ExprKind::Bool(false),
                k if KEYWORDS.contains(&k) => {
                    return Err(LangError::syntax_note(keyword_note(k), start, end));
                }
                _ => ExprKind::Name(n),
            },
            Tok::Op("(") => {
                self.pos += 1;
                if self.eat_op(")") {
                    return Ok(node(ExprKind::Tuple(Vec::new()), start, self.last_end()));
                }
                let inner = self.expr_list()?;
                if !self.eat_op(")") {
                    return Err(self.missing_comma());
                }
                // `(a)` is just `a`; `(a, b)` keeps its tuple, widened to the parentheses.
                let kind = inner.kind;
                return Ok(match kind {
                    ExprKind::Tuple(_) => node(kind, start, self.last_end()),
                    k => node(k, inner.start, inner.end),
                });
            }
            Tok::Op("[") => {
                self.pos += 1;
                let mut items = Vec::new();
                while !self.eat_op("]") {
                    items.push(self.expr()?);
                    if !self.eat_op(",") && !self.is_op("]") {
                        return Err(self.missing_comma());
                    }
                }
                return Ok(node(ExprKind::List(items), start, self.last_end()));
            }
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        Ok(node(kind, start, end))
    }

    /// Adjacent literals join, as in Python: `"a" "b"` is `"ab"`.
    fn literals(&mut self) -> Result<Expr, LangError> {
        let start = self.peek().map_or(0, |t| t.start);
        let mut kind: Option<ExprKind> = None;
        while let Some(t) = self.peek().cloned() {
            let next = match (&t.tok, kind.take()) {
                (Tok::Str(s), None) => ExprKind::Str(s.clone()),
                (Tok::Bytes(b), None) => ExprKind::Bytes(b.clone()),
                (Tok::Str(s), Some(ExprKind::Str(mut a))) => {
                    a.push_str(s);
                    ExprKind::Str(a)
                }
                (Tok::Bytes(b), Some(ExprKind::Bytes(a))) => {
                    let mut v = a.to_vec();
                    v.extend_from_slice(b);
                    ExprKind::Bytes(v.into())
                }
                (Tok::Str(_) | Tok::Bytes(_), Some(_)) => {
                    return Err(LangError::syntax(
                        "cannot mix bytes and nonbytes literals",
                        t.start,
                        t.end,
                    ));
                }
                (_, k) => {
                    kind = k;
                    break;
                }
            };
            kind = Some(next);
            self.pos += 1;
        }
        let kind = kind.unwrap_or(ExprKind::None);
        Ok(node(kind, start, self.last_end()))
    }
}

fn node(kind: ExprKind, start: usize, end: usize) -> Expr {
    Expr::new(kind, start, end)
}

/// Refuse trees too tall to evaluate safely (evaluation recurses).
fn check_tree(e: Expr) -> Result<Expr, LangError> {
    if e.depth > MAX_TREE {
        return Err(LangError::syntax_note(
            Note::new("lang.expr_too_deep").with("max", MAX_TREE),
            e.start,
            e.end,
        ));
    }
    Ok(e)
}

fn keyword_note(k: &str) -> Note {
    Note::new("lang.keyword").with("keyword", k)
}

fn to_target(e: &Expr) -> Result<Target, LangError> {
    let what = match &e.kind {
        ExprKind::Name(n) => {
            return Ok(Target::Name {
                name: n.clone(),
                start: e.start,
                end: e.end,
            });
        }
        ExprKind::Tuple(items) | ExprKind::List(items) => {
            return Ok(Target::Seq {
                items: items.iter().map(to_target).collect::<Result<_, _>>()?,
                start: e.start,
                end: e.end,
            });
        }
        ExprKind::None => return Err(LangError::syntax("cannot assign to None", e.start, e.end)),
        ExprKind::Bool(b) => {
            let v = if *b { "True" } else { "False" };
            return Err(LangError::syntax(
                format!("cannot assign to {v}"),
                e.start,
                e.end,
            ));
        }
        ExprKind::Attr { .. } => {
            return Err(LangError::syntax_note(
                Note::new("lang.no_setattr"),
                e.start,
                e.end,
            ));
        }
        ExprKind::Index(..) | ExprKind::Slice(..) => {
            return Err(LangError::syntax_note(
                Note::new("lang.no_setitem"),
                e.start,
                e.end,
            ));
        }
        ExprKind::Call { .. } => "function call",
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bytes(_) => "literal",
        ExprKind::Bin(..) | ExprKind::Neg(_) | ExprKind::Pos(_) | ExprKind::Not(_) => "expression",
        ExprKind::BoolOp(..) => "expression",
        ExprKind::Compare(..) => "comparison",
    };
    Err(LangError::syntax(
        format!("cannot assign to {what} here. Maybe you meant '==' instead of '='?"),
        e.start,
        e.end,
    ))
}
