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

use super::{
    centre_columns, centre_rows, check_ratings, neighbour_key, neighbour_of_key, row_norms, transpose_with_positions, Axis,
    Context, CoratedKernel, CosineKernel, DotKernel, Kernel, MsdKernel, PearsonKernel, Similarity,
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
        let ctx = Context {
            entities: self.entities.view(),
            raters: self.raters.view(),
            positions: &self.positions,
            k,
            support: self.support,
            shrinkage: self.shrinkage,
        };
        match self.similarity {
            Similarity::Pearson => rows_with(&ctx, &PearsonKernel, rows),
            Similarity::CosineCorated => rows_with(&ctx, &CoratedKernel, rows),
            Similarity::Msd => rows_with(&ctx, &MsdKernel, rows),
            Similarity::Dot => rows_with(&ctx, &DotKernel, rows),
            Similarity::Cosine | Similarity::AdjustedCosine => rows_with(&ctx, &CosineKernel { norms: &self.norms }, rows),
        }
    }
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
    let mut n_touched = 0usize;
    for (&r, &x) in ctx.entities.row_indices(a).iter().zip(ctx.entities.row_data(a)) {
        let xx = x * x;
        let (start, end) = (raters.indptr[r as usize] as usize, raters.indptr[r as usize + 1] as usize);
        for (&b, &y) in raters.indices[start..end].iter().zip(&raters.data[start..end]) {
            let b = b as usize;
            if b == a {
                continue;
            }
            let slot = &mut sums[b];
            if K::count(slot) == 0.0 {
                touched[n_touched] = b as u32;
                n_touched += 1;
            }
            // The full call sums a pair from its lower entity: (x = lower, y = higher).
            if b > a {
                K::add(slot, x, xx, y);
            } else {
                K::add(slot, y, y * y, x);
            }
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

/// The keys of old row `o`, with its columns mapped to the new indices, best first.
fn old_row_keys(old: &CsrView<'_, f32>, o: usize, old_to_new: &[i32]) -> Vec<u64> {
    let mut keys: Vec<u64> =
        old.row_indices(o).iter().zip(old.row_data(o)).map(|(&c, &s)| neighbour_key(s, old_to_new[c as usize] as u32)).collect();
    // Rows come best first (the kernel's order); sort only if they do not.
    if keys.windows(2).any(|w| w[0] >= w[1]) {
        keys.sort_unstable();
        keys.dedup();
    }
    keys
}

/// The new top `k` of an untouched row from its old top list (`old_keys`, best first) and the
/// new similarities with the touched entities (`incoming`, sorted); None where that cannot be
/// proven exact. The old row held every candidate when it is shorter than `complete_at`;
/// otherwise every candidate it left out is worse than its worst key.
fn patch_row(mut old_keys: Vec<u64>, incoming: &[u64], is_touched: &[bool], complete_at: usize, k: usize) -> Option<Vec<u64>> {
    let complete = old_keys.len() < complete_at;
    let worst = old_keys.last().copied();
    let hit = !incoming.is_empty() || old_keys.iter().any(|&key| is_touched[neighbour_of_key(key).1 as usize]);
    if !hit {
        old_keys.truncate(k);
        return (complete || old_keys.len() >= k).then_some(old_keys);
    }
    let kept = old_keys.iter().copied().filter(|&key| !is_touched[neighbour_of_key(key).1 as usize]);
    let merged = merge_sorted(kept, incoming, k);
    let exact = complete || (merged.len() == k && worst.is_some_and(|w| merged[k - 1] <= w));
    exact.then_some(merged)
}

/// The first `k` keys of two sorted sequences merged (both strictly increasing, disjoint).
fn merge_sorted(a: impl Iterator<Item = u64>, b: &[u64], k: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(k.min(1 << 16));
    let mut b = b.iter().copied().peekable();
    for x in a {
        while let Some(&y) = b.peek() {
            if y >= x || out.len() == k {
                break;
            }
            out.push(y);
            b.next();
        }
        if out.len() == k {
            return out;
        }
        out.push(x);
    }
    out.extend(b.take(k - out.len()));
    out
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
    let mut slices = Vec::with_capacity(rows.len());
    let (mut rest_indices, mut rest_data) = (&mut indices[..], &mut data[..]);
    for row in rows {
        let len = row.len().min(limit);
        let (head_indices, tail_indices) = std::mem::take(&mut rest_indices).split_at_mut(len);
        let (head_data, tail_data) = std::mem::take(&mut rest_data).split_at_mut(len);
        slices.push((head_indices, head_data));
        rest_indices = tail_indices;
        rest_data = tail_data;
    }
    slices.into_par_iter().zip(rows).with_min_len(64).for_each(|((row_indices, row_data), row)| {
        for ((index, value), &key) in row_indices.iter_mut().zip(row_data.iter_mut()).zip(row) {
            let (similarity, column) = neighbour_of_key(key);
            *index = column as i32;
            *value = similarity;
        }
    });
    Csr { n_rows: rows.len(), n_cols, indptr, indices, data }
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

    // Every untouched row patched from its old row, or None where that cannot be exact.
    let patched: Vec<Option<Vec<u64>>> = (0..n)
        .into_par_iter()
        .map(|b| {
            if is_touched[b] {
                return Some(Vec::new());
            }
            let old_keys = old_row_keys(old, new_to_old[b], update.old_to_new);
            patch_row(old_keys, &incoming[b], &is_touched, old_complete_at, k_new)
        })
        .collect();
    let redo: Vec<usize> = (0..n).filter(|&b| patched[b].is_none()).collect();
    let redone = prepared.rows(&redo, k_new);

    let mut rows: Vec<Vec<u64>> = patched.into_iter().map(Option::unwrap_or_default).collect();
    for (&t, row) in touched.iter().zip(fresh) {
        rows[t] = best_k(row, k_new);
    }
    for (&b, row) in redo.iter().zip(redone) {
        rows[b] = row;
    }
    Ok((keys_to_csr(&rows, n, usize::MAX), keys_to_csr(&rows, n, narrow_k)))
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
