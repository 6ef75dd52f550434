//! "Why not yet" messages, in English and Korean.

use crate::settings::Lang;

/// One unmet part of a check, in both languages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Why {
    pub en: String,
    pub ko: String,
}

impl Why {
    pub fn new(en: impl Into<String>, ko: impl Into<String>) -> Why {
        Why {
            en: en.into(),
            ko: ko.into(),
        }
    }
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Ko => &self.ko,
        }
    }
}

/// Whether a word, read aloud the way a Korean student would read code
/// (`conn` 콘, `srv` 에스알브이, `sock` 삭, `s2` 에스투→이), ends in a consonant.
fn ends_in_consonant(word: &str) -> bool {
    let w = word.trim_end_matches(|c: char| "()'\"`".contains(c));
    let Some(last) = w.chars().last() else {
        return false;
    };
    if let Some(d) = last.to_digit(10) {
        // 영 일 이 삼 사 오 육 칠 팔 구
        return matches!(d, 0 | 1 | 3 | 6 | 7 | 8);
    }
    if ('가'..='힣').contains(&last) {
        return !(last as u32 - '가' as u32).is_multiple_of(28);
    }
    let lw = w.to_ascii_lowercase();
    matches!(last.to_ascii_lowercase(), 'l' | 'm' | 'n') || lw.ends_with("ck") || lw.ends_with("ng")
}

/// `word` followed by the right form of a Korean particle: `josa("conn", "이", "가")` = "conn이".
pub fn josa(word: &str, after_consonant: &str, after_vowel: &str) -> String {
    let p = if ends_in_consonant(word) {
        after_consonant
    } else {
        after_vowel
    };
    format!("{word}{p}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn particles_follow_pronunciation() {
        assert_eq!(josa("srv", "이", "가"), "srv가");
        assert_eq!(josa("conn", "이", "가"), "conn이");
        assert_eq!(josa("sock", "을", "를"), "sock을");
        assert_eq!(josa("cli", "은", "는"), "cli는");
        assert_eq!(josa("s1", "이", "가"), "s1이");
        assert_eq!(josa("s2", "이", "가"), "s2가");
        assert_eq!(josa("listen()", "이", "가"), "listen()이");
        assert_eq!(josa("소켓", "이", "가"), "소켓이");
        assert_eq!(josa("서버", "이", "가"), "서버가");
    }
}
