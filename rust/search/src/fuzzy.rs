//! Typo tolerance: which words may match with edits, and how much a typo match counts.
//!
//! Rules (the same as most shop search engines): a word of ASCII letters (after ASCII folding,
//! so Latin text) of 5 to 8 letters tolerates one edit, of 9 or more two, counting the longer
//! of the typed word and the catalogue word (a typo that deletes a letter of "basic" gives a
//! word of 4 letters, still one edit from it); an edit is a
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

/// The most edits a catalogue term may be from `word` and still be read as its typo: the
/// rule applies to the longer of the two words, so a deletion in a word of 5 letters ("basi"
/// for "basic") is found like a substitution. 0, 1 or 2.
#[must_use]
pub fn search_edits(word: &str) -> u8 {
    if !word.bytes().all(|b| b.is_ascii_alphabetic()) {
        return 0;
    }
    match word.len() {
        0..=3 => 0,
        4..=6 => 1,
        7..=MAX_FUZZY_LETTERS => 2,
        _ => 0,
    }
}

/// Whether `term` at `distance` edits from the typed `word` is a typo reading of it: at most
/// the edits the longer of the two tolerates ([`allowed_edits`]).
#[must_use]
pub fn tolerated(word: &str, term: &str, distance: usize) -> bool {
    let allowed = allowed_edits(word).max(if term.bytes().all(|b| b.is_ascii_alphabetic()) { allowed_edits(term) } else { 0 });
    distance >= 1 && distance <= usize::from(allowed)
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
    fn the_longer_word_sets_the_edits() {
        assert!(tolerated("basi", "basic", 1)); // a deletion from 5 letters
        assert!(!tolerated("bout", "boot", 1)); // both 4 letters
        assert!(!tolerated("basi", "basics", 2));
        assert!(tolerated("sneakrs", "sneakers", 1));
        assert!(tolerated("watrprof", "waterproof", 2)); // 8 typed, 10 meant
        assert!(!tolerated("snxakxrs", "sneakers", 2));
        assert!(!tolerated("i5", "i7", 1));
        assert_eq!(search_edits("basi"), 1);
        assert_eq!(search_edits("bas"), 0);
        assert_eq!(search_edits("watrprof"), 2);
        assert_eq!(search_edits("i5-1340p"), 0);
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
