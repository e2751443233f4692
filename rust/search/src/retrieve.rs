//! Retrieval that scores only the products that can reach the best `limit`.
//!
//! A product's text score is the BM25 sum of the shopper's words it has times the fraction of
//! the words it has to the power [`COORD_POWER`] (see [`crate::score`]), plus its expansion
//! score. So products with `m` of the `n` words score at most
//! `(sum of the m best word bounds) * (m/n)^3 + expansion bound`, where a word's bound is the
//! best BM25 its terms give any product (read once per index generation). The search:
//!
//! 1. reads which products have each word, without scoring (its terms' postings, a block at a
//!    time), and counts per product how many words it has; every match passing the filters is
//!    counted (`total`) and its facets counted, and its word count kept as bit planes (the
//!    products of one word count are listed only when that group is scored);
//! 2. scores the groups from `m = n` down, each exactly as the full pass would (tantivy's own
//!    scorers, moved to each product with `seek`; expansion postings likewise), and stops as
//!    soon as a group's bound is below the `limit`-th best score found so far: no product of
//!    that group or a lower one can reach the best `limit`, or tie with them. Within a group
//!    whose bound is not that low, a product having too few of the expansion terms to make up
//!    the difference (the `c` largest term bounds for `c` terms) is skipped too; the expansion
//!    postings are read once for both, counting and scoring.
//!
//! The products returned are therefore exactly those the full pass returns, with the same
//! scores to the bit (a Rust test compares both on random catalogues). Filters are applied
//! while grouping, before any cut, so a filter never leaves fewer than `limit` results when
//! `limit` matching products pass it.

use std::cell::RefCell;
use std::collections::HashMap;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::Postings;
use tantivy::query::{Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocSet, Searcher, Term, TERMINATED};

use crate::error::Result;
use crate::filters::{SegmentFacet, SegmentFilter};
use crate::generation::Generation;
use crate::index::Condition;
use crate::schema::FilterKind;
use crate::score::{term_weights, weight_of, ExpansionKeyword, WordQuery, COORD_POWER};

/// A word's exact and pieces weights.
type WordWeights = (Option<Box<dyn Weight>>, Option<Box<dyn Weight>>);

/// A scored match that passed the filters.
pub(crate) struct Kept {
    pub score: f32,
    pub popularity: f64,
    pub segment: u32,
    pub doc: u32,
    pub id_ord: u64,
    pub text: f32,
}

/// What [`retrieve`] found.
pub(crate) struct Retrieved {
    /// Every match that can be among the best `limit` (and possibly more), scored.
    pub kept: Vec<Kept>,
    /// How many products match after the filters.
    pub total: u64,
    /// Per requested facet, value counts over all matches after the filters.
    pub facets: Vec<HashMap<String, u64>>,
}

thread_local! {
    /// Per-thread buffers of the grouping pass: per word, a bitset of the documents having it
    /// (and two more for the alternatives of several terms).
    static WORD_BITS: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// Per-thread [`DocPositions`] of [`expansion_of_group`].
    static POSITIONS: RefCell<DocPositions> = RefCell::new(DocPositions::default());
}

/// The documents being scored (in doc order) as a bitset with the number of them before each
/// 64 documents: a document's position among them is that number plus the set bits below it.
/// Kept small on purpose (12.5 KB of bits and 6 KB of counts per 100,000 products, against 400 KB
/// for a position per document): a search runs between the keyword model and the recommender,
/// which push its data out of the core's cache, and each lookup is a read at a random document.
#[derive(Default)]
struct DocPositions {
    bits: Vec<u64>,
    before: Vec<u32>,
}

impl DocPositions {
    fn fill(&mut self, docs: &[u32], max_doc: usize) {
        let words = max_doc.div_ceil(64);
        self.bits.clear();
        self.bits.resize(words, 0);
        for &doc in docs {
            self.bits[doc as usize / 64] |= 1 << (doc % 64);
        }
        self.before.clear();
        let mut count = 0u32;
        for &word in &self.bits {
            self.before.push(count);
            count += word.count_ones();
        }
    }

    /// The position of `doc` among the documents, if it is one of them.
    #[inline]
    fn position(&self, doc: u32) -> Option<usize> {
        let w = doc as usize / 64;
        let word = self.bits[w];
        let bit = 1u64 << (doc % 64);
        (word & bit != 0).then(|| self.before[w] as usize + (word & (bit - 1)).count_ones() as usize)
    }
}

/// How much a bound computed in `f64` from per-term bounds is widened to cover the rounding
/// of the `f32` scores it bounds (a few ulps per operation).
const BOUND_MARGIN: f64 = 1e-4;

/// The shopper's words' matches, grouped, scored as far as needed; `None` when the words match
/// no live product (the expansions' own matches are then the answer: see [`crate::score`]).
pub(crate) fn retrieve(
    searcher: &Searcher,
    generation: &Generation,
    words: Vec<WordQuery>,
    keywords: &[ExpansionKeyword],
    filters: &[(usize, Condition)],
    facets: &[(usize, FilterKind)],
    limit: usize,
) -> Result<Option<Retrieved>> {
    let n = words.len();
    let mut bounds = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    let mut matches = Vec::with_capacity(n);
    for word in words {
        bounds.push(word.bound);
        matches.push(word.matches);
        weights.push((weight_of(searcher, word.exact)?, weight_of(searcher, word.pieces)?));
    }
    let Some(Grouped { groups, total, facets: facet_counts }) = group(searcher, generation, &matches, filters, facets)? else {
        return Ok(None);
    };

    let expansion_weights = term_weights(searcher, keywords)?;
    let mut kept: Vec<Kept> = Vec::new();
    let mut word_bounds: Option<Bounds> = None;
    for m in (1..=n).rev() {
        if limit == 0 {
            break;
        }
        // The most the expansions may add for a product to still reach the best `limit`.
        let mut needed: Option<(f64, &[f64])> = None;
        if m < n && kept.len() >= limit {
            if word_bounds.is_none() {
                word_bounds = Some(bounds_of(searcher, generation, &bounds, keywords)?);
            }
            let Some(b) = &word_bounds else { unreachable!("set above") };
            let mut scores: Vec<f32> = kept.iter().map(|k| k.score).collect();
            let (_, cut, _) = scores.select_nth_unstable_by(limit - 1, |a, b| b.total_cmp(a));
            let cut = f64::from(*cut);
            let best_m: f64 = b.words[..m].iter().sum();
            let fraction = f64::from(u32::try_from(m).unwrap_or(u32::MAX)) / n as f64;
            let text_bound = best_m * fraction.powi(COORD_POWER) * (1.0 + BOUND_MARGIN);
            if text_bound + b.expansion * (1.0 + BOUND_MARGIN) < cut {
                #[cfg(test)]
                tests::PRUNED.with(|p| p.set(p.get() + 1));
                break;
            }
            needed = Some((cut - text_bound, &b.expansion_terms));
        }
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let all = &groups[ord].with_count(m);
            if all.is_empty() {
                continue;
            }
            let (docs, expansion) = expansion_of_group(segment, keywords, &expansion_weights, all, needed)?;
            #[cfg(test)]
            tests::SKIPPED.with(|p| p.set(p.get() + all.len() - docs.len()));
            let text = text_scores(segment, &weights, &docs, m, n)?;
            for ((&doc, text), expansion) in docs.iter().zip(text).zip(expansion) {
                kept.push(Kept { score: text + expansion, popularity: 0.0, segment: ord as u32, doc, id_ord: u64::MAX, text });
            }
        }
    }
    Ok(Some(Retrieved { kept, total, facets: facet_counts }))
}

/// The matches of [`group`]: per segment, the matches passing the filters with how many words
/// each has ([`SegmentMatches`]); how many they are; the facet counts over them.
struct Grouped {
    groups: Vec<SegmentMatches>,
    total: u64,
    facets: Vec<HashMap<String, u64>>,
}

/// One segment's matches passing the filters, 64 documents at a time: the documents of block
/// `word` (documents `64 * word ..`) that match, and how many of the words each has, as six bit
/// planes (bit `k` of a document's count in plane `k`). Most searches score only the products
/// having all or nearly all the words, so the documents of a word count are listed only when
/// that count is scored ([`SegmentMatches::with_count`]), not every match up front.
#[derive(Default)]
struct SegmentMatches {
    blocks: Vec<MatchBlock>,
}

struct MatchBlock {
    word: u32,
    valid: u64,
    planes: [u64; 6],
}

impl SegmentMatches {
    /// The matching documents having exactly `m` of the words, in doc order.
    fn with_count(&self, m: usize) -> Vec<u32> {
        let mut out = Vec::new();
        for block in &self.blocks {
            let mut mask = block.valid;
            for (k, plane) in block.planes.iter().enumerate() {
                mask &= if (m >> k) & 1 == 1 { *plane } else { !*plane };
            }
            while mask != 0 {
                out.push(block.word * 64 + mask.trailing_zeros());
                mask &= mask - 1;
            }
        }
        out
    }
}

/// Reads which products have each word (its [`WordQuery::matches`](crate::score::WordQuery),
/// without scoring), filters them, counts them and their facets and groups them by how many of
/// the words they have; `None` when no live product has any of the words.
fn group(
    searcher: &Searcher,
    generation: &Generation,
    words: &[Vec<Vec<Term>>],
    filters: &[(usize, Condition)],
    facets: &[(usize, FilterKind)],
) -> Result<Option<Grouped>> {
    let mut total = 0u64;
    let mut facet_counts: Vec<HashMap<String, u64>> = vec![HashMap::new(); facets.len()];
    let n = words.len();
    let mut groups: Vec<SegmentMatches> = Vec::with_capacity(searcher.segment_readers().len());
    let mut any = false;
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let mut matches = SegmentMatches::default();
        if n == 0 {
            groups.push(matches);
            continue;
        }
        let cached = &generation.filters[ord];
        let seg_filters = filters
            .iter()
            .map(|(i, c)| SegmentFilter::new(segment, *i, c, cached.get(*i).and_then(Option::as_ref)))
            .collect::<Result<Vec<_>>>()?;
        let per_doc: Vec<&SegmentFilter<'_>> = seg_filters.iter().filter(|f| f.word_mask(0).is_none()).collect();
        let mut seg_facets = facets.iter().map(|(i, kind)| SegmentFacet::new(segment, *i, *kind)).collect::<Result<Vec<_>>>()?;
        let words64 = (segment.max_doc() as usize).div_ceil(64);
        WORD_BITS.with(|cell| -> Result<()> {
            let mut guard = cell.borrow_mut();
            // A bitset per word, then two scratch sets for the alternatives of several terms.
            if guard.len() < n + 2 {
                guard.resize_with(n + 2, Vec::new);
            }
            let (bits, scratch) = guard.split_at_mut(n);
            let (all, term) = scratch.split_at_mut(1);
            for (alternatives, bits) in words.iter().zip(bits.iter_mut()) {
                bits.clear();
                bits.resize(words64, 0);
                mark_word(segment, alternatives, bits, &mut all[0], &mut term[0])?;
            }
            let bits = &guard[..n];
            let alive = segment.alive_bitset();
            for w in 0..words64 {
                let mut union = bits.iter().fold(0u64, |u, b| u | b[w]);
                if let Some(alive) = alive {
                    union = keep_bits(union, w, |doc| alive.is_alive(doc));
                }
                if union == 0 {
                    continue;
                }
                any = true;
                let mut valid = seg_filters.iter().fold(union, |v, f| f.word_mask(w).map_or(v, |mask| v & mask));
                if !per_doc.is_empty() {
                    valid = keep_bits(valid, w, |doc| per_doc.iter().all(|f| f.accepts(doc)));
                }
                if valid == 0 {
                    continue;
                }
                total += u64::from(valid.count_ones());
                // How many words each document has, as six bit planes (counts up to 63).
                let mut planes = [0u64; 6];
                for b in bits {
                    let mut carry = b[w] & valid;
                    for plane in &mut planes {
                        if carry == 0 {
                            break;
                        }
                        let next = *plane & carry;
                        *plane ^= carry;
                        carry = next;
                    }
                }
                if !seg_facets.is_empty() {
                    let mut left = valid;
                    while left != 0 {
                        let doc = (w * 64) as u32 + left.trailing_zeros();
                        left &= left - 1;
                        for facet in &mut seg_facets {
                            facet.count(doc);
                        }
                    }
                }
                matches.blocks.push(MatchBlock { word: w as u32, valid, planes });
            }
            Ok(())
        })?;
        for (facet, counts) in seg_facets.into_iter().zip(facet_counts.iter_mut()) {
            facet.merge_into(counts)?;
        }
        groups.push(matches);
    }
    Ok(any.then_some(Grouped { groups, total, facets: facet_counts }))
}

/// Sets the bit of every document having the word of `alternatives` (see [`group`]); `all`
/// and `term` are scratch bitsets.
fn mark_word(
    segment: &tantivy::SegmentReader,
    alternatives: &[Vec<Term>],
    bits: &mut [u64],
    all: &mut Vec<u64>,
    term: &mut Vec<u64>,
) -> Result<()> {
    // A product has a word by any alternative: by having all of its terms.
    for alternative in alternatives {
        match alternative.as_slice() {
            [] => {}
            [only] => mark_term(segment, only, bits)?,
            [first, rest @ ..] => {
                all.clear();
                all.resize(bits.len(), 0);
                mark_term(segment, first, all)?;
                for other in rest {
                    term.clear();
                    term.resize(bits.len(), 0);
                    mark_term(segment, other, term)?;
                    for (a, t) in all.iter_mut().zip(term.iter()) {
                        *a &= t;
                    }
                }
                for (b, a) in bits.iter_mut().zip(all.iter()) {
                    *b |= a;
                }
            }
        }
    }
    Ok(())
}

/// Sets the bit of every document having `term` (live or deleted, as a query's postings).
fn mark_term(segment: &tantivy::SegmentReader, term: &Term, bits: &mut [u64]) -> Result<()> {
    let Some(mut block) = segment.inverted_index(term.field())?.read_block_postings(term, IndexRecordOption::Basic)? else {
        return Ok(());
    };
    loop {
        let docs = block.docs();
        if docs.is_empty() {
            return Ok(());
        }
        for &doc in docs {
            bits[doc as usize / 64] |= 1 << (doc % 64);
        }
        block.advance();
    }
}

/// The bits of `bits` (documents `64 * word ..`) whose document passes `keep`.
fn keep_bits(bits: u64, word: usize, keep: impl Fn(u32) -> bool) -> u64 {
    let mut out = bits;
    let mut left = bits;
    while left != 0 {
        let bit = left.trailing_zeros();
        left &= left - 1;
        if !keep((word * 64) as u32 + bit) {
            out &= !(1 << bit);
        }
    }
    out
}

/// Upper bounds of a search's scores (see the module docs).
struct Bounds {
    /// Per word, the most it adds to a product's score, best first.
    words: Vec<f64>,
    /// The most the expansions add.
    expansion: f64,
    /// Per expansion term (keyword, token, field), the most it adds, best first.
    expansion_terms: Vec<f64>,
}

/// The words' bounds and the expansions' (see the module docs).
fn bounds_of(
    searcher: &Searcher,
    generation: &Generation,
    words: &[Vec<Vec<(Term, f32)>>],
    keywords: &[ExpansionKeyword],
) -> Result<Bounds> {
    let sum = |terms: &[(Term, f32)]| -> Result<f64> {
        let mut total = 0.0;
        for (term, boost) in terms {
            total += f64::from(generation.bound(searcher, term)?) * f64::from(*boost);
        }
        Ok(total)
    };
    let mut best = Vec::with_capacity(words.len());
    for alternatives in words {
        let mut top = 0.0f64;
        for terms in alternatives {
            top = top.max(sum(terms)?);
        }
        best.push(top);
    }
    best.sort_by(|a, b| b.total_cmp(a));
    let mut expansion_terms = Vec::new();
    for keyword in keywords {
        for terms in &keyword.tokens {
            for (term, weight) in terms {
                expansion_terms.push(sum(&[(term.clone(), keyword.weight * weight)])?);
            }
        }
    }
    let expansion = expansion_terms.iter().sum();
    expansion_terms.sort_by(|a, b| b.total_cmp(a));
    Ok(Bounds { words: best, expansion, expansion_terms })
}

/// Moves `scorer` to `doc` (never backwards); whether it matches `doc`.
fn at(scorer: &mut dyn Scorer, doc: u32) -> bool {
    if scorer.doc() < doc {
        scorer.seek(doc);
    }
    scorer.doc() == doc
}

/// The coordinated text score of `docs` (in doc order), each having `m` of the `n` words: the
/// same operations in the same order as [`crate::score::coordinated_pass`].
fn text_scores(segment: &tantivy::SegmentReader, weights: &[WordWeights], docs: &[u32], m: usize, n: usize) -> Result<Vec<f32>> {
    let mut text = vec![0.0f32; docs.len()];
    for (exact, pieces) in weights {
        let mut exact = exact.as_ref().map(|w| w.scorer(segment, 1.0)).transpose()?;
        let mut pieces = pieces.as_ref().map(|w| w.scorer(segment, 1.0)).transpose()?;
        for (score, &doc) in text.iter_mut().zip(docs) {
            // A word scores by its exact match where it has one, else by its pieces.
            let mut found = false;
            if let Some(s) = exact.as_mut() {
                if at(s.as_mut(), doc) {
                    *score += s.score();
                    found = true;
                }
            }
            if !found {
                if let Some(s) = pieces.as_mut() {
                    if at(s.as_mut(), doc) {
                        *score += s.score();
                    }
                }
            }
        }
    }
    let count = f32::from(u16::try_from(m).unwrap_or(u16::MAX));
    let factor = (count / n.max(1) as f32).powi(COORD_POWER);
    for score in &mut text {
        *score *= factor;
    }
    Ok(text)
}

/// Of `docs` (in doc order, of one group), those whose expansion terms may add at least
/// `needed` (when given), with their expansion scores: the same sums in the same order as
/// [`crate::score::expansion_pass`].
///
/// A product having `c` of the terms gets at most the `c` largest term bounds (`needed`'s
/// slice, best first), so one having too few of them is dropped. Each term's postings are read
/// once for both: where they are long against `docs`, `docs` are jumped to; otherwise the
/// postings are decoded a block at a time and each document looked up in a per-thread bitset of
/// `docs` ([`DocPositions`]), which costs no branch per document of `docs`.
fn expansion_of_group(
    segment: &tantivy::SegmentReader,
    keywords: &[ExpansionKeyword],
    weights: &[Vec<Vec<tantivy::query::Bm25Weight>>],
    docs: &[u32],
    needed: Option<(f64, &[f64])>,
) -> Result<(Vec<u32>, Vec<f32>)> {
    // How many of the terms a product needs (0: no minimum).
    let mut enough = 0usize;
    if let Some((needed, term_bounds)) = needed {
        let mut sum = 0.0;
        for bound in term_bounds {
            if sum * (1.0 + BOUND_MARGIN) >= needed {
                break;
            }
            sum += bound;
            enough += 1;
        }
        if sum * (1.0 + BOUND_MARGIN) < needed {
            return Ok((Vec::new(), Vec::new())); // not even every term together
        }
    }
    let mut total = vec![0.0f32; docs.len()];
    if keywords.is_empty() || docs.is_empty() {
        return Ok((docs.to_vec(), total));
    }
    let mut count = vec![0u16; docs.len()];
    let (mut keyword_score, mut token_score) = (vec![0.0f32; docs.len()], vec![0.0f32; docs.len()]);
    POSITIONS.with(|cell| -> Result<()> {
        let mut positions = cell.borrow_mut();
        positions.fill(docs, segment.max_doc() as usize);
        for (keyword, keyword_weights) in keywords.iter().zip(weights) {
            keyword_score.fill(0.0);
            for (terms, term_weights) in keyword.tokens.iter().zip(keyword_weights) {
                token_score.fill(0.0);
                for ((term, _), bm25) in terms.iter().zip(term_weights) {
                    add_term(segment, term, bm25, docs, &positions, &mut token_score, &mut count)?;
                }
                for (k, t) in keyword_score.iter_mut().zip(&token_score) {
                    *k += *t;
                }
            }
            for (total, k) in total.iter_mut().zip(&keyword_score) {
                *total += *k;
            }
        }
        Ok(())
    })?;
    if enough == 0 {
        return Ok((docs.to_vec(), total));
    }
    Ok(docs
        .iter()
        .zip(total)
        .zip(count)
        .filter(|(_, c)| usize::from(*c) >= enough)
        .map(|((&doc, total), _)| (doc, total))
        .unzip())
}

/// Adds one expansion term's BM25 to `score` and one to `count` for each of `docs` having it
/// (`positions` holds `docs`).
fn add_term(
    segment: &tantivy::SegmentReader,
    term: &Term,
    bm25: &tantivy::query::Bm25Weight,
    docs: &[u32],
    positions: &DocPositions,
    score: &mut [f32],
    count: &mut [u16],
) -> Result<()> {
    let field = term.field();
    let inverted = segment.inverted_index(field)?;
    let norms = segment.fieldnorms_readers().get_field(field)?.unwrap_or_else(|| FieldNormReader::constant(segment.max_doc(), 1));
    let Some(term_info) = inverted.get_term_info(term)? else {
        return Ok(());
    };
    if docs.len() * 4 < term_info.doc_freq as usize {
        // Few documents against a long list: jump to each.
        let mut postings = inverted.read_postings_from_terminfo(&term_info, IndexRecordOption::WithFreqs)?;
        for (j, &doc) in docs.iter().enumerate() {
            let mut at = postings.doc();
            if at < doc {
                at = postings.seek(doc);
            }
            if at == TERMINATED {
                break;
            }
            if at == doc {
                score[j] += bm25.score(norms.fieldnorm_id(doc), postings.term_freq());
                count[j] += 1;
            }
        }
    } else {
        // Many: every block of the list, each document looked up.
        let mut block = inverted.read_block_postings_from_terminfo(&term_info, IndexRecordOption::WithFreqs)?;
        loop {
            let block_docs = block.docs();
            if block_docs.is_empty() {
                break;
            }
            for (i, &doc) in block_docs.iter().enumerate() {
                if let Some(j) = positions.position(doc) {
                    score[j] += bm25.score(norms.fieldnorm_id(doc), block.freq(i));
                    count[j] += 1;
                }
            }
            block.advance();
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use crate::index::{Condition, Filter, SearchIndex, SearchQuery};
    use crate::schema::{Config, FilterKind, Product, Value};

    thread_local! {
        /// How many times a search stopped scoring at a group's bound (so the test below is
        /// known to compare searches that did skip products).
        pub(crate) static PRUNED: Cell<usize> = const { Cell::new(0) };
        /// How many products of scored groups were skipped for having too few expansion terms.
        pub(crate) static SKIPPED: Cell<usize> = const { Cell::new(0) };
    }

    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) as usize % n
        }
    }

    const WORDS: [&str; 16] = [
        "red",
        "blue",
        "shoes",
        "hat",
        "warm",
        "wool",
        "boots",
        "light",
        "leather",
        "jacket",
        "联想",
        "游戏本",
        "连衣裙",
        "显示器",
        "百思图",
        "红色",
    ];
    const QUERY_WORDS: [&str; 10] = ["戏本", "想游", "示器", "leathr", "jackte", "bots", "思图", "x1", "lite", "衣裙"];

    fn text(rng: &mut Lcg, n: usize) -> String {
        let mut out = String::new();
        for _ in 0..n {
            let word = WORDS[rng.below(WORDS.len())];
            // Chinese words often run together in titles; so may Latin ones ("gps_wifi").
            if !out.is_empty() && rng.below(3) != 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }

    /// Scoring only the groups that can reach the best `limit` returns exactly what scoring
    /// every match returns (hits, scores to the bit, totals, facets), on random catalogues of
    /// English and Chinese titles with two or three text fields, filters, expansions, typos,
    /// deletes and small limits.
    #[test]
    fn pruned_retrieval_equals_scoring_every_match() {
        let mut rng = Lcg(11);
        let before = PRUNED.with(Cell::get);
        let skipped = SKIPPED.with(Cell::get);
        let mut searches = 0;
        for catalogue in 0..6 {
            let fields = 2 + catalogue % 2;
            let config = Config {
                text_fields: (0..fields).map(|i| (format!("t{i}"), [2.0, 1.0, 0.5][i])).collect(),
                filter_fields: vec![
                    ("category".into(), FilterKind::Str),
                    ("price".into(), FilterKind::Number),
                    ("in_stock".into(), FilterKind::Bool),
                ],
                user_words: vec![],
                stock_field: Some("in_stock".into()),
            };
            let index = SearchIndex::create(&config, None, 1).unwrap();
            let n = 150 + 100 * catalogue;
            let products: Vec<Product> = (0..n)
                .map(|i| Product {
                    id: format!("p{i}"),
                    texts: (0..fields)
                        .map(|f| {
                            if f == 0 || rng.below(2) == 0 {
                                let words = 1 + rng.below(5);
                                text(&mut rng, words)
                            } else {
                                String::new()
                            }
                        })
                        .collect(),
                    values: vec![
                        Value::Str(vec![["a", "b", "c"][rng.below(3)].to_owned()]),
                        if rng.below(10) == 0 { Value::Missing } else { Value::Number(rng.below(50) as f64) },
                        Value::Bool(rng.below(10) != 0),
                    ],
                    popularity: rng.below(4) as f64,
                })
                .collect();
            index.add(&products[..n / 2]).unwrap();
            index.add(&products[n / 2..]).unwrap();
            index.delete(&[format!("p{}", rng.below(n)), format!("p{}", rng.below(n))]).unwrap();
            for _ in 0..150 {
                let words = 1 + rng.below(3);
                let query: Vec<&str> = (0..words)
                    .map(|_| {
                        if rng.below(3) == 0 {
                            QUERY_WORDS[rng.below(QUERY_WORDS.len())]
                        } else {
                            WORDS[rng.below(WORDS.len())]
                        }
                    })
                    .collect();
                let expansions =
                    (0..rng.below(4)).map(|i| (WORDS[rng.below(WORDS.len())].to_owned(), [0.3, 0.2, 0.1][i % 3])).collect();
                let filters = match rng.below(4) {
                    0 => vec![],
                    1 => vec![Filter { field: "in_stock".into(), condition: Condition::Bool(true) }],
                    2 => vec![Filter { field: "price".into(), condition: Condition::Range { min: Some(10.0), max: None } }],
                    _ => vec![
                        Filter { field: "category".into(), condition: Condition::AnyOf(vec!["a".into(), "c".into()]) },
                        Filter { field: "in_stock".into(), condition: Condition::Bool(true) },
                    ],
                };
                let query = SearchQuery {
                    text: query.join(" "),
                    expansions,
                    typos: rng.below(2) == 0,
                    filters,
                    facets: if rng.below(2) == 0 { vec!["category".into(), "in_stock".into()] } else { vec![] },
                    limit: [0, 1, 3, 10, 1000][rng.below(5)],
                    browse_if_empty: false,
                };
                let pruned = index.search_with(&query, false).unwrap();
                let full = index.search_with(&query, true).unwrap();
                assert_eq!(pruned, full, "{query:?}");
                searches += 1;
            }
        }
        assert_eq!(searches, 900);
        assert!(PRUNED.with(Cell::get) > before + 50, "the searches hardly ever skipped a group");
        assert!(SKIPPED.with(Cell::get) > skipped + 50, "the searches hardly ever skipped a product by its expansions");
    }
}
