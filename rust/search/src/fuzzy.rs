//! Typo tolerance: which words may match with edits, and how much a typo match counts.
//!
//! Rules (the same as most shop search engines): a word of ASCII letters (after ASCII folding,
//! so Latin text) of 5 to 8 letters tolerates one edit, of 9 or more two; an edit is a
//! substitution, insertion, deletion or swap of two neighbouring letters. Digits, model numbers
//! and Chinese never match fuzzily (i5-1340p must not find i5-1350p).
//!
//! Exact matches always come first: a word is only read fuzzily when no product contains it as
//! written, so a typo variant never competes with a correct spelling of the same word, and the
//! variants it does match count [`FUZZY_WEIGHT`] of an exact match.

/// Words longer than this are not read fuzzily (the automaton grows with the word).
pub const MAX_FUZZY_LETTERS: usize = 40;

/// The weight of a match at 0, 1 and 2 edits.
pub const FUZZY_WEIGHT: [f32; 3] = [1.0, 0.5, 0.25];

/// The number of edits `word` tolerates: 0, 1 or 2.
#[must_use]
pub fn allowed_edits(word: &str) -> u8 {
    if !word.bytes().all(|b| b.is_ascii_alphabetic()) {
        return 0;
    }
    match word.len() {
        0..=4 => 0,
        5..=8 => 1,
        9..=MAX_FUZZY_LETTERS => 2,
        _ => 0,
    }
}

/// Optimal-string-alignment distance (Levenshtein plus swaps of neighbours) over characters.
#[must_use]
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1).min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_by_length() {
        assert_eq!(allowed_edits("shoe"), 0);
        assert_eq!(allowed_edits("shoes"), 1);
        assert_eq!(allowed_edits("sneakers"), 1);
        assert_eq!(allowed_edits("sneakerss"), 2);
        assert_eq!(allowed_edits("i5-1340p"), 0);
        assert_eq!(allowed_edits("iphone14"), 0);
        assert_eq!(allowed_edits("连衣裙连衣裙"), 0);
        assert_eq!(allowed_edits(&"a".repeat(41)), 0);
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("shoes", "shoes"), 0);
        assert_eq!(edit_distance("shoes", "shose"), 1);
        assert_eq!(edit_distance("shoes", "shoe"), 1);
        assert_eq!(edit_distance("shoes", "shoess"), 1);
        assert_eq!(edit_distance("shoes", "shxes"), 1);
        assert_eq!(edit_distance("redemption", "redmeptoin"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
