//! Per-request scoring of neighbourhood recommenders: top-N from a sparse combination of
//! rows, rating prediction from the k nearest rated neighbours, and explanations.
//!
//! # Scoring
//! A query is a sparse vector over "sources" (`(source, weight)` pairs) and `sources` is a CSR
//! matrix `n_sources x n_items`. The score of item `i` is `sum_t weight_t * sources[t, i]`.
//! Item-based kNN: the sources are the user's history items, weighted by the user's values,
//! and `sources` is the item-item neighbour matrix (row `j` = the neighbours of item `j`).
//! User-based kNN: the sources are the user's neighbour users weighted by similarity, and
//! `sources` is the user-item matrix. Only touched items are accumulated (one reusable
//! dense row per thread, reset through the touched list), so a request costs
//! `O(touched + k)`, not `O(n_items)`; a query touching more than `n_items` entries switches to
//! a dense scan of the row, which is cheaper then.
//!
//! # Ranking
//! Candidates are ranked by score descending, ties by `tiebreak` descending (the model passes
//! item popularity), then by the lower item index. Items the query never touches score 0 and
//! still compete, so exactly `k` results come back whenever `k` candidates exist; they are
//! visited in `order` (the items sorted by that same tie-break), which lets the scan stop at
//! the first one that cannot enter. Rows with fewer than `k` candidates are padded with id
//! `-1` and score `-inf`. NaN scores are never returned.

use std::cell::RefCell;
use std::cmp::Ordering;

use rayon::prelude::*;

use crate::csr::CsrView;
use crate::error::{Error, Result};

/// Popularity (or any secondary key) used to break score ties, with the items in order of it.
#[derive(Debug, Clone, Copy)]
pub struct Ranking<'a> {
    /// Secondary key per item; larger wins a score tie. Finite.
    pub tiebreak: &'a [f32],
    /// Every item exactly once, sorted by `tiebreak` descending, then index ascending.
    pub order: &'a [i32],
}

impl<'a> Ranking<'a> {
    /// Checks that `order` is the permutation sorted by `tiebreak` (descending, ties by index).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a non-finite tie-break, a wrong length or an `order`
    /// that is not that permutation.
    pub fn new(tiebreak: &'a [f32], order: &'a [i32]) -> Result<Self> {
        let n = tiebreak.len();
        if order.len() != n {
            return Err(Error::shape("order", format!("{} ids for {n} items", order.len())));
        }
        if let Some(bad) = tiebreak.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid("tiebreak", format!("value at {bad} is not finite")));
        }
        let mut seen = vec![false; n];
        for (pos, &id) in order.iter().enumerate() {
            if id < 0 || id as usize >= n || seen[id as usize] {
                return Err(Error::invalid("order", format!("is not a permutation of 0..{n} (at {pos})")));
            }
            seen[id as usize] = true;
            if pos > 0 {
                let prev = order[pos - 1];
                if compare_keys(0.0, tiebreak[prev as usize], prev, 0.0, tiebreak[id as usize], id) != Ordering::Less {
                    return Err(Error::invalid("order", format!("is not sorted by tie-break at position {pos}")));
                }
            }
        }
        Ok(Ranking { tiebreak, order })
    }

    #[must_use]
    pub fn n_items(&self) -> usize {
        self.tiebreak.len()
    }
}

/// `Less` when `a` ranks before `b`.
#[inline]
fn compare_keys(score_a: f32, tie_a: f32, id_a: i32, score_b: f32, tie_b: f32, id_b: i32) -> Ordering {
    match score_b.partial_cmp(&score_a) {
        Some(Ordering::Equal) | None => {}
        Some(order) => return order,
    }
    match tie_b.partial_cmp(&tie_a) {
        Some(Ordering::Equal) | None => {}
        Some(order) => return order,
    }
    id_a.cmp(&id_b)
}

/// Candidate restrictions of one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filters<'a> {
    /// Only these items may be returned (duplicates are fine). `None`: every item.
    pub include: Option<&'a [i32]>,
    /// These items are never returned.
    pub exclude: &'a [i32],
}

/// The best `k` candidates seen so far, best first.
struct Best {
    k: usize,
    entries: Vec<(f32, f32, i32)>,
}

impl Best {
    fn reset(&mut self, k: usize) {
        self.k = k;
        self.entries.clear();
    }

    #[inline]
    fn is_full(&self) -> bool {
        self.entries.len() >= self.k
    }

    /// The score below which nothing can enter (`-inf` until the buffer is full): one float
    /// comparison rejects almost every candidate before the full key comparison.
    #[inline]
    fn floor(&self) -> f32 {
        if self.is_full() {
            self.entries.last().map_or(f32::NEG_INFINITY, |e| e.0)
        } else {
            f32::NEG_INFINITY
        }
    }

    /// Would a candidate enter the buffer?
    #[inline]
    fn admits(&self, score: f32, tie: f32, id: i32) -> bool {
        if !self.is_full() {
            return true;
        }
        let &(ws, wt, wi) = self.entries.last().expect("k >= 1");
        compare_keys(score, tie, id, ws, wt, wi) == Ordering::Less
    }

    /// Inserts a candidate that [`Best::admits`] accepted (callers test first: the test is
    /// inlined, the insertion is not). Offering an item already held does nothing.
    #[inline(never)]
    fn offer(&mut self, score: f32, tie: f32, id: i32) {
        if !self.admits(score, tie, id) {
            return;
        }
        let pos = self.entries.partition_point(|&(s, t, i)| compare_keys(s, t, i, score, tie, id) == Ordering::Less);
        // An equal key is the same item offered again (ids are unique): keep it once.
        if self.entries.get(pos).is_some_and(|e| e.2 == id) {
            return;
        }
        // O(k) per insert: fine for the k of a recommendation list; a request for the whole
        // catalogue still finishes in milliseconds.
        self.entries.insert(pos, (score, tie, id));
        if self.entries.len() > self.k {
            self.entries.pop();
        }
    }

    fn write(&self, out_ids: &mut [i32], out_scores: &mut [f32]) {
        for (j, (id, score)) in out_ids.iter_mut().zip(out_scores.iter_mut()).enumerate() {
            (*id, *score) = self.entries.get(j).map_or((-1, f32::NEG_INFINITY), |&(s, _, i)| (i, s));
        }
    }
}

/// How many source rows ahead of the scatter loop [`prefetch_row`] runs.
const PREFETCH_AHEAD: usize = 4;

const EXCLUDED: u8 = 2;
const INCLUDED: u8 = 4;

/// Per-thread working memory: a dense score row and item flags, kept all-zero between
/// requests, and the list of touched items (at most one more entry than the catalogue).
struct Scratch {
    scores: Vec<f32>,
    flags: Vec<u8>,
    touched: Vec<i32>,
    best: Best,
}

impl Scratch {
    const fn new() -> Self {
        Scratch { scores: Vec::new(), flags: Vec::new(), touched: Vec::new(), best: Best { k: 1, entries: Vec::new() } }
    }

    fn fit(&mut self, n_items: usize) {
        if self.scores.len() < n_items {
            self.scores.resize(n_items, 0.0);
            self.flags.resize(n_items, 0);
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch::new()) };
}

/// The number of result slots per query: `k`, but never more than the catalogue (so a huge
/// `k` cannot allocate more than the catalogue's size).
#[must_use]
pub fn effective_k(k: usize, n_items: usize) -> usize {
    k.min(n_items.max(1))
}

fn check_ids(name: &'static str, ids: &[i32], n: usize) -> Result<()> {
    if let Some(&bad) = ids.iter().find(|&&id| id < 0 || id as usize >= n) {
        return Err(Error::invalid(name, format!("id {bad} is out of range for {n} items")));
    }
    Ok(())
}

/// One query: the sources it touches with their weights, and the items it has already seen.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub sources: &'a [i32],
    pub weights: &'a [f32],
    /// Items excluded because the user has them already (empty for none).
    pub seen: &'a [i32],
}

/// Asks the cache for row `row` of `matrix` ahead of its use: the rows a query visits are
/// scattered through the matrix, and the scatter loop otherwise waits for each one.
#[inline]
fn prefetch_row(matrix: &CsrView<'_, f32>, row: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let (indices, data) = (matrix.row_indices(row), matrix.row_data(row));
        for start in (0..indices.len()).step_by(16) {
            // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 target has; a prefetch is
            // a hint that never faults, and the pointers are in bounds anyway.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(indices[start..].as_ptr().cast());
                if let Some(values) = data.get(start..) {
                    _mm_prefetch::<_MM_HINT_T0>(values.as_ptr().cast());
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (matrix, row);
}

#[allow(clippy::too_many_lines)] // one pass: mark filters, scatter, select, unmark
/// Scores one query and writes its top `k` into `out_ids` / `out_scores` (each `k` long).
/// Ids must have been checked against the shapes.
fn score_one(
    query: Query<'_>,
    sources: &CsrView<'_, f32>,
    ranking: &Ranking<'_>,
    filters: &Filters<'_>,
    scratch: &mut Scratch,
    out_ids: &mut [i32],
    out_scores: &mut [f32],
) {
    let k = out_ids.len();
    let n_items = ranking.n_items();
    let work: usize = query.sources.iter().map(|&s| sources.row_indices(s as usize).len()).sum();
    // Plain local slices: through `&mut Vec` fields the compiler reloads each vector's pointer
    // and length on every store of the scatter loop.
    let Scratch { scores, flags, touched, best } = scratch;
    let scores = &mut scores[..n_items];
    let flags = &mut flags[..n_items];
    for &id in query.seen.iter().chain(filters.exclude) {
        flags[id as usize] |= EXCLUDED;
    }
    if let Some(include) = filters.include {
        for &id in include {
            flags[id as usize] |= INCLUDED;
        }
    }
    let restricted = filters.include.is_some();
    let is_candidate = |flag: u8| flag & EXCLUDED == 0 && (!restricted || flag & INCLUDED != 0);
    if work > n_items {
        // Dense mode for heavy queries: no touched bookkeeping (its branch costs more than a
        // linear scan of the row when most items get touched anyway). Every item is then a
        // candidate with its score, untouched ones at 0, which is the same ranking. This also
        // bounds the touched list of the sparse path by the catalogue.
        for (j, (&source, &weight)) in query.sources.iter().zip(query.weights).enumerate() {
            if let Some(&ahead) = query.sources.get(j + PREFETCH_AHEAD) {
                prefetch_row(sources, ahead as usize);
            }
            let row = source as usize;
            for (&item, &value) in sources.row_indices(row).iter().zip(sources.row_data(row)) {
                scores[item as usize] += weight * value;
            }
        }
        best.reset(k);
        let mut floor = best.floor();
        for (id, (&score, &flag)) in scores.iter().zip(flags.iter()).enumerate() {
            if score < floor {
                continue;
            }
            if is_candidate(flag) && !score.is_nan() && best.admits(score, ranking.tiebreak[id], id as i32) {
                best.offer(score, ranking.tiebreak[id], id as i32);
                floor = best.floor();
            }
        }
        best.write(out_ids, out_scores);
        scores.fill(0.0);
        clear_filter_flags(flags, query.seen, filters);
        return;
    }
    // Branchless bookkeeping without flags: the item is always written at the end of the
    // touched list, which grows when the item's score was 0 before this addition (a
    // data-dependent branch here mispredicts about every other entry). A score that returns to
    // exactly 0 and is touched again is listed twice; the selection below skips the repeat.
    // So at most one entry per addition (here `work <= n_items`), plus the slot written
    // speculatively by the push.
    if touched.len() <= work {
        touched.resize(work + 1, 0);
    }
    let touched = &mut touched[..=work];
    let mut n_touched = 0usize;
    for (j, (&source, &weight)) in query.sources.iter().zip(query.weights).enumerate() {
        if let Some(&ahead) = query.sources.get(j + PREFETCH_AHEAD) {
            prefetch_row(sources, ahead as usize);
        }
        let row = source as usize;
        for (&item, &value) in sources.row_indices(row).iter().zip(sources.row_data(row)) {
            let slot = item as usize;
            let old = scores[slot];
            touched[n_touched] = item;
            n_touched += usize::from(old == 0.0);
            scores[slot] = old + weight * value;
        }
    }

    // Touched items with a nonzero score. A score of exactly 0 (touched or not) has the same
    // key as an untouched item, so those are all left to the fill below.
    best.reset(k);
    let mut floor = best.floor();
    for &item in &touched[..n_touched] {
        let slot = item as usize;
        let score = scores[slot];
        if score < floor || score == 0.0 {
            continue;
        }
        // A repeated entry of the touched list is offered again: `offer` keeps it once.
        if is_candidate(flags[slot]) && !score.is_nan() && best.admits(score, ranking.tiebreak[slot], item) {
            best.offer(score, ranking.tiebreak[slot], item);
            floor = best.floor();
        }
    }
    // Every other candidate scores 0 (NaN scores are skipped as nonzero).
    if let Some(include) = filters.include {
        for &item in include {
            let slot = item as usize;
            // A repeated include id is offered again: `offer` keeps it once.
            if scores[slot] == 0.0 && is_candidate(flags[slot]) {
                best.offer(0.0, ranking.tiebreak[slot], item);
            }
        }
    } else {
        for &item in ranking.order {
            let slot = item as usize;
            if scores[slot] != 0.0 || !is_candidate(flags[slot]) {
                continue;
            }
            if !best.admits(0.0, ranking.tiebreak[slot], item) {
                break; // `order` is sorted by the same key: nothing later can enter
            }
            best.offer(0.0, ranking.tiebreak[slot], item);
        }
    }
    best.write(out_ids, out_scores);

    for &item in &touched[..n_touched] {
        scores[item as usize] = 0.0;
    }
    clear_filter_flags(flags, query.seen, filters);
}

/// Resets the flags [`score_one`] set for the filters, leaving every flag 0.
fn clear_filter_flags(flags: &mut [u8], seen: &[i32], filters: &Filters<'_>) {
    for &id in seen.iter().chain(filters.exclude).chain(filters.include.unwrap_or(&[])) {
        flags[id as usize] = 0;
    }
}

fn check_common(sources: &CsrView<'_, f32>, ranking: &Ranking<'_>, filters: &Filters<'_>, k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    if sources.n_cols != ranking.n_items() {
        return Err(Error::shape(
            "sources",
            format!("has {} item columns but the ranking has {} items", sources.n_cols, ranking.n_items()),
        ));
    }
    if sources.data.len() != sources.indices.len() {
        return Err(Error::invalid("sources", "needs one value per stored entry"));
    }
    if let Some(include) = filters.include {
        check_ids("items", include, ranking.n_items())?;
    }
    check_ids("exclude", filters.exclude, ranking.n_items())
}

fn check_query(query: &Query<'_>, n_sources: usize, n_items: usize) -> Result<()> {
    if query.sources.len() != query.weights.len() {
        return Err(Error::shape("weights", format!("{} weights for {} sources", query.weights.len(), query.sources.len())));
    }
    if let Some(bad) = query.weights.iter().position(|w| !w.is_finite()) {
        return Err(Error::invalid("weights", format!("weight at {bad} is not finite")));
    }
    check_ids("history", query.sources, n_sources)?;
    check_ids("seen", query.seen, n_items)
}

/// The top `k` items of one query. Returns `(ids, scores)`, each [`effective_k`] long.
///
/// # Errors
/// [`Error::InvalidArgument`] when `k == 0`, an id is out of range or a weight is not finite;
/// [`Error::ShapeMismatch`] when the shapes disagree.
pub fn recommend_query(
    query: Query<'_>,
    sources: &CsrView<'_, f32>,
    ranking: &Ranking<'_>,
    filters: &Filters<'_>,
    k: usize,
) -> Result<(Vec<i32>, Vec<f32>)> {
    check_common(sources, ranking, filters, k)?;
    check_query(&query, sources.n_rows, sources.n_cols)?;
    let k = effective_k(k, sources.n_cols);
    let mut ids = vec![0i32; k];
    let mut scores = vec![0f32; k];
    SCRATCH.with(|cell| {
        let mut scratch = cell.borrow_mut();
        scratch.fit(sources.n_cols);
        score_one(query, sources, ranking, filters, &mut scratch, &mut ids, &mut scores);
    });
    Ok((ids, scores))
}

/// The top `k` items of each user in `users` (indices into `queries` and `seen`; `-1` is a
/// user without history, who gets the ranking's order, e.g. the most popular items).
/// `queries` is `n_users x n_sources` (the query of user `u` is its row `u`), `seen` is
/// `n_users x n_items` (the items excluded for user `u`; `None` excludes nothing). Runs in
/// parallel over users in the current rayon pool, with one score row per thread. Returns
/// `(ids, scores)` with [`effective_k`] slots per user, row-major.
///
/// # Errors
/// As [`recommend_query`], and when a user index is out of range.
pub fn recommend_rows(
    users: &[i32],
    queries: &CsrView<'_, f32>,
    seen: Option<&CsrView<'_, f32>>,
    sources: &CsrView<'_, f32>,
    ranking: &Ranking<'_>,
    filters: &Filters<'_>,
    k: usize,
) -> Result<(Vec<i32>, Vec<f32>)> {
    check_common(sources, ranking, filters, k)?;
    if queries.n_cols != sources.n_rows {
        return Err(Error::shape("queries", format!("have {} columns for {} sources", queries.n_cols, sources.n_rows)));
    }
    if queries.data.len() != queries.indices.len() {
        return Err(Error::invalid("queries", "needs one weight per stored entry"));
    }
    if let Some(seen) = seen {
        if seen.n_rows != queries.n_rows || seen.n_cols != sources.n_cols {
            return Err(Error::shape("seen", "must have one row per user and one column per item"));
        }
    }
    if let Some(&bad) = users.iter().find(|&&u| u < -1 || u >= queries.n_rows as i32) {
        return Err(Error::invalid("users", format!("index {bad} is out of range for {} users", queries.n_rows)));
    }
    let k = effective_k(k, sources.n_cols);
    let mut out_ids = vec![0i32; users.len() * k];
    let mut out_scores = vec![0f32; users.len() * k];
    out_ids.par_chunks_mut(k).zip(out_scores.par_chunks_mut(k)).zip(users.par_iter()).with_min_len(8).for_each(
        |((ids, scores), &user)| {
            let query = if user < 0 {
                Query { sources: &[], weights: &[], seen: &[] }
            } else {
                let row = user as usize;
                Query {
                    sources: queries.row_indices(row),
                    weights: queries.row_data(row),
                    seen: seen.map_or(&[][..], |s| s.row_indices(row)),
                }
            };
            SCRATCH.with(|cell| {
                let mut scratch = cell.borrow_mut();
                scratch.fit(sources.n_cols);
                score_one(query, sources, ranking, filters, &mut scratch, ids, scores);
            });
        },
    );
    Ok((out_ids, out_scores))
}

/// The work of scoring `query` through `sources`, in stored entries: the summed lengths of
/// the rows its sources name (a source out of range counts nothing; [`recommend_query`]
/// rejects it). A serving call compares it with a threshold to decide whether releasing the
/// GIL around the scoring pays for the hand-over. Never panics, whatever the arrays hold.
#[must_use]
pub fn query_work(query: &Query<'_>, sources: &CsrView<'_, f32>) -> usize {
    query
        .sources
        .iter()
        .map(|&source| {
            let Ok(row) = usize::try_from(source) else { return 0 };
            match (sources.indptr.get(row), row.checked_add(1).and_then(|next| sources.indptr.get(next))) {
                (Some(&start), Some(&end)) => usize::try_from(end.saturating_sub(start)).unwrap_or(0),
                _ => 0,
            }
        })
        .fold(0usize, usize::saturating_add)
}

/// The first `k` stored entries of row `row` of `matrix` whose column is not in `exclude`
/// (sorted ascending; duplicates allowed), in stored order: with rows ordered by similarity
/// descending, the `k` nearest neighbours of `row` that are not excluded. Returns
/// `(columns, values)`, at most `k` long.
///
/// # Errors
/// [`Error::InvalidArgument`] when `row` is out of range, `k == 0` or `exclude` is not sorted.
pub fn row_head(matrix: &CsrView<'_, f32>, row: usize, k: usize, exclude: &[i32]) -> Result<(Vec<i32>, Vec<f32>)> {
    if row >= matrix.n_rows {
        return Err(Error::invalid("item", format!("index {row} is out of range for {} rows", matrix.n_rows)));
    }
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    if exclude.windows(2).any(|w| w[0] > w[1]) {
        return Err(Error::invalid("exclude", "must be sorted ascending"));
    }
    let (columns, values) = (matrix.row_indices(row), matrix.row_data(row));
    let capacity = k.min(columns.len());
    let (mut ids, mut out) = (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
    for (&column, &value) in columns.iter().zip(values) {
        if ids.len() == k {
            break;
        }
        if exclude.binary_search(&column).is_err() {
            ids.push(column);
            out.push(value);
        }
    }
    Ok((ids, out))
}

/// The scores of a ranked list (`ids` with their `scores`, as [`recommend_query`] returns
/// them: `-1` pads the tail) read at `positions`: element `j` is the score of item
/// `positions[j]` in the list as `f64`, NaN when `positions[j]` is negative or not in the list.
/// `O((n + m) log n)` for `n` listed items and `m` positions; an item listed twice gives one of
/// its scores.
#[must_use]
pub fn scores_at(ids: &[i32], scores: &[f32], positions: &[i32]) -> Vec<f64> {
    let mut listed: Vec<(i32, f32)> = ids.iter().zip(scores).filter(|(&id, _)| id >= 0).map(|(&id, &s)| (id, s)).collect();
    listed.sort_unstable_by_key(|&(id, _)| id);
    positions
        .iter()
        .map(|&item| {
            if item < 0 {
                return f64::NAN;
            }
            listed.binary_search_by_key(&item, |&(id, _)| id).map_or(f64::NAN, |at| f64::from(listed[at].1))
        })
        .collect()
}

/// What each source of a query contributes to the score of `item`: `(source, weight *
/// sources[source, item])` for every source whose row holds `item`, in query order. Their sum
/// is the item's score in [`recommend_query`].
///
/// # Errors
/// [`Error::InvalidArgument`] for an out-of-range id or a non-finite weight.
pub fn explain_query(query: Query<'_>, sources: &CsrView<'_, f32>, item: i32) -> Result<Vec<(i32, f32)>> {
    check_query(&query, sources.n_rows, sources.n_cols)?;
    check_ids("item", &[item], sources.n_cols)?;
    let mut out = Vec::new();
    for (&source, &weight) in query.sources.iter().zip(query.weights) {
        let row = source as usize;
        let data = sources.row_data(row);
        // Rows may be ordered by similarity rather than by index: scan.
        if let Some(pos) = sources.row_indices(row).iter().position(|&i| i == item) {
            out.push((source, weight * data[pos]));
        }
    }
    Ok(out)
}

mod predict;
#[cfg(test)]
mod tests;

pub use predict::predict_pairs;
