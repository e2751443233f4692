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

use super::fit::split_rows;
use super::prepare::Prepared;
use super::rows::check_rows;
use super::{neighbour_key, neighbour_of_key, Axis, Similarity};
use crate::csr::{Csr, CsrView};
use crate::error::{Error, Result};

/// How the old rows map to the new entities.
struct Mapping<'a> {
    old: &'a CsrView<'a, f32>,
    old_to_new: &'a [i32],
    new_to_old: &'a [usize],
    /// Per old entity: whether its new index is touched.
    touched_old: &'a [bool],
    /// Whether every old entity keeps its index (no new entity before an old one): columns
    /// are then copied as they are.
    identity: bool,
}

impl Mapping<'_> {
    /// The old row of new entity `b` (untouched, so it existed): columns and similarities.
    #[inline]
    fn old_row(&self, b: usize) -> (&[i32], &[f32]) {
        let o = self.new_to_old[b];
        (self.old.row_indices(o), self.old.row_data(o))
    }

    #[inline]
    fn column(&self, old_column: i32) -> u32 {
        if self.identity {
            old_column as u32
        } else {
            self.old_to_new[old_column as usize] as u32
        }
    }

    /// The key of the old row's last (worst) entry, with its new column.
    fn worst(&self, b: usize) -> Option<u64> {
        let (columns, similarities) = self.old_row(b);
        Some(neighbour_key(*similarities.last()?, self.column(*columns.last()?)))
    }

    /// Checks old row `o` (every column in range, every value finite) and counts the entries
    /// whose new column is not touched; None when the row is not stored best first (strictly
    /// increasing keys, as the kernel writes it): it is then recomputed. The old columns are
    /// compared: the map keeps their order.
    fn scan(&self, o: usize) -> Result<Option<usize>> {
        let (columns, similarities) = (self.old.row_indices(o), self.old.row_data(o));
        let n_old = self.old.n_cols;
        // One pass without early exits (a column out of range is clamped until the end, where
        // it makes the row invalid); the slow loop below only names what is wrong.
        let last = n_old.saturating_sub(1);
        let (mut valid, mut previous, mut ordered, mut untouched) = (true, 0u64, true, 0usize);
        for (&c, &s) in columns.iter().zip(similarities) {
            // `n_old <= n <= i32::MAX` (checked), so a negative column is out of range as a u32.
            valid &= ((c as u32 as usize) < n_old) & s.is_finite();
            // A finite similarity's key is never 0, so 0 is below the first key.
            let key = neighbour_key(s, c as u32);
            ordered &= key > previous;
            previous = key;
            untouched += usize::from(!self.touched_old[(c as u32 as usize).min(last)]);
        }
        if !valid {
            for (&c, &s) in columns.iter().zip(similarities) {
                if c < 0 || c as usize >= n_old {
                    return Err(Error::invalid(
                        "old",
                        format!("column index {c} in row {o} is out of range for {n_old} columns"),
                    ));
                }
                if !s.is_finite() {
                    return Err(Error::invalid("old", "needs a finite value for every stored entry"));
                }
            }
        }
        Ok(ordered.then_some(untouched))
    }

    /// Writes the first `out.len()` entries of `b`'s patched row: its old entries whose column
    /// is not touched merged with `incoming` (sorted keys, columns all touched). The old entries
    /// go over in runs (between a touched entry and the next, or an incoming key's place),
    /// each one copy when the columns keep their indices.
    fn patch(&self, b: usize, incoming: &[u64], out_columns: &mut [i32], out_similarities: &mut [f32]) {
        let (columns, similarities) = self.old_row(b);
        let len = out_columns.len();
        let (mut out, mut i, mut j) = (0usize, 0usize, 0usize);
        while out < len {
            // The run of untouched old entries from `j`, cut where the next incoming key goes.
            let run_end = j + columns[j..].iter().position(|&c| self.touched_old[c as usize]).unwrap_or(columns.len() - j);
            let mut end = run_end;
            if let Some(&next) = incoming.get(i) {
                // The run's keys increase: the first one after `next`, by bisection.
                let (mut lo, mut hi) = (j, run_end);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if neighbour_key(similarities[mid], self.column(columns[mid])) > next {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                end = lo;
            }
            let end = end.min(j + len - out);
            let count = end - j;
            if self.identity {
                out_columns[out..out + count].copy_from_slice(&columns[j..end]);
            } else {
                for (to, &c) in out_columns[out..out + count].iter_mut().zip(&columns[j..end]) {
                    *to = self.column(c) as i32;
                }
            }
            out_similarities[out..out + count].copy_from_slice(&similarities[j..end]);
            out += count;
            j = end;
            if out == len {
                break;
            }
            if j < run_end || j == columns.len() {
                // An incoming key comes before old entry `j` (or the old row is used up).
                let (similarity, column) = neighbour_of_key(incoming[i]);
                out_columns[out] = column as i32;
                out_similarities[out] = similarity;
                out += 1;
                i += 1;
            } else {
                j += 1; // a touched entry: its new similarity comes with the incoming keys
            }
        }
    }
}

/// The first `limit` entries of every row of `m` (the narrow neighbour lists of an update's
/// result).
#[must_use]
pub fn first_of_rows(m: &CsrView<'_, f32>, limit: usize) -> Csr<f32> {
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

/// The keys offered to each row, `(row, key)` pairs gathered from the touched rows, as one
/// sorted slice per row (a counting sort, then each row's keys sorted in parallel).
fn incoming_by_row(offered: &[Vec<(u32, u64)>], n: usize) -> (Vec<usize>, Vec<u64>) {
    let mut starts = vec![0usize; n + 1];
    for &(b, _) in offered.iter().flatten() {
        starts[b as usize + 1] += 1;
    }
    for b in 0..n {
        starts[b + 1] += starts[b];
    }
    let mut next = starts[..n].to_vec();
    let mut keys = vec![0u64; starts[n]];
    for &(b, key) in offered.iter().flatten() {
        keys[next[b as usize]] = key;
        next[b as usize] += 1;
    }
    let mut rest = keys.as_mut_slice();
    let mut rows = Vec::with_capacity(n);
    for b in 0..n {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(starts[b + 1] - starts[b]);
        rows.push(head);
        rest = tail;
    }
    rows.into_par_iter().with_min_len(64).for_each(<[u64]>::sort_unstable);
    (starts, keys)
}

/// What changed since a neighbour matrix was computed.
#[derive(Debug, Clone, Copy)]
pub struct NeighbourUpdate<'a> {
    /// The old result (`n_old x n_old`), each row the exact top `old_k` of the old ratings.
    /// Only its offsets need be checked ([`CsrView::with_checked_offsets`]): the update checks
    /// its columns and values in its own pass over them.
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
/// Also returns the first `narrow_k` entries of every row (the same rows, cut). This is
/// [`plan_update`], then [`UpdatePlan::write`] into new buffers.
///
/// # Errors
/// As [`plan_update`], and [`Error::InvalidArgument`] when `narrow_k` is 0.
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
    if narrow_k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    let plan = plan_update(ratings, update, k, axis, similarity, min_support, shrinkage)?;
    let mut indices = vec![0i32; plan.nnz()];
    let mut data = vec![0f32; plan.nnz()];
    plan.write(&mut indices, &mut data)?;
    let (n, indptr) = (plan.n, plan.indptr);
    let wide = Csr { n_rows: n, n_cols: n, indptr, indices, data };
    let narrow = first_of_rows(&wide.view(), narrow_k);
    Ok((wide, narrow))
}

/// An update computed up to the writing of its result: every row's length (the offsets of the
/// result) and its source (computed keys, or the old row with what to patch in). The caller
/// allocates the result's entries where it likes (the Python glue: numpy arrays, whose freed
/// memory the next update reuses) and [`write`](Self::write)s them.
#[derive(Debug)]
pub struct UpdatePlan<'a> {
    n: usize,
    old: CsrView<'a, f32>,
    old_to_new: &'a [i32],
    new_to_old: Vec<usize>,
    touched_old: Vec<bool>,
    identity: bool,
    /// The keys of the touched and recomputed rows (None: patched from the old row).
    computed: Vec<Option<Vec<u64>>>,
    /// The keys offered to each row by the touched rows: `incoming[starts[b]..starts[b + 1]]`.
    starts: Vec<usize>,
    incoming: Vec<u64>,
    indptr: Vec<i64>,
}

impl UpdatePlan<'_> {
    /// The offsets of the result's rows (`n + 1`).
    #[must_use]
    pub fn indptr(&self) -> &[i64] {
        &self.indptr
    }

    /// The number of entries of the result.
    #[must_use]
    pub fn nnz(&self) -> usize {
        self.indptr[self.n] as usize
    }

    /// Writes the result's entries (`nnz` column indices and similarities), every row from
    /// its source, in parallel (in the current rayon pool).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a buffer does not hold `nnz` entries.
    pub fn write(&self, indices: &mut [i32], data: &mut [f32]) -> Result<()> {
        if indices.len() != self.nnz() || data.len() != self.nnz() {
            return Err(Error::invalid("result", format!("needs {} entries", self.nnz())));
        }
        let map = Mapping {
            old: &self.old,
            old_to_new: self.old_to_new,
            new_to_old: &self.new_to_old,
            touched_old: &self.touched_old,
            identity: self.identity,
        };
        let slices = split_rows(&self.indptr, indices, data);
        slices.into_par_iter().enumerate().with_min_len(16).for_each(|(b, (row_indices, row_data))| match &self.computed[b] {
            Some(keys) => {
                for ((index, value), &key) in row_indices.iter_mut().zip(row_data.iter_mut()).zip(keys) {
                    let (similarity, column) = neighbour_of_key(key);
                    *index = column as i32;
                    *value = similarity;
                }
            }
            None => map.patch(b, &self.incoming[self.starts[b]..self.starts[b + 1]], row_indices, row_data),
        });
        Ok(())
    }
}

/// Everything of [`update_neighbours`] but the writing of the result: the checks, the touched
/// rows with all their candidates, the keys they bring to the other rows, which rows can be
/// patched from their old rows and how long each is, and the rows that cannot be (recomputed).
///
/// The work: the full rows of the touched entities (each of their raters' ratings once), the
/// rows that cannot be patched, and one pass over the old result (checking it and counting
/// what each row keeps), all in parallel; the write is a second pass.
///
/// # Errors
/// As [`pearson_neighbours`](super::pearson_neighbours), and [`Error::InvalidArgument`] when
/// `old_to_new` does not have one entry per old row, is not strictly increasing or out of
/// range, when a touched entity is out of range, or when an old column is out of range or an
/// old value is not finite.
pub fn plan_update<'a>(
    ratings: &CsrView<'_, f64>,
    update: &NeighbourUpdate<'a>,
    k: usize,
    axis: Axis,
    similarity: Similarity,
    min_support: usize,
    shrinkage: f64,
) -> Result<UpdatePlan<'a>> {
    if k == 0 || update.old_k == 0 {
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
    if old.data.len() != old.nnz() {
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
    let identity = update.old_to_new.iter().enumerate().all(|(o, &new)| new as usize == o);
    let touched_old: Vec<bool> = update.old_to_new.iter().map(|&new| is_touched[new as usize]).collect();
    let map = Mapping { old, old_to_new: update.old_to_new, new_to_old: &new_to_old, touched_old: &touched_old, identity };
    let k_new = prepared.settings.k;
    let k_old = update.old_k.min(n_old.saturating_sub(1)).max(1);
    let old_complete_at = if k_old + 1 >= n_old { usize::MAX } else { k_old };
    let complete = |b: usize| old.indptr[new_to_old[b] + 1] - old.indptr[new_to_old[b]] < old_complete_at as i64;

    // Every old row checked (columns in range, values finite; its columns are only known to
    // lie within the offsets), and the entries of each that keep their similarity counted:
    // one pass over the old result. The first bad row's error, as a sequential check gives.
    let scanned: Vec<Result<Option<usize>>> = (0..n_old).into_par_iter().with_min_len(64).map(|o| map.scan(o)).collect();
    let scanned: Vec<Option<usize>> = scanned.into_iter().collect::<Result<_>>()?;

    // An old row shorter than `old_complete_at` held every candidate; a longer one left out
    // only candidates worse than its worst key, so it takes new keys up to that one (a key
    // beyond it can only enter the rows that are recomputed).
    let bound: Vec<u64> = (0..n)
        .into_par_iter()
        .with_min_len(256)
        .map(|b| {
            if is_touched[b] || complete(b) || scanned[new_to_old[b]].is_none() {
                u64::MAX
            } else {
                map.worst(b).unwrap_or(u64::MAX)
            }
        })
        .collect();

    // The touched rows with all their candidates (their best `k_new` kept), and the keys they
    // bring to the other rows.
    let touched: Vec<usize> = (0..n).filter(|&b| is_touched[b]).collect();
    let (fresh, offered): (Vec<Vec<u64>>, Vec<_>) =
        prepared.full_rows_offering(&touched, k_new, |b, key| !is_touched[b] && key <= bound[b]).into_iter().unzip();
    let (starts, incoming) = incoming_by_row(&offered, n);
    drop(offered);
    let incoming_of = |b: usize| &incoming[starts[b]..starts[b + 1]];

    // The new length of every untouched row patched from its old row, or None where that
    // cannot be exact (those rows are recomputed): a complete old row, or at least `k_new`
    // entries no worse than the old worst (the untouched old ones and the incoming kept).
    let lengths: Vec<Option<usize>> = (0..n)
        .into_par_iter()
        .with_min_len(64)
        .map(|b| {
            if is_touched[b] {
                return Some(0);
            }
            let available = scanned[new_to_old[b]]? + incoming_of(b).len();
            (complete(b) || available >= k_new).then_some(available.min(k_new))
        })
        .collect();
    let redo: Vec<usize> = (0..n).filter(|&b| lengths[b].is_none()).collect();
    let redone = prepared.full_rows(&redo, k_new);

    // Each row from its source, written straight into the result: the fresh rows of the
    // touched entities, the recomputed rows, or the old row patched.
    let mut computed: Vec<Option<Vec<u64>>> = vec![None; n];
    for (&t, row) in touched.iter().zip(fresh) {
        computed[t] = Some(row);
    }
    for (&b, row) in redo.iter().zip(redone) {
        computed[b] = Some(row);
    }
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0i64);
    let mut total = 0usize;
    for b in 0..n {
        total += computed[b].as_ref().map_or_else(|| lengths[b].unwrap_or(0), Vec::len);
        indptr.push(total as i64);
    }
    let old = *old;
    Ok(UpdatePlan {
        n,
        old,
        old_to_new: update.old_to_new,
        new_to_old,
        touched_old,
        identity,
        computed,
        starts,
        incoming,
        indptr,
    })
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

    #[test]
    fn update_refuses_a_damaged_old_result_and_recomputes_a_disordered_row() {
        // The old result's columns and values are checked by the update's own pass (the view
        // has only its offsets checked): out of range or not finite is an error, never a panic;
        // a row not stored best first is recomputed, so the result is still the full call's.
        let t = [(0, 0, 1.0), (0, 1, 2.0), (0, 2, 3.0), (1, 0, 2.0), (1, 1, 1.0), (1, 2, 0.5), (2, 1, 1.0), (2, 2, 4.0)];
        let before = csr(3, 3, &t);
        let mut t2 = t.to_vec();
        t2[0] = (0, 0, 5.0);
        let after = csr(3, 3, &t2);
        let old = pearson_neighbours(&before.view(), 2, Axis::Items, Similarity::Cosine, 1, 0.0).unwrap();
        let want = pearson_neighbours(&after.view(), 2, Axis::Items, Similarity::Cosine, 1, 0.0).unwrap();
        let run = |indices: &[i32], data: &[f32]| {
            let view = CsrView::with_checked_offsets("old", 3, 3, &old.indptr, indices, data).unwrap();
            let update = NeighbourUpdate { old: view, old_k: 2, old_to_new: &[0, 1, 2], touched: &[0] };
            update_neighbours(&after.view(), &update, 2, 1, Axis::Items, Similarity::Cosine, 1, 0.0)
        };
        assert_eq!(run(&old.indices, &old.data).unwrap().0, want);
        let last = old.indices.len() - 1;
        for bad in [-1, 3, i32::MAX] {
            let mut indices = old.indices.clone();
            indices[last] = bad;
            assert!(run(&indices, &old.data).is_err(), "column {bad}");
        }
        for bad in [f32::NAN, f32::INFINITY] {
            let mut data = old.data.clone();
            data[last] = bad;
            assert!(run(&old.indices, &data).is_err(), "value {bad}");
        }
        // Row 2 (untouched) with its two entries swapped: recomputed, same result.
        let (a, b) = (old.indptr[2] as usize, old.indptr[3] as usize);
        assert_eq!(b - a, 2);
        let (mut indices, mut data) = (old.indices.clone(), old.data.clone());
        indices.swap(a, a + 1);
        data.swap(a, a + 1);
        assert_eq!(run(&indices, &data).unwrap().0, want);
    }
}
