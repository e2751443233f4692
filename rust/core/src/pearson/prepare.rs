//! The one preparation of the ratings for every entry point: the arguments checked, and the
//! ratings laid out as the pair kernel (`fit.rs`) reads them.
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

use std::borrow::Cow;

use super::{Axis, Similarity};
use crate::csr::CsrView;
use crate::error::{Error, Result};

/// The checked arguments and the views of the ratings, shared by every entry point.
pub(super) struct Prepared<'a> {
    pub(super) views: Views<'a>,
    pub(super) settings: Settings,
    pub(super) similarity: Similarity,
}

/// What a row needs besides the views.
pub(super) struct Settings {
    /// The number of neighbours kept per row, clamped to `1..=n - 1`.
    pub(super) k: usize,
    /// The least number of co-raters a similarity needs (at least 1).
    pub(super) support: usize,
    pub(super) shrinkage: f64,
}

impl<'a> Prepared<'a> {
    /// Checks the arguments of an entry point and prepares the views of `ratings` (users x
    /// items) for `axis` and `similarity`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `k == 0`, when `shrinkage` is negative or not finite, when
    /// `ratings` has no `data`, a non-finite value, an unsorted or duplicated column index in a
    /// row, or more than `2^31 - 1` rows or columns.
    pub(super) fn new(
        ratings: &CsrView<'a, f64>,
        k: usize,
        axis: Axis,
        similarity: Similarity,
        min_support: usize,
        shrinkage: f64,
    ) -> Result<Self> {
        if k == 0 {
            return Err(Error::invalid("k", "must be at least 1"));
        }
        if !shrinkage.is_finite() || shrinkage < 0.0 {
            return Err(Error::invalid("shrinkage", format!("must be finite and >= 0, got {shrinkage}")));
        }
        check_ratings(ratings)?;
        if ratings.n_rows.max(ratings.n_cols) > i32::MAX as usize {
            return Err(Error::invalid("matrix", "more than 2^31 - 1 rows or columns"));
        }
        let views = Views::new(ratings, axis, similarity);
        // No row has more than n - 1 neighbours: a huge `k` must not size any buffer.
        let k = k.min(views.n_entities().saturating_sub(1)).max(1);
        // One co-rating gives Pearson an exactly zero variance (x*x - (x*x)/1 == 0): skip such
        // pairs without computing them.
        let least = if similarity == Similarity::Pearson { 2 } else { 1 };
        Ok(Prepared { views, settings: Settings { k, support: min_support.max(least), shrinkage }, similarity })
    }

    /// The number of entities (the rows and columns of the result).
    pub(super) fn n(&self) -> usize {
        self.views.n_entities()
    }
}

fn check_ratings(ratings: &CsrView<'_, f64>) -> Result<()> {
    if ratings.data.len() != ratings.nnz() {
        return Err(Error::invalid("matrix", "needs a value for every stored entry"));
    }
    if ratings.data.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid("matrix", "contains NaN or infinite values"));
    }
    for row in 0..ratings.n_rows {
        if ratings.row_indices(row).windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid("matrix", format!("column indices of row {row} are not sorted and unique")));
        }
    }
    Ok(())
}

/// The ratings as the pair kernel reads them (see the module documentation).
pub(super) struct Views<'a> {
    /// Rater x entity, rows sorted: `indptr`, `indices` and the (centred) values.
    pub(super) rater_indptr: Cow<'a, [i64]>,
    pub(super) rater_indices: Cow<'a, [i32]>,
    pub(super) rater_data: Cow<'a, [f64]>,
    /// Entity x rater, rows sorted: the raters, and where the entity sits in each rater's list.
    pub(super) entity_indptr: Cow<'a, [i64]>,
    pub(super) entity_raters: Cow<'a, [i32]>,
    pub(super) entity_offsets: Vec<u32>,
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
    fn new(ratings: &CsrView<'a, f64>, axis: Axis, similarity: Similarity) -> Self {
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

    /// Each entity's norm, its squares summed in ascending rater order.
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

/// The mean of every row, its values taken in ascending column order.
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

/// The mean of every column, its values taken in ascending row order.
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

/// The mean of some values; the exact value when they are all equal (so that centring an
/// all-equal row gives exact zeros).
#[allow(clippy::float_cmp)] // exactly equal values are what this looks for
fn mean_of(sum: f64, count: usize, min: f64, max: f64) -> f64 {
    if min == max {
        min
    } else {
        sum / count as f64
    }
}
