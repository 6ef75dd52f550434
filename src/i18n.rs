//! The interface language: every word a student reads comes from one
//! catalogue per language (`src/locales/*.yml`, through `rust-i18n`), never
//! from en/ko pairs in code. Adding a language is adding a catalogue file
//! with the same keys (a test below keeps them complete).

// The catalogues are read by a macro at compile time; naming them here
// makes the compiler track them, so editing one rebuilds the crate.
const _CATALOGUES: [&str; 2] = [
    include_str!("locales/en.yml"),
    include_str!("locales/ko.yml"),
];

/// A message from the catalogue in `lang`, with `%{name}` filled in:
/// `tr!(lang, "ev.closed")`, `tr!(lang, "ev.kernel", from = a, to = b)`.
#[macro_export]
macro_rules! tr {
    ($lang:expr, $key:expr $(, $name:ident = $value:expr)* $(,)?) => {
        rust_i18n::t!($key, locale = $lang.code() $(, $name = $value)*).into_owned()
    };
}

#[cfg(test)]
mod tests {
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
        use crate::settings::Lang;
        assert_eq!(tr!(Lang::En, "ev.closed"), "descriptor closed");
        assert_eq!(tr!(Lang::Ko, "ev.closed"), "디스크립터 닫힘");
        assert_eq!(
            tr!(Lang::En, "ev.kernel", from = "LISTEN", to = "-"),
            "kernel LISTEN → -"
        );
    }
}
