//! Neighbour rows of some entities only, and the parts of the Dask path.
//!
//! [`pearson_neighbours_of_rows`] computes the rows of chosen entities against the *whole*
//! matrix: row `j` of its result is exactly (bit for bit, same order) row `rows[j]` of
//! [`pearson_neighbours`](super::pearson_neighbours) on the same input. Every pair is summed in
//! the orientation the full call uses (the lower entity as `x`, over the co-raters in
//! ascending order) and finished the same way, so the similarities are the same `f32`s, and
//! the top `k` of a row is a function of its candidates under the same total order.
//!
//! [`pearson_neighbours_part`] is the full call restricted to the pairs whose lower entity is
//! in a set, and [`merge_neighbour_parts`] joins parts that cover every entity into the full
//! call's result: the distributed kernel (`shoprec.distributed`), one part per worker. All
//! of them run the full call's own preparation and pair kernel (`prepare.rs`, `fit.rs`).

use rayon::prelude::*;

use super::fit::keys_to_csr;
use super::prepare::Prepared;
use super::{neighbour_key, Axis, Similarity};
use crate::csr::{Csr, CsrView};
use crate::error::{Error, Result};

pub(super) fn check_rows(rows: &[i32], n: usize, name: &'static str) -> Result<Vec<usize>> {
    rows.iter()
        .map(|&r| {
            if r < 0 || r as usize >= n {
                Err(Error::invalid(name, format!("entity {r} is out of range for {n} entities")))
            } else {
                Ok(r as usize)
            }
        })
        .collect()
}

/// The top-`k` neighbours of the entities `rows` only, against every entity: row `j` of the
/// `rows.len() x n` result is row `rows[j]` of [`pearson_neighbours`](super::pearson_neighbours)
/// with the same arguments, bit for bit. Repeated rows are allowed. Costs the preparation of
/// the full call (`O(nnz)`) plus, per row, the ratings of its raters. Runs in the current
/// rayon pool.
///
/// # Errors
/// As [`pearson_neighbours`](super::pearson_neighbours), and [`Error::InvalidArgument`] for a
/// row out of range.
pub fn pearson_neighbours_of_rows(
    ratings: &CsrView<'_, f64>,
    rows: &[i32],
    k: usize,
    axis: Axis,
    similarity: Similarity,
    min_support: usize,
    shrinkage: f64,
) -> Result<Csr<f32>> {
    let prepared = Prepared::new(ratings, k, axis, similarity, min_support, shrinkage)?;
    let rows = check_rows(rows, prepared.n(), "rows")?;
    Ok(keys_to_csr(&prepared.full_rows(&rows, prepared.settings.k), prepared.n()))
}

/// One part of [`pearson_neighbours`](super::pearson_neighbours) split over the entities
/// `rows`: every pair with its lower entity in `rows` is computed (once, exactly as the full
/// call computes it) and offered to both of its rows. The `n x n` result holds, per row, the
/// best `k` of the pairs this part produced, best first. Parts whose `rows` cover every entity
/// exactly once, combined with [`merge_neighbour_parts`], give the full call's result bit for
/// bit, while each pair is summed once in all (the distributed kernel: one part per worker).
///
/// # Errors
/// As [`pearson_neighbours`](super::pearson_neighbours), and [`Error::InvalidArgument`] for a
/// row out of range.
pub fn pearson_neighbours_part(
    ratings: &CsrView<'_, f64>,
    rows: &[i32],
    k: usize,
    axis: Axis,
    similarity: Similarity,
    min_support: usize,
    shrinkage: f64,
) -> Result<Csr<f32>> {
    let prepared = Prepared::new(ratings, k, axis, similarity, min_support, shrinkage)?;
    let mut rows = check_rows(rows, prepared.n(), "rows")?;
    rows.sort_unstable();
    rows.dedup();
    Ok(prepared.part(&rows))
}

/// The best `k` of every row over several parts (each `n x n`, rows best first, as
/// [`pearson_neighbours_part`] returns them, no pair in two parts): the first `k` of the
/// rows merged in the kernel's order (similarity descending, then column). `k` is clamped as
/// the full call clamps it (at most `n - 1`).
///
/// # Errors
/// [`Error::InvalidArgument`] when the parts differ in shape or are not square, or a value is
/// not finite.
pub fn merge_neighbour_parts(parts: &[CsrView<'_, f32>], k: usize) -> Result<Csr<f32>> {
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    let n = parts.first().map_or(0, |p| p.n_rows);
    if parts.iter().any(|p| p.n_rows != n || p.n_cols != n) {
        return Err(Error::invalid("parts", "every part must be n x n with the same n"));
    }
    if parts.iter().any(|p| p.data.len() != p.nnz() || p.data.iter().any(|v| !v.is_finite())) {
        return Err(Error::invalid("parts", "needs a finite value for every stored entry"));
    }
    let k = k.min(n.saturating_sub(1)).max(1);
    let rows: Vec<Vec<u64>> = (0..n)
        .into_par_iter()
        .map(|r| {
            let mut keys: Vec<u64> = parts
                .iter()
                .flat_map(|p| p.row_indices(r).iter().zip(p.row_data(r)).map(|(&c, &s)| neighbour_key(s, c as u32)))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys.truncate(k);
            keys
        })
        .collect();
    Ok(keys_to_csr(&rows, n))
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
pub(super) mod tests {
    use super::super::pearson_neighbours;
    use super::*;
    use proptest::prelude::*;

    const ALL: [Similarity; 6] = Similarity::ALL;

    /// A users x items CSR from `(user, item, value)` triples (last value wins).
    pub(in super::super) fn csr(n_users: usize, n_items: usize, triples: &[(usize, usize, f64)]) -> Csr<f64> {
        let mut table = vec![vec![None; n_items]; n_users];
        for &(u, i, v) in triples {
            table[u][i] = Some(v);
        }
        let mut m = Csr { n_rows: n_users, n_cols: n_items, indptr: vec![0], ..Csr::default() };
        for row in &table {
            for (i, v) in row.iter().enumerate() {
                if let Some(v) = v {
                    m.indices.push(i as i32);
                    m.data.push(*v);
                }
            }
            m.indptr.push(m.indices.len() as i64);
        }
        m
    }

    pub(in super::super) fn row(m: &Csr<f32>, r: usize) -> (Vec<i32>, Vec<f32>) {
        let (a, b) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
        (m.indices[a..b].to_vec(), m.data[a..b].to_vec())
    }

    pub(in super::super) fn triples() -> impl Strategy<Value = (usize, usize, Vec<(usize, usize, f64)>)> {
        (1usize..9, 1usize..9, any::<bool>()).prop_flat_map(|(nu, ni, half)| {
            let value = if half { (1u8..=10).prop_map(|v| f64::from(v) / 2.0).boxed() } else { (-5.0f64..5.0).boxed() };
            (Just(nu), Just(ni), prop::collection::vec((0..nu, 0..ni, value), 0..40))
        })
    }

    #[test]
    fn rejects_rows_out_of_range() {
        let m = csr(2, 2, &[(0, 0, 1.0), (1, 1, 2.0)]);
        assert!(pearson_neighbours_of_rows(&m.view(), &[2], 3, Axis::Items, Similarity::Cosine, 1, 0.0).is_err());
        assert!(pearson_neighbours_of_rows(&m.view(), &[-1], 3, Axis::Items, Similarity::Cosine, 1, 0.0).is_err());
        assert!(pearson_neighbours_of_rows(&m.view(), &[0], 0, Axis::Items, Similarity::Cosine, 1, 0.0).is_err());
        let empty = pearson_neighbours_of_rows(&m.view(), &[], 3, Axis::Items, Similarity::Cosine, 1, 0.0).unwrap();
        assert_eq!((empty.n_rows, empty.n_cols, empty.indptr.clone()), (0, 2, vec![0]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn subset_rows_equal_rows_of_the_full_call(
            (nu, ni, t) in triples(), k in 1usize..10, users in any::<bool>(), which in 0usize..4,
            min_support in 0usize..4, shrinkage in prop_oneof![Just(0.0), 0.0f64..5.0],
            picks in prop::collection::vec(0usize..16, 0..8),
        ) {
            let m = csr(nu, ni, &t);
            let axis = if users { Axis::Users } else { Axis::Items };
            let n = if users { nu } else { ni };
            let rows: Vec<i32> = picks.iter().map(|&p| (p % n) as i32).collect();
            let full = pearson_neighbours(&m.view(), k, axis, ALL[which], min_support, shrinkage).unwrap();
            let some = pearson_neighbours_of_rows(&m.view(), &rows, k, axis, ALL[which], min_support, shrinkage).unwrap();
            prop_assert_eq!(some.n_rows, rows.len());
            for (j, &r) in rows.iter().enumerate() {
                prop_assert_eq!(row(&some, j), row(&full, r as usize));
            }
        }

        #[test]
        fn parts_merged_equal_the_full_call(
            (nu, ni, t) in triples(), k in 1usize..10, users in any::<bool>(), which in 0usize..6,
            min_support in 0usize..4, shrinkage in prop_oneof![Just(0.0), 0.0f64..5.0], n_parts in 1usize..5,
        ) {
            let m = csr(nu, ni, &t);
            let axis = if users { Axis::Users } else { Axis::Items };
            let n = if users { nu } else { ni };
            let full = pearson_neighbours(&m.view(), k, axis, ALL[which], min_support, shrinkage).unwrap();
            // Entities dealt to the parts in turn, as the distributed kernel deals them.
            let parts: Vec<Csr<f32>> = (0..n_parts)
                .map(|j| {
                    let rows: Vec<i32> = (j..n).step_by(n_parts).map(|r| r as i32).collect();
                    pearson_neighbours_part(&m.view(), &rows, k, axis, ALL[which], min_support, shrinkage).unwrap()
                })
                .collect();
            let views: Vec<CsrView<'_, f32>> = parts.iter().map(Csr::view).collect();
            prop_assert_eq!(merge_neighbour_parts(&views, k).unwrap(), full);
        }

    }

    #[test]
    fn merge_rejects_parts_of_other_shapes() {
        let a = Csr { n_rows: 2, n_cols: 2, indptr: vec![0, 0, 0], ..Csr::default() };
        let b = Csr { n_rows: 3, n_cols: 3, indptr: vec![0, 0, 0, 0], ..Csr::default() };
        assert!(merge_neighbour_parts(&[a.view(), b.view()], 1).is_err());
        assert!(merge_neighbour_parts(&[a.view()], 0).is_err());
        assert_eq!(merge_neighbour_parts(&[], 3).unwrap().n_rows, 0);
    }
}
