//! One tokenizer for building and for querying, so that a model never sees a term spelt
//! differently at query time than when it was built.
//!
//! What it produces, in order of appearance:
//! - Chinese words from jieba-rs (its embedded dictionary plus the shop's own user words, so
//!   that a catalog term such as 游戏本 stays whole). Jieba runs without its HMM: out-of-dictionary
//!   text is instead covered by character bigrams (a run of single characters 韩版女 becomes
//!   韩版, 版女), which keeps unknown brand names matchable without inventing words.
//! - Latin words, digits and model numbers, lower-cased: `-`, `.`, `+`, `_` and `/` stay inside
//!   a token when they join two letters or digits, so "i5-1340p" and "3.5mm" are one token each.
//! - Nothing else: whitespace, punctuation, emoji and control characters only separate tokens.
//!   Full-width ASCII (ｉ５) is read as ASCII.

use jieba_rs::Jieba;

use crate::error::{Error, Result};

/// Changes whenever the rules above change; it is part of [`Tokenizer::fingerprint`], which
/// models store so that a model is never queried with a tokenizer that splits differently.
pub const TOKENIZER_VERSION: &str = "shoprec-tokenizer/1 jieba-rs/0.11.0 hmm=off bigram-fallback";

/// A tokenizer: immutable once built, `Send + Sync`, cheap to share behind an `Arc`.
pub struct Tokenizer {
    jieba: Jieba,
    user_words: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CharClass {
    Han,
    Word,
    Joiner,
    Separator,
}

/// CJK Unified Ideographs and their extensions A-F, plus the compatibility block.
#[must_use]
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF)
}

fn classify(c: char) -> CharClass {
    if is_han(c) {
        CharClass::Han
    } else if c.is_alphanumeric() {
        CharClass::Word
    } else if matches!(c, '-' | '.' | '+' | '_' | '/') {
        CharClass::Joiner
    } else {
        CharClass::Separator
    }
}

/// Full-width ASCII to ASCII, ideographic space to space, then lower case.
fn normalize_into(text: &str, out: &mut String) {
    for c in text.chars() {
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        };
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
}

impl Tokenizer {
    /// A tokenizer with jieba's embedded dictionary plus `user_words`.
    ///
    /// User words are lower-cased and de-duplicated (first spelling wins); their order does not
    /// matter for tokenizing but is kept for [`Tokenizer::fingerprint`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (`user_words`) when a word is empty or contains whitespace or
    /// a control character.
    pub fn new(user_words: &[String]) -> Result<Self> {
        let mut jieba = Jieba::new();
        let mut kept: Vec<String> = Vec::with_capacity(user_words.len());
        let mut seen = std::collections::HashSet::new();
        for word in user_words {
            let mut normal = String::new();
            normalize_into(word, &mut normal);
            if normal.is_empty() || normal.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::invalid("user_words", format!("{word:?} is empty or contains whitespace")));
            }
            if seen.insert(normal.clone()) {
                if normal.chars().all(is_han) {
                    // A frequency high enough that jieba prefers the whole word to its parts.
                    let freq = jieba.suggest_freq(&normal).max(1);
                    jieba.add_word(&normal, Some(freq), None);
                }
                kept.push(normal);
            }
        }
        Ok(Tokenizer { jieba, user_words: kept })
    }

    /// The user words, normalised, in the order given.
    #[must_use]
    pub fn user_words(&self) -> &[String] {
        &self.user_words
    }

    /// Whether jieba knows `word` (its dictionary or a user word).
    #[must_use]
    pub fn knows(&self, word: &str) -> bool {
        self.jieba.has_word(word)
    }

    /// Whether jieba already splits `word` into two or more dictionary words of at least two
    /// characters each (韩版休闲 = 韩版 + 休闲): such a string needs no user word.
    #[must_use]
    pub fn is_compound_of_known_words(&self, word: &str) -> bool {
        let pieces = self.jieba.cut(word, false);
        pieces.len() >= 2 && pieces.iter().all(|p| p.word.chars().nth(1).is_some())
    }

    /// A 64-bit FNV-1a hash of [`TOKENIZER_VERSION`] and the user words: two tokenizers with the
    /// same fingerprint split every text the same way.
    #[must_use]
    pub fn fingerprint(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for &b in bytes {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(TOKENIZER_VERSION.as_bytes());
        for word in &self.user_words {
            feed(b"\n");
            feed(word.as_bytes());
        }
        hash
    }

    /// The tokens of `text`, in order (repeats kept).
    #[must_use]
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut normal = String::with_capacity(text.len());
        normalize_into(text, &mut normal);
        let mut tokens = Vec::new();
        Self::for_each_run(&normal, |run, han| {
            if han {
                self.cut_han(run, &mut tokens);
            } else {
                tokens.push(run.to_owned());
            }
        });
        tokens
    }

    /// Calls `f(run, is_han)` for every Han run and every Latin/digit token of normalised text.
    pub(crate) fn for_each_run<'t>(normal: &'t str, mut f: impl FnMut(&'t str, bool)) {
        let chars: Vec<(usize, char)> = normal.char_indices().collect();
        let classes: Vec<CharClass> = chars.iter().map(|&(_, c)| classify(c)).collect();
        let end_of = |i: usize| if i + 1 < chars.len() { chars[i + 1].0 } else { normal.len() };
        let mut i = 0;
        while i < chars.len() {
            match classes[i] {
                CharClass::Han => {
                    let start = i;
                    while i < chars.len() && classes[i] == CharClass::Han {
                        i += 1;
                    }
                    f(&normal[chars[start].0..end_of(i - 1)], true);
                }
                CharClass::Word => {
                    let start = i;
                    loop {
                        while i < chars.len() && classes[i] == CharClass::Word {
                            i += 1;
                        }
                        // A joiner stays only between two word characters.
                        if i + 1 < chars.len() && classes[i] == CharClass::Joiner && classes[i + 1] == CharClass::Word {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    f(&normal[chars[start].0..end_of(i - 1)], false);
                }
                CharClass::Joiner | CharClass::Separator => i += 1,
            }
        }
    }

    /// Jieba words of a Han run; runs of single characters jieba could not group become bigrams.
    fn cut_han(&self, run: &str, tokens: &mut Vec<String>) {
        let mut singles: Vec<&str> = Vec::new();
        let flush = |singles: &mut Vec<&str>, tokens: &mut Vec<String>| {
            if singles.len() == 1 {
                tokens.push(singles[0].to_owned());
            } else {
                for pair in singles.windows(2) {
                    tokens.push(format!("{}{}", pair[0], pair[1]));
                }
            }
            singles.clear();
        };
        for token in self.jieba.cut(run, false) {
            if token.word.chars().nth(1).is_none() {
                singles.push(token.word);
            } else {
                if !singles.is_empty() {
                    flush(&mut singles, tokens);
                }
                tokens.push(token.word.to_owned());
            }
        }
        if !singles.is_empty() {
            flush(&mut singles, tokens);
        }
    }

    /// Every Han run (`true`) and every Latin/digit token (`false`) of `text` after
    /// normalisation, in order: what [`Tokenizer::tokenize`] cuts, before jieba cuts the Han
    /// runs (for search's sub-word matching).
    #[must_use]
    pub fn runs(text: &str) -> Vec<(String, bool)> {
        let mut normal = String::with_capacity(text.len());
        normalize_into(text, &mut normal);
        let mut runs = Vec::new();
        Self::for_each_run(&normal, |run, han| runs.push((run.to_owned(), han)));
        runs
    }

    /// Han runs of `text` after normalisation (for phrase discovery).
    #[must_use]
    pub fn han_runs(&self, text: &str) -> Vec<String> {
        let mut normal = String::with_capacity(text.len());
        normalize_into(text, &mut normal);
        let mut runs = Vec::new();
        Self::for_each_run(&normal, |run, han| {
            if han {
                runs.push(run.to_owned());
            }
        });
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn latin_model_numbers_and_case() {
        let t = Tokenizer::new(&[]).unwrap();
        assert_eq!(
            t.tokenize("Lenovo ThinkPad i5-1340P, 3.5mm jack!"),
            words(&["lenovo", "thinkpad", "i5-1340p", "3.5mm", "jack"])
        );
        assert_eq!(t.tokenize("ｉ５　ＡＢＣ"), words(&["i5", "abc"]));
        assert_eq!(t.tokenize("-a- --b.. c-"), words(&["a", "b", "c"]));
    }

    #[test]
    fn separators_only_give_nothing() {
        let t = Tokenizer::new(&[]).unwrap();
        assert!(t.tokenize("").is_empty());
        assert!(t.tokenize("  \t\n\u{7}\u{1F600}!!").is_empty());
        assert_eq!(t.tokenize("a\u{1F600}b"), words(&["a", "b"]));
    }

    #[test]
    fn user_words_stay_whole() {
        let plain = Tokenizer::new(&[]).unwrap();
        let with_word = Tokenizer::new(&words(&["游戏本"])).unwrap();
        assert!(!plain.tokenize("联想游戏本").contains(&"游戏本".to_owned()));
        assert!(with_word.tokenize("联想游戏本").contains(&"游戏本".to_owned()));
        assert_ne!(plain.fingerprint(), with_word.fingerprint());
        assert_eq!(with_word.fingerprint(), Tokenizer::new(&words(&["游戏本"])).unwrap().fingerprint());
    }

    #[test]
    fn script_changes_split_tokens() {
        let t = Tokenizer::new(&[]).unwrap();
        let tokens = t.tokenize("苹果iphone14手机");
        assert!(tokens.contains(&"iphone14".to_owned()));
        assert!(tokens.contains(&"苹果".to_owned()) && tokens.contains(&"手机".to_owned()));
    }

    #[test]
    fn bad_user_word_is_refused() {
        assert!(matches!(Tokenizer::new(&words(&["a b"])), Err(Error::InvalidArgument { .. })));
        assert!(Tokenizer::new(&words(&[""])).is_err());
    }

    #[test]
    fn tokenizer_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Tokenizer>();
    }
}
