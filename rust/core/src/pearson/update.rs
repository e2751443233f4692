//! The incremental update of a neighbour matrix.
//!
//! [`update_neighbours`] turns the neighbour matrix of old ratings into the one of new
//! ratings (what the full call on the new ratings returns) when only some entities changed.
//! An entity is *touched* when its vector of (centred) values changed; a pair of untouched
//! entities then has the same similarity before and after, bit for bit, provided the old
//! entities keep their relative order (`old_to_new` increasing) so that every sum runs in the
//! same order. The touched rows are recomputed with all their candidates (by the full call's
//! own preparation and pair kernel); every other row is its old row with the touched columns
//! replaced by their new similarities, which is exact when the old row held every candidate
//! or when its new `k`-th best still beats the old row's worst (every candidate left out of
//! the old row was worse than that); the few rows where neither holds are recomputed.

use rayon::prelude::*;

use super::fit::{best_k, split_rows};
use super::prepare::Prepared;
use super::rows::check_rows;
use super::{neighbour_key, neighbour_of_key, Axis, Similarity};
use crate::csr::{Csr, CsrView};
use crate::error::{Error, Result};

/// Old row `o` with its columns mapped to the new indices: the source of a patched row.
struct OldRow<'a> {
    columns: &'a [i32],
    similarities: &'a [f32],
    old_to_new: &'a [i32],
    is_touched: &'a [bool],
}

impl OldRow<'_> {
    #[inline]
    fn column(&self, j: usize) -> u32 {
        self.old_to_new[self.columns[j] as usize] as u32
    }

    #[inline]
    fn key(&self, j: usize) -> u64 {
        neighbour_key(self.similarities[j], self.column(j))
    }

    /// The last key, if the row is stored best first (strictly increasing keys, as the kernel
    /// writes it); `Err` if it is not.
    fn worst(&self) -> Result<Option<u64>> {
        let mut previous: Option<u64> = None;
        for j in 0..self.columns.len() {
            let key = self.key(j);
            if previous.is_some_and(|p| p >= key) {
                return Err(Error::invalid("old", "a row is not ordered best first"));
            }
            previous = Some(key);
        }
        Ok(previous)
    }

    /// The first `k` of the entries whose column is not touched merged with `incoming` (sorted,
    /// disjoint from them), each passed to `emit` as `(column, similarity)`; returns how many
    /// and the key of the last one.
    fn merge(&self, incoming: &[u64], k: usize, mut emit: impl FnMut(u32, f32)) -> (usize, Option<u64>) {
        let (mut j, mut i, mut count, mut last) = (0usize, 0usize, 0usize, None);
        let n = self.columns.len();
        while count < k {
            while j < n && self.is_touched[self.column(j) as usize] {
                j += 1;
            }
            let key = match (j < n, incoming.get(i)) {
                (true, Some(&y)) => {
                    let x = self.key(j);
                    if x < y {
                        j += 1;
                        x
                    } else {
                        i += 1;
                        y
                    }
                }
                (true, None) => {
                    j += 1;
                    self.key(j - 1)
                }
                (false, Some(&y)) => {
                    i += 1;
                    y
                }
                (false, None) => break,
            };
            let (similarity, column) = neighbour_of_key(key);
            emit(column, similarity);
            last = Some(key);
            count += 1;
        }
        (count, last)
    }
}

/// The new length of an untouched row patched from its old row (the old entries whose column
/// is not touched, merged with `incoming`, the new similarities with the touched entities), or
/// None where that cannot be proven exact: the old row held every candidate when it is shorter
/// than `complete_at`; otherwise every candidate it left out is worse than its worst key, so
/// the patch is exact when its `k`-th key is not worse. A row not stored best first (not
/// written by the kernel) is never patched.
fn patched_len(row: &OldRow<'_>, incoming: &[u64], complete_at: usize, k: usize) -> Option<usize> {
    let worst = row.worst().ok()?;
    let complete = row.columns.len() < complete_at;
    let (count, last) = row.merge(incoming, k, |_, _| {});
    let exact = complete || (count == k && matches!((last, worst), (Some(l), Some(w)) if l <= w));
    exact.then_some(count)
}

/// The first `limit` entries of every row of `m`.
fn cut_rows(m: &Csr<f32>, limit: usize) -> Csr<f32> {
    let mut indptr = Vec::with_capacity(m.n_rows + 1);
    indptr.push(0i64);
    let mut total = 0i64;
    for w in m.indptr.windows(2) {
        total += (w[1] - w[0]).min(limit as i64);
        indptr.push(total);
    }
    let mut indices = vec![0i32; total as usize];
    let mut data = vec![0f32; total as usize];
    let slices = split_rows(&indptr, &mut indices, &mut data);
    slices.into_par_iter().enumerate().with_min_len(64).for_each(|(r, (row_indices, row_data))| {
        let start = m.indptr[r] as usize;
        row_indices.copy_from_slice(&m.indices[start..start + row_indices.len()]);
        row_data.copy_from_slice(&m.data[start..start + row_data.len()]);
    });
    Csr { n_rows: m.n_rows, n_cols: m.n_cols, indptr, indices, data }
}

/// The `n x n` result from each row's source: its keys where `computed` has them, else the
/// patch of its old row (`patch(b, write)` passes its entries to `write`; `lengths[b]` of them).
fn write_rows(
    computed: &[Option<Vec<u64>>],
    lengths: &[Option<usize>],
    patch: impl Fn(usize, &mut dyn FnMut(u32, f32)) + Sync,
) -> Csr<f32> {
    let n = computed.len();
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0i64);
    let mut total = 0usize;
    for b in 0..n {
        total += computed[b].as_ref().map_or_else(|| lengths[b].unwrap_or(0), Vec::len);
        indptr.push(total as i64);
    }
    let mut indices = vec![0i32; total];
    let mut data = vec![0f32; total];
    let slices = split_rows(&indptr, &mut indices, &mut data);
    slices.into_par_iter().enumerate().with_min_len(16).for_each(|(b, (row_indices, row_data))| {
        let mut at = 0usize;
        let mut write = |column: u32, similarity: f32| {
            row_indices[at] = column as i32;
            row_data[at] = similarity;
            at += 1;
        };
        match &computed[b] {
            Some(keys) => {
                for &key in keys {
                    let (similarity, column) = neighbour_of_key(key);
                    write(column, similarity);
                }
            }
            None => patch(b, &mut write),
        }
    });
    Csr { n_rows: n, n_cols: n, indptr, indices, data }
}

/// What changed since a neighbour matrix was computed.
#[derive(Debug, Clone, Copy)]
pub struct NeighbourUpdate<'a> {
    /// The old result (`n_old x n_old`), each row the exact top `old_k` of the old ratings.
    pub old: CsrView<'a, f32>,
    /// The `k` the old result was computed with.
    pub old_k: usize,
    /// The new index of every old entity, strictly increasing.
    pub old_to_new: &'a [i32],
    /// New indices of the entities whose (centred) values changed. Entities that did not exist
    /// before are added to them.
    pub touched: &'a [i32],
}

/// The neighbours of the new `ratings` as [`pearson_neighbours`](super::pearson_neighbours)
/// returns them (bit for bit), computed from the old result; see the [module documentation](self).
/// Also returns the first `narrow_k` entries of every row (the same rows, cut).
///
/// # Errors
/// As [`pearson_neighbours`](super::pearson_neighbours), and [`Error::InvalidArgument`] when
/// `old_to_new` does not have one entry per old row, is not strictly increasing or out of
/// range, when a touched entity is out of range, or when an old value is not finite.
#[allow(clippy::too_many_arguments)]
pub fn update_neighbours(
    ratings: &CsrView<'_, f64>,
    update: &NeighbourUpdate<'_>,
    k: usize,
    narrow_k: usize,
    axis: Axis,
    similarity: Similarity,
    min_support: usize,
    shrinkage: f64,
) -> Result<(Csr<f32>, Csr<f32>)> {
    if k == 0 || update.old_k == 0 || narrow_k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    let prepared = Prepared::new(ratings, k, axis, similarity, min_support, shrinkage)?;
    let n = prepared.n();
    let old = &update.old;
    let n_old = old.n_rows;
    if update.old_to_new.len() != n_old || old.n_cols != n_old {
        return Err(Error::invalid("old_to_new", format!("needs one entry per old row ({n_old})")));
    }
    if update.old_to_new.windows(2).any(|w| w[0] >= w[1]) || update.old_to_new.iter().any(|&i| i < 0 || i as usize >= n) {
        return Err(Error::invalid("old_to_new", format!("must be strictly increasing and within 0..{n}")));
    }
    if old.data.len() != old.nnz() || old.data.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid("old", "needs a finite value for every stored entry"));
    }
    let mut is_touched = vec![true; n];
    for &new in update.old_to_new {
        is_touched[new as usize] = false;
    }
    for t in check_rows(update.touched, n, "touched")? {
        is_touched[t] = true;
    }
    let mut new_to_old = vec![usize::MAX; n];
    for (o, &new) in update.old_to_new.iter().enumerate() {
        new_to_old[new as usize] = o;
    }
    let k_new = prepared.settings.k;
    let k_old = update.old_k.min(n_old.saturating_sub(1)).max(1);
    let old_complete_at = if k_old + 1 >= n_old { usize::MAX } else { k_old };

    // The touched rows with all their candidates, and what they bring to the other rows.
    let touched: Vec<usize> = (0..n).filter(|&b| is_touched[b]).collect();
    let fresh = prepared.full_rows(&touched, usize::MAX);
    let mut incoming: Vec<Vec<u64>> = vec![Vec::new(); n];
    for (&t, row) in touched.iter().zip(&fresh) {
        for &key in row {
            let (s, b) = neighbour_of_key(key);
            if !is_touched[b as usize] {
                incoming[b as usize].push(neighbour_key(s, t as u32));
            }
        }
    }
    incoming.par_iter_mut().for_each(|keys| keys.sort_unstable());

    let old_row = |b: usize| {
        let o = new_to_old[b];
        OldRow {
            columns: old.row_indices(o),
            similarities: old.row_data(o),
            old_to_new: update.old_to_new,
            is_touched: &is_touched,
        }
    };
    // The new length of every untouched row patched from its old row, or None where that
    // cannot be exact (those rows are recomputed). Nothing is written yet.
    let lengths: Vec<Option<usize>> = (0..n)
        .into_par_iter()
        .map(|b| {
            if is_touched[b] {
                return Some(0);
            }
            patched_len(&old_row(b), &incoming[b], old_complete_at, k_new)
        })
        .collect();
    let redo: Vec<usize> = (0..n).filter(|&b| lengths[b].is_none()).collect();
    let redone = prepared.full_rows(&redo, k_new);

    // Each row from its source, written straight into the result: the fresh rows of the
    // touched entities, the recomputed rows, or the old row patched (merged again, writing).
    let mut computed: Vec<Option<Vec<u64>>> = vec![None; n];
    for (&t, row) in touched.iter().zip(fresh) {
        computed[t] = Some(best_k(row, k_new));
    }
    for (&b, row) in redo.iter().zip(redone) {
        computed[b] = Some(row);
    }
    let wide = write_rows(&computed, &lengths, |b, write| {
        old_row(b).merge(&incoming[b], k_new, write);
    });
    let narrow = cut_rows(&wide, narrow_k);
    Ok((wide, narrow))
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::super::pearson_neighbours;
    use super::super::rows::tests::{csr, row, triples};
    use super::*;
    use proptest::prelude::*;

    const ALL: [Similarity; 6] = Similarity::ALL;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn update_equals_the_full_call_on_the_new_ratings(
            (nu, ni, t) in triples(), extra in prop::collection::vec((0usize..12, 0usize..12, 1u8..=10), 0..12),
            k in 1usize..10, users in any::<bool>(), which in 0usize..4, min_support in 0usize..3,
            shrinkage in prop_oneof![Just(0.0), 0.0f64..5.0], new_items in 0usize..3, new_users in 0usize..3,
        ) {
            // New users and items are added at the end, or (odd) before the old ones.
            let (nu2, ni2) = (nu + new_users, ni + new_items);
            let shift_u = if new_users % 2 == 1 { new_users } else { 0 };
            let shift_i = if new_items % 2 == 1 { new_items } else { 0 };
            let moved: Vec<(usize, usize, f64)> = t.iter().map(|&(u, i, v)| (u + shift_u, i + shift_i, v)).collect();
            let mut all = moved.clone();
            all.extend(extra.iter().map(|&(u, i, v)| (u % nu2, i % ni2, f64::from(v) / 2.0)));
            let axis = if users { Axis::Users } else { Axis::Items };
            let before = csr(nu, ni, &t);
            let after = csr(nu2, ni2, &all);
            let old = pearson_neighbours(&before.view(), k, axis, ALL[which], min_support, shrinkage).unwrap();
            let want = pearson_neighbours(&after.view(), k, axis, ALL[which], min_support, shrinkage).unwrap();
            // Touched: the entities whose values changed (for the adjusted cosine, every
            // entity of a rater whose values changed).
            let (n_old, shift) = if users { (nu, shift_u) } else { (ni, shift_i) };
            let old_to_new: Vec<i32> = (0..n_old).map(|o| (o + shift) as i32).collect();
            let moved_m = csr(nu2, ni2, &moved);
            let mut changed = vec![];
            for u in 0..nu2 {
                for i in 0..ni2 {
                    let get = |m: &Csr<f64>| {
                        let (a, b) = (m.indptr[u] as usize, m.indptr[u + 1] as usize);
                        m.indices[a..b].iter().position(|&c| c as usize == i).map(|p| m.data[a + p])
                    };
                    if get(&moved_m) != get(&after) {
                        changed.push((u, i));
                    }
                }
            }
            let mut touched = vec![];
            for &(u, i) in &changed {
                let (entity, rater) = if users { (u, i) } else { (i, u) };
                touched.push(entity as i32);
                if ALL[which] == Similarity::AdjustedCosine {
                    for &(u2, i2, _) in &all {
                        let (e2, r2) = if users { (u2, i2) } else { (i2, u2) };
                        if r2 == rater {
                            touched.push(e2 as i32);
                        }
                    }
                }
            }
            let narrow = 2;
            let update = NeighbourUpdate { old: old.view(), old_k: k, old_to_new: &old_to_new, touched: &touched };
            let (got, cut) = update_neighbours(&after.view(), &update, k, narrow, axis, ALL[which], min_support, shrinkage).unwrap();
            prop_assert_eq!(&got, &want);
            for r in 0..got.n_rows {
                let (c, v) = row(&got, r);
                let m = c.len().min(narrow);
                prop_assert_eq!(row(&cut, r), (c[..m].to_vec(), v[..m].to_vec()));
            }
        }
    }

    #[test]
    fn update_with_a_smaller_old_k_recomputes_rows_it_cannot_patch() {
        // Item 0 loses its best neighbour (item 1) when user 0 changes its rating of item 1:
        // with k = 1 the old row of item 0 does not hold its second best, so it is recomputed.
        let t = [(0, 0, 1.0), (0, 1, 1.0), (0, 2, 1.0), (1, 0, 1.0), (1, 1, 1.0), (1, 2, 0.5), (2, 2, 1.0)];
        let before = csr(3, 3, &t);
        let mut t2 = t.to_vec();
        t2[1] = (0, 1, -1.0);
        let after = csr(3, 3, &t2);
        for similarity in ALL {
            let old = pearson_neighbours(&before.view(), 1, Axis::Items, similarity, 1, 0.0).unwrap();
            let want = pearson_neighbours(&after.view(), 1, Axis::Items, similarity, 1, 0.0).unwrap();
            let touched = if similarity == Similarity::AdjustedCosine { vec![0, 1, 2] } else { vec![1] };
            let update = NeighbourUpdate { old: old.view(), old_k: 1, old_to_new: &[0, 1, 2], touched: &touched };
            let (got, _) = update_neighbours(&after.view(), &update, 1, 1, Axis::Items, similarity, 1, 0.0).unwrap();
            assert_eq!(got, want, "{similarity:?}");
        }
        let old = pearson_neighbours(&before.view(), 1, Axis::Items, Similarity::Cosine, 1, 0.0).unwrap();
        let bad = NeighbourUpdate { old: old.view(), old_k: 1, old_to_new: &[0, 2, 1], touched: &[] };
        assert!(update_neighbours(&after.view(), &bad, 1, 1, Axis::Items, Similarity::Cosine, 1, 0.0).is_err());
        let short = NeighbourUpdate { old: old.view(), old_k: 1, old_to_new: &[0, 1], touched: &[] };
        assert!(update_neighbours(&after.view(), &short, 1, 1, Axis::Items, Similarity::Cosine, 1, 0.0).is_err());
    }
}
