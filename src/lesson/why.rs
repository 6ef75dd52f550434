//! "Why not yet" messages: a catalogue key (`why.*` in `src/locales/*.yml`)
//! with named values, worded in the student's language only when shown
//! ([`Why::get`]). A value may itself be a message (a phrase with its own
//! key, such as "the traced program p") or a list of them joined by a
//! separator from the catalogue, so no sentence is assembled in code and
//! the language's particles are fitted to the values by `i18n::particles`.

use crate::i18n;
use crate::settings::Lang;

/// One unmet part of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Why {
    key: &'static str,
    args: Vec<(&'static str, Val)>,
}

/// A named value of a [`Why`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Val {
    /// Shown as it is (a socket's name, a state, a number).
    Text(String),
    /// A phrase worded in the same language.
    Why(Why),
    /// Phrases joined by a separator (itself a phrase).
    List(Box<Why>, Vec<Why>),
}

impl Why {
    /// The message `key`, its values still to be given.
    pub fn new(key: &'static str) -> Why {
        Why {
            key,
            args: Vec::new(),
        }
    }

    /// A value shown as it is, in every language (`why.verbatim`).
    pub fn plain(text: impl ToString) -> Why {
        Why::new("why.verbatim").arg("text", text)
    }

    /// `%{name}` is `value`, as it is.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Why {
        self.args.push((name, Val::Text(value.to_string())));
        self
    }

    /// `%{name}` is the phrase `w`, worded in the same language.
    pub fn part(mut self, name: &'static str, w: Why) -> Why {
        self.args.push((name, Val::Why(w)));
        self
    }

    /// `%{name}` is the phrase `w`, or nothing.
    pub fn opt(self, name: &'static str, w: Option<Why>) -> Why {
        match w {
            Some(w) => self.part(name, w),
            None => self.arg(name, ""),
        }
    }

    /// `%{name}` is the phrases `items` joined by the phrase `sep`.
    pub fn list(mut self, name: &'static str, sep: Why, items: Vec<Why>) -> Why {
        self.args.push((name, Val::List(Box::new(sep), items)));
        self
    }

    /// The message in `lang`.
    pub fn get(&self, lang: Lang) -> String {
        let args: Vec<(&str, String)> = self
            .args
            .iter()
            .map(|(n, v)| {
                let s = match v {
                    Val::Text(t) => t.clone(),
                    Val::Why(w) => w.get(lang),
                    Val::List(sep, items) => {
                        let sep = sep.get(lang);
                        let items: Vec<String> = items.iter().map(|w| w.get(lang)).collect();
                        items.join(&sep)
                    }
                };
                (*n, s)
            })
            .collect();
        i18n::text(lang, self.key, &args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_phrases_are_worded_in_one_language() {
        let w = Why::new("why.state.ever_one")
            .arg("sock", "srv")
            .arg("state", "listening")
            .opt("now", Some(Why::new("why.now").arg("state", "bound")));
        assert_eq!(
            w.get(Lang::En),
            "srv has not reached listening yet (now: bound)"
        );
        assert_eq!(
            w.get(Lang::Ko),
            "srv가 아직 listening 상태가 아니에요 (지금: bound)"
        );
        let w = Why::new("why.state.ever_one")
            .arg("sock", "conn")
            .arg("state", "listening")
            .opt("now", None);
        assert_eq!(w.get(Lang::Ko), "conn이 아직 listening 상태가 아니에요");
    }

    #[test]
    fn lists_join_with_the_language_separator() {
        let w = Why::new("why.any").list(
            "parts",
            Why::new("why.sep.or"),
            vec![Why::plain("a"), Why::plain("b")],
        );
        assert_eq!(w.get(Lang::En), "one of these: a; or b");
        assert_eq!(w.get(Lang::Ko), "다음 중 하나: a / b");
    }

    #[test]
    fn phrases_take_the_particle_their_last_sound_asks_for() {
        let q = |n: u32| {
            Why::new("why.queue.ever")
                .part("whose", Why::new("why.queue.of").arg("sock", "srv"))
                .part("queue", Why::new("why.queue.accept"))
                .part("cmp", Why::new("why.cmp.exactly").arg("n", n))
                .arg("now", 0)
        };
        assert_eq!(
            q(3).get(Lang::Ko),
            "srv의 accept 큐가 아직 정확히 3이었던 적이 없어요 (지금: 0)"
        );
        assert_eq!(
            q(2).get(Lang::Ko),
            "srv의 accept 큐가 아직 정확히 2였던 적이 없어요 (지금: 0)"
        );
        assert_eq!(
            q(2).get(Lang::En),
            "srv's accept queue has not been exactly 2 yet (now: 0)"
        );
        let c = Why::new("why.call.none_such")
            .list(
                "how",
                Why::new("why.sep.and"),
                vec![
                    Why::new("why.call.failed_with").arg("errno", "EAGAIN"),
                    Why::new("why.call.waited"),
                ],
            )
            .arg("target", "conn.recv()")
            .opt("by", None);
        assert_eq!(
            c.get(Lang::En),
            "no conn.recv() call has failed with EAGAIN and had to wait yet"
        );
        assert_eq!(
            c.get(Lang::Ko),
            "아직 EAGAIN으로 실패한, 기다려야 했던 conn.recv() 호출이 없어요"
        );
    }
}
