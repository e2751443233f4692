//! The full fit: every pair of entities summed once, its similarity offered to both rows.
//!
//! # Layout (what is kept in memory)
//!
//! Two views of the ratings: the *raters* (rater x entity, rows sorted, with the values the
//! similarity works on) and the *entities* (entity x rater: for every rating, the rater and
//! where the entity sits in that rater's list, as an offset from the list's start). For
//! item-item neighbours the raters are the caller's users x items matrix itself: its `indptr`
//! and `indices` are borrowed, and so are its values when the similarity does not centre them
//! (cosine, co-rated cosine, msd, dot). Allocated are the entities (8 bytes per rating) and,
//! for Pearson and the adjusted cosine, the centred values (8 bytes per rating). User-user
//! neighbours borrow the input as the entities' raters and build the raters as its transpose.
//!
//! # A row
//!
//! For entity `a`, every rater `r` of `a` lists, after `a`, the entities `b > a` it rated: the
//! pairs `(a, b)`, summed with `a`'s value as `x`, over the co-raters in ascending order (as
//! `rows.rs` sums them, so every entry point computes the same `f64`s). The start of each
//! rater's list is asked of the cache a few raters ahead (the lists are scattered, and each is
//! short: waiting for each one otherwise dominates).
//!
//! The pairs' sums go to a dense per-thread accumulator of length `n` (the sums the
//! similarity needs, in `f64`, padded to whole cache lines), the touched entities listed
//! without a branch; only the touched entries are read back and reset.
//!
//! Every touched pair is then finished into a similarity and offered to the row's own top-`k` and to
//! `b`'s shared top-`k` ([`SharedTopK`]). Rows run in parallel, in blocks, from the last to the
//! first, so that a row already holds its own best (and so a tight admission threshold) when
//! the offers from lower rows arrive. The per-thread scratch (accumulator, touched list,
//! the row's own best) is reused from row to row. Memory: the two views above, the top lists
//! (at most `2k` keys per row), `O(threads * n)` scratch; never `n x n`. The result does not
//! depend on the number of threads: the top-`k` of a row is a function of the set of its
//! candidates under a total order.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rayon::prelude::*;

use super::{mean_of, neighbour_key, neighbour_of_key, Axis, Kernel, Similarity};
use crate::csr::{Csr, CsrView};

/// Rows per parallel task: enough to amortise the task, few enough to balance heavy rows.
const BLOCK: usize = 16;

/// How many raters ahead a row asks the cache for the rater's list.
const PREFETCH_AHEAD: usize = 8;

/// The ratings as the full fit reads them (see the module documentation).
pub(super) struct Views<'a> {
    /// Rater x entity, rows sorted: `indptr`, `indices` and the (centred) values.
    rater_indptr: Cow<'a, [i64]>,
    rater_indices: Cow<'a, [i32]>,
    rater_data: Cow<'a, [f64]>,
    /// Entity x rater, rows sorted: the raters, and where the entity sits in each rater's list.
    entity_indptr: Cow<'a, [i64]>,
    entity_raters: Cow<'a, [i32]>,
    entity_offsets: Vec<u32>,
    /// Each entity's norm over its (centred) values, for the cosines; empty otherwise.
    pub(super) norms: Vec<f64>,
}

/// Whether the values are shifted, and by the means of what.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Centre {
    None,
    /// By the mean of each row of the input (a user's mean).
    Rows,
    /// By the mean of each column of the input (an item's mean).
    Columns,
}

impl<'a> Views<'a> {
    /// Prepares the views of `ratings` (users x items, checked) for `axis` and `similarity`.
    pub(super) fn new(ratings: &CsrView<'a, f64>, axis: Axis, similarity: Similarity) -> Self {
        // Pearson centres each entity on its own mean; the adjusted cosine each rater.
        let centre = match (similarity, axis) {
            (Similarity::Pearson, Axis::Items) | (Similarity::AdjustedCosine, Axis::Users) => Centre::Columns,
            (Similarity::Pearson, Axis::Users) | (Similarity::AdjustedCosine, Axis::Items) => Centre::Rows,
            _ => Centre::None,
        };
        let means = match centre {
            Centre::None => Vec::new(),
            Centre::Rows => row_means(ratings),
            Centre::Columns => column_means(ratings),
        };
        // The value the similarity works on, of the entry at `position` of input row `row`.
        let value = |row: usize, position: usize| -> f64 {
            let v = ratings.data[position];
            match centre {
                Centre::None => v,
                Centre::Rows => v - means[row],
                Centre::Columns => v - means[ratings.indices[position] as usize],
            }
        };
        let nnz = ratings.nnz();
        let mut views = match axis {
            Axis::Items => {
                let rater_data = if centre == Centre::None {
                    Cow::Borrowed(ratings.data)
                } else {
                    let mut data = Vec::with_capacity(nnz);
                    for row in 0..ratings.n_rows {
                        let (start, end) = (ratings.indptr[row] as usize, ratings.indptr[row + 1] as usize);
                        data.extend((start..end).map(|position| value(row, position)));
                    }
                    Cow::Owned(data)
                };
                // Entity i's raters are column i of the input; the offsets, where i sits in them.
                let mut entity_offsets = vec![0u32; nnz];
                let (indptr, indices) = transpose(ratings, |slot, _, row, position| {
                    entity_offsets[slot] = (position - ratings.indptr[row] as usize) as u32;
                });
                Views {
                    rater_indptr: Cow::Borrowed(ratings.indptr),
                    rater_indices: Cow::Borrowed(ratings.indices),
                    rater_data,
                    entity_indptr: Cow::Owned(indptr),
                    entity_raters: Cow::Owned(indices),
                    entity_offsets,
                    norms: Vec::new(),
                }
            }
            Axis::Users => {
                // The raters are the transpose (items x users); the entities, the input's rows.
                let mut data = vec![0.0; nnz];
                let mut entity_offsets = vec![0u32; nnz];
                let (indptr, indices) = transpose(ratings, |slot, offset, row, position| {
                    data[slot] = value(row, position);
                    entity_offsets[position] = offset as u32;
                });
                Views {
                    rater_indptr: Cow::Owned(indptr),
                    rater_indices: Cow::Owned(indices),
                    rater_data: Cow::Owned(data),
                    entity_indptr: Cow::Borrowed(ratings.indptr),
                    entity_raters: Cow::Borrowed(ratings.indices),
                    entity_offsets,
                    norms: Vec::new(),
                }
            }
        };
        if matches!(similarity, Similarity::Cosine | Similarity::AdjustedCosine) {
            views.norms = views.entity_norms();
        }
        views
    }

    pub(super) fn n_entities(&self) -> usize {
        self.entity_indptr.len() - 1
    }

    /// Each entity's norm, its squares summed in ascending rater order (as `row_norms`).
    fn entity_norms(&self) -> Vec<f64> {
        let mut squares = vec![0.0f64; self.n_entities()];
        for r in 0..self.rater_indptr.len() - 1 {
            let (start, end) = (self.rater_indptr[r] as usize, self.rater_indptr[r + 1] as usize);
            for (&b, &v) in self.rater_indices[start..end].iter().zip(&self.rater_data[start..end]) {
                squares[b as usize] += v * v;
            }
        }
        squares.into_iter().map(f64::sqrt).collect()
    }
}

/// The mean of every row, as `centre_rows` takes it.
fn row_means(m: &CsrView<'_, f64>) -> Vec<f64> {
    (0..m.n_rows)
        .map(|row| {
            let values = m.row_data(row);
            if values.is_empty() {
                return 0.0;
            }
            let (min, max) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            mean_of(values.iter().sum(), values.len(), min, max)
        })
        .collect()
}

/// The mean of every column, its values taken in ascending row order (as `centre_columns`
/// and `centre_rows` of the transpose take them).
fn column_means(m: &CsrView<'_, f64>) -> Vec<f64> {
    let mut sum = vec![0.0f64; m.n_cols];
    let mut count = vec![0usize; m.n_cols];
    let mut min = vec![f64::INFINITY; m.n_cols];
    let mut max = vec![f64::NEG_INFINITY; m.n_cols];
    for (&col, &v) in m.indices.iter().zip(m.data) {
        let c = col as usize;
        sum[c] += v;
        count[c] += 1;
        min[c] = min[c].min(v);
        max[c] = max[c].max(v);
    }
    (0..m.n_cols).map(|c| if count[c] == 0 { 0.0 } else { mean_of(sum[c], count[c], min[c], max[c]) }).collect()
}

/// The pattern of the transpose of `m` (rows sorted). `put(slot, offset, row, position)` is
/// called for every entry of `m`: its position in `m`, its row, its slot in the transpose and
/// that slot's offset from the start of its row of the transpose.
fn transpose(m: &CsrView<'_, f64>, mut put: impl FnMut(usize, usize, usize, usize)) -> (Vec<i64>, Vec<i32>) {
    let mut indptr = vec![0i64; m.n_cols + 1];
    for &col in m.indices {
        indptr[col as usize + 1] += 1;
    }
    for c in 0..m.n_cols {
        indptr[c + 1] += indptr[c];
    }
    let mut next: Vec<i64> = indptr[..m.n_cols].to_vec();
    let mut indices = vec![0i32; m.indices.len()];
    for row in 0..m.n_rows {
        for position in m.indptr[row] as usize..m.indptr[row + 1] as usize {
            let col = m.indices[position] as usize;
            let slot = next[col] as usize;
            next[col] += 1;
            indices[slot] = row as i32;
            put(slot, slot - indptr[col] as usize, row, position);
        }
    }
    (indptr, indices)
}

/// Asks the cache for the line holding `values[0]` (a hint; never faults).
#[inline]
fn prefetch<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 target has; a prefetch is a
        // hint that never faults, and the pointer is that of a live slice anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(values.as_ptr().cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// What a row needs besides the views.
pub(super) struct Settings {
    pub(super) k: usize,
    /// The least number of co-raters a similarity needs (at least 1).
    pub(super) support: usize,
    pub(super) shrinkage: f64,
}

/// A thread's scratch, reused from row to row.
struct Scratch<S> {
    /// Per entity: the sums of its pair with the current row (zero when untouched).
    sums: Vec<S>,
    /// The entities the row touched (the first ones, as many as `sum_pairs` returns).
    touched: Vec<u32>,
    /// For each rater of the row: where the row's entity sits in the rater arrays, and the end
    /// of the rater's list.
    spans: Vec<(usize, usize)>,
    /// The row's own candidates (up to `2k` keys).
    own: Vec<u64>,
}

/// The neighbours of every entity, as the module documentation describes.
pub(super) fn fit<K: Kernel>(views: &Views<'_>, kernel: &K, settings: &Settings) -> Csr<f32> {
    let n = views.n_entities();
    let shared = SharedTopK::new(n, settings.k);
    (0..n.div_ceil(BLOCK)).into_par_iter().rev().for_each_init(
        || Scratch::<K::Sums> {
            sums: vec![K::Sums::default(); n],
            touched: vec![0; n],
            spans: Vec::new(),
            own: Vec::with_capacity(2 * settings.k),
        },
        |scratch, block| {
            for a in (block * BLOCK..((block + 1) * BLOCK).min(n)).rev() {
                row(views, kernel, settings, &shared, scratch, a);
            }
        },
    );
    shared.into_csr()
}

/// Computes the pairs `(a, b > a)` and offers each similarity to both rows.
fn row<K: Kernel>(
    views: &Views<'_>,
    kernel: &K,
    settings: &Settings,
    shared: &SharedTopK,
    scratch: &mut Scratch<K::Sums>,
    a: usize,
) {
    if !kernel.row_can_match(a) {
        return;
    }
    spans_of(views, scratch, a);
    let n_touched = sum_pairs::<K>(views, scratch);
    finish_row(kernel, settings, shared, scratch, a, n_touched);
}

/// Where `a` sits in each of its raters' lists, and where each list ends.
fn spans_of<S>(views: &Views<'_>, scratch: &mut Scratch<S>, a: usize) {
    let (lo, hi) = (views.entity_indptr[a] as usize, views.entity_indptr[a + 1] as usize);
    let raters = &views.entity_raters[lo..hi];
    let offsets = &views.entity_offsets[lo..hi];
    let indptr = &views.rater_indptr[..];
    scratch.spans.clear();
    scratch.spans.extend(raters.iter().zip(offsets).enumerate().map(|(j, (&r, &offset))| {
        if let Some(&ahead) = raters.get(j + 2 * PREFETCH_AHEAD) {
            prefetch(&indptr[ahead as usize..]);
        }
        let r = r as usize;
        (indptr[r] as usize + offset as usize, indptr[r + 1] as usize)
    }));
}

/// The sums of the row's pairs, in the dense per-thread accumulator; returns how many
/// entities were touched (listed first in `scratch.touched`).
fn sum_pairs<K: Kernel>(views: &Views<'_>, scratch: &mut Scratch<K::Sums>) -> usize {
    let Scratch { sums, touched, spans, .. } = scratch;
    let (indices, data) = (&views.rater_indices[..], &views.rater_data[..]);
    let mut n_touched = 0usize;
    for (j, &(p, end)) in spans.iter().enumerate() {
        if let Some(&(ahead, _)) = spans.get(j + PREFETCH_AHEAD) {
            prefetch(&indices[ahead..]);
            prefetch(&data[ahead..]);
        }
        let x = data[p];
        let xx = x * x;
        for (&b, &y) in indices[p + 1..end].iter().zip(&data[p + 1..end]) {
            let slot = &mut sums[b as usize];
            // Branch-free bookkeeping of first touches: new entries are hard to predict.
            touched[n_touched] = b as u32;
            n_touched += usize::from(K::count(slot) == 0.0);
            K::add(slot, x, xx, y);
        }
    }
    n_touched
}

/// Finishes every touched pair of row `a` into a similarity, offers it to both rows, merges
/// the row's own best into its shared list and clears the accumulator.
fn finish_row<K: Kernel>(
    kernel: &K,
    settings: &Settings,
    shared: &SharedTopK,
    scratch: &mut Scratch<K::Sums>,
    a: usize,
    n_touched: usize,
) {
    let Scratch { sums, touched, own, .. } = scratch;
    let k = settings.k;
    own.clear();
    let mut threshold = shared.threshold(a);
    let touched = &touched[..n_touched];
    for (i, &b) in touched.iter().enumerate() {
        // The entity's sums, and the other row's threshold and lock, asked of the cache ahead.
        if let Some(&ahead) = touched.get(i + PREFETCH_AHEAD) {
            prefetch(&sums[ahead as usize..]);
            shared.prefetch(ahead as usize);
        }
        let b = b as usize;
        let slot = std::mem::take(&mut sums[b]);
        let slot = &slot;
        let n_common = K::count(slot);
        if n_common < settings.support as f64 {
            continue;
        }
        let mut s = kernel.finish(slot, a, b);
        if settings.shrinkage > 0.0 {
            s *= n_common / (n_common + settings.shrinkage);
        }
        let s = s.clamp(-1.0, 1.0) as f32;
        if s == 0.0 || s.is_nan() {
            continue;
        }
        shared.offer(b, neighbour_key(s, a as u32));
        let key = neighbour_key(s, b as u32);
        if key < threshold {
            own.push(key);
            if own.len() == 2 * k {
                threshold = cut_to_best(own, k);
            }
        }
    }
    shared.merge(a, own);
}

/// Keeps the best `k` of `keys` (at least `k` of them); returns the `k`-th best.
fn cut_to_best(keys: &mut Vec<u64>, k: usize) -> u64 {
    keys.select_nth_unstable(k - 1);
    keys.truncate(k);
    keys[k - 1]
}

/// The top-`k` lists of all rows, shared by the threads. Every pair is computed once and
/// offered to both of its rows. A row collects its candidates unsorted in a buffer of up to
/// `2k` keys; when the buffer is full, a selection keeps the best `k` and the key of the k-th
/// best becomes the row's admission threshold (as soon as the row's own best is merged, too).
/// The threshold only falls, so reading it without the lock can only let through too much,
/// never too little: most candidates are turned away without the lock, and an admitted one
/// costs an append (amortised O(1) per candidate).
struct SharedTopK {
    k: usize,
    rows: Vec<Mutex<Vec<u64>>>,
    thresholds: Vec<AtomicU64>,
}

impl SharedTopK {
    fn new(n: usize, k: usize) -> Self {
        SharedTopK {
            k,
            rows: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
            thresholds: (0..n).map(|_| AtomicU64::new(u64::MAX)).collect(),
        }
    }

    fn lock(&self, row: usize) -> MutexGuard<'_, Vec<u64>> {
        self.rows[row].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the cache for a row's threshold and lock.
    #[inline]
    fn prefetch(&self, row: usize) {
        prefetch(&self.thresholds[row..]);
        prefetch(&self.rows[row..]);
    }

    #[inline]
    fn threshold(&self, row: usize) -> u64 {
        self.thresholds[row].load(AtomicOrdering::Relaxed)
    }

    /// Keeps the best `k` of a buffer that holds at least `at_least` keys, and publishes the
    /// new threshold.
    fn compact(&self, row: usize, buffer: &mut Vec<u64>, at_least: usize) {
        if buffer.len() >= at_least {
            let kth = cut_to_best(buffer, self.k);
            self.thresholds[row].fetch_min(kth, AtomicOrdering::Relaxed);
        }
    }

    #[inline]
    fn offer(&self, row: usize, key: u64) {
        if key < self.threshold(row) {
            let mut buffer = self.lock(row);
            if buffer.capacity() == 0 {
                buffer.reserve_exact(2 * self.k);
            }
            buffer.push(key);
            self.compact(row, &mut buffer, 2 * self.k);
        }
    }

    /// Adds a row's own best (found while computing the row) under one lock; once the row
    /// holds `k` candidates, its threshold is set, so later offers are mostly turned away.
    fn merge(&self, row: usize, own: &mut Vec<u64>) {
        if own.is_empty() {
            return;
        }
        let threshold = self.threshold(row);
        let mut buffer = self.lock(row);
        if buffer.capacity() == 0 {
            buffer.reserve_exact(2 * self.k);
        }
        buffer.extend(own.drain(..).filter(|&key| key < threshold));
        self.compact(row, &mut buffer, self.k);
    }

    /// The rows, each cut to its best `k` and sorted best first, stitched into a CSR.
    fn into_csr(self) -> Csr<f32> {
        let n = self.rows.len();
        let k = self.k;
        let rows: Vec<Vec<u64>> = self
            .rows
            .into_par_iter()
            .map(|buffer| {
                let mut row = buffer.into_inner().unwrap_or_else(PoisonError::into_inner);
                if row.len() > k {
                    cut_to_best(&mut row, k);
                }
                row.sort_unstable();
                row
            })
            .collect();
        let total: usize = rows.iter().map(Vec::len).sum();
        let mut indptr = Vec::with_capacity(n + 1);
        let mut indices = Vec::with_capacity(total);
        let mut data = Vec::with_capacity(total);
        indptr.push(0i64);
        for row in rows {
            for key in row {
                let (similarity, column) = neighbour_of_key(key);
                indices.push(column as i32);
                data.push(similarity);
            }
            indptr.push(indices.len() as i64);
        }
        Csr { n_rows: n, n_cols: n, indptr, indices, data }
    }
}
