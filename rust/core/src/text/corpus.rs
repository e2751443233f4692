//! A tokenized corpus: the vocabulary and, for every text, the set of its term ids.

use std::collections::HashMap;

use rayon::prelude::*;

use super::tokenizer::Tokenizer;
use crate::csr::Csr;
use crate::error::{Error, Result};

/// Texts as sets of term ids over a vocabulary ranked by document frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// Terms by decreasing document frequency, ties by the term itself.
    pub vocab: Vec<String>,
    /// `doc_freq[t]`: the number of texts containing `vocab[t]`.
    pub doc_freq: Vec<u32>,
    /// `n_texts x vocab.len()` pattern: the sorted, distinct term ids of every text (terms
    /// outside the vocabulary dropped). `data` holds how often the term occurs in the text.
    pub docs: Csr<u32>,
}

impl Corpus {
    /// Tokenizes `texts` in parallel and keeps the `max_terms` most frequent terms found in at
    /// least `min_count` texts.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `max_terms` or `min_count` is 0, or when the vocabulary
    /// would not fit in `i32` ids.
    pub fn build(tokenizer: &Tokenizer, texts: &[String], max_terms: usize, min_count: u32) -> Result<Corpus> {
        if max_terms == 0 {
            return Err(Error::invalid("max_terms", "must be at least 1"));
        }
        if max_terms > i32::MAX as usize {
            return Err(Error::invalid("max_terms", "must be below 2^31"));
        }
        if min_count == 0 {
            return Err(Error::invalid("min_count", "must be at least 1"));
        }
        let tokenized: Vec<Vec<String>> = texts.par_iter().map(|t| tokenizer.tokenize(t)).collect();
        let mut df: HashMap<&str, u32> = HashMap::new();
        for tokens in &tokenized {
            let mut distinct: Vec<&str> = tokens.iter().map(String::as_str).collect();
            distinct.sort_unstable();
            distinct.dedup();
            for term in distinct {
                *df.entry(term).or_insert(0) += 1;
            }
        }
        let mut ranked: Vec<(&str, u32)> = df.into_iter().filter(|&(_, c)| c >= min_count).collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        ranked.truncate(max_terms);
        let ids: HashMap<&str, i32> = ranked.iter().enumerate().map(|(i, &(t, _))| (t, i as i32)).collect();
        let mut indptr = Vec::with_capacity(texts.len() + 1);
        indptr.push(0i64);
        let mut indices = Vec::new();
        let mut data = Vec::new();
        for tokens in &tokenized {
            let mut row: Vec<i32> = tokens.iter().filter_map(|t| ids.get(t.as_str()).copied()).collect();
            row.sort_unstable();
            let mut k = 0;
            while k < row.len() {
                let mut end = k;
                while end < row.len() && row[end] == row[k] {
                    end += 1;
                }
                indices.push(row[k]);
                data.push((end - k) as u32);
                k = end;
            }
            indptr.push(indices.len() as i64);
        }
        let n_terms = ranked.len();
        Ok(Corpus {
            vocab: ranked.iter().map(|&(t, _)| t.to_owned()).collect(),
            doc_freq: ranked.iter().map(|&(_, c)| c).collect(),
            docs: Csr { n_rows: texts.len(), n_cols: n_terms, indptr, indices, data },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_ranks_by_document_frequency() {
        let tokenizer = Tokenizer::new(&[]).unwrap();
        let texts: Vec<String> =
            ["red shoe shoe", "red hat", "blue hat red", "green", "shoe"].iter().map(|s| (*s).to_owned()).collect();
        let corpus = Corpus::build(&tokenizer, &texts, 10, 2).unwrap();
        assert_eq!(corpus.vocab, ["red", "hat", "shoe"]);
        assert_eq!(corpus.doc_freq, [3, 2, 2]);
        assert_eq!(corpus.docs.indptr, [0, 2, 4, 6, 6, 7]);
        assert_eq!(corpus.docs.indices, [0, 2, 0, 1, 0, 1, 2]);
        assert_eq!(corpus.docs.data, [1, 2, 1, 1, 1, 1, 1]);
        let top1 = Corpus::build(&tokenizer, &texts, 1, 1).unwrap();
        assert_eq!(top1.vocab, ["red"]);
        assert!(Corpus::build(&tokenizer, &texts, 0, 1).is_err());
    }
}
