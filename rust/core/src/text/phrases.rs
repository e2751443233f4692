//! Discovering the catalog's own words (brand names, product types such as 游戏本) that
//! jieba's general dictionary does not know, to feed back into the tokenizer as user words.
//!
//! A candidate is a Han n-gram of 2 to 4 characters that jieba's dictionary lacks, that
//! does not already split into dictionary words of two or more characters, that appears in
//! at least `min_count` texts, and that is cohesive: with `df` the number of texts
//! containing a string, `sqrt(df(g) / df(left) * df(g) / df(right))` is at least
//! `min_cohesion`, where `left` and `right` are `g` without its last or its first character.
//! (游戏本 after 游戏 and 戏本 scores high; 女装连, a fragment of 女装 + 连衣裙, scores low because
//! 女装 is far more frequent than 女装连.) A candidate is also dropped when one character more on
//! either side gives a string found in nearly as many texts (`>= 0.7 df(g)`): then it is a
//! fragment of a longer name (联想游 of 联想游戏本). Candidates are ranked by `df`, then by the
//! string.

use std::collections::HashMap;

use rayon::prelude::*;

use super::tokenizer::Tokenizer;
use crate::error::{Error, Result};

const MIN_N: usize = 2;
const MAX_N: usize = 4;

/// Up to `max_phrases` catalog words jieba does not know, most frequent first.
///
/// # Errors
/// [`Error::InvalidArgument`] when `min_count` is 0 or `min_cohesion` is not in `[0, 1]`.
pub fn discover_phrases(
    tokenizer: &Tokenizer,
    texts: &[String],
    min_count: u32,
    min_cohesion: f64,
    max_phrases: usize,
) -> Result<Vec<String>> {
    if min_count == 0 {
        return Err(Error::invalid("min_count", "must be at least 1"));
    }
    if !(0.0..=1.0).contains(&min_cohesion) {
        return Err(Error::invalid("min_cohesion", format!("must be in [0, 1], got {min_cohesion}")));
    }
    // Document frequency of every Han n-gram with 1..=MAX_N + 1 characters.
    let df: HashMap<String, u32> = texts
        .par_iter()
        .fold(HashMap::new, |mut counts: HashMap<String, u32>, text| {
            let mut seen: Vec<String> = Vec::new();
            for run in tokenizer.han_runs(text) {
                let chars: Vec<char> = run.chars().collect();
                for n in 1..=MAX_N + 1 {
                    for window in chars.windows(n) {
                        seen.push(window.iter().collect());
                    }
                }
            }
            seen.sort_unstable();
            seen.dedup();
            for gram in seen {
                *counts.entry(gram).or_insert(0) += 1;
            }
            counts
        })
        .reduce(HashMap::new, |mut a, b| {
            for (gram, count) in b {
                *a.entry(gram).or_insert(0) += count;
            }
            a
        });
    // The largest df of a string one character longer, for the fragment rule.
    let mut longer: HashMap<&str, u32> = HashMap::new();
    for (gram, &count) in &df {
        if gram.chars().count() < MIN_N + 1 {
            continue;
        }
        let first = gram.char_indices().nth(1).map_or(0, |(i, _)| i);
        let last = gram.char_indices().last().map_or(0, |(i, _)| i);
        for part in [&gram[..last], &gram[first..]] {
            let entry = longer.entry(part).or_insert(0);
            *entry = (*entry).max(count);
        }
    }
    let mut found: Vec<(u32, String)> = df
        .iter()
        .filter(|(gram, &count)| {
            let n = gram.chars().count();
            if !(MIN_N..=MAX_N).contains(&n)
                || count < min_count
                || tokenizer.knows(gram)
                || tokenizer.is_compound_of_known_words(gram)
            {
                return false;
            }
            if f64::from(longer.get(gram.as_str()).copied().unwrap_or(0)) >= 0.7 * f64::from(count) {
                return false;
            }
            let first = gram.char_indices().nth(1).map_or(0, |(i, _)| i);
            let last = gram.char_indices().last().map_or(0, |(i, _)| i);
            let left = df.get(&gram[..last]).copied().unwrap_or(count).max(1);
            let right = df.get(&gram[first..]).copied().unwrap_or(count).max(1);
            let cohesion = (f64::from(count) / f64::from(left) * f64::from(count) / f64::from(right)).sqrt();
            cohesion >= min_cohesion
        })
        .map(|(gram, &count)| (count, gram.clone()))
        .collect();
    found.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.truncate(max_phrases);
    Ok(found.into_iter().map(|(_, gram)| gram).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_frequent_unknown_word_and_skips_fragments() {
        let tokenizer = Tokenizer::new(&[]).unwrap();
        let mut texts: Vec<String> = Vec::new();
        for i in 0..20 {
            texts.push(format!("联想游戏本 第{i}款"));
            texts.push("华硕游戏本 轻薄".to_owned());
            texts.push("女装连衣裙".to_owned());
            texts.push("女装外套".to_owned());
            texts.push("女装".to_owned());
        }
        let phrases = discover_phrases(&tokenizer, &texts, 5, 0.6, 100).unwrap();
        assert!(phrases.contains(&"游戏本".to_owned()), "{phrases:?}");
        assert!(!phrases.iter().any(|p| p == "联想游" || p == "女装连"), "{phrases:?}");
        assert!(phrases.iter().all(|p| !tokenizer.knows(p)));
        assert!(discover_phrases(&tokenizer, &texts, 0, 0.5, 10).is_err());
    }
}
