//! Top-k selection per row of a dense score matrix, with include/exclude filters.
//!
//! Order: descending score, ties broken by the lower column id. NaN scores are never
//! returned; `-inf` is an ordinary (very bad) score. Rows with fewer than `k` candidates
//! are padded with id `-1` and score `-inf`.
//!
//! A huge `k` never sizes an allocation: a row has at most `n_cols` candidates, so the result
//! is [`output_width`] slots wide, which is `k` unless `k` exceeds both `n_cols` and
//! [`MAX_PADDED_WIDTH`] (then it is the larger of the two).
//!
//! One pass over a row with a sorted buffer of the best `k` seen so far: once the buffer is
//! full, almost every score fails the single comparison against the current k-th best, so
//! the scan runs at memory speed. Candidates are visited in increasing id order, which is
//! what makes "ties go to the lower id" fall out of a strict comparison.

use rayon::prelude::*;

use crate::buffer::zeroed;
use crate::csr::CsrView;
use crate::error::{Error, Result};

/// A score type the kernel can rank: `f32` or `f64`.
pub trait Score: Copy + PartialOrd + Send + Sync {
    fn to_f32(self) -> f32;
    fn is_nan(self) -> bool;
}

impl Score for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

impl Score for f64 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

/// Which column ids a filter names.
#[derive(Debug, Clone, Copy)]
pub enum IdFilter<'a> {
    /// No filter.
    None,
    /// The same ids for every row (need not be sorted; duplicates are fine).
    Ids(&'a [i32]),
    /// Ids per row, as the pattern of a CSR matrix with the shape of the scores.
    PerRow(CsrView<'a, ()>),
}

impl IdFilter<'_> {
    fn is_none(&self) -> bool {
        matches!(self, IdFilter::None)
    }
}

/// The `k` best scores of one row seen so far, best first.
struct Best<T> {
    k: usize,
    scores: Vec<T>,
    ids: Vec<i32>,
}

impl<T: Score> Best<T> {
    fn new(k: usize) -> Self {
        Best { k, scores: Vec::with_capacity(k + 1), ids: Vec::with_capacity(k + 1) }
    }

    fn clear(&mut self) {
        self.scores.clear();
        self.ids.clear();
    }

    #[inline]
    fn is_full(&self) -> bool {
        self.scores.len() == self.k
    }

    /// Offers a candidate. Ids must arrive in increasing order and NaN must be filtered out.
    // `!(a > b)` is meant: it is also true when a comparison involves NaN.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    #[inline]
    fn offer(&mut self, score: T, id: i32) {
        if self.is_full() && !(score > self.scores[self.k - 1]) {
            return;
        }
        // First position whose score is strictly worse: equal scores keep the earlier id first.
        let pos = self.scores.partition_point(|&s| !(s < score));
        self.scores.insert(pos, score);
        self.ids.insert(pos, id);
        if self.scores.len() > self.k {
            self.scores.pop();
            self.ids.pop();
        }
    }

    fn write(&self, out_ids: &mut [i32], out_scores: &mut [f32]) {
        for (slot, (&id, &score)) in out_ids.iter_mut().zip(out_scores.iter_mut()).zip(self.ids.iter().zip(&self.scores)) {
            *slot.0 = id;
            *slot.1 = score.to_f32();
        }
        for (id, score) in out_ids.iter_mut().zip(out_scores.iter_mut()).skip(self.ids.len()) {
            *id = -1;
            *score = f32::NEG_INFINITY;
        }
    }
}

/// Validates the ids of an [`IdFilter::Ids`] filter against `n_cols`.
fn check_ids(name: &'static str, ids: &[i32], n_cols: usize) -> Result<()> {
    if let Some(&bad) = ids.iter().find(|&&id| id < 0 || id as usize >= n_cols) {
        return Err(Error::invalid(name, format!("id {bad} is out of range for {n_cols} columns")));
    }
    Ok(())
}

fn check_filter(name: &'static str, filter: &IdFilter<'_>, n_rows: usize, n_cols: usize) -> Result<()> {
    match filter {
        IdFilter::None => Ok(()),
        IdFilter::Ids(ids) => check_ids(name, ids, n_cols),
        IdFilter::PerRow(mask) => {
            if mask.n_rows != n_rows || mask.n_cols != n_cols {
                return Err(Error::shape(
                    name,
                    format!("mask has shape ({}, {}) but scores have shape ({n_rows}, {n_cols})", mask.n_rows, mask.n_cols),
                ));
            }
            Ok(())
        }
    }
}

/// Rows are padded with id `-1` up to `k` slots, but never beyond this many slots or the
/// number of columns, whichever is larger: a `k` past both only asks for more padding.
pub const MAX_PADDED_WIDTH: usize = 1024;

/// The number of result slots per row for `k` and `n_cols` columns:
/// `min(k, max(n_cols, MAX_PADDED_WIDTH))`, so that `k = 10^13` costs no more than the
/// catalogue. Every candidate a row can have still fits.
#[must_use]
pub fn output_width(k: usize, n_cols: usize) -> usize {
    k.min(n_cols.max(MAX_PADDED_WIDTH))
}

/// Selects the top `k` of each row of `scores` (row-major, `n_rows x n_cols`).
///
/// Returns `(ids, scores)`, each `n_rows * output_width(k, n_cols)` long, row-major. `include` restricts the
/// candidates, `exclude` removes candidates; both may be given. Runs in parallel over rows in
/// the current rayon pool.
///
/// # Errors
/// [`Error::InvalidArgument`] when `k == 0`, when `scores.len() != n_rows * n_cols`, when a
/// filter names an id outside `0..n_cols`, or when the result would not fit in memory (many
/// rows of no columns); [`Error::ShapeMismatch`] when a per-row mask does not
/// have the shape of the scores.
pub fn top_k<T: Score>(
    scores: &[T],
    n_rows: usize,
    n_cols: usize,
    k: usize,
    include: IdFilter<'_>,
    exclude: IdFilter<'_>,
) -> Result<(Vec<i32>, Vec<f32>)> {
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    if n_rows.checked_mul(n_cols) != Some(scores.len()) {
        return Err(Error::shape("scores", format!("{} values do not make {n_rows} x {n_cols}", scores.len())));
    }
    if n_cols > i32::MAX as usize {
        return Err(Error::invalid("scores", "more than 2^31 - 1 columns"));
    }
    check_filter("include", &include, n_rows, n_cols)?;
    check_filter("exclude", &exclude, n_rows, n_cols)?;

    // Shared, built once: the global include list in increasing order, the global exclude mask.
    let global_include: Option<Vec<i32>> = match include {
        IdFilter::Ids(ids) => {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            Some(ids)
        }
        _ => None,
    };
    let global_exclude: Option<Vec<bool>> = match exclude {
        IdFilter::Ids(ids) => {
            let mut mask = vec![false; n_cols];
            for &id in ids {
                mask[id as usize] = true;
            }
            Some(mask)
        }
        _ => None,
    };

    let k = output_width(k, n_cols);
    let mut out_ids = zeroed::<i32>("scores", n_rows, k)?;
    let mut out_scores = zeroed::<f32>("scores", n_rows, k)?;
    if n_rows == 0 {
        return Ok((out_ids, out_scores));
    }
    let plain = include.is_none() && exclude.is_none();
    // Small rows are cheap: hand rayon enough of them at once to amortise scheduling.
    let min_rows = (65_536 / n_cols.max(1)).max(1);
    out_ids.par_chunks_mut(k).zip(out_scores.par_chunks_mut(k)).enumerate().with_min_len(min_rows).for_each_init(
        || (Best::new(k), if matches!(exclude, IdFilter::PerRow(_)) { vec![false; n_cols] } else { Vec::new() }),
        |(best, row_mask), (row, (ids_out, scores_out))| {
            best.clear();
            let values = &scores[row * n_cols..(row + 1) * n_cols];
            if plain {
                scan_all(values, best);
            } else {
                if let IdFilter::PerRow(mask) = exclude {
                    for &id in mask.row_indices(row) {
                        row_mask[id as usize] = true;
                    }
                }
                let excluded: &[bool] = match &global_exclude {
                    Some(mask) => mask,
                    None => row_mask,
                };
                let is_excluded = |id: usize| !excluded.is_empty() && excluded[id];
                let candidates: Option<&[i32]> = match (&global_include, include) {
                    (Some(ids), _) => Some(ids),
                    (None, IdFilter::PerRow(mask)) => Some(mask.row_indices(row)),
                    _ => None,
                };
                match candidates {
                    Some(ids) => {
                        for &id in ids {
                            let score = values[id as usize];
                            if !score.is_nan() && !is_excluded(id as usize) {
                                best.offer(score, id);
                            }
                        }
                    }
                    None => {
                        for (id, &score) in values.iter().enumerate() {
                            if !score.is_nan() && !is_excluded(id) {
                                best.offer(score, id as i32);
                            }
                        }
                    }
                }
                if let IdFilter::PerRow(mask) = exclude {
                    for &id in mask.row_indices(row) {
                        row_mask[id as usize] = false;
                    }
                }
            }
            best.write(ids_out, scores_out);
        },
    );
    Ok((out_ids, out_scores))
}

/// The unfiltered hot loop: fill the buffer, then compare each score with the k-th best.
#[inline]
fn scan_all<T: Score>(values: &[T], best: &mut Best<T>) {
    let mut start = 0;
    while start < values.len() && !best.is_full() {
        let score = values[start];
        if !score.is_nan() {
            best.offer(score, start as i32);
        }
        start += 1;
    }
    if start == values.len() {
        return;
    }
    let mut threshold = best.scores[best.k - 1];
    for (offset, &score) in values[start..].iter().enumerate() {
        // NaN fails `>` and is skipped here without a separate test.
        if score > threshold {
            best.offer(score, (start + offset) as i32);
            threshold = best.scores[best.k - 1];
        }
    }
}

#[cfg(test)]
// Exact float equality is the point: results must match the references bit for bit.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Full sort of the candidates: the reference the fast path must match exactly.
    fn naive(
        scores: &[f64],
        n_rows: usize,
        n_cols: usize,
        k: usize,
        include: Option<&[i32]>,
        exclude: &[i32],
    ) -> (Vec<i32>, Vec<f32>) {
        let mut ids_out = Vec::new();
        let mut scores_out = Vec::new();
        for row in 0..n_rows {
            let values = &scores[row * n_cols..(row + 1) * n_cols];
            let mut cands: Vec<(f64, i32)> = (0..n_cols as i32)
                .filter(|id| include.is_none_or(|inc| inc.contains(id)))
                .filter(|id| !exclude.contains(id))
                .map(|id| (values[id as usize], id))
                .filter(|(s, _)| !s.is_nan())
                .collect();
            cands.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
            for j in 0..k {
                if let Some(&(s, id)) = cands.get(j) {
                    ids_out.push(id);
                    scores_out.push(s as f32);
                } else {
                    ids_out.push(-1);
                    scores_out.push(f32::NEG_INFINITY);
                }
            }
        }
        (ids_out, scores_out)
    }

    #[test]
    fn ties_go_to_lower_id_and_nan_is_skipped() {
        let scores = [1.0f32, f32::NAN, 3.0, 3.0, f32::NEG_INFINITY];
        let (ids, vals) = top_k(&scores, 1, 5, 3, IdFilter::None, IdFilter::None).unwrap();
        assert_eq!(ids, vec![2, 3, 0]);
        assert_eq!(vals, vec![3.0, 3.0, 1.0]);
        let (ids, vals) = top_k(&scores, 1, 5, 6, IdFilter::None, IdFilter::None).unwrap();
        assert_eq!(ids, vec![2, 3, 0, 4, -1, -1]);
        assert_eq!(vals[3], f32::NEG_INFINITY);
    }

    #[test]
    fn rejects_bad_arguments() {
        let scores = [1.0f32, 2.0];
        assert!(top_k(&scores, 1, 2, 0, IdFilter::None, IdFilter::None).is_err());
        assert!(top_k(&scores, 1, 3, 1, IdFilter::None, IdFilter::None).is_err());
        assert!(top_k(&scores, 1, 2, 1, IdFilter::Ids(&[2]), IdFilter::None).is_err());
        assert!(top_k(&scores, 1, 2, 1, IdFilter::None, IdFilter::Ids(&[-1])).is_err());
    }

    #[test]
    fn huge_k_is_clamped_to_the_catalogue() {
        let scores = [0.5f64, f64::NAN, 2.0, 2.0, -1.0, 0.0];
        for k in [7, 1024, 1025, 1 << 40, usize::MAX / 2, usize::MAX] {
            let width = output_width(k, 3);
            assert_eq!(width, k.min(MAX_PADDED_WIDTH));
            let got = top_k(&scores, 2, 3, k, IdFilter::None, IdFilter::None).unwrap();
            assert_eq!(got, naive(&scores, 2, 3, width, None, &[]));
        }
        // A catalogue wider than the padding limit: never more slots than columns.
        let wide: Vec<f64> = (0..2000).map(|i| f64::from(i % 17)).collect();
        let (ids, _) = top_k(&wide, 1, 2000, usize::MAX, IdFilter::None, IdFilter::Ids(&[3])).unwrap();
        assert_eq!(ids.len(), 2000);
        assert_eq!(ids[1999], -1);
        assert_eq!(
            (ids.clone(), top_k(&wide, 1, 2000, 2000, IdFilter::None, IdFilter::Ids(&[3])).unwrap().1),
            naive(&wide, 1, 2000, 2000, None, &[3])
        );
    }

    #[test]
    fn many_rows_of_nothing_fail_cleanly() {
        // No scores at all, but n_rows x k slots that cannot exist: an error, not an abort.
        assert!(top_k::<f32>(&[], usize::MAX / 2, 0, 10, IdFilter::None, IdFilter::None).is_err());
        assert!(top_k::<f32>(&[], 1 << 60, 0, 1 << 40, IdFilter::None, IdFilter::None).is_err());
        let (ids, _) = top_k::<f32>(&[], 2, 0, 1 << 40, IdFilter::None, IdFilter::None).unwrap();
        assert_eq!(ids, vec![-1; 2 * MAX_PADDED_WIDTH]);
    }

    proptest! {
        #[test]
        fn matches_full_sort(
            n_rows in 1usize..5,
            n_cols in 1usize..40,
            k in 1usize..12,
            seed in any::<u64>(),
            use_include in any::<bool>(),
            per_row in any::<bool>(),
        ) {
            // Small integer scores make ties common; every 7th value is NaN.
            let mut state = seed | 1;
            let mut next = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let scores: Vec<f64> = (0..n_rows * n_cols)
                .map(|i| if i % 7 == 3 { f64::NAN } else { (next() % 5) as f64 })
                .collect();
            let include: Vec<i32> = (0..n_cols as i32).filter(|_| next() % 3 != 0).collect();
            let exclude: Vec<i32> = (0..n_cols as i32).filter(|_| next() % 4 == 0).collect();
            let inc = if use_include { Some(include.as_slice()) } else { None };

            if per_row {
                // The same ids in every row, given as a per-row mask, must agree with the global form.
                let mk = |ids: &[i32]| {
                    let mut indptr = vec![0i64];
                    let mut indices = Vec::new();
                    for _ in 0..n_rows { indices.extend_from_slice(ids); indptr.push(indices.len() as i64); }
                    (indptr, indices)
                };
                let (ip_e, ix_e) = mk(&exclude);
                let (ip_i, ix_i) = mk(&include);
                let ex = CsrView::new("exclude", n_rows, n_cols, &ip_e, &ix_e, &[], true).unwrap();
                let inc_view = CsrView::new("include", n_rows, n_cols, &ip_i, &ix_i, &[], true).unwrap();
                let inc_filter = if use_include { IdFilter::PerRow(inc_view) } else { IdFilter::None };
                let got = top_k(&scores, n_rows, n_cols, k, inc_filter, IdFilter::PerRow(ex)).unwrap();
                prop_assert_eq!(got, naive(&scores, n_rows, n_cols, k, inc, &exclude));
            } else {
                let inc_filter = if use_include { IdFilter::Ids(&include) } else { IdFilter::None };
                let got = top_k(&scores, n_rows, n_cols, k, inc_filter, IdFilter::Ids(&exclude)).unwrap();
                prop_assert_eq!(got, naive(&scores, n_rows, n_cols, k, inc, &exclude));
                let got = top_k(&scores, n_rows, n_cols, k, IdFilter::None, IdFilter::None).unwrap();
                prop_assert_eq!(got, naive(&scores, n_rows, n_cols, k, None, &[]));
            }
        }
    }
}
