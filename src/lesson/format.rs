//! The in-memory shape of a lesson, and the small text helpers lessons need
//! (placeholders, byte escapes). What a file looks like on disk is in `raw.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::engine::PeerSpec;
use crate::settings::Lang;

use super::cond::Cond;

/// A text in both languages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text {
    pub en: String,
    pub ko: String,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Ko => &self.ko,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Step {
    pub text: Text,
    pub hint: Text,
    /// Reference solution: command-language lines, placeholders unfilled.
    pub solution: Vec<String>,
    pub check: Cond,
    /// Peers started when this step becomes current.
    pub setup: Vec<PeerSpec>,
    /// Wrong routes: line lists that must NOT complete the step (run by
    /// `verify` on a fresh lab, after the earlier steps' solutions).
    pub wrong: Vec<Vec<String>>,
    /// Other right routes: line lists that must complete it, like the solution.
    pub right: Vec<Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct Lesson {
    pub id: String,
    pub order: u32,
    pub title: Text,
    pub text: Text,
    /// Peers started when the lesson opens and on `:reset`.
    pub setup: Vec<PeerSpec>,
    pub steps: Vec<Step>,
    pub path: PathBuf,
}

impl Lesson {
    /// The lesson with every placeholder filled (text, hints, solutions,
    /// peer addresses and options, check strings).
    pub fn expanded(&self, ph: &BTreeMap<String, String>) -> Lesson {
        let mut ph = ph.clone();
        for (k, v) in kernel_placeholders() {
            ph.entry(k).or_insert(v);
        }
        let ph = &ph;
        let f = |s: &str| fill(s, ph);
        let text = |t: &Text| Text {
            en: f(&t.en),
            ko: f(&t.ko),
        };
        let peers = |v: &[PeerSpec]| v.iter().map(|p| fill_peer(p, ph)).collect();
        Lesson {
            id: self.id.clone(),
            order: self.order,
            title: text(&self.title),
            text: text(&self.text),
            setup: peers(&self.setup),
            steps: self
                .steps
                .iter()
                .map(|s| Step {
                    text: text(&s.text),
                    hint: text(&s.hint),
                    solution: s.solution.iter().map(|l| f(l)).collect(),
                    check: s.check.map_strings(&f),
                    setup: peers(&s.setup),
                    wrong: s
                        .wrong
                        .iter()
                        .map(|r| r.iter().map(|l| f(l)).collect())
                        .collect(),
                    right: s
                        .right
                        .iter()
                        .map(|r| r.iter().map(|l| f(l)).collect())
                        .collect(),
                })
                .collect(),
            path: self.path.clone(),
        }
    }
}

pub fn fill_peer(p: &PeerSpec, ph: &BTreeMap<String, String>) -> PeerSpec {
    PeerSpec {
        kind: p.kind.clone(),
        name: p.name.clone(),
        addr: fill(&p.addr, ph),
        options: p
            .options
            .iter()
            .map(|(k, v)| (k.clone(), fill(v, ph)))
            .collect(),
    }
}

/// The placeholder names a lesson may use. `{syn_times}` / `{syn_giveup}`
/// are what THIS kernel does with an unanswered SYN (see [`syn_schedule`]).
pub const PLACEHOLDERS: &[&str] = &[
    "port",
    "port2",
    "port3",
    "port4",
    "port5",
    "host",
    "syn_times",
    "syn_giveup",
    "programs",
];

/// Placeholders read from the running kernel when a lesson opens.
pub fn kernel_placeholders() -> BTreeMap<String, String> {
    let read = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    // Linux defaults when a sysctl is missing: 6 retries; no linear phase
    // before kernels that have tcp_syn_linear_timeouts.
    let (times, giveup) = syn_schedule(
        read("tcp_syn_retries").unwrap_or(6),
        read("tcp_syn_linear_timeouts").unwrap_or(0),
    );
    let list: Vec<String> = times.iter().map(|t| t.to_string()).collect();
    BTreeMap::from([
        ("syn_times".to_string(), list.join(", ")),
        ("syn_giveup".to_string(), giveup.to_string()),
    ])
}

/// When an unanswered SYN is sent again (seconds after the first), and when
/// connect gives up: the first `linear` retries and the final wait come 1 s
/// apart (the initial RTO), after that each wait doubles.
pub fn syn_schedule(retries: u32, linear: u32) -> (Vec<u64>, u64) {
    let mut t = 0u64;
    let mut gap = 1u64;
    let mut times = Vec::new();
    for k in 1..=retries + 1 {
        if k > linear + 1 {
            gap *= 2;
        }
        t += gap;
        if k <= retries {
            times.push(t);
        }
    }
    (times, t)
}

#[cfg(test)]
mod syn_tests {
    use super::syn_schedule;

    #[test]
    fn syn_schedule_matches_measured_kernels() {
        // Linux 6.18, tcp_syn_retries=6, tcp_syn_linear_timeouts=4 (measured).
        assert_eq!(syn_schedule(6, 4), (vec![1, 2, 3, 4, 5, 7], 11));
        // Classic exponential backoff.
        assert_eq!(syn_schedule(6, 0), (vec![1, 3, 7, 15, 31, 63], 127));
    }
}

/// Every `{name}` in `s` where name is a lowercase identifier, with its byte offset.
/// Braces around anything else (`{ a = 1 }`, `{}`) are plain text.
pub fn placeholders_in(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' {
            let start = i + 1;
            let mut j = start;
            while j < b.len()
                && (b[j].is_ascii_lowercase() || b[j].is_ascii_digit() || b[j] == b'_')
            {
                j += 1;
            }
            if j > start && j < b.len() && b[j] == b'}' && b[start].is_ascii_lowercase() {
                out.push((i, &s[start..j]));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Fill `{name}` placeholders known to `ph`; unknown ones stay as written.
pub fn fill(s: &str, ph: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (at, name) in placeholders_in(s) {
        if let Some(v) = ph.get(name) {
            out.push_str(&s[last..at]);
            out.push_str(v);
            last = at + name.len() + 2;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// Sample values for checking a lesson without running it.
pub fn sample_placeholders() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (i, name) in PLACEHOLDERS.iter().enumerate() {
        let v = if *name == "host" {
            "127.0.0.1".to_string()
        } else if *name == "programs" {
            crate::session::trace::programs_dir().to_string()
        } else {
            (40000 + i).to_string()
        };
        m.insert(name.to_string(), v);
    }
    m
}

/// Decode the escapes a lesson may write in byte strings: `\n \r \t \0 \\ \' \" \xNN`.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('\'') => out.push(b'\''),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let v = u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)
                    .ok_or_else(|| format!("bad escape \\x{hex}: needs two hex digits"))?;
                out.push(v);
            }
            Some(o) => {
                return Err(format!(
                    "unknown escape \\{o} (use \\n \\r \\t \\0 \\\\ \\xNN)"
                ));
            }
            None => return Err("a lone \\ at the end".to_string()),
        }
    }
    Ok(out)
}

/// The variables a solution line assigns: `x = …` → [x]; `conn, addr = …` → [conn, addr].
pub fn assigned_names(line: &str) -> Vec<String> {
    let line = line.trim();
    let Some(eq) = line.find('=') else {
        return Vec::new();
    };
    if line[eq + 1..].starts_with('=') {
        return Vec::new();
    }
    let lhs = line[..eq]
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')');
    let names: Vec<&str> = lhs.split(',').map(str::trim).collect();
    let ident = |n: &&str| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    if names.iter().all(ident) {
        names.into_iter().map(str::to_string).collect()
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_filled() {
        let s = "bind {host}:{port} then {port2}; {x y} {} {Port}";
        let names: Vec<&str> = placeholders_in(s).into_iter().map(|p| p.1).collect();
        assert_eq!(names, ["host", "port", "port2"]);
        let mut ph = BTreeMap::new();
        ph.insert("port".to_string(), "9000".to_string());
        ph.insert("host".to_string(), "127.0.0.1".to_string());
        assert_eq!(
            fill(s, &ph),
            "bind 127.0.0.1:9000 then {port2}; {x y} {} {Port}"
        );
    }

    #[test]
    fn unescape_decodes_and_rejects() {
        assert_eq!(unescape(r"a\n\x41\\\0").unwrap(), b"a\nA\\\0");
        assert_eq!(unescape("한").unwrap(), "한".as_bytes());
        assert!(unescape(r"\q").unwrap_err().contains("unknown escape"));
        assert!(unescape(r"\x4").is_err());
        assert!(unescape("\\").is_err());
    }

    #[test]
    fn assignments_are_recognised() {
        assert_eq!(assigned_names("srv = socket()"), ["srv"]);
        assert_eq!(
            assigned_names("conn, addr = srv.accept()"),
            ["conn", "addr"]
        );
        assert_eq!(assigned_names("(a, b) = x.accept()"), ["a", "b"]);
        assert!(assigned_names("srv.bind(('127.0.0.1', 1))").is_empty());
        assert!(assigned_names("x == y").is_empty());
        assert!(assigned_names("s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)").is_empty());
    }
}
