//! The pair kernel: the sums of an entity's pairs, finished into similarities. Every entry
//! point runs it on the views of `prepare.rs`, so all of them compute the same `f64`s.
//!
//! # A row
//!
//! For entity `a`, every rater `r` of `a` lists, after `a`, the entities `b > a` it rated: the
//! pairs `(a, b)`, summed with `a`'s value as `x`, over the co-raters in ascending order. (A
//! full row, `Prepared::full_rows`, also sums the entities `b < a` before `a` in the lists, as the
//! pairs `(b, a)` with `b`'s value as `x`: each pair is summed in one orientation everywhere.)
//! The start of each rater's list is asked of the cache a few raters ahead (the lists are
//! scattered, and each is short: waiting for each one otherwise dominates).
//!
//! The pairs' sums go to a dense per-thread accumulator of length `n` (the sums the
//! similarity needs, in `f64`, padded to whole cache lines), the touched entities listed
//! without a branch; only the touched entries are read back and reset.
//!
//! # The full fit and its parts
//!
//! `Prepared::fit` and `Prepared::part` finish every touched pair into a similarity and offer it to the row's
//! own top-`k` and to `b`'s shared top-`k` ([`SharedTopK`]), the latter through the thread's
//! [`OfferLog`], which delivers offers in batches sorted by row. Rows run in parallel, in
//! blocks, from the last to the first, so that a row already holds its own best (and so a
//! tight admission threshold) when the offers from lower rows arrive. The per-thread scratch
//! (accumulator, touched list, the row's own best, the offer log) is reused from row to row.
//! Memory: the two views, the top lists (at most `2k` keys per row), `O(threads * n)` scratch
//! (the log holds up to `8n` offers of 12 bytes, twice for its sort, at most 24 MiB a
//! thread); never `n x n`.
//! The result does not depend on the number of threads: the top-`k` of a row is a function of
//! the set of its candidates under a total order.

use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rayon::prelude::*;

use super::kernels::{with_kernel, Kernel};
use super::prepare::{Prepared, Settings, Views};
use super::{neighbour_key, neighbour_of_key};
use crate::csr::Csr;
use crate::radix::counts_to_starts;

/// Rows per parallel task: enough to amortise the task, few enough to balance heavy rows.
const BLOCK: usize = 16;

/// How many raters ahead a row asks the cache for the rater's list.
const PREFETCH_AHEAD: usize = 8;

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

/// Asks the cache for the lines of `values`, up to `PREFETCH_LINES` of them: a rater's list is
/// too short for the hardware prefetcher to see it as a stream before it ends (the first line
/// alone left the next ones to stall the summing).
#[inline]
fn prefetch_lines<T>(values: &[T]) {
    let per_line = (64 / std::mem::size_of::<T>()).max(1);
    for value in values.iter().step_by(per_line).take(PREFETCH_LINES) {
        prefetch(std::slice::from_ref(value));
    }
}

/// How many lines of a rater's list [`prefetch_lines`] asks for.
const PREFETCH_LINES: usize = 8;

/// A full row's best keys, and the `(row, key)` pairs it offers to other rows.
pub(super) type OfferedRow = (Vec<u64>, Vec<(u32, u64)>);

/// A worker thread's scratch and offer log in the fit.
type ThreadState<S> = (Scratch<S>, OfferLog);

/// A thread's scratch, reused from row to row.
struct Scratch<S> {
    /// Per entity: the sums of its pair with the current row (zero when untouched).
    sums: Vec<S>,
    /// The entities the row touched (the first ones, as many as the summing returns).
    touched: Vec<u32>,
    /// For each rater of the row: where the row's entity sits in the rater arrays, and the end
    /// of the rater's list.
    spans: Vec<(usize, usize)>,
    /// The row's own candidates (up to `2k` keys).
    own: Vec<u64>,
}

impl<S: Copy + Default> Scratch<S> {
    fn new(n: usize, own_capacity: usize) -> Self {
        Scratch { sums: vec![S::default(); n], touched: vec![0; n], spans: Vec::new(), own: Vec::with_capacity(own_capacity) }
    }
}

impl Prepared<'_> {
    /// The neighbours of every entity, as the module documentation describes.
    pub(super) fn fit(&self) -> Csr<f32> {
        with_kernel!(self.similarity, &self.views.norms, |kernel| self.offer_pairs(kernel, self.n(), |j| j))
    }

    /// One part of [`fit`](Self::fit): every pair whose lower entity is in `rows` (no entity
    /// twice), computed as the fit computes it and offered to both of its rows: an `n x n`
    /// result whose row `r` is the best `k` of the pairs of `r` that these rows produce.
    pub(super) fn part(&self, rows: &[usize]) -> Csr<f32> {
        with_kernel!(self.similarity, &self.views.norms, |kernel| self.offer_pairs(kernel, rows.len(), |j| rows[j]))
    }

    /// Every candidate of each entity of `rows` (its similarity with every other entity, each
    /// pair summed and finished as the fit does it): the best `k` keys of each, sorted
    /// (`usize::MAX`: all of them).
    pub(super) fn full_rows(&self, rows: &[usize], k: usize) -> Vec<Vec<u64>> {
        let n = self.n();
        with_kernel!(self.similarity, &self.views.norms, |kernel| rows
            .par_iter()
            .map_init(
                || Scratch::new(n, 0),
                |scratch, &a| full_row(&self.views, kernel, &self.settings, scratch, a, k, |_, _| {}),
            )
            .collect())
    }

    /// [`full_rows`](Self::full_rows) that also hands each row's candidates to the other rows:
    /// for row `a` and every candidate `b`, the key of `a` in `b`'s row goes to `a`'s list of
    /// `(b, key)` when `keep(b, key)` accepts it (unsorted). For the update, which patches the
    /// other rows with these keys.
    pub(super) fn full_rows_offering(
        &self,
        rows: &[usize],
        k: usize,
        keep: impl Fn(usize, u64) -> bool + Sync,
    ) -> Vec<OfferedRow> {
        let n = self.n();
        with_kernel!(self.similarity, &self.views.norms, |kernel| rows
            .par_iter()
            .map_init(
                || Scratch::new(n, 0),
                |scratch, &a| {
                    let mut offered = Vec::new();
                    let own = full_row(&self.views, kernel, &self.settings, scratch, a, k, |b, s| {
                        let key = neighbour_key(s, a as u32);
                        if keep(b, key) {
                            offered.push((b as u32, key));
                        }
                    });
                    (own, offered)
                },
            )
            .collect())
    }

    /// The pairs `(a, b > a)` of the rows `a = entity(j)`, `j < count`, each offered to both
    /// rows; the rows in blocks, from the last to the first.
    fn offer_pairs<K: Kernel>(&self, kernel: &K, count: usize, entity: impl Fn(usize) -> usize + Sync) -> Csr<f32> {
        let (views, settings) = (&self.views, &self.settings);
        let n = self.n();
        let shared = SharedTopK::new(n, settings.k);
        // One scratch and one log per worker thread, made when the thread takes its first block
        // and kept to the end: rayon splits the blocks into many more pieces than threads,
        // and a state per piece paid for a fresh accumulator and log (page faults) each time.
        let states: Vec<Mutex<Option<ThreadState<K::Sums>>>> =
            (0..rayon::current_num_threads()).map(|_| Mutex::new(None)).collect();
        (0..count.div_ceil(BLOCK)).into_par_iter().rev().for_each(|block| {
            // The lock is never waited for: only this thread takes it, and `row` makes no rayon
            // call (one would let this thread steal another block and wait on its own lock).
            let index = rayon::current_thread_index().unwrap_or(0) % states.len();
            let mut state = states[index].lock().unwrap_or_else(PoisonError::into_inner);
            let (scratch, log) = state.get_or_insert_with(|| (Scratch::new(n, 2 * settings.k), OfferLog::for_rows(n)));
            for j in (block * BLOCK..((block + 1) * BLOCK).min(count)).rev() {
                row(views, kernel, settings, &shared, scratch, log, entity(j));
            }
        });
        states.into_par_iter().for_each(|state| {
            if let Some((_, mut log)) = state.into_inner().unwrap_or_else(PoisonError::into_inner) {
                log.deliver(&shared);
            }
        });
        shared.into_csr()
    }
}

/// Computes the pairs `(a, b > a)` and offers each similarity to both rows.
fn row<K: Kernel>(
    views: &Views<'_>,
    kernel: &K,
    settings: &Settings,
    shared: &SharedTopK,
    scratch: &mut Scratch<K::Sums>,
    log: &mut OfferLog,
    a: usize,
) {
    if !kernel.row_can_match(a) {
        return;
    }
    spans_of(views, scratch, a);
    let n_touched = sum_pairs::<K>(views, scratch);
    finish_row(kernel, settings, shared, scratch, log, a, n_touched);
}

/// All the candidates of row `a`: the pairs `(a, b > a)` and `(b < a, a)`; the best `k` keys.
/// `visit(b, similarity)` sees every candidate.
fn full_row<K: Kernel>(
    views: &Views<'_>,
    kernel: &K,
    settings: &Settings,
    scratch: &mut Scratch<K::Sums>,
    a: usize,
    k: usize,
    mut visit: impl FnMut(usize, f32),
) -> Vec<u64> {
    let mut keys = Vec::new();
    if !kernel.row_can_match(a) {
        return keys;
    }
    spans_of(views, scratch, a);
    let n_touched = sum_pairs::<K>(views, scratch);
    let n_touched = sum_lower_pairs::<K>(views, scratch, a, n_touched);
    let Scratch { sums, touched, .. } = scratch;
    for &b in &touched[..n_touched] {
        let b = b as usize;
        let slot = std::mem::take(&mut sums[b]);
        let (lower, higher) = if a < b { (a, b) } else { (b, a) };
        if let Some(s) = similarity(kernel, settings, &slot, lower, higher) {
            keys.push(neighbour_key(s, b as u32));
            visit(b, s);
        }
    }
    best_k(keys, k)
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

/// The sums of the row's pairs `(a, b > a)` (the entities after `a` in its raters' lists, `a`'s
/// value as `x`), in the dense per-thread accumulator; returns how many entities were touched
/// (listed first in `scratch.touched`).
fn sum_pairs<K: Kernel>(views: &Views<'_>, scratch: &mut Scratch<K::Sums>) -> usize {
    let Scratch { sums, touched, spans, .. } = scratch;
    let (indices, data) = (&views.rater_indices[..], &views.rater_data[..]);
    let mut n_touched = 0usize;
    for (j, &(p, end)) in spans.iter().enumerate() {
        if let Some(&(ahead, ahead_end)) = spans.get(j + PREFETCH_AHEAD) {
            prefetch_lines(&indices[ahead..ahead_end]);
            prefetch_lines(&data[ahead..ahead_end]);
        }
        let x = data[p];
        let xx = x * x;
        for (&b, &y) in indices[p + 1..end].iter().zip(&data[p + 1..end]) {
            n_touched = add_pair::<K>(sums, touched, n_touched, b, x, xx, y);
        }
    }
    n_touched
}

/// Adds the pairs `(b < a, a)` of row `a` (the entities before `a` in its raters' lists, each
/// summed with `b`'s value as `x`, as the row of `b` sums it) after the `n_touched` entities
/// already touched; returns the new count.
fn sum_lower_pairs<K: Kernel>(views: &Views<'_>, scratch: &mut Scratch<K::Sums>, a: usize, mut n_touched: usize) -> usize {
    let Scratch { sums, touched, spans, .. } = scratch;
    let (indices, data) = (&views.rater_indices[..], &views.rater_data[..]);
    let offsets = &views.entity_offsets[views.entity_indptr[a] as usize..views.entity_indptr[a + 1] as usize];
    for (&(p, _), &offset) in spans.iter().zip(offsets) {
        let (start, y) = (p - offset as usize, data[p]);
        for (&b, &x) in indices[start..p].iter().zip(&data[start..p]) {
            n_touched = add_pair::<K>(sums, touched, n_touched, b, x, x * x, y);
        }
    }
    n_touched
}

/// Adds one co-rating to the sums of entity `b` and lists `b` if it is new; returns the number
/// of entities touched.
#[inline]
fn add_pair<K: Kernel>(sums: &mut [K::Sums], touched: &mut [u32], n_touched: usize, b: i32, x: f64, xx: f64, y: f64) -> usize {
    let slot = &mut sums[b as usize];
    // Branch-free bookkeeping of first touches: new entries are hard to predict.
    touched[n_touched] = b as u32;
    let n_touched = n_touched + usize::from(K::count(slot) == 0.0);
    K::add(slot, x, xx, y);
    n_touched
}

/// The similarity of the pair `(lower, higher)` from its sums, shrunk and clamped; `None`
/// below the support, or when it is 0 or NaN (never stored).
#[inline]
fn similarity<K: Kernel>(kernel: &K, settings: &Settings, sums: &K::Sums, lower: usize, higher: usize) -> Option<f32> {
    let n_common = K::count(sums);
    if n_common < settings.support as f64 {
        return None;
    }
    let mut s = kernel.finish(sums, lower, higher);
    if settings.shrinkage > 0.0 {
        s *= n_common / (n_common + settings.shrinkage);
    }
    let s = s.clamp(-1.0, 1.0) as f32;
    (s != 0.0 && !s.is_nan()).then_some(s)
}

/// Finishes every touched pair of row `a` into a similarity, offers it to both rows, merges
/// the row's own best into its shared list and clears the accumulator.
fn finish_row<K: Kernel>(
    kernel: &K,
    settings: &Settings,
    shared: &SharedTopK,
    scratch: &mut Scratch<K::Sums>,
    log: &mut OfferLog,
    a: usize,
    n_touched: usize,
) {
    let Scratch { sums, touched, own, .. } = scratch;
    let k = settings.k;
    own.clear();
    let mut threshold = shared.threshold(a);
    let touched = &touched[..n_touched];
    for (i, &b) in touched.iter().enumerate() {
        // The entity's sums and the other row's threshold, asked of the cache ahead.
        if let Some(&ahead) = touched.get(i + PREFETCH_AHEAD) {
            prefetch(&sums[ahead as usize..]);
            shared.prefetch(ahead as usize);
        }
        let b = b as usize;
        let slot = std::mem::take(&mut sums[b]);
        let Some(s) = similarity(kernel, settings, &slot, a, b) else {
            continue;
        };
        log.offer(shared, b, neighbour_key(s, a as u32));
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

/// The `k` smallest of `keys`, sorted.
pub(super) fn best_k(mut keys: Vec<u64>, k: usize) -> Vec<u64> {
    if keys.len() > k {
        cut_to_best(&mut keys, k);
    }
    keys.sort_unstable();
    keys
}

/// Keeps the best `k` of `keys` (at least `k` of them); returns the `k`-th best.
fn cut_to_best(keys: &mut Vec<u64>, k: usize) -> u64 {
    keys.select_nth_unstable(k - 1);
    keys.truncate(k);
    keys[k - 1]
}

/// How many offers a log holds per row of the result before it delivers them (within
/// `MIN_OFFERS..=MAX_OFFERS`).
const OFFERS_PER_ROW: usize = 8;
const MIN_OFFERS: usize = 1 << 12;
const MAX_OFFERS: usize = 1 << 20;

/// A key offered to a row, in 12 bytes (a `(u32, u64)` pair takes 16).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Offer {
    row: u32,
    key_high: u32,
    key_low: u32,
}

impl Offer {
    fn new(row: usize, key: u64) -> Self {
        Offer { row: row as u32, key_high: (key >> 32) as u32, key_low: key as u32 }
    }

    fn key(self) -> u64 {
        (u64::from(self.key_high) << 32) | u64::from(self.key_low)
    }
}

/// The offers a thread made to other rows and has not yet delivered. Delivering one offer at
/// a time cost a lock and a scattered write each, and the unlock, a full barrier, waited for
/// that write (a quarter of the fit at 16M ratings). The log keeps the offers that pass the
/// row's threshold in arrival order, and delivers them a few per row at once: sorted by row
/// (a stable radix sort), one lock per row, the row's buffers written in address order. A
/// threshold is then tightened a little later than it could be, which admits a few more
/// offers but never drops one that belongs to the top `k`.
struct OfferLog {
    offers: Vec<Offer>,
    /// Where the radix sort puts each pass.
    spare: Vec<Offer>,
    len: usize,
    /// The number of rows: how many bytes of a row the sort looks at.
    n_rows: usize,
}

impl OfferLog {
    /// A log sized for a result of `n_rows` rows.
    fn for_rows(n_rows: usize) -> Self {
        Self::new(n_rows, (OFFERS_PER_ROW * n_rows).clamp(MIN_OFFERS, MAX_OFFERS))
    }

    fn new(n_rows: usize, capacity: usize) -> Self {
        OfferLog { offers: vec![Offer::default(); capacity], spare: vec![Offer::default(); capacity], len: 0, n_rows }
    }

    /// Offers `key` to `row`: kept when it is below the row's threshold now.
    #[inline]
    fn offer(&mut self, shared: &SharedTopK, row: usize, key: u64) {
        if key < shared.threshold(row) {
            self.offers[self.len] = Offer::new(row, key);
            self.len += 1;
            if self.len == self.offers.len() {
                self.deliver(shared);
            }
        }
    }

    /// Delivers every offer held, row by row, and empties the log.
    fn deliver(&mut self, shared: &SharedTopK) {
        self.sort_by_row();
        let offers = &self.offers[..self.len];
        for group in offers.chunk_by(|a, b| a.row == b.row) {
            shared.deliver(group[0].row as usize, group);
        }
        self.len = 0;
    }

    /// Sorts the held offers by row, keeping their order within a row: LSD radix passes
    /// over the bytes a row number can have.
    fn sort_by_row(&mut self) {
        let len = self.len;
        let highest = self.n_rows.saturating_sub(1);
        let mut shift = 0;
        while shift < 32 && highest >> shift > 0 {
            let mut starts = [0u32; 256];
            for offer in &self.offers[..len] {
                starts[(offer.row >> shift) as usize & 0xff] += 1;
            }
            if counts_to_starts(&mut starts, len) {
                for &offer in &self.offers[..len] {
                    let digit = (offer.row >> shift) as usize & 0xff;
                    self.spare[starts[digit] as usize] = offer;
                    starts[digit] += 1;
                }
                std::mem::swap(&mut self.offers, &mut self.spare);
            }
            shift += 8;
        }
    }
}

/// The top-`k` lists of all rows, shared by the threads. Every pair is computed once and
/// offered to both of its rows. A row collects its candidates unsorted in a buffer of up to
/// `2k` keys; when the buffer is full, a selection keeps the best `k` and the key of the k-th
/// best becomes the row's admission threshold (as soon as the row's own best is merged, too).
/// The threshold only falls, so reading it without the lock can only let through too much,
/// never too little: most candidates are turned away without the lock, and an admitted one
/// costs an append (amortised O(1) per candidate). Other rows' offers arrive in batches
/// ([`OfferLog`]), a row's own best in one merge.
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

    /// Asks the cache for a row's threshold.
    #[inline]
    fn prefetch(&self, row: usize) {
        prefetch(&self.thresholds[row..]);
    }

    #[inline]
    fn threshold(&self, row: usize) -> u64 {
        self.thresholds[row].load(AtomicOrdering::Relaxed)
    }

    /// Keeps the best `k` of a buffer that holds at least `at_least` keys, and publishes the
    /// new threshold; returns the k-th best key kept (`u64::MAX` when nothing was cut).
    fn compact(&self, row: usize, buffer: &mut Vec<u64>, at_least: usize) -> u64 {
        if buffer.len() >= at_least {
            let kth = cut_to_best(buffer, self.k);
            self.thresholds[row].fetch_min(kth, AtomicOrdering::Relaxed);
            kth
        } else {
            u64::MAX
        }
    }

    /// Adds the offers to one row under one lock, each kept only while it is below the row's
    /// threshold.
    fn deliver(&self, row: usize, offers: &[Offer]) {
        let mut threshold = self.threshold(row);
        let mut buffer = self.lock(row);
        if buffer.capacity() == 0 {
            buffer.reserve_exact(2 * self.k);
        }
        for offer in offers {
            let key = offer.key();
            if key < threshold {
                buffer.push(key);
                if buffer.len() == 2 * self.k {
                    threshold = threshold.min(self.compact(row, &mut buffer, 2 * self.k));
                }
            }
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
            .map(|buffer| best_k(buffer.into_inner().unwrap_or_else(PoisonError::into_inner), k))
            .collect();
        // Decoded in order, each row freed as soon as it is written: the keys and the output
        // are never both whole in memory (the fit's peak; `keys_to_csr` holds both).
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

/// Rows of sorted keys as a CSR of `n_cols` columns; the rows are decoded in parallel, each
/// into its own slice of the output.
pub(super) fn keys_to_csr(rows: &[Vec<u64>], n_cols: usize) -> Csr<f32> {
    let mut indptr = Vec::with_capacity(rows.len() + 1);
    indptr.push(0i64);
    let mut total = 0usize;
    for row in rows {
        total += row.len();
        indptr.push(total as i64);
    }
    let mut indices = vec![0i32; total];
    let mut data = vec![0f32; total];
    let slices = split_rows(&indptr, &mut indices, &mut data);
    slices.into_par_iter().zip(rows).with_min_len(64).for_each(|((row_indices, row_data), row)| {
        for ((index, value), &key) in row_indices.iter_mut().zip(row_data.iter_mut()).zip(row) {
            let (similarity, column) = neighbour_of_key(key);
            *index = column as i32;
            *value = similarity;
        }
    });
    Csr { n_rows: rows.len(), n_cols, indptr, indices, data }
}

/// The per-row output slices of a CSR whose `indptr` is known.
pub(super) fn split_rows<'a>(
    indptr: &[i64],
    mut indices: &'a mut [i32],
    mut data: &'a mut [f32],
) -> Vec<(&'a mut [i32], &'a mut [f32])> {
    let mut slices = Vec::with_capacity(indptr.len().saturating_sub(1));
    for w in indptr.windows(2) {
        let len = (w[1] - w[0]) as usize;
        let (head_indices, tail_indices) = std::mem::take(&mut indices).split_at_mut(len);
        let (head_data, tail_data) = std::mem::take(&mut data).split_at_mut(len);
        slices.push((head_indices, head_data));
        indices = tail_indices;
        data = tail_data;
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Offers through small logs (many deliveries, row numbers of three bytes) end as the
    /// best `k` of everything offered to each row, as sorting all of a row's offers gives.
    #[test]
    fn logged_offers_keep_the_best_k_of_each_row() {
        let (n, k) = (70_000usize, 3usize);
        let shared = SharedTopK::new(n, k);
        let mut everything: Vec<Vec<u64>> = vec![Vec::new(); n];
        let mut rng = SplitMix64(7);
        let mut logs = [OfferLog::new(n, 64), OfferLog::new(n, 1000)];
        for i in 0..400_000usize {
            // Rows crowded at both ends and spread between; few distinct keys (ties).
            let row = match rng.next_u64() % 3 {
                0 => (rng.next_u64() % 5) as usize,
                1 => n - 1 - (rng.next_u64() % 5) as usize,
                _ => (rng.next_u64() % n as u64) as usize,
            };
            // Both halves of the key carry information (an `Offer` stores them apart).
            let key = (rng.next_u64() % 50) * 0x1_0000_0001;
            everything[row].push(key);
            logs[i % 2].offer(&shared, row, key);
        }
        for log in &mut logs {
            log.deliver(&shared);
        }
        let rows: Vec<Vec<u64>> = shared.rows.into_iter().map(|m| best_k(m.into_inner().unwrap(), k)).collect();
        for (row, (got, mut all)) in rows.into_iter().zip(everything).enumerate() {
            all.sort_unstable();
            all.truncate(k);
            assert_eq!(got, all, "row {row}");
        }
    }

    /// The radix sort orders by row and keeps the arrival order within a row, as a stable
    /// comparison sort does, for row numbers of one to four bytes.
    #[test]
    fn offers_sort_by_row_stably() {
        let mut rng = SplitMix64(11);
        for n_rows in [1usize, 200, 300, 70_000, 1 << 31] {
            let mut log = OfferLog::new(n_rows, 5000);
            let offers: Vec<Offer> =
                (0..5000).map(|_| Offer::new((rng.next_u64() % n_rows as u64) as usize, rng.next_u64())).collect();
            log.offers.copy_from_slice(&offers);
            log.len = offers.len();
            log.sort_by_row();
            let mut expected = offers;
            expected.sort_by_key(|offer| offer.row);
            assert_eq!(log.offers, expected, "{n_rows} rows");
        }
    }
}
