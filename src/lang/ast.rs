//! The parsed form of one line. Positions are char columns in the line.

use bytes::Bytes;

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub start: usize,
    pub end: usize,
    /// Height of the tree below (1 for a leaf), so the parser can refuse
    /// trees deep enough to exhaust the stack when evaluated.
    pub depth: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
        }
    }
}

/// Comparison operators (`a < b`, `x in y`, `s is None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Is,
    IsNot,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::In => "in",
            CmpOp::NotIn => "not in",
            CmpOp::Is => "is",
            CmpOp::IsNot => "is not",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Name(String),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Bytes),
    None,
    Bool(bool),
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    /// `obj.name`; `name_start` is where the name begins (after the dot).
    Attr {
        obj: Box<Expr>,
        name: String,
        name_start: usize,
    },
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        kwargs: Vec<(String, Expr)>,
    },
    Index(Box<Expr>, Box<Expr>),
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Pos(Box<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `a and b` (true: `and`, false: `or`), short-circuit, yields an operand.
    BoolOp(bool, Box<Expr>, Box<Expr>),
    /// `a < b <= c`: each operand evaluated once, stops at the first false.
    Compare(Box<Expr>, Vec<(CmpOp, Expr)>),
}

impl Expr {
    pub fn new(kind: ExprKind, start: usize, end: usize) -> Expr {
        let mut below = 0;
        match &kind {
            ExprKind::Tuple(v) | ExprKind::List(v) => {
                v.iter().for_each(|e| below = below.max(e.depth))
            }
            ExprKind::Attr { obj, .. } => below = obj.depth,
            ExprKind::Call { func, args, kwargs } => {
                below = func.depth;
                args.iter()
                    .chain(kwargs.iter().map(|(_, e)| e))
                    .for_each(|e| below = below.max(e.depth));
            }
            ExprKind::Index(a, b) | ExprKind::Bin(_, a, b) => below = a.depth.max(b.depth),
            ExprKind::Slice(a, b, c) => {
                below = a.depth;
                b.iter()
                    .chain(c.iter())
                    .for_each(|e| below = below.max(e.depth));
            }
            ExprKind::Neg(a) | ExprKind::Pos(a) | ExprKind::Not(a) => below = a.depth,
            ExprKind::BoolOp(_, a, b) => below = a.depth.max(b.depth),
            ExprKind::Compare(a, rest) => {
                below = a.depth;
                rest.iter().for_each(|(_, e)| below = below.max(e.depth));
            }
            _ => {}
        }
        Expr {
            kind,
            start,
            end,
            depth: below + 1,
        }
    }

    /// Every sub-expression, this one first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Tuple(v) | ExprKind::List(v) => v.iter().for_each(|e| e.walk(f)),
            ExprKind::Attr { obj, .. } => obj.walk(f),
            ExprKind::Call { func, args, kwargs } => {
                func.walk(f);
                args.iter().for_each(|e| e.walk(f));
                kwargs.iter().for_each(|(_, e)| e.walk(f));
            }
            ExprKind::Index(a, b) | ExprKind::Bin(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            ExprKind::Slice(a, b, c) => {
                a.walk(f);
                b.iter().chain(c.iter()).for_each(|e| e.walk(f));
            }
            ExprKind::Neg(a) | ExprKind::Pos(a) | ExprKind::Not(a) => a.walk(f),
            ExprKind::BoolOp(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            ExprKind::Compare(a, rest) => {
                a.walk(f);
                rest.iter().for_each(|(_, e)| e.walk(f));
            }
            _ => {}
        }
    }
}

/// Where an assignment puts its value.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Name {
        name: String,
        start: usize,
        end: usize,
    },
    /// `a, b = …`, `(a, b) = …`, `[a, b] = …`
    Seq {
        items: Vec<Target>,
        start: usize,
        end: usize,
    },
}

impl Target {
    /// The names in order: `conn, addr` → ["conn", "addr"].
    pub fn names(&self) -> Vec<&str> {
        match self {
            Target::Name { name, .. } => vec![name],
            Target::Seq { items, .. } => items.iter().flat_map(|t| t.names()).collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// Blank line, comment, `pass`.
    Empty,
    /// `import socket`, `from socket import *`: already in effect.
    Import,
    /// `:name rest of the line`.
    Lab {
        name: String,
        args: String,
    },
    Expr(Expr),
    Assign {
        target: Target,
        value: Expr,
    },
}
