//! Rating prediction by the k nearest rated neighbours (surprise's KNNWithMeans/KNNBaseline
//! neighbour selection).

use std::cell::RefCell;

use rayon::prelude::*;

use crate::csr::CsrView;
use crate::error::{Error, Result};

/// Rating prediction by the k nearest rated neighbours, as a weighted mean of residuals.
///
/// For each pair `(x, y)`: walk the neighbour row `x` of `neighbours` (`n_x x n_x`, each row
/// ordered by similarity descending), keep neighbours `x2` with similarity > 0 for which
/// `residuals[y, x2]` exists (`residuals` is `n_y x n_x` with sorted rows), stop after `k`, and
/// return `sum sim * residual / sum sim` with the number used. Fewer than `min_k` used (or an
/// unknown `x` or `y`, given as -1) gives 0 and the count. Item-based kNN: `x` = item, `y` =
/// user; user-based: `x` = user, `y` = item. The caller adds the baseline or mean of `x`.
///
/// This is the neighbour selection of scikit-surprise's `KNNWithMeans`/`KNNBaseline`: the `k`
/// most similar among the neighbours that rated the item, non-positive similarities skipped.
///
/// # Errors
/// [`Error::InvalidArgument`] for out-of-range ids or `k == 0`; [`Error::ShapeMismatch`] when
/// the matrices or the pair lists disagree.
pub fn predict_pairs(
    neighbours: &CsrView<'_, f32>,
    residuals: &CsrView<'_, f32>,
    xs: &[i32],
    ys: &[i32],
    k: usize,
    min_k: usize,
) -> Result<(Vec<f32>, Vec<i32>)> {
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    if xs.len() != ys.len() {
        return Err(Error::shape("items", format!("{} users but {} items", ys.len(), xs.len())));
    }
    if neighbours.n_rows != neighbours.n_cols || residuals.n_cols != neighbours.n_rows {
        return Err(Error::shape("neighbours", "neighbours must be square and match the residual columns"));
    }
    if neighbours.data.len() != neighbours.indices.len() || residuals.data.len() != residuals.indices.len() {
        return Err(Error::invalid("neighbours", "needs one value per stored entry"));
    }
    let n_x = neighbours.n_rows as i32;
    let n_y = residuals.n_rows as i32;
    if let Some(&bad) = xs.iter().find(|&&x| x < -1 || x >= n_x) {
        return Err(Error::invalid("x", format!("index {bad} is out of range for {n_x}")));
    }
    if let Some(&bad) = ys.iter().find(|&&y| y < -1 || y >= n_y) {
        return Err(Error::invalid("y", format!("index {bad} is out of range for {n_y}")));
    }
    // Pairs are grouped by `y`, whose residual row is spread into a dense per-thread row once:
    // walking a neighbour row then costs one load per neighbour instead of a binary search.
    let mut by_y: Vec<u32> = (0..xs.len() as u32).filter(|&p| xs[p as usize] >= 0 && ys[p as usize] >= 0).collect();
    by_y.sort_unstable_by_key(|&p| ys[p as usize]);
    let groups: Vec<&[u32]> = by_y.chunk_by(|a, b| ys[*a as usize] == ys[*b as usize]).collect();
    let n_x = neighbours.n_rows;
    let results: Vec<Vec<(u32, f32, i32)>> = groups
        .par_iter()
        .with_min_len(4)
        .map(|group| {
            DENSE.with(|cell| {
                let mut dense = cell.borrow_mut();
                if dense.len() < n_x {
                    dense.resize(n_x, f32::NAN);
                }
                let y = ys[group[0] as usize] as usize;
                let (rated, rated_values) = (residuals.row_indices(y), residuals.row_data(y));
                for (&x2, &r) in rated.iter().zip(rated_values) {
                    dense[x2 as usize] = r;
                }
                let out: Vec<(u32, f32, i32)> = group
                    .iter()
                    .map(|&p| {
                        let x = xs[p as usize] as usize;
                        let (mut weighted, mut total, mut used) = (0f64, 0f64, 0usize);
                        for (&x2, &sim) in neighbours.row_indices(x).iter().zip(neighbours.row_data(x)) {
                            // Non-positive (or NaN) similarities are skipped, as in surprise.
                            if sim.is_nan() || sim <= 0.0 {
                                continue;
                            }
                            let r = dense[x2 as usize];
                            if !r.is_nan() {
                                weighted += f64::from(sim) * f64::from(r);
                                total += f64::from(sim);
                                used += 1;
                                if used == k {
                                    break;
                                }
                            }
                        }
                        let value = if used >= min_k.max(1) && total > 0.0 { (weighted / total) as f32 } else { 0.0 };
                        (p, value, used as i32)
                    })
                    .collect();
                for &x2 in rated {
                    dense[x2 as usize] = f32::NAN;
                }
                out
            })
        })
        .collect();
    let mut values = vec![0f32; xs.len()];
    let mut counts = vec![0i32; xs.len()];
    for (p, value, count) in results.into_iter().flatten() {
        values[p as usize] = value;
        counts[p as usize] = count;
    }
    Ok((values, counts))
}

thread_local! {
    /// One residual row spread densely (NaN = not rated), all NaN between groups.
    static DENSE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}
