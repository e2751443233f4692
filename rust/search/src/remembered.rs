//! Answers remembered within one searcher generation: a shop's searches repeat (the same
//! popular queries all day), and between two writes the index cannot change, so the answer
//! to the same query is the same. Kept in the [`Generation`](crate::generation::Generation),
//! so a write (which always starts a new generation) forgets them all; nothing is ever stale.
//! The shopper's own ranking is not part of it (it runs on every search, in the caller).

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::{Mutex, PoisonError};

use crate::index::{Condition, Hit, SearchOutput, SearchQuery};

/// Answers by the exact query that produced them, within a budget of bytes.
///
/// Two maps: answers go into `recent`; when it holds half the budget it becomes `older`
/// (whose answers are then forgotten). A remembered answer found in `older` moves back into
/// `recent`. So the answers asked again since the last turn stay and the rest go, without
/// bookkeeping per hit (an approximation of least-recently-used).
#[derive(Default)]
pub(crate) struct Remembered {
    maps: Mutex<Maps>,
}

#[derive(Default)]
struct Maps {
    recent: HashMap<Vec<u8>, SearchOutput>,
    recent_bytes: usize,
    older: HashMap<Vec<u8>, SearchOutput>,
}

impl Remembered {
    /// The remembered answer to the query whose key is `key`, if any (`budget`: as in
    /// [`Remembered::remember`], for an answer moved back into the recent ones).
    pub(crate) fn get(&self, key: &[u8], budget: usize) -> Option<SearchOutput> {
        let mut maps = self.maps.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = maps.recent.get(key) {
            return Some(found.clone());
        }
        let (key, found) = maps.older.remove_entry(key)?;
        let answer = found.clone();
        let bytes = bytes_of(key.len(), &found);
        maps.insert(key, found, bytes, budget);
        Some(answer)
    }

    /// Remembers `answer` within `budget` bytes (about: the strings and arrays it holds). An
    /// answer over a 32nd of the budget is not remembered, so that one long page or a facet
    /// over thousands of brands never pushes out many ordinary answers.
    pub(crate) fn remember(&self, key: Vec<u8>, answer: &SearchOutput, budget: usize) {
        let bytes = bytes_of(key.len(), answer);
        if bytes > budget / 32 {
            return;
        }
        self.maps.lock().unwrap_or_else(PoisonError::into_inner).insert(key, answer.clone(), bytes, budget);
    }
}

impl Maps {
    /// Puts `answer` (`bytes` with its key, by [`bytes_of`]) among the recent ones.
    fn insert(&mut self, key: Vec<u8>, answer: SearchOutput, bytes: usize, budget: usize) {
        if self.recent_bytes + bytes > budget / 2 {
            self.older = std::mem::take(&mut self.recent);
            self.recent_bytes = 0;
        }
        self.recent_bytes += bytes;
        let key_len = key.len();
        if let Some(replaced) = self.recent.insert(key, answer) {
            // Two threads asked the same query at once: count it once.
            self.recent_bytes -= bytes_of(key_len, &replaced).min(self.recent_bytes);
        }
    }
}

/// About the bytes a key of `key_len` bytes and `answer` take: their strings, arrays and the
/// map's entry.
pub(crate) fn bytes_of(key_len: usize, answer: &SearchOutput) -> usize {
    let string = |s: &String| size_of::<String>() + s.len();
    let strings = |v: &[String]| v.iter().map(string).sum::<usize>();
    size_of::<(Vec<u8>, SearchOutput)>()
        + key_len
        + answer.hits.iter().map(|h| size_of::<Hit>() + h.id.len()).sum::<usize>()
        + answer
            .facets
            .iter()
            .map(|(name, counts)| string(name) + counts.iter().map(|(v, _)| string(v) + size_of::<u64>()).sum::<usize>())
            .sum::<usize>()
        + strings(&answer.words)
        + answer.corrections.iter().map(|(a, b)| string(a) + string(b)).sum::<usize>()
        + strings(&answer.expansions_used)
}

/// Every part of `query` as bytes, each length-prefixed so that no two different queries
/// share a key (numbers by their bits: -0.0 and 0.0 only miss each other).
pub(crate) fn key_of(query: &SearchQuery) -> Vec<u8> {
    let mut key = Vec::with_capacity(64 + query.text.len());
    put_str(&mut key, &query.text);
    put_len(&mut key, query.expansions.len());
    for (keyword, weight) in &query.expansions {
        put_str(&mut key, keyword);
        key.extend_from_slice(&weight.to_bits().to_le_bytes());
    }
    key.push(u8::from(query.typos));
    put_len(&mut key, query.filters.len());
    for filter in &query.filters {
        put_str(&mut key, &filter.field);
        match &filter.condition {
            Condition::AnyOf(values) => {
                key.push(0);
                put_len(&mut key, values.len());
                for value in values {
                    put_str(&mut key, value);
                }
            }
            Condition::NumberAnyOf(values) => {
                key.push(1);
                put_len(&mut key, values.len());
                for value in values {
                    key.extend_from_slice(&value.to_bits().to_le_bytes());
                }
            }
            Condition::Range { min, max } => {
                key.push(2);
                for bound in [min, max] {
                    match bound {
                        None => key.push(0),
                        Some(v) => {
                            key.push(1);
                            key.extend_from_slice(&v.to_bits().to_le_bytes());
                        }
                    }
                }
            }
            Condition::Bool(flag) => {
                key.push(3);
                key.push(u8::from(*flag));
            }
        }
    }
    put_len(&mut key, query.facets.len());
    for facet in &query.facets {
        put_str(&mut key, facet);
    }
    put_len(&mut key, query.limit);
    key.push(u8::from(query.browse_if_empty));
    key
}

fn put_len(key: &mut Vec<u8>, n: usize) {
    key.extend_from_slice(&(n as u64).to_le_bytes());
}

fn put_str(key: &mut Vec<u8>, s: &str) {
    put_len(key, s.len());
    key.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Filter;

    fn query(text: &str) -> SearchQuery {
        SearchQuery { text: text.into(), limit: 10, ..SearchQuery::default() }
    }

    #[test]
    fn different_queries_have_different_keys() {
        let base = query("red shoes");
        let variants = [
            query("red shoe"),
            query("red shoes "),
            SearchQuery { typos: true, ..query("red shoes") },
            SearchQuery { limit: 11, ..query("red shoes") },
            SearchQuery { browse_if_empty: true, ..query("red shoes") },
            SearchQuery { facets: vec!["brand".into()], ..query("red shoes") },
            SearchQuery { expansions: vec![("boots".into(), 0.5)], ..query("red shoes") },
            SearchQuery { expansions: vec![("boots".into(), 0.25)], ..query("red shoes") },
            SearchQuery {
                filters: vec![Filter { field: "in_stock".into(), condition: Condition::Bool(true) }],
                ..query("red shoes")
            },
            SearchQuery {
                filters: vec![Filter { field: "in_stock".into(), condition: Condition::Bool(false) }],
                ..query("red shoes")
            },
            SearchQuery {
                filters: vec![Filter { field: "price".into(), condition: Condition::Range { min: Some(1.0), max: None } }],
                ..query("red shoes")
            },
            SearchQuery {
                filters: vec![Filter { field: "price".into(), condition: Condition::Range { min: None, max: Some(1.0) } }],
                ..query("red shoes")
            },
            // The same bytes split differently between the text and a keyword.
            SearchQuery { text: "red".into(), expansions: vec![(" shoes".into(), 0.5)], ..query("") },
        ];
        let base_key = key_of(&base);
        let mut keys: Vec<Vec<u8>> = variants.iter().map(key_of).collect();
        assert!(keys.iter().all(|k| *k != base_key));
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n);
        assert_eq!(key_of(&query("red shoes")), base_key);
    }

    #[test]
    fn keeps_what_is_asked_again_within_the_budget() {
        let remembered = Remembered::default();
        let answer = |word: &str| SearchOutput { words: vec![word.into()], ..SearchOutput::default() };
        let key = |i: usize| format!("k{i:02}").into_bytes();
        let word = |i: usize| answer(&format!("w{i:02}"));
        let budget = bytes_of(key(0).len(), &word(0)) * 64; // 32 answers per half
        for i in 0..32 {
            remembered.remember(key(i), &word(i), budget);
        }
        assert_eq!(remembered.get(&key(1), budget), Some(word(1)));
        // A 33rd turns the 32 into the older ones; 0 asked again comes back.
        remembered.remember(key(32), &word(32), budget);
        assert_eq!(remembered.get(&key(0), budget), Some(word(0)));
        // 33..=62 fill the recent half with 32 and 0; 63 turns them into the older ones,
        // forgetting 1..=31.
        for i in 33..64 {
            remembered.remember(key(i), &word(i), budget);
        }
        assert_eq!(remembered.get(&key(1), budget), None);
        assert_eq!(remembered.get(&key(31), budget), None);
        for i in [0, 32, 62, 63] {
            assert_eq!(remembered.get(&key(i), budget), Some(word(i)));
        }
        // Nothing with no budget, nothing over a 32nd of it.
        let none = Remembered::default();
        none.remember(b"a".to_vec(), &answer("w"), 0);
        assert_eq!(none.get(b"a", 0), None);
        let large = SearchOutput { words: vec!["w".into(); 100], ..SearchOutput::default() };
        none.remember(b"b".to_vec(), &large, bytes_of(1, &large) * 31);
        assert_eq!(none.get(b"b", usize::MAX), None);
        none.remember(b"b".to_vec(), &large, bytes_of(1, &large) * 32);
        assert_eq!(none.get(b"b", usize::MAX), Some(large));
    }
}
