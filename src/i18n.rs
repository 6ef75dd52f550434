//! The interface language: every word a student reads comes from one
//! catalogue per language (`src/locales/*.yml`, through `rust-i18n`), never
//! from en/ko pairs in code. Adding a language is adding a catalogue file
//! with the same keys (a test below keeps them complete).

use crate::engine::Note;
use crate::settings::Lang;

// The catalogues are read by a macro at compile time; naming them here
// makes the compiler track them, so editing one rebuilds the crate.
const _CATALOGUES: [&str; 2] = [
    include_str!("locales/en.yml"),
    include_str!("locales/ko.yml"),
];

/// A message from the catalogue in `lang`, with `%{name}` filled in and
/// the language's particles fitted to them ([`particles`]):
/// `tr!(lang, "ev.closed")`, `tr!(lang, "ev.kernel", from = a, to = b)`.
#[macro_export]
macro_rules! tr {
    ($lang:expr, $key:expr $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::i18n::particles(
            $lang,
            &rust_i18n::t!($key, locale = $lang.code() $(, $name = $value)*),
        )
    };
}

/// The message `key` in `lang` with its `%{name}` holes filled from `args`
/// at run time (for keys that come as data: an engine [`Note`], a lesson
/// check's reason), and the language's particles fitted (see [`particles`]).
pub fn text(lang: Lang, key: &str, args: &[(&str, String)]) -> String {
    let raw = crate::_rust_i18n_translate(lang.code(), key);
    let names: Vec<&str> = args.iter().map(|(n, _)| *n).collect();
    let values: Vec<String> = args.iter().map(|(_, v)| v.clone()).collect();
    particles(lang, &rust_i18n::replace_patterns(&raw, &names, &values))
}

/// An engine [`Note`] in words ("" for none).
pub fn note(lang: Lang, n: &Note) -> String {
    if n.is_empty() {
        return String::new();
    }
    text(lang, n.key, &n.args)
}

/// Some languages change a particle with the sound before it, which a
/// catalogue cannot know when the word is a value (`%{sock}`): Korean writes
/// `%{sock}이(가)`, read `srv가` but `conn이`. The catalogue lists its forms
/// under `grammar.particles` (`A(B)`: A after a closed syllable, B after an
/// open one; `(A)B`: AB or B) and under `grammar.closed` the endings of Latin
/// words and digits that are read closed. A language without such particles
/// leaves both empty and this changes nothing.
pub fn particles(lang: Lang, s: &str) -> String {
    let forms = crate::_rust_i18n_translate(lang.code(), "grammar.particles");
    if forms.trim().is_empty() || !s.contains('(') {
        return s.to_string();
    }
    let closed_list = crate::_rust_i18n_translate(lang.code(), "grammar.closed");
    let closed: Vec<&str> = closed_list.split_whitespace().collect();
    // Forms whose open one also follows an ㄹ ending (`(으)로`: 서울로, 1로).
    let rieul_forms = crate::_rust_i18n_translate(lang.code(), "grammar.rieul_open");
    let rieul_list = crate::_rust_i18n_translate(lang.code(), "grammar.rieul");
    let rieul: Vec<&str> = rieul_list.split_whitespace().collect();
    let mut out = s.to_string();
    for form in forms.split_whitespace() {
        let Some((a, rest)) = form.split_once('(') else {
            continue;
        };
        let Some((b, c)) = rest.split_once(')') else {
            continue;
        };
        // `A(B)` or `(A)B`
        let (shut, open) = if a.is_empty() {
            (format!("{b}{c}"), c.to_string())
        } else {
            (a.to_string(), b.to_string())
        };
        let after_rieul_open = rieul_forms.split_whitespace().any(|f| f == form);
        while let Some(at) = out.find(form) {
            let before = &out[..at];
            let pick = if after_rieul_open && ends_rieul(before, &rieul) {
                &open
            } else if ends_closed(before, &closed) {
                &shut
            } else {
                &open
            };
            out.replace_range(at..at + form.len(), pick);
        }
    }
    out
}

/// Whether `before` ends, read aloud, in ㄹ: a Hangul syllable whose final
/// consonant is ㄹ, or a Latin word or digit ending in one of `rieul`.
fn ends_rieul(before: &str, rieul: &[&str]) -> bool {
    let w = before.trim_end_matches(|c: char| "()[]'\"`".contains(c));
    let Some(last) = w.chars().last() else {
        return false;
    };
    if (0xAC00..=0xD7A3).contains(&(last as u32)) {
        // The ninth of the 28 forms has ㄹ as its final consonant.
        return (last as u32 - 0xAC00) % 28 == 8;
    }
    let lw = w.to_lowercase();
    rieul.iter().any(|e| lw.ends_with(e))
}

/// Whether `before` ends, read aloud, in a closed syllable: a Hangul syllable
/// with a final consonant, or a Latin word or digit ending in one of `closed`.
fn ends_closed(before: &str, closed: &[&str]) -> bool {
    let w = before.trim_end_matches(|c: char| "()[]'\"`".contains(c));
    let Some(last) = w.chars().last() else {
        return false;
    };
    const SYLLABLES: std::ops::RangeInclusive<u32> = 0xAC00..=0xD7A3;
    if SYLLABLES.contains(&(last as u32)) {
        // Each initial+vowel has 28 forms; the first has no final consonant.
        return !(last as u32 - 0xAC00).is_multiple_of(28);
    }
    let lw = w.to_lowercase();
    closed.iter().any(|e| lw.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(file: &str) -> BTreeSet<String> {
        file.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(':'))
            .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim().to_string()))
            .collect()
    }

    #[test]
    fn every_language_has_every_key() {
        let en = keys(include_str!("locales/en.yml"));
        assert!(en.len() > 10);
        let catalogues: &[(&str, &str)] = &[("ko", include_str!("locales/ko.yml"))];
        for (name, file) in catalogues {
            let other = keys(file);
            let missing: Vec<_> = en.difference(&other).collect();
            let extra: Vec<_> = other.difference(&en).collect();
            assert!(missing.is_empty(), "{name} lacks {missing:?}");
            assert!(extra.is_empty(), "{name} has keys en does not: {extra:?}");
        }
    }

    #[test]
    fn placeholders_match_across_languages() {
        let holes = |file: &str| -> Vec<(String, BTreeSet<String>)> {
            file.lines()
                .filter(|l| !l.starts_with('#') && l.contains(':'))
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| {
                    let names = v
                        .split("%{")
                        .skip(1)
                        .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                        .collect();
                    (k.trim().to_string(), names)
                })
                .collect()
        };
        let en = holes(include_str!("locales/en.yml"));
        let ko: std::collections::BTreeMap<_, _> =
            holes(include_str!("locales/ko.yml")).into_iter().collect();
        for (k, names) in en {
            assert_eq!(ko.get(&k), Some(&names), "placeholders of {k}");
        }
    }

    #[test]
    fn lookups_fill_placeholders() {
        assert_eq!(tr!(Lang::En, "ev.closed"), "descriptor closed");
        assert_eq!(tr!(Lang::Ko, "ev.closed"), "디스크립터 닫힘");
        assert_eq!(
            tr!(Lang::En, "ev.kernel", from = "LISTEN", to = "-"),
            "kernel LISTEN → -"
        );
    }

    /// Every `.rs` file under `src/`, with its path.
    fn sources() -> Vec<(String, String)> {
        fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push((
                        p.display().to_string(),
                        std::fs::read_to_string(&p).unwrap(),
                    ));
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut out,
        );
        assert!(out.len() > 50);
        out
    }

    /// The code of a file without its tests and comments: what the binary says.
    fn code_only(src: &str) -> String {
        let code = match src.find("#[cfg(test)]") {
            Some(i) => &src[..i],
            None => src,
        };
        code.lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn no_words_of_a_language_in_code() {
        // Korean text belongs in src/locales/ko.yml; code is language-free
        // (a third language is a file). Tests and comments may quote Korean
        // (tests of wrapping, width and particles need real Hangul).
        let hangul = |c: char| {
            ('\u{AC00}'..='\u{D7A3}').contains(&c)
                || ('\u{1100}'..='\u{11FF}').contains(&c)
                || ('\u{3130}'..='\u{318F}').contains(&c)
        };
        let mut bad = Vec::new();
        for (path, src) in sources() {
            // Whole files of tests (`tests.rs`, `error_tests.rs`, `proptests.rs`).
            if path.ends_with("tests.rs") {
                continue;
            }
            for (n, line) in code_only(&src).lines().enumerate() {
                if line.chars().any(hangul) {
                    bad.push(format!("{path}:{}: {}", n + 1, line.trim()));
                }
            }
        }
        assert!(bad.is_empty(), "Korean in code:\n{}", bad.join("\n"));
    }

    #[test]
    fn every_key_in_code_is_in_the_catalogues() {
        let en = keys(include_str!("locales/en.yml"));
        let mut missing = Vec::new();
        let pats = [
            "Note::new(\"",
            "tr!(lang, \"",
            "tr!(self.lang, \"",
            "text(lang, \"",
        ];
        for (path, src) in sources() {
            for p in pats {
                for piece in src.split(p).skip(1) {
                    let key = piece.split('"').next().unwrap_or("");
                    if !key.is_empty() && !en.contains(key) {
                        missing.push(format!("{path}: {key}"));
                    }
                }
            }
            // A lesson check's reasons (`lesson::Why`) and the prompt's
            // refusals name their keys as literals, sometimes picked in a
            // `match` before `Why::new` / `Note::new`.
            for prefix in [
                "why.", "lang.", "lab.", "explain.", "notice.", "peer.", "prog.", "trace.", "run.",
                "export.", "wire.",
            ] {
                for piece in src.split(&format!("\"{prefix}")).skip(1) {
                    let rest = piece.split('"').next().unwrap_or("");
                    let word = |c: char| c.is_ascii_lowercase() || c == '_' || c == '.';
                    if !rest.is_empty() && rest.chars().all(word) {
                        let key = format!("{prefix}{rest}");
                        if !en.contains(&key) {
                            missing.push(format!("{path}: {key}"));
                        }
                    }
                }
            }
        }
        for k in crate::engine::error::explain_keys() {
            if !en.contains(k) {
                missing.push(format!("explain table: {k}"));
            }
        }
        assert!(missing.is_empty(), "keys not in en.yml: {missing:?}");
    }

    /// Values of `file` by key.
    fn values(file: &str) -> std::collections::BTreeMap<String, String> {
        file.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(':'))
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }

    #[test]
    fn the_korean_catalogue_says_everything_in_korean() {
        // Keys whose Korean is rightly the same as the English: only
        // placeholders and symbols, or a name the screen shows as it is.
        const AS_IS: &[&str] = &[
            "ev.lab",
            "ev.started",
            "ev.done",
            "ev.failed",
            "ev.notice",
            "prog.exited",
            "key.n",
            "key.py_c",
            "grammar.closed",
            "grammar.rieul",
            "note.verbatim",
            "col.fd",
            "col.recv_q",
            "col.send_q",
            "col.accq",
            "traffic.hex",
            "why.verbatim",
            "why.queue.recv",
            "why.queue.send",
            "why.queue.backlog",
            "why.seg.what",
            "why.sep.and",
            "why.sep.or",
            "why.ident.same",
        ];
        let hangul = |c: char| ('\u{AC00}'..='\u{D7A3}').contains(&c);
        let en = values(include_str!("locales/en.yml"));
        let ko = values(include_str!("locales/ko.yml"));
        let mut english = Vec::new();
        for (k, v) in &ko {
            if !AS_IS.contains(&k.as_str()) && !v.chars().any(hangul) {
                english.push(format!("{k}: {v}"));
            }
        }
        assert!(
            english.is_empty(),
            "not Korean in ko.yml:\n{}",
            english.join("\n")
        );
        for k in AS_IS {
            assert!(en.contains_key(*k), "{k} is no key any more");
        }
    }

    #[test]
    fn explanations_in_korean() {
        use crate::engine::error::{Call, Facts, explain};
        let a: std::net::SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let n = explain(
            Call::Connect,
            libc::ECONNREFUSED,
            &Facts {
                addr: Some(a),
                ..Facts::default()
            },
        );
        assert_eq!(
            note(Lang::En, &n),
            "nothing is listening on 127.0.0.1:9000 (the SYN was answered with RST)"
        );
        assert_eq!(
            note(Lang::Ko, &n),
            "127.0.0.1:9000에서 listen하는 소켓이 없어요 (SYN에 RST가 돌아왔어요)"
        );
    }

    #[test]
    fn particles_follow_the_sound_before_them() {
        let ko = |s: &str| particles(Lang::Ko, s);
        assert_eq!(ko("srv이(가) conn이(가)"), "srv가 conn이");
        assert_eq!(
            ko("sock을(를) cli은(는) s1이(가) s2이(가)"),
            "sock을 cli는 s1이 s2가"
        );
        assert_eq!(
            ko("listen()이(가) 소켓이(가) 서버이(가)"),
            "listen()이 소켓이 서버가"
        );
        assert_eq!(
            ko("cli(으)로 srv(으)로 conn(이)라는"),
            "cli로 srv로 conn이라는"
        );
        assert_eq!(ko("\"hi\"을(를)"), "\"hi\"를");
        // 소켓, 패킷 end closed; 억셉트, 커넥트 open.
        assert_eq!(
            ko("socket()이(가) packet을(를) accept()이(가) connect()을(를)"),
            "socket()이 packet을 accept()가 connect()를"
        );
        // After ㄹ, (으)로 is 로 (1 is 일, 7 칠, 8 팔; ball), other particles
        // take their closed form there.
        assert_eq!(
            ko("9001(으)로 9000(으)로 서울(으)로 집(으)로 ball(으)로 7(으)로"),
            "9001로 9000으로 서울로 집으로 ball로 7로"
        );
        assert_eq!(ko("9001을(를) 서울이(가)"), "9001을 서울이");
        // A traced program is read by its number: python3[4713]을, [4712]를.
        assert_eq!(
            ko("python3[4713]을(를) python3[4712]을(를)"),
            "python3[4713]을 python3[4712]를"
        );
        // English has none: the same text is left alone.
        assert_eq!(particles(Lang::En, "f(x)이(가)"), "f(x)이(가)");
    }
}
