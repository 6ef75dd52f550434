//! Reading a check table as written into a [`Cond`], with every mistake
//! reported at its place. The kind is told by its key (`lab = …`,
//! `call = …`); which keys a kind accepts is its `Raw` struct's fields, read
//! from the struct itself, so the list lives in one place.

use std::ops::Range;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::common::Errs;
use super::{CheckKind, Cond, KINDS, Leaf};

/// A problem found in a check: where (byte range in the file) and what.
pub type CondError = (Range<usize>, String);

/// Kernel state names as lesson files write them: the kernel's `TCP_*`
/// names (`ss` prints `ESTAB`, `TIME-WAIT`, which are read as the same).
pub const KERNEL_NAMES: &[&str] = &[
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
];

const COMBINATORS: &[&str] = &["all", "any", "seq", "not", "never"];

/// A check table as written: combinator lists (each part with its place),
/// and every other key with its place and value.
#[derive(Debug, Default)]
pub struct RawCheck {
    combos: Vec<(String, Vec<Spanned<RawCheck>>)>,
    keys: Vec<(Spanned<String>, toml::Value)>,
}

impl<'de> Deserialize<'de> for RawCheck {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCheck;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a check table, e.g. { socket = \"srv\", lab = \"listening\" }")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawCheck, A::Error> {
                let mut r = RawCheck::default();
                while let Some(k) = m.next_key::<Spanned<String>>()? {
                    if COMBINATORS.contains(&k.get_ref().as_str()) {
                        r.combos.push((k.into_inner(), m.next_value()?));
                    } else {
                        r.keys.push((k, m.next_value()?));
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(V)
    }
}

/// One entry of the list of kinds (built by `kinds!`).
pub(super) struct KindEntry {
    pub keys: &'static [&'static str],
    pub fields: fn() -> &'static [&'static str],
    /// Whether a table fits the kind's shape (else why not).
    pub fits: fn(&toml::Table) -> Result<(), String>,
    pub build: fn(toml::Table, &str, &mut Errs) -> Option<Leaf>,
}

/// Build kind `K` from its table; a table that does not fit its shape (a
/// wrong type) is reported.
pub(super) fn build_kind<K: CheckKind>(t: toml::Table, key: &str, errs: &mut Errs) -> Option<K> {
    match toml::Value::Table(t).try_into::<K::Raw>() {
        Ok(raw) => K::build(raw, key, errs),
        Err(e) => {
            errs.err(e.message().trim().to_string());
            None
        }
    }
}

pub(super) fn fits<T: DeserializeOwned>(t: &toml::Table) -> Result<(), String> {
    toml::Value::Table(t.clone())
        .try_into::<T>()
        .map(|_| ())
        .map_err(|e| e.message().trim().to_string())
}

/// The field names of a derived `Deserialize` struct (what it accepts),
/// read from the struct: it asks for them when deserialized.
pub(super) fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Grab<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Grab<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Grab(&mut fields));
    fields
}

/// Every key any kind names itself by, for "a check needs one of …".
fn kind_keys() -> Vec<&'static str> {
    COMBINATORS
        .iter()
        .copied()
        .chain(KINDS.iter().flat_map(|k| k.keys.iter().copied()))
        .collect()
}

pub fn convert(raw: &Spanned<RawCheck>, errs: &mut Vec<CondError>) -> Option<Cond> {
    convert_in(raw, errs, &Scope::default())
}

/// Where a part stands, for `as`, `same` and `other`: the names the earlier
/// parts of the `seq`s around it gave, and whether it is inside a `seq`
/// part (not under `not` / `never`), where `as` may name sockets.
#[derive(Clone, Default)]
struct Scope {
    names: Vec<String>,
    in_seq: bool,
}

/// Every name a condition's `same` and `other` use.
fn ident_uses(c: &Cond, out: &mut Vec<String>) {
    let mut leaves = Vec::new();
    c.leaves(&mut leaves);
    for s in leaves.into_iter().filter_map(Leaf::sel) {
        for c in [&s.ident.same, &s.ident.other].into_iter().flatten() {
            out.push(c.name.clone());
        }
    }
}

/// A leaf's `as`, `same` and `other`, against where it stands.
fn check_ident(leaf: &Leaf, scope: &Scope, e: &mut Errs) {
    let Some(sel) = leaf.sel() else {
        return;
    };
    if let Some(n) = &sel.ident.name
        && !scope.in_seq
    {
        e.err(format!(
            "as = \"{n}\" names sockets for the later parts of a `seq`; this check is not in a `seq` part (or is under `not` / `never`)"
        ));
    }
    for (key, c) in [("same", &sel.ident.same), ("other", &sel.ident.other)] {
        if let Some(c) = c
            && !scope.names.contains(&c.name)
        {
            let known: Vec<&str> = scope.names.iter().map(String::as_str).collect();
            e.err(format!(
                "{key} = \"{}\": no earlier part of a `seq` around it names sockets as = \"{}\"{}",
                c.name,
                c.name,
                super::common::did_you_mean(&c.name, &known)
            ));
        }
    }
}

fn convert_in(raw: &Spanned<RawCheck>, errs: &mut Vec<CondError>, scope: &Scope) -> Option<Cond> {
    let span = raw.span();
    let r = raw.get_ref();
    let mut e = Errs {
        span: span.clone(),
        out: errs,
    };

    // Which kinds the table names.
    let mut named: Vec<(&str, Option<&KindEntry>)> =
        r.combos.iter().map(|(k, _)| (k.as_str(), None)).collect();
    for (k, _) in &r.keys {
        if let Some(entry) = KINDS
            .iter()
            .find(|e| e.keys.contains(&k.get_ref().as_str()))
        {
            named.push((k.get_ref().as_str(), Some(entry)));
        }
    }
    let (kind, entry) = match named.as_slice() {
        [one] => *one,
        [] => {
            let keys = kind_keys();
            let near = r
                .keys
                .iter()
                .map(|(k, _)| super::common::did_you_mean(k.get_ref(), &keys))
                .find(|s| !s.is_empty())
                .unwrap_or_default();
            e.err(format!("a check needs one of: {}{near}", keys.join(", ")));
            return None;
        }
        many => {
            let names: Vec<&str> = many.iter().map(|(k, _)| *k).collect();
            e.err(format!(
                "a check has exactly one kind, this one has {} (wrap several in all = [...])",
                names.join(", ")
            ));
            return None;
        }
    };

    let Some(entry) = entry else {
        // A combinator: nothing else may stand beside it.
        for (k, _) in &r.keys {
            e.err(format!(
                "`{}` does not apply to a `{kind}` check",
                k.get_ref()
            ));
        }
        let (_, parts) = &r.combos[0];
        if parts.is_empty() {
            e.err(format!("`{kind}` needs at least one check"));
            return None;
        }
        let kids: Vec<Option<Cond>> = if kind == "seq" {
            convert_seq(parts, e.out, scope)
        } else {
            let inner = Scope {
                in_seq: scope.in_seq && !matches!(kind, "not" | "never"),
                ..scope.clone()
            };
            parts.iter().map(|c| convert_in(c, e.out, &inner)).collect()
        };
        let kids: Vec<Cond> = kids.into_iter().collect::<Option<_>>()?;
        return Some(match kind {
            "all" => Cond::All(kids),
            "any" => Cond::Any(kids),
            "not" => Cond::Not(kids),
            "never" => Cond::Never(kids),
            _ => Cond::Seq(kids),
        });
    };

    // Keys this kind does not take: another kind's, or nobody's.
    let fields = (entry.fields)();
    let mut table = toml::Table::new();
    for (k, v) in &r.keys {
        let name = k.get_ref().as_str();
        if fields.contains(&name) {
            table.insert(name.to_string(), v.clone());
            continue;
        }
        let mut at = Errs {
            span: k.span(),
            out: e.out,
        };
        if KINDS.iter().any(|x| (x.fields)().contains(&name)) {
            at.err(format!("`{name}` does not apply to a `{kind}` check"));
        } else {
            at.err(format!(
                "unknown field `{name}` in a `{kind}` check{}; it takes: {}",
                super::common::did_you_mean(name, fields),
                fields.join(", ")
            ));
        }
    }
    if (entry.fits)(&table).is_err() {
        // Point at the key whose value has the wrong type.
        let kind_value = table.get(kind).cloned();
        let mut found = false;
        // The kind's own key first: if it is wrong, it alone is reported.
        let mut keys: Vec<&(Spanned<String>, toml::Value)> = r.keys.iter().collect();
        keys.sort_by_key(|(k, _)| k.get_ref() != kind);
        for (k, v) in keys {
            let name = k.get_ref().as_str();
            if !table.contains_key(name) || (found && name != kind) {
                continue;
            }
            let mut one = toml::Table::new();
            if let Some(kv) = &kind_value {
                one.insert(kind.to_string(), kv.clone());
            }
            one.insert(name.to_string(), v.clone());
            if let Err(msg) = (entry.fits)(&one) {
                found = true;
                Errs {
                    span: k.span(),
                    out: e.out,
                }
                .err(format!("`{name}`: {msg}"));
            }
        }
        if found {
            return None;
        }
    }
    let leaf = (entry.build)(table, kind, &mut e)?;
    check_ident(&leaf, scope, &mut e);
    Some(Cond::Leaf(leaf))
}

/// The parts of a `seq`, each seeing the names the parts before it gave;
/// a name given twice, or used by no later part, is reported.
fn convert_seq(
    parts: &[Spanned<RawCheck>],
    errs: &mut Vec<CondError>,
    scope: &Scope,
) -> Vec<Option<Cond>> {
    let mut inner = Scope {
        names: scope.names.clone(),
        in_seq: true,
    };
    let mut kids = Vec::new();
    let mut given: Vec<(usize, String)> = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let kid = convert_in(part, errs, &inner);
        if let Some(k) = &kid {
            let mut names = Vec::new();
            k.capture_names(&mut names);
            for n in names {
                if inner.names.contains(&n) {
                    errs.push((
                        part.span(),
                        format!(
                            "as = \"{n}\" is given twice (each name stands for one part's sockets)"
                        ),
                    ));
                } else {
                    inner.names.push(n.clone());
                    given.push((i, n));
                }
            }
        }
        kids.push(kid);
    }
    for (i, n) in given {
        let mut used = Vec::new();
        for k in kids[i + 1..].iter().flatten() {
            ident_uses(k, &mut used);
        }
        if !used.contains(&n) {
            errs.push((
                parts[i].span(),
                format!(
                    "as = \"{n}\" names sockets no later part of this `seq` uses (give one same = \"{n}\" or other = \"{n}\")"
                ),
            ));
        }
    }
    kids
}
