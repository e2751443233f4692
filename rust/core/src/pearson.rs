//! Nearest neighbours by sparse similarity: item-item or user-user Pearson, cosine, adjusted
//! cosine and co-rated cosine, top `k` per row, without ever forming a dense `n x n` matrix.
//!
//! # Definitions
//!
//! The input is a users x items matrix of ratings. Every *stored* entry is a rating, explicit
//! zeros included. The *entities* are the items (`Axis::Items`, item-item neighbours) or the
//! users (`Axis::Users`); the *raters* of an entity are the users that rated it (items that a
//! user rated, for `Axis::Users`). For two entities `a` and `b`, `I` is their co-rated set
//! (raters that rated both), `n = |I|`, and `x_r`, `y_r` are the ratings of `a` and `b` by `r`.
//!
//! - [`Similarity::Pearson`]: the correlation over `I` with the means taken over `I`:
//!   `sum_I (x - mx)(y - my) / sqrt(sum_I (x - mx)^2 * sum_I (y - my)^2)`, where
//!   `mx = sum_I x / n` and `my = sum_I y / n` (the classic user-based CF definition; not the
//!   means over all of an entity's ratings).
//! - [`Similarity::Cosine`]: the cosine of the two full sparse rows, `sum_I x y / (|a| |b|)`,
//!   the norms over *all* stored ratings of each entity (unrated counts as 0). This is
//!   scikit-learn's `cosine_similarity` of the rows; with all-ones data it is the implicit
//!   feedback cosine.
//! - [`Similarity::AdjustedCosine`]: every rating is first centred on the mean of its rater
//!   (for item-item: each user's mean over all of that user's ratings; for user-user: each
//!   item's mean over all of its ratings), then the full-row cosine of the centred rows (unrated
//!   stays 0). A rater whose ratings are all equal has the exact value as mean.
//! - [`Similarity::CosineCorated`]: `sum_I x y / sqrt(sum_I x^2 * sum_I y^2)`, all three sums
//!   over the co-rated set (surprise's `cosine`; on baseline residuals, its `pearson_baseline`,
//!   whose shrinkage uses `n - 1` where this one uses `n`, and which needs `n >= 2`).
//! - [`Similarity::Msd`]: surprise's mean squared difference similarity
//!   `1 / (sum_I (x - y)^2 / n + 1)` on the raw ratings (always in `(0, 1]`).
//! - [`Similarity::Dot`]: the plain dot product `sum_I x y` of the two sparse rows (for
//!   weighted implicit feedback whose rows the caller has already normalised; like every
//!   similarity it is clamped to `[-1, 1]`, so the caller scales the values to keep it there).
//!
//! Then: a pair with `n < min_support` gets no similarity; `shrinkage` `λ >= 0` multiplies the
//! similarity by `n / (n + λ)`. A zero variance or zero norm gives 0. For Pearson, a co-rated
//! variance or covariance that is only rounding noise counts as zero too: with `x'` the ratings
//! of `a` shifted by `a`'s mean over all its ratings, `sum_I (x - mx)^2 <= 1e-12 * sum_I x'^2`
//! (likewise for `b`) or `|sum_I (x - mx)(y - my)| <= 1e-12 * sqrt(sum_I x'^2 * sum_I y'^2)`
//! gives 0. Results are clamped to `[-1, 1]`, rounded to `f32`, and a similarity of exactly 0
//! is not stored. No NaN is ever returned.
//!
//! # Output
//!
//! An `n x n` CSR (`n` entities) holding at most `k` neighbours per row, never the row itself:
//! the `k` largest similarities (negative ones too, if they are among the `k` largest). Within a
//! row the entries are ordered by similarity descending (as `f32`), ties by the lower column
//! index, so the column indices of a row are in that order, *not* sorted.
//!
//! # Algorithm
//!
//! Gustavson-style row-by-row accumulation over the upper triangle: for entity `a`, for each
//! rater `r` of `a`, for each entity `b > a` rated by `r` (the part of the rater's sorted list
//! after `a`), the pair's terms are added into a dense per-thread accumulator. Each pair is
//! thus computed once, in one fixed orientation (the lower entity as `x`, over the co-raters in
//! ascending order); its similarity is offered to the row's own bounded top-`k` and to `b`'s,
//! kept in per-row buffers of at most `2k` candidates shared by the threads (a lock per row,
//! and a lock-free admission threshold per row that turns most candidates away without the
//! lock). Rows run in parallel in the current rayon pool, in blocks, from the last to the
//! first, so that a row already holds its own best when the offers from lower rows arrive.
//! Memory is `O(nnz + n * k + threads * n)`, never `n x n`; item-item neighbours borrow the
//! caller's `indptr` and `indices` (and its values, unless they are centred) and allocate 8
//! bytes per rating for the items' raters and offsets (plus 8 for the centred values of
//! Pearson and the adjusted cosine). Only the sums the chosen similarity needs are
//! accumulated, in `f64`; Pearson on values shifted by each entity's mean (the result is
//! invariant to the shift; it keeps the one-pass sums well conditioned). The result does not
//! depend on the number of threads: the top-`k` of a row is a function of the set of its
//! candidates under a total order.
//!
//! The parts of the code: `prepare.rs` checks the arguments and lays the ratings out (one
//! preparation for every entry point), `kernels.rs` holds the per-similarity sums, `fit.rs`
//! the pair kernel that sums and finishes a row's pairs (the full fit, the parts of the Dask
//! path and the full rows of chosen entities), `rows.rs` the subset, part and merge entry
//! points and `update.rs` the incremental update.

use crate::csr::{Csr, CsrView};
use crate::error::{Error, Result};

mod fit;
mod kernels;
mod prepare;
mod rows;
mod update;
use prepare::Prepared;
pub use rows::{merge_neighbour_parts, pearson_neighbours_of_rows, pearson_neighbours_part};
pub use update::{first_of_rows, plan_update, update_neighbours, NeighbourUpdate, UpdatePlan};

/// Whose neighbours: items (item-item, the columns of the ratings) or users (the rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Items,
    Users,
}

impl Axis {
    /// Parses `"items"` or `"users"`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "items" => Ok(Axis::Items),
            "users" => Ok(Axis::Users),
            other => Err(Error::invalid("axis", format!("must be 'items' or 'users', got {other:?}"))),
        }
    }
}

/// The similarity measure; see the [module documentation](self) for the exact definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Similarity {
    Pearson,
    Cosine,
    AdjustedCosine,
    CosineCorated,
    Msd,
    Dot,
}

impl Similarity {
    pub const NAMES: [&'static str; 6] = ["pearson", "cosine", "adjusted_cosine", "cosine_corated", "msd", "dot"];
    /// Every similarity, in the order of [`Similarity::NAMES`].
    pub const ALL: [Similarity; 6] = [
        Similarity::Pearson,
        Similarity::Cosine,
        Similarity::AdjustedCosine,
        Similarity::CosineCorated,
        Similarity::Msd,
        Similarity::Dot,
    ];

    /// Parses `"pearson"`, `"cosine"`, `"adjusted_cosine"`, `"cosine_corated"`, `"msd"` or `"dot"`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "pearson" => Ok(Similarity::Pearson),
            "cosine" => Ok(Similarity::Cosine),
            "adjusted_cosine" => Ok(Similarity::AdjustedCosine),
            "cosine_corated" => Ok(Similarity::CosineCorated),
            "msd" => Ok(Similarity::Msd),
            "dot" => Ok(Similarity::Dot),
            other => Err(Error::invalid("similarity", format!("must be one of {}, got {other:?}", Similarity::NAMES.join(", ")))),
        }
    }
}

/// Top-`k` neighbours of every entity. See the [module documentation](self) for the exact
/// definitions, the order within a row and the memory used.
///
/// `ratings` is users x items; its rows must have strictly increasing column indices (sorted,
/// no duplicates) and `data` must hold a finite value for every entry. Runs in the current
/// rayon pool.
///
/// # Errors
/// [`Error::InvalidArgument`] when `k == 0`, when `shrinkage` is negative or not finite, when
/// `ratings` has no `data`, a non-finite value, an unsorted or duplicated column index in a
/// row, or more than `2^31 - 1` rows or columns.
pub fn pearson_neighbours(
    ratings: &CsrView<'_, f64>,
    k: usize,
    axis: Axis,
    similarity: Similarity,
    min_support: usize,
    shrinkage: f64,
) -> Result<Csr<f32>> {
    Ok(Prepared::new(ratings, k, axis, similarity, min_support, shrinkage)?.fit())
}

/// A neighbour candidate as one integer whose order is the output order (smaller = better):
/// similarity descending in the high 32 bits, column ascending in the low 32 bits. Selections and
/// sorts then compare plain `u64`s.
#[inline]
fn neighbour_key(similarity: f32, column: u32) -> u64 {
    let bits = similarity.to_bits();
    // The usual monotone map of an f32 to a u32 (negative floats flipped), inverted so that a
    // larger similarity gives a smaller key.
    let ordered = if bits >> 31 == 1 { !bits } else { bits | 0x8000_0000 };
    (u64::from(!ordered) << 32) | u64::from(column)
}

/// The inverse of [`neighbour_key`].
#[inline]
fn neighbour_of_key(key: u64) -> (f32, u32) {
    let ordered = !((key >> 32) as u32);
    let bits = if ordered >> 31 == 1 { ordered & 0x7fff_ffff } else { !ordered };
    (f32::from_bits(bits), key as u32)
}

#[cfg(test)]
#[allow(clippy::float_cmp, clippy::needless_range_loop)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ratings as a dense users x items table (`None` = not rated), turned into CSR.
    fn csr_of(table: &[Vec<Option<f64>>], n_items: usize) -> Csr<f64> {
        let mut m = Csr { n_rows: table.len(), n_cols: n_items, indptr: vec![0], ..Csr::default() };
        for row in table {
            for (item, value) in row.iter().enumerate() {
                if let Some(v) = value {
                    m.indices.push(item as i32);
                    m.data.push(*v);
                }
            }
            m.indptr.push(m.indices.len() as i64);
        }
        m
    }

    /// The dense reference: every pair by the textbook formula (two-pass means over the
    /// co-rated set), `None` where a pair has no similarity.
    fn naive(
        table: &[Vec<Option<f64>>],
        n_items: usize,
        axis: Axis,
        similarity: Similarity,
        min_support: usize,
        shrinkage: f64,
    ) -> Vec<Vec<Option<f64>>> {
        let n_users = table.len();
        // entity x rater
        let mut rows: Vec<Vec<Option<f64>>> = match axis {
            Axis::Items => (0..n_items).map(|i| (0..n_users).map(|u| table[u][i]).collect()).collect(),
            Axis::Users => table.to_vec(),
        };
        if similarity == Similarity::AdjustedCosine {
            let n_raters = rows.first().map_or(0, Vec::len);
            for r in 0..n_raters {
                let rated: Vec<f64> = rows.iter().filter_map(|row| row[r]).collect();
                let mean = rated.iter().sum::<f64>() / rated.len().max(1) as f64;
                for row in &mut rows {
                    if let Some(v) = row[r].as_mut() {
                        *v -= mean;
                    }
                }
            }
        }
        let norm = |row: &Vec<Option<f64>>| row.iter().flatten().map(|v| v * v).sum::<f64>().sqrt();
        let n = rows.len();
        let mut out = vec![vec![None; n]; n];
        for a in 0..n {
            for b in 0..n {
                let common: Vec<(f64, f64)> = rows[a].iter().zip(&rows[b]).filter_map(|(x, y)| Some(((*x)?, (*y)?))).collect();
                let count = common.len();
                if a == b || count == 0 || count < min_support {
                    continue;
                }
                let s = match similarity {
                    Similarity::Pearson => {
                        let mx = common.iter().map(|p| p.0).sum::<f64>() / count as f64;
                        let my = common.iter().map(|p| p.1).sum::<f64>() / count as f64;
                        let cov: f64 = common.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
                        let vx: f64 = common.iter().map(|p| (p.0 - mx).powi(2)).sum();
                        let vy: f64 = common.iter().map(|p| (p.1 - my).powi(2)).sum();
                        if vx * vy > 1e-12 {
                            cov / (vx * vy).sqrt()
                        } else {
                            0.0
                        }
                    }
                    Similarity::CosineCorated => {
                        let xx: f64 = common.iter().map(|p| p.0 * p.0).sum();
                        let yy: f64 = common.iter().map(|p| p.1 * p.1).sum();
                        let xy: f64 = common.iter().map(|p| p.0 * p.1).sum();
                        if xx * yy > 0.0 {
                            xy / (xx * yy).sqrt()
                        } else {
                            0.0
                        }
                    }
                    Similarity::Msd => {
                        let dd: f64 = common.iter().map(|p| (p.0 - p.1).powi(2)).sum();
                        1.0 / (dd / count as f64 + 1.0)
                    }
                    Similarity::Dot => common.iter().map(|p| p.0 * p.1).sum::<f64>(),
                    Similarity::Cosine | Similarity::AdjustedCosine => {
                        let xy: f64 = common.iter().map(|p| p.0 * p.1).sum();
                        let d = norm(&rows[a]) * norm(&rows[b]);
                        if d > 0.0 {
                            xy / d
                        } else {
                            0.0
                        }
                    }
                };
                // Clamped as the kernel clamps (only the dot product can leave [-1, 1]).
                out[a][b] = Some((s * count as f64 / (count as f64 + shrinkage)).clamp(-1.0, 1.0));
            }
        }
        out
    }

    /// `got` is a valid top-`k` of `want`: values within `tol`, the documented order, no
    /// better neighbour left out. Reference values within 1e-6 of 0 may or may not be stored.
    fn check(got: &Csr<f32>, want: &[Vec<Option<f64>>], k: usize) -> std::result::Result<(), String> {
        let tol = 1e-5;
        let n = want.len();
        if got.n_rows != n || got.n_cols != n || got.indptr.len() != n + 1 {
            return Err(format!("shape {}x{} for {n} entities", got.n_rows, got.n_cols));
        }
        for a in 0..n {
            let (lo, hi) = (got.indptr[a] as usize, got.indptr[a + 1] as usize);
            let cols = &got.indices[lo..hi];
            let vals = &got.data[lo..hi];
            if cols.len() > k {
                return Err(format!("row {a}: {} > k neighbours", cols.len()));
            }
            for j in 0..cols.len() {
                let b = cols[j] as usize;
                let reference = want[a][b].ok_or(format!("row {a}: {b} has no similarity"))?;
                if b == a || vals[j] == 0.0 || vals[j].is_nan() || (f64::from(vals[j]) - reference).abs() > tol {
                    return Err(format!("row {a}: ({b}, {}) but reference {reference}", vals[j]));
                }
                if j + 1 < cols.len() && !(vals[j] > vals[j + 1] || (vals[j] == vals[j + 1] && cols[j] < cols[j + 1])) {
                    return Err(format!("row {a}: out of order at {j}: {cols:?} {vals:?}"));
                }
            }
            let significant: Vec<usize> = (0..n).filter(|&b| want[a][b].is_some_and(|s| s.abs() > 1e-6)).collect();
            for b in significant {
                if cols.contains(&(b as i32)) {
                    continue;
                }
                let s = want[a][b].unwrap_or(0.0);
                if cols.len() < k || s > f64::from(vals[vals.len() - 1]) + tol {
                    return Err(format!("row {a}: left out {b} ({s}); got {cols:?} {vals:?}"));
                }
            }
        }
        Ok(())
    }

    fn run_case(
        table: &[Vec<Option<f64>>],
        n_items: usize,
        k: usize,
        axis: Axis,
        similarity: Similarity,
        min_support: usize,
        shrinkage: f64,
    ) -> std::result::Result<(), String> {
        let m = csr_of(table, n_items);
        let got = pearson_neighbours(&m.view(), k, axis, similarity, min_support, shrinkage).map_err(|e| e.to_string())?;
        check(&got, &naive(table, n_items, axis, similarity, min_support, shrinkage), k)
    }

    const ALL: [Similarity; 6] = Similarity::ALL;

    #[test]
    fn small_example_by_hand() {
        // Items 0 and 1 move together on users 0..3, item 2 against them; item 3 has one rating.
        let r = |v: f64| Some(v);
        let table =
            vec![vec![r(1.0), r(2.0), r(5.0), None], vec![r(2.0), r(3.0), r(4.0), r(1.0)], vec![r(3.0), r(4.0), r(1.0), None]];
        let m = csr_of(&table, 4);
        let got = pearson_neighbours(&m.view(), 5, Axis::Items, Similarity::Pearson, 1, 0.0).unwrap();
        // Row 0: item 1 (+1), then item 2 (about -0.96); item 3 shares one user: zero variance.
        assert_eq!(got.indices[got.indptr[0] as usize..got.indptr[1] as usize], [1, 2]);
        assert!((got.data[0] - 1.0).abs() < 1e-6);
        assert!(got.data[1] < -0.9);
        // Row 3 has no neighbour with a nonzero similarity.
        assert_eq!(got.indptr[3], got.indptr[4]);
        // min_support = 4 > 3 users: nothing at all.
        let none = pearson_neighbours(&m.view(), 5, Axis::Items, Similarity::Pearson, 4, 0.0).unwrap();
        assert!(none.indices.is_empty() && none.indptr == vec![0; 5]);
        // Shrinkage 3 on 3 co-raters halves everything.
        let shrunk = pearson_neighbours(&m.view(), 5, Axis::Items, Similarity::Pearson, 1, 3.0).unwrap();
        assert!((shrunk.data[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn msd_small_example_by_hand() {
        // Items 0 and 1 share users 0 and 1: squared differences 1 and 4, msd 2.5, sim 1/3.5;
        // items 0 and 2 share user 0 only: (1 - 1)^2 = 0, sim 1.
        let r = |v: f64| Some(v);
        let table = vec![vec![r(1.0), r(2.0), r(1.0)], vec![r(4.0), r(2.0), None]];
        let m = csr_of(&table, 3);
        let got = pearson_neighbours(&m.view(), 5, Axis::Items, Similarity::Msd, 1, 0.0).unwrap();
        assert_eq!(&got.indices[0..2], &[2, 1]);
        assert_eq!(got.data[0], 1.0);
        assert!((f64::from(got.data[1]) - 1.0 / 3.5).abs() < 1e-7);
        // min_support 2 leaves only the pair (0, 1).
        let two = pearson_neighbours(&m.view(), 5, Axis::Items, Similarity::Msd, 2, 0.0).unwrap();
        assert_eq!(two.indptr, vec![0, 1, 2, 2]);
    }

    #[test]
    fn ties_go_to_the_lower_column_and_k_limits() {
        // Implicit data: items 1, 2, 3 are identical, so their cosines with item 0 tie.
        let table = vec![vec![Some(1.0); 4], vec![Some(1.0), Some(1.0), Some(1.0), Some(1.0)], vec![Some(1.0), None, None, None]];
        let m = csr_of(&table, 4);
        let got = pearson_neighbours(&m.view(), 2, Axis::Items, Similarity::Cosine, 1, 0.0).unwrap();
        assert_eq!(&got.indices[0..2], &[1, 2]);
        assert_eq!(&got.indices[2..4], &[2, 3]); // row 1: 2 and 3 (cosine 1) before 0
        assert_eq!(got.indptr, vec![0, 2, 4, 6, 8]);
    }

    #[test]
    fn zero_variance_and_empty_inputs_give_no_entries() {
        let table = vec![vec![Some(3.0), Some(3.0)], vec![Some(3.0), Some(3.0)]];
        let m = csr_of(&table, 2);
        for similarity in [Similarity::Pearson, Similarity::AdjustedCosine] {
            let got = pearson_neighbours(&m.view(), 3, Axis::Items, similarity, 1, 0.0).unwrap();
            assert!(got.data.is_empty(), "{similarity:?}");
        }
        let empty = csr_of(&[], 3);
        let got = pearson_neighbours(&empty.view(), 3, Axis::Items, Similarity::Pearson, 1, 0.0).unwrap();
        assert_eq!(got.indptr, vec![0; 4]);
        let got = pearson_neighbours(&empty.view(), 3, Axis::Users, Similarity::Pearson, 1, 0.0).unwrap();
        assert_eq!((got.n_rows, got.indptr.len()), (0, 1));
    }

    #[test]
    fn rejects_bad_arguments() {
        let m = csr_of(&[vec![Some(1.0), Some(2.0)]], 2);
        let v = m.view();
        assert!(pearson_neighbours(&v, 0, Axis::Items, Similarity::Pearson, 1, 0.0).is_err());
        assert!(pearson_neighbours(&v, 1, Axis::Items, Similarity::Pearson, 1, -1.0).is_err());
        assert!(pearson_neighbours(&v, 1, Axis::Items, Similarity::Pearson, 1, f64::NAN).is_err());
        assert!(pearson_neighbours(&v, 1, Axis::Items, Similarity::Pearson, 1, f64::INFINITY).is_err());
        let nan = [1.0, f64::NAN];
        let bad = CsrView { data: &nan, ..v };
        assert!(pearson_neighbours(&bad, 1, Axis::Items, Similarity::Cosine, 1, 0.0).is_err());
        let unsorted = CsrView { indices: &[1, 0], ..v };
        assert!(pearson_neighbours(&unsorted, 1, Axis::Items, Similarity::Cosine, 1, 0.0).is_err());
        let duplicated = CsrView { indices: &[1, 1], ..v };
        assert!(pearson_neighbours(&duplicated, 1, Axis::Items, Similarity::Cosine, 1, 0.0).is_err());
        let no_data = CsrView { data: &[], ..v };
        assert!(pearson_neighbours(&no_data, 1, Axis::Items, Similarity::Cosine, 1, 0.0).is_err());
        assert!(Similarity::parse("jaccard").is_err());
        assert!(Axis::parse("rows").is_err());
        assert_eq!(Similarity::parse("adjusted_cosine"), Ok(Similarity::AdjustedCosine));
    }

    #[test]
    fn neighbour_keys_round_trip_in_order() {
        let values = [1.0f32, 0.5, 1e-30, -1e-30, -0.25, -1.0];
        for window in values.windows(2) {
            assert!(neighbour_key(window[0], 7) < neighbour_key(window[1], 0));
        }
        for &v in &values {
            assert!(neighbour_key(v, 1) < neighbour_key(v, 2));
            assert_eq!(neighbour_of_key(neighbour_key(v, 42)), (v, 42));
        }
    }

    /// A random small table: half-star ratings (many ties) or arbitrary reals.
    fn table_strategy() -> impl Strategy<Value = (Vec<Vec<Option<f64>>>, usize)> {
        (0usize..9, 1usize..9, any::<bool>()).prop_flat_map(|(n_users, n_items, half_stars)| {
            let value = if half_stars { (1u8..=10).prop_map(|v| f64::from(v) / 2.0).boxed() } else { (-5.0f64..5.0).boxed() };
            let cell = prop::option::weighted(0.55, value);
            (prop::collection::vec(prop::collection::vec(cell, n_items), n_users), Just(n_items))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn matches_naive_dense_reference(
            (table, n_items) in table_strategy(),
            k in 1usize..10,
            users in any::<bool>(),
            which in 0usize..6,
            min_support in 0usize..4,
            shrinkage in prop_oneof![Just(0.0), 0.0f64..5.0],
        ) {
            let axis = if users { Axis::Users } else { Axis::Items };
            let result = run_case(&table, n_items, k, axis, ALL[which], min_support, shrinkage);
            prop_assert!(result.is_ok(), "{:?}", result);
        }

        #[test]
        fn same_result_on_any_number_of_threads((table, n_items) in table_strategy(), k in 1usize..6, which in 0usize..6) {
            let m = csr_of(&table, n_items);
            let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap()
                .install(|| pearson_neighbours(&m.view(), k, Axis::Items, ALL[which], 1, 0.0)).unwrap();
            let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap()
                .install(|| pearson_neighbours(&m.view(), k, Axis::Items, ALL[which], 1, 0.0)).unwrap();
            prop_assert_eq!(one, three);
        }
    }
}
