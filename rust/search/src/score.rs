//! The scoring passes of a search: the shopper's words (BM25, whole words before their
//! pieces, coordinated by how many of the words a product has) and the expansion keywords.

use std::cell::RefCell;

use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, Weight};
use tantivy::{Searcher, SegmentReader};

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

/// Per segment, `(doc, text score, expansion score)` in doc order. Expansions re-rank the
/// products that have the shopper's words (both lists are doc-ordered: one pass over each);
/// only when those words match nothing do the expansions' own matches become the answer.
pub(crate) fn expansion_pass(
    searcher: &Searcher,
    clauses: Vec<(Occur, Box<dyn Query>)>,
    own: Vec<Vec<(u32, f32)>>,
) -> Result<Vec<Vec<(u32, f32, f32)>>> {
    let plain =
        |own: Vec<Vec<(u32, f32)>>| own.into_iter().map(|docs| docs.into_iter().map(|(d, s)| (d, s, 0.0)).collect()).collect();
    if clauses.is_empty() {
        return Ok(plain(own));
    }
    let weight = BooleanQuery::new(clauses).weight(EnableScoring::enabled_from_searcher(searcher))?;
    let any_own = own.iter().any(|docs| !docs.is_empty());
    let mut out = Vec::with_capacity(own.len());
    for (segment, docs) in searcher.segment_readers().iter().zip(own) {
        let mut found = Vec::with_capacity(docs.len());
        if any_own {
            if !docs.is_empty() {
                found.extend(docs.iter().map(|&(doc, text)| (doc, text, 0.0)));
                let mut next = 0;
                for_each_live(weight.as_ref(), segment, &mut |doc, score| {
                    while next < found.len() && found[next].0 < doc {
                        next += 1;
                    }
                    if next < found.len() && found[next].0 == doc {
                        found[next].2 = score;
                    }
                })?;
            }
        } else {
            for_each_live(weight.as_ref(), segment, &mut |doc, score| found.push((doc, 0.0, score)))?;
        }
        out.push(found);
    }
    Ok(out)
}
