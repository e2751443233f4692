//! The scoring passes of a search: the shopper's words (BM25, whole words before their
//! pieces, coordinated by how many of the words a product has) and the expansion keywords.
//!
//! These passes score every match. A search normally scores only the matches that can reach
//! its best `limit` ([`crate::retrieve`], the same answer); these passes remain for the
//! expansions' own matches, for browsing, and as the reference the Rust tests compare with.

use std::cell::RefCell;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::Postings;
use tantivy::query::{Bm25Weight, EnableScoring, Query, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocSet, Searcher, SegmentReader, Term, TERMINATED};

use crate::error::Result;

/// The weight of `query`, scored with the searcher's BM25 statistics.
pub(crate) fn weight_of(searcher: &Searcher, query: Option<Box<dyn Query>>) -> Result<Option<Box<dyn Weight>>> {
    Ok(match query {
        Some(query) => Some(query.weight(EnableScoring::enabled_from_searcher(searcher))?),
        None => None,
    })
}

/// Calls `f(doc, score)` for every live document `weight` matches in `segment`, in doc order.
pub(crate) fn for_each_live(weight: &dyn Weight, segment: &SegmentReader, f: &mut dyn FnMut(u32, f32)) -> Result<()> {
    let alive = segment.alive_bitset();
    weight.for_each(segment, &mut |doc, score| {
        if alive.is_none_or(|a| a.is_alive(doc)) {
            f(doc, score);
        }
    })?;
    Ok(())
}

/// How strongly matching more of the shopper's words counts: the BM25 sum is multiplied by the
/// fraction of the words matched to this power (1 is Lucene's classic "coord" factor; 3 puts a
/// product with one of two words at an eighth, below nearly every product with both).
pub const COORD_POWER: i32 = 3;

/// How much a word found only as a part of a longer token (近视眼镜 for 眼镜, dhl/fedex for
/// dhl) counts: this times the BM25 of its pieces.
pub const PIECES_WEIGHT: f32 = 0.5;

/// One of the shopper's words: its exact (or typo) query, and its query as a part of longer
/// tokens. A product matching the exact query scores by it alone; one matching only the pieces
/// scores by those.
pub(crate) struct WordQuery {
    pub exact: Option<Box<dyn Query>>,
    pub pieces: Option<Box<dyn Query>>,
    /// The terms the word's score is made of, with their boosts, as alternatives: the word
    /// scores at most the largest over the alternatives of the sum of each term's best BM25
    /// times its boost (used to skip products that cannot reach the best; see
    /// [`crate::retrieve`]).
    pub bound: Vec<Vec<(Term, f32)>>,
    /// The products having the word (those `exact` or `pieces` match), as alternatives: the
    /// terms of one alternative must all be in a product. Read without scoring or a query's
    /// machinery when [`crate::retrieve`] groups the matches.
    pub matches: Vec<Vec<Term>>,
}

/// Per-thread buffers of [`coordinated_pass`], one slot per document of a segment, all zero
/// between passes (only the slots a pass touched are cleared after it; everything when a pass
/// stopped part-way).
#[derive(Default)]
struct Scratch {
    score: Vec<f32>,
    matched: Vec<u16>,
    word: Vec<u16>,
    dirty: bool,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Per segment, `(doc, score)` for the shopper's words, in doc order: the sum of the words'
/// scores (a word's exact score where it matches exactly, else its pieces' score) times the
/// fraction of the words the product matches to the power [`COORD_POWER`], so that products
/// with all of the shopper's words come before products with some of them.
pub(crate) fn coordinated_pass(searcher: &Searcher, clauses: Vec<WordQuery>) -> Result<Vec<Vec<(u32, f32)>>> {
    let n = clauses.len().max(1) as f32;
    let weights = clauses
        .into_iter()
        .map(|w| Ok((weight_of(searcher, w.exact)?, weight_of(searcher, w.pieces)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(searcher.segment_readers().len());
    for segment in searcher.segment_readers() {
        if weights.is_empty() {
            out.push(Vec::new());
            continue;
        }
        let docs = SCRATCH.with(|cell| -> Result<Vec<(u32, f32)>> {
            let mut guard = cell.borrow_mut();
            let s = &mut *guard;
            let max_doc = segment.max_doc() as usize;
            if s.dirty {
                s.score.iter_mut().for_each(|x| *x = 0.0);
                s.matched.iter_mut().for_each(|x| *x = 0);
                s.word.iter_mut().for_each(|x| *x = 0);
            }
            if s.score.len() < max_doc {
                s.score.resize(max_doc, 0.0);
                s.matched.resize(max_doc, 0);
                s.word.resize(max_doc, 0);
            }
            s.dirty = true;
            let mut touched: Vec<u32> = Vec::new();
            for (i, (exact, pieces)) in weights.iter().enumerate() {
                let mark = u16::try_from(i + 1).unwrap_or(u16::MAX);
                let (score, matched, word) = (&mut s.score, &mut s.matched, &mut s.word);
                let mut add = |doc: u32, value: f32, only_if_new: bool| {
                    let d = doc as usize;
                    if only_if_new && word[d] == mark {
                        return;
                    }
                    if matched[d] == 0 {
                        touched.push(doc);
                    }
                    matched[d] += 1;
                    score[d] += value;
                    word[d] = mark;
                };
                if let Some(w) = exact {
                    for_each_live(w.as_ref(), segment, &mut |doc, value| add(doc, value, false))?;
                }
                if let Some(w) = pieces {
                    for_each_live(w.as_ref(), segment, &mut |doc, value| add(doc, value, true))?;
                }
            }
            if touched.len() * 16 > max_doc {
                // Many matches: reading the slots in order is cheaper than sorting.
                touched.clear();
                touched.extend((0..max_doc as u32).filter(|&d| s.matched[d as usize] > 0));
            } else {
                touched.sort_unstable();
            }
            let docs = touched
                .iter()
                .map(|&doc| {
                    let d = doc as usize;
                    (doc, s.score[d] * (f32::from(s.matched[d]) / n).powi(COORD_POWER))
                })
                .collect();
            for &doc in &touched {
                let d = doc as usize;
                s.score[d] = 0.0;
                s.matched[d] = 0;
                s.word[d] = 0;
            }
            s.dirty = false;
            Ok(docs)
        })?;
        out.push(docs);
    }
    Ok(out)
}

/// One expansion keyword as the search scores it: its weight and, per token of the keyword, the
/// terms (one per text field that has the token) with their field's weight. A product's
/// expansion score is the sum over keywords, over their tokens, over the fields of the term's
/// BM25 with the boost `weight * field weight` (what tantivy gives for nested should-clauses of
/// boosted term queries, summed in the same order, so the same `f32` score).
pub(crate) struct ExpansionKeyword {
    pub weight: f32,
    pub tokens: Vec<Vec<(Term, f32)>>,
}

/// Per-thread buffers of [`expansion_pass`], one slot per document of a segment; every flag is
/// false between passes (cleared as the lists are drained; everything when a pass stopped).
#[derive(Default)]
struct ExpansionScratch {
    allowed: Vec<bool>,
    token: Vec<f32>,
    keyword: Vec<f32>,
    total: Vec<f32>,
    in_token: Vec<bool>,
    in_keyword: Vec<bool>,
    in_total: Vec<bool>,
    dirty: bool,
}

impl ExpansionScratch {
    fn fit(&mut self, max_doc: usize) {
        if self.dirty {
            for flags in [&mut self.allowed, &mut self.in_token, &mut self.in_keyword, &mut self.in_total] {
                flags.fill(false);
            }
        }
        if self.allowed.len() < max_doc {
            for flags in [&mut self.allowed, &mut self.in_token, &mut self.in_keyword, &mut self.in_total] {
                flags.resize(max_doc, false);
            }
            for values in [&mut self.token, &mut self.keyword, &mut self.total] {
                values.resize(max_doc, 0.0);
            }
        }
        self.dirty = true;
    }
}

thread_local! {
    static EXPANSION_SCRATCH: RefCell<ExpansionScratch> = RefCell::new(ExpansionScratch::default());
}

/// The BM25 weight of every term of `keywords` with its boost, as tantivy's term query
/// computes it (per keyword, per token, per field).
pub(crate) fn term_weights(searcher: &Searcher, keywords: &[ExpansionKeyword]) -> Result<Vec<Vec<Vec<Bm25Weight>>>> {
    keywords
        .iter()
        .map(|keyword| {
            keyword
                .tokens
                .iter()
                .map(|terms| {
                    terms
                        .iter()
                        .map(|(term, field_weight)| {
                            Ok(Bm25Weight::for_terms(searcher, std::slice::from_ref(term))?
                                .boost_by(keyword.weight * field_weight))
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// Per segment, `(doc, text score, expansion score)` in doc order. Expansions re-rank the
/// products that have the shopper's words; only when those words match nothing do the
/// expansions' own matches become the answer.
///
/// The postings of every expansion term are read directly and a document's BM25 is computed
/// only where it counts (a product with the shopper's words): with a few common keywords this
/// reads tens of thousands of postings per search, and a union of scorers costs several times
/// more per posting.
pub(crate) fn expansion_pass(
    searcher: &Searcher,
    keywords: &[ExpansionKeyword],
    own: Vec<Vec<(u32, f32)>>,
) -> Result<Vec<Vec<(u32, f32, f32)>>> {
    let plain =
        |own: Vec<Vec<(u32, f32)>>| own.into_iter().map(|docs| docs.into_iter().map(|(d, s)| (d, s, 0.0)).collect()).collect();
    if keywords.is_empty() {
        return Ok(plain(own));
    }
    let weights = term_weights(searcher, keywords)?;
    let any_own = own.iter().any(|docs| !docs.is_empty());
    let mut out = Vec::with_capacity(own.len());
    for (segment, docs) in searcher.segment_readers().iter().zip(own) {
        if any_own && docs.is_empty() {
            out.push(Vec::new());
            continue;
        }
        let found = EXPANSION_SCRATCH.with(|cell| -> Result<Vec<(u32, f32, f32)>> {
            let mut guard = cell.borrow_mut();
            let s = &mut *guard;
            let max_doc = segment.max_doc() as usize;
            s.fit(max_doc);
            let alive = segment.alive_bitset();
            if any_own {
                for &(doc, _) in &docs {
                    s.allowed[doc as usize] = true;
                }
            }
            let (mut token_docs, mut keyword_docs, mut total_docs) = (Vec::new(), Vec::new(), Vec::new());
            for (keyword, keyword_weights) in keywords.iter().zip(&weights) {
                for (terms, term_weights) in keyword.tokens.iter().zip(keyword_weights) {
                    for ((term, _), bm25) in terms.iter().zip(term_weights) {
                        let field = term.field();
                        let Some(mut postings) =
                            segment.inverted_index(field)?.read_postings(term, IndexRecordOption::WithFreqs)?
                        else {
                            continue;
                        };
                        let norms = segment
                            .fieldnorms_readers()
                            .get_field(field)?
                            .unwrap_or_else(|| FieldNormReader::constant(segment.max_doc(), 1));
                        let mut doc = postings.doc();
                        while doc != TERMINATED {
                            let d = doc as usize;
                            let counts = if any_own { s.allowed[d] } else { alive.is_none_or(|a| a.is_alive(doc)) };
                            if counts {
                                if !s.in_token[d] {
                                    s.in_token[d] = true;
                                    s.token[d] = 0.0;
                                    token_docs.push(doc);
                                }
                                s.token[d] += bm25.score(norms.fieldnorm_id(doc), postings.term_freq());
                            }
                            doc = postings.advance();
                        }
                    }
                    for doc in token_docs.drain(..) {
                        let d = doc as usize;
                        s.in_token[d] = false;
                        if !s.in_keyword[d] {
                            s.in_keyword[d] = true;
                            s.keyword[d] = 0.0;
                            keyword_docs.push(doc);
                        }
                        s.keyword[d] += s.token[d];
                    }
                }
                for doc in keyword_docs.drain(..) {
                    let d = doc as usize;
                    s.in_keyword[d] = false;
                    if !s.in_total[d] {
                        s.in_total[d] = true;
                        s.total[d] = 0.0;
                        total_docs.push(doc);
                    }
                    s.total[d] += s.keyword[d];
                }
            }
            let found = if any_own {
                let found = docs
                    .iter()
                    .map(|&(doc, text)| {
                        let d = doc as usize;
                        (doc, text, if s.in_total[d] { s.total[d] } else { 0.0 })
                    })
                    .collect();
                for &(doc, _) in &docs {
                    s.allowed[doc as usize] = false;
                }
                found
            } else {
                total_docs.sort_unstable();
                total_docs.iter().map(|&doc| (doc, 0.0, s.total[doc as usize])).collect()
            };
            for &doc in &total_docs {
                s.in_total[doc as usize] = false;
            }
            s.dirty = false;
            Ok(found)
        })?;
        out.push(found);
    }
    Ok(out)
}
