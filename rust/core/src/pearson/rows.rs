//! Neighbour rows of some entities only, and the incremental update of a neighbour matrix.
//!
//! [`pearson_neighbours_of_rows`] computes the rows of chosen entities against the *whole*
//! matrix: row `j` of its result is exactly (bit for bit, same order) row `rows[j]` of
//! [`pearson_neighbours`](super::pearson_neighbours) on the same input. Every pair is summed in
//! the orientation the full call uses (the lower entity as `x`, over the co-raters in
//! ascending order) and finished the same way, so the similarities are the same `f32`s, and
//! the top `k` of a row is a function of its candidates under the same total order.
//!
//! [`update_neighbours`] turns the neighbour matrix of old ratings into the one of new
//! ratings (what the full call on the new ratings returns) when only some entities changed.
//! An entity is *touched* when its vector of (centred) values changed; a pair of untouched
//! entities then has the same similarity before and after, bit for bit, provided the old
//! entities keep their relative order (`old_to_new` increasing) so that every sum runs in the
//! same order. The touched rows are recomputed with all their candidates; every other row is
//! its old row with the touched columns replaced by their new similarities, which is exact
//! when the old row held every candidate or when its new `k`-th best still beats the old
//! row's worst (every candidate left out of the old row was worse than that); the few rows
//! where neither holds are recomputed.

use rayon::prelude::*;

use std::collections::BinaryHeap;

use super::{
    centre_columns, centre_rows, check_ratings, neighbour_key, neighbour_of_key, pairs_of_row, row_norms,
    transpose_with_positions, Axis, Context, CoratedKernel, CosineKernel, DotKernel, Kernel, MsdKernel, PearsonKernel, Scratch,
    SharedTopK, Similarity,
};
use crate::csr::{Csr, CsrView};
use crate::error::{Error, Result};

/// The centred entities, their transpose and norms, as the full call prepares them.
struct Prepared {
    entities: Csr<f64>,
    raters: Csr<f64>,
    positions: Vec<usize>,
    norms: Vec<f64>,
    similarity: Similarity,
    support: f64,
    shrinkage: f64,
}

impl Prepared {
    fn new(ratings: &CsrView<'_, f64>, axis: Axis, similarity: Similarity, min_support: usize, shrinkage: f64) -> Result<Self> {
        if !shrinkage.is_finite() || shrinkage < 0.0 {
            return Err(Error::invalid("shrinkage", format!("must be finite and >= 0, got {shrinkage}")));
        }
        check_ratings(ratings)?;
        if ratings.n_rows.max(ratings.n_cols) > i32::MAX as usize {
            return Err(Error::invalid("matrix", "more than 2^31 - 1 rows or columns"));
        }
        // Exactly the preparation of `pearson_neighbours`.
        let mut entities = match axis {
            Axis::Items => Csr::transpose_of(ratings),
            Axis::Users => Csr {
                n_rows: ratings.n_rows,
                n_cols: ratings.n_cols,
                indptr: ratings.indptr.to_vec(),
                indices: ratings.indices.to_vec(),
                data: ratings.data.to_vec(),
            },
        };
        match similarity {
            Similarity::Pearson => centre_rows(&mut entities),
            Similarity::AdjustedCosine => centre_columns(&mut entities),
            Similarity::Cosine | Similarity::CosineCorated | Similarity::Msd | Similarity::Dot => {}
        }
        let (raters, positions) = transpose_with_positions(&entities);
        let norms = match similarity {
            Similarity::Cosine | Similarity::AdjustedCosine => row_norms(&entities),
            Similarity::Pearson | Similarity::CosineCorated | Similarity::Msd | Similarity::Dot => Vec::new(),
        };
        let least = if similarity == Similarity::Pearson { 2 } else { 1 };
        let support = min_support.max(least) as f64;
        Ok(Prepared { entities, raters, positions, norms, similarity, support, shrinkage })
    }

    fn n(&self) -> usize {
        self.entities.n_rows
    }

    /// The effective `k` of the full call for a requested `k` (never more than `n - 1`).
    fn clamp_k(&self, k: usize) -> usize {
        k.min(self.n().saturating_sub(1)).max(1)
    }

    /// The best `k` candidates of each of `rows` as sorted keys (`usize::MAX`: all of them).
    fn rows(&self, rows: &[usize], k: usize) -> Vec<Vec<u64>> {
        let ctx = self.context(k);
        match self.similarity {
            Similarity::Pearson => rows_with(&ctx, &PearsonKernel, rows),
            Similarity::CosineCorated => rows_with(&ctx, &CoratedKernel, rows),
            Similarity::Msd => rows_with(&ctx, &MsdKernel, rows),
            Similarity::Dot => rows_with(&ctx, &DotKernel, rows),
            Similarity::Cosine | Similarity::AdjustedCosine => rows_with(&ctx, &CosineKernel { norms: &self.norms }, rows),
        }
    }
}

impl Prepared {
    fn context(&self, k: usize) -> Context<'_> {
        Context {
            entities: self.entities.view(),
            raters: self.raters.view(),
            positions: &self.positions,
            k,
            support: self.support,
            shrinkage: self.shrinkage,
        }
    }

    /// Every pair `(a, b > a)` with `a` in `rows`, computed once as the full call computes it
    /// and offered to the top `k` of both rows: an `n x n` result whose row `r` is the best `k`
    /// of the pairs of `r` that these rows produce.
    fn pairs(&self, rows: &[usize], k: usize) -> Csr<f32> {
        let ctx = self.context(k);
        match self.similarity {
            Similarity::Pearson => pairs_with(&ctx, &PearsonKernel, rows),
            Similarity::CosineCorated => pairs_with(&ctx, &CoratedKernel, rows),
            Similarity::Msd => pairs_with(&ctx, &MsdKernel, rows),
            Similarity::Dot => pairs_with(&ctx, &DotKernel, rows),
            Similarity::Cosine | Similarity::AdjustedCosine => pairs_with(&ctx, &CosineKernel { norms: &self.norms }, rows),
        }
    }
}

fn pairs_with<K: Kernel>(ctx: &Context<'_>, kernel: &K, rows: &[usize]) -> Csr<f32> {
    let n = ctx.entities.n_rows;
    let shared = SharedTopK::new(n, ctx.k);
    rows.par_iter().rev().for_each_init(
        || Scratch::<K::Sums> {
            sums: vec![K::Sums::default(); n],
            touched: vec![0; n],
            own: BinaryHeap::with_capacity(ctx.k + 1),
        },
        |scratch, &a| pairs_of_row(ctx, kernel, &shared, scratch, a),
    );
    shared.into_csr()
}

fn rows_with<K: Kernel>(ctx: &Context<'_>, kernel: &K, rows: &[usize]) -> Vec<Vec<u64>> {
    let n = ctx.entities.n_rows;
    rows.par_iter()
        .map_init(|| (vec![K::Sums::default(); n], vec![0u32; n]), |(sums, touched), &a| row_of(ctx, kernel, sums, touched, a))
        .collect()
}

/// Every candidate of entity `a` (its similarity with every other entity), each pair summed
/// and finished in the orientation of the full call; the best `ctx.k`, sorted.
fn row_of<K: Kernel>(ctx: &Context<'_>, kernel: &K, sums: &mut [K::Sums], touched: &mut [u32], a: usize) -> Vec<u64> {
    let mut keys = Vec::new();
    if !kernel.row_can_match(a) {
        return keys;
    }
    let raters = &ctx.raters;
    let first = ctx.entities.indptr[a] as usize;
    let mut n_touched = 0usize;
    for ((&r, &x), &position) in ctx.entities.row_indices(a).iter().zip(ctx.entities.row_data(a)).zip(&ctx.positions[first..]) {
        let xx = x * x;
        let (start, end) = (raters.indptr[r as usize] as usize, raters.indptr[r as usize + 1] as usize);
        // The rater's entities are sorted and `a` sits at `position`. The full call sums a
        // pair from its lower entity (x = lower, y = higher): the entities before `a` are the
        // lower ones, those after it the higher. First touches are counted without a branch
        // (they are hard to predict), as the full call counts them.
        for (&b, &y) in raters.indices[start..position].iter().zip(&raters.data[start..position]) {
            let slot = &mut sums[b as usize];
            touched[n_touched] = b as u32;
            n_touched += usize::from(K::count(slot) == 0.0);
            K::add(slot, y, y * y, x);
        }
        for (&b, &y) in raters.indices[position + 1..end].iter().zip(&raters.data[position + 1..end]) {
            let slot = &mut sums[b as usize];
            touched[n_touched] = b as u32;
            n_touched += usize::from(K::count(slot) == 0.0);
            K::add(slot, x, xx, y);
        }
    }
    for &b in &touched[..n_touched] {
        let b = b as usize;
        let slot = sums[b];
        sums[b] = K::Sums::default();
        let n_common = K::count(&slot);
        if n_common < ctx.support {
            continue;
        }
        let mut s = if b > a { kernel.finish(&slot, a, b) } else { kernel.finish(&slot, b, a) };
        if ctx.shrinkage > 0.0 {
            s *= n_common / (n_common + ctx.shrinkage);
        }
        let s = s.clamp(-1.0, 1.0) as f32;
        if s == 0.0 || s.is_nan() {
            continue;
        }
        keys.push(neighbour_key(s, b as u32));
    }
    best_k(keys, ctx.k)
}

/// The `k` smallest keys, sorted.
fn best_k(mut keys: Vec<u64>, k: usize) -> Vec<u64> {
    if keys.len() > k {
        keys.select_nth_unstable(k - 1);
        keys.truncate(k);
    }
    keys.sort_unstable();
    keys
}

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

/// The per-row output slices of a CSR whose `indptr` is known.
fn split_rows<'a>(indptr: &[i64], mut indices: &'a mut [i32], mut data: &'a mut [f32]) -> Vec<(&'a mut [i32], &'a mut [f32])> {
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

/// Rows of sorted keys as a CSR of `n_cols` columns, each row cut to `limit` keys; the rows
/// are decoded in parallel, each into its own slice of the output.
fn keys_to_csr(rows: &[Vec<u64>], n_cols: usize, limit: usize) -> Csr<f32> {
    let mut indptr = Vec::with_capacity(rows.len() + 1);
    indptr.push(0i64);
    let mut total = 0usize;
    for row in rows {
        total += row.len().min(limit);
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

fn check_rows(rows: &[i32], n: usize, name: &'static str) -> Result<Vec<usize>> {
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
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    let prepared = Prepared::new(ratings, axis, similarity, min_support, shrinkage)?;
    let n = prepared.n();
    let rows = check_rows(rows, n, "rows")?;
    let keys = prepared.rows(&rows, prepared.clamp_k(k));
    Ok(keys_to_csr(&keys, n, usize::MAX))
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
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    let prepared = Prepared::new(ratings, axis, similarity, min_support, shrinkage)?;
    let n = prepared.n();
    let mut rows = check_rows(rows, n, "rows")?;
    rows.sort_unstable();
    rows.dedup();
    Ok(prepared.pairs(&rows, prepared.clamp_k(k)))
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
    Ok(keys_to_csr(&rows, n, usize::MAX))
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
    let prepared = Prepared::new(ratings, axis, similarity, min_support, shrinkage)?;
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
    let k_new = prepared.clamp_k(k);
    let k_old = update.old_k.min(n_old.saturating_sub(1)).max(1);
    let old_complete_at = if k_old + 1 >= n_old { usize::MAX } else { k_old };

    // The touched rows with all their candidates, and what they bring to the other rows.
    let touched: Vec<usize> = (0..n).filter(|&b| is_touched[b]).collect();
    let fresh = prepared.rows(&touched, usize::MAX);
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
    let redone = prepared.rows(&redo, k_new);

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
    use super::*;
    use proptest::prelude::*;

    const ALL: [Similarity; 6] = [
        Similarity::Pearson,
        Similarity::Cosine,
        Similarity::AdjustedCosine,
        Similarity::CosineCorated,
        Similarity::Msd,
        Similarity::Dot,
    ];

    /// A users x items CSR from `(user, item, value)` triples (last value wins).
    fn csr(n_users: usize, n_items: usize, triples: &[(usize, usize, f64)]) -> Csr<f64> {
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

    fn row(m: &Csr<f32>, r: usize) -> (Vec<i32>, Vec<f32>) {
        let (a, b) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
        (m.indices[a..b].to_vec(), m.data[a..b].to_vec())
    }

    fn triples() -> impl Strategy<Value = (usize, usize, Vec<(usize, usize, f64)>)> {
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
    fn merge_rejects_parts_of_other_shapes() {
        let a = Csr { n_rows: 2, n_cols: 2, indptr: vec![0, 0, 0], ..Csr::default() };
        let b = Csr { n_rows: 3, n_cols: 3, indptr: vec![0, 0, 0, 0], ..Csr::default() };
        assert!(merge_neighbour_parts(&[a.view(), b.view()], 1).is_err());
        assert!(merge_neighbour_parts(&[a.view()], 0).is_err());
        assert_eq!(merge_neighbour_parts(&[], 3).unwrap().n_rows, 0);
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
