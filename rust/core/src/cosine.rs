//! Cosine similarity of one sparse query vector with every column of a sparse matrix: the
//! per-request search of the kNN models' `similar_items` (`UserKNN`), `similar_users` (`ItemKNN`)
//! and the neighbours of an anonymous history (`UserKNN`). The matrix and the column norms are
//! built once, when the model is fitted; a request touches only the rows its query names.

use crate::csr::CsrView;
use crate::error::{Error, Result};

/// The query and the filters of one [`cosine_top_k`] request.
#[derive(Debug, Clone, Copy)]
pub struct CosineQuery<'a> {
    /// Row indices of `through` (a repeated row adds its weights up).
    pub sources: &'a [i32],
    /// The query's value at each source.
    pub weights: &'a [f64],
    /// A column never returned (the query's own column), if any.
    pub skip: Option<usize>,
    /// Only these columns may be returned (`None`: all).
    pub include: Option<&'a [i32]>,
    /// These columns are never returned.
    pub exclude: &'a [i32],
}

fn check_ids(name: &'static str, ids: &[i32], bound: usize) -> Result<()> {
    match ids.iter().find(|&&i| i < 0 || i as usize >= bound) {
        Some(bad) => Err(Error::invalid(name, format!("index {bad} is out of range for {bound}"))),
        None => Ok(()),
    }
}

/// The `k` columns of `through` most cosine-similar to the query, best first (ties to the
/// lower column), with their similarities; only positive similarities count, so fewer than
/// `k` may come back.
///
/// `through` is `n_sources x n_targets` and `norms` holds the Euclidean norm of each of its
/// columns. The query is the sparse vector over rows given by `query.sources` and
/// `query.weights`; its duplicates are summed first (in the order given). The dot product of
/// the query with column `t` sums `weight * through[s, t]` over the query's sources in
/// increasing order, in f64, which is the order a CSR matrix-vector product over `t`'s entries
/// (sorted by `s`) takes; the similarity is that dot over `norms[t] * |query|` (0 when either
/// norm is 0).
///
/// # Errors
/// [`Error::InvalidArgument`] when `k == 0`, an index is out of range or a weight or norm is
/// not finite; [`Error::ShapeMismatch`] when the lengths disagree.
pub fn cosine_top_k(query: CosineQuery<'_>, through: &CsrView<'_, f32>, norms: &[f64], k: usize) -> Result<(Vec<i32>, Vec<f64>)> {
    let n_targets = through.n_cols;
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    if norms.len() != n_targets {
        return Err(Error::shape("norms", format!("{} norms for {n_targets} columns", norms.len())));
    }
    if query.sources.len() != query.weights.len() {
        return Err(Error::shape("weights", format!("{} weights for {} sources", query.weights.len(), query.sources.len())));
    }
    if let Some(bad) = query.weights.iter().position(|w| !w.is_finite()) {
        return Err(Error::invalid("weights", format!("weight at {bad} is not finite")));
    }
    check_ids("sources", query.sources, through.n_rows)?;
    check_ids("exclude", query.exclude, n_targets)?;
    if let Some(include) = query.include {
        check_ids("items", include, n_targets)?;
    }
    if let Some(skip) = query.skip {
        if skip >= n_targets {
            return Err(Error::invalid("skip", format!("index {skip} is out of range for {n_targets}")));
        }
    }
    let merged = merge_sources(query.sources, query.weights);
    let query_norm = merged.iter().map(|&(_, w)| w * w).sum::<f64>().sqrt();
    if query_norm == 0.0 || merged.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut dots = vec![0f64; n_targets];
    let mut touched: Vec<usize> = Vec::new();
    let mut seen = vec![false; n_targets];
    for &(s, w) in &merged {
        let row = s as usize;
        for (&t, &v) in through.row_indices(row).iter().zip(through.row_data(row)) {
            let t = t as usize;
            dots[t] += w * f64::from(v);
            if !seen[t] {
                seen[t] = true;
                touched.push(t);
            }
        }
    }
    // `seen` now marks the columns that may be returned.
    for &t in query.exclude {
        seen[t as usize] = false;
    }
    if let Some(skip) = query.skip {
        seen[skip] = false;
    }
    let allowed: Option<Vec<bool>> = query.include.map(|include| {
        let mut mask = vec![false; n_targets];
        for &t in include {
            mask[t as usize] = true;
        }
        mask
    });
    let candidates: Vec<(f64, usize)> = touched
        .into_iter()
        .filter(|&t| seen[t] && allowed.as_ref().is_none_or(|mask| mask[t]))
        .filter_map(|t| {
            let denom = norms[t] * query_norm;
            let sim = if denom > 0.0 { dots[t] / denom } else { 0.0 };
            (sim > 0.0).then_some((sim, t))
        })
        .collect();
    if let Some(bad) = candidates.iter().find(|(sim, _)| !sim.is_finite()) {
        return Err(Error::invalid("norms", format!("column {} gives a similarity of {}", bad.1, bad.0)));
    }
    Ok(best_k(candidates, k))
}

/// The query's `(source, weight)` pairs by source, repeated sources summed (a stable sort keeps
/// their order, so they add up as given).
fn merge_sources(sources: &[i32], weights: &[f64]) -> Vec<(i32, f64)> {
    let mut pairs: Vec<(i32, f64)> = sources.iter().copied().zip(weights.iter().copied()).collect();
    pairs.sort_by_key(|&(s, _)| s);
    let mut merged: Vec<(i32, f64)> = Vec::with_capacity(pairs.len());
    for (s, w) in pairs {
        match merged.last_mut() {
            Some(last) if last.0 == s => last.1 += w,
            _ => merged.push((s, w)),
        }
    }
    merged
}

/// The `k` best `(similarity, column)` candidates, best first (ties to the lower column).
fn best_k(mut candidates: Vec<(f64, usize)>, k: usize) -> (Vec<i32>, Vec<f64>) {
    let best_first = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k - 1, best_first);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(best_first);
    candidates.into_iter().map(|(sim, t)| (t as i32, sim)).unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csr::Csr;

    fn dense_to_csr(d: &[f32], m: usize, n: usize) -> Csr<f32> {
        let mut indptr = vec![0i64];
        let (mut indices, mut data) = (Vec::new(), Vec::new());
        for r in 0..m {
            for c in 0..n {
                if d[r * n + c] != 0.0 {
                    indices.push(c as i32);
                    data.push(d[r * n + c]);
                }
            }
            indptr.push(indices.len() as i64);
        }
        Csr { n_rows: m, n_cols: n, indptr, indices, data }
    }

    fn query<'a>(sources: &'a [i32], weights: &'a [f64]) -> CosineQuery<'a> {
        CosineQuery { sources, weights, skip: None, include: None, exclude: &[] }
    }

    #[test]
    fn matches_a_dense_cosine() {
        // 3 sources x 4 targets.
        let d = [1.0, 0.0, 2.0, 1.0, 0.0, 3.0, 1.0, -1.0, 2.0, 0.0, 0.0, 1.0];
        let a = dense_to_csr(&d, 3, 4);
        let norms: Vec<f64> = (0..4).map(|t| (0..3).map(|s| f64::from(d[s * 4 + t]).powi(2)).sum::<f64>().sqrt()).collect();
        // The query (1, 0, 2) given with a repeated source: (0: 0.5 + 0.5, 2: 2).
        let (ids, sims) = cosine_top_k(query(&[2, 0, 0], &[2.0, 0.5, 0.5]), &a.view(), &norms, 10).unwrap();
        let q = [1.0, 0.0, 2.0];
        let mut expected: Vec<(f64, usize)> = (0..4)
            .map(|t| {
                let dot: f64 = (0..3).map(|s| q[s] * f64::from(d[s * 4 + t])).sum();
                (dot / (norms[t] * 5f64.sqrt()), t)
            })
            .filter(|p| p.0 > 0.0)
            .collect();
        expected.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        assert_eq!(ids, expected.iter().map(|p| p.1 as i32).collect::<Vec<_>>());
        for (s, e) in sims.iter().zip(&expected) {
            assert!((s - e.0).abs() < 1e-12);
        }
        let (top, _) = cosine_top_k(query(&[0, 2], &[1.0, 2.0]), &a.view(), &norms, 1).unwrap();
        assert_eq!(top, ids[..1]);
    }

    #[test]
    fn skip_filters_and_ties() {
        // Two identical targets tie: the lower index first.
        let a = dense_to_csr(&[1.0, 1.0, 1.0, 0.0], 1, 4);
        let norms = [1.0, 1.0, 1.0, 0.0];
        let (ids, _) = cosine_top_k(query(&[0], &[1.0]), &a.view(), &norms, 10).unwrap();
        assert_eq!(ids, [0, 1, 2]);
        let q = CosineQuery { sources: &[0], weights: &[1.0], skip: Some(0), include: Some(&[0, 2, 3]), exclude: &[] };
        assert_eq!(cosine_top_k(q, &a.view(), &norms, 10).unwrap().0, [2]);
        let q = CosineQuery { sources: &[0], weights: &[1.0], skip: None, include: None, exclude: &[1] };
        assert_eq!(cosine_top_k(q, &a.view(), &norms, 10).unwrap().0, [0, 2]);
        // Negative similarities and an empty or zero query give nothing.
        assert!(cosine_top_k(query(&[0], &[-1.0]), &a.view(), &norms, 10).unwrap().0.is_empty());
        assert!(cosine_top_k(query(&[], &[]), &a.view(), &norms, 10).unwrap().0.is_empty());
        assert!(cosine_top_k(query(&[0], &[0.0]), &a.view(), &norms, 10).unwrap().0.is_empty());
    }

    #[test]
    fn bad_input() {
        let a = dense_to_csr(&[1.0, 1.0], 1, 2);
        let norms = [1.0, 1.0];
        assert!(cosine_top_k(query(&[0], &[1.0]), &a.view(), &norms, 0).is_err());
        assert!(cosine_top_k(query(&[1], &[1.0]), &a.view(), &norms, 1).is_err());
        assert!(cosine_top_k(query(&[-1], &[1.0]), &a.view(), &norms, 1).is_err());
        assert!(cosine_top_k(query(&[0], &[f64::NAN]), &a.view(), &norms, 1).is_err());
        assert!(cosine_top_k(query(&[0], &[1.0, 2.0]), &a.view(), &norms, 1).is_err());
        assert!(cosine_top_k(query(&[0], &[1.0]), &a.view(), &[1.0], 1).is_err());
        let q = CosineQuery { sources: &[0], weights: &[1.0], skip: Some(2), include: None, exclude: &[] };
        assert!(cosine_top_k(q, &a.view(), &norms, 1).is_err());
        let q = CosineQuery { sources: &[0], weights: &[1.0], skip: None, include: Some(&[5]), exclude: &[] };
        assert!(cosine_top_k(q, &a.view(), &norms, 1).is_err());
    }
}
