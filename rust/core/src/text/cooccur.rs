//! Term co-occurrence counts and positive pointwise mutual information (PPMI).

use rayon::prelude::*;

use crate::csr::{Csr, CsrView};
use crate::error::{Error, Result};

/// How many texts contain both terms, for every pair of distinct terms: a symmetric
/// `n_terms x n_terms` matrix with sorted columns and an empty diagonal. A term counts once per
/// text however often it repeats; only the first `max_terms_per_text` distinct terms of a text
/// (in the order of `docs`, i.e. by term id, the most frequent terms first) are paired, which
/// bounds the work for very long texts at `max_terms_per_text^2 / 2` pairs.
///
/// # Errors
/// [`Error::InvalidArgument`] when `max_terms_per_text` is below 2 or a row of `docs` is not
/// sorted and distinct.
pub fn cooccurrence<T: Sync>(docs: &CsrView<'_, T>, max_terms_per_text: usize) -> Result<Csr<f64>> {
    if max_terms_per_text < 2 {
        return Err(Error::invalid("max_terms_per_text", "must be at least 2"));
    }
    for row in 0..docs.n_rows {
        if docs.row_indices(row).windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid("docs", format!("term ids of text {row} are not sorted and distinct")));
        }
    }
    let n = docs.n_cols;
    // Every pair (a < b) packed into one u64, sorted, then counted by runs.
    let mut pairs: Vec<u64> = (0..docs.n_rows)
        .into_par_iter()
        .flat_map_iter(|row| {
            let ids = docs.row_indices(row);
            let ids = &ids[..ids.len().min(max_terms_per_text)];
            (0..ids.len())
                .flat_map(move |i| ids[i + 1..].iter().map(move |&b| (u64::from(ids[i] as u32) << 32) | u64::from(b as u32)))
        })
        .collect();
    pairs.par_sort_unstable();
    let mut counts: Vec<(u32, u32, f64)> = Vec::new();
    let mut k = 0;
    while k < pairs.len() {
        let mut end = k;
        while end < pairs.len() && pairs[end] == pairs[k] {
            end += 1;
        }
        counts.push(((pairs[k] >> 32) as u32, pairs[k] as u32, (end - k) as f64));
        k = end;
    }
    drop(pairs);
    // Both triangles, as CSR with sorted columns: count per row, then place.
    let mut indptr = vec![0i64; n + 1];
    for &(a, b, _) in &counts {
        indptr[a as usize + 1] += 1;
        indptr[b as usize + 1] += 1;
    }
    for r in 0..n {
        indptr[r + 1] += indptr[r];
    }
    let nnz = indptr[n] as usize;
    let mut next: Vec<i64> = indptr[..n].to_vec();
    let mut indices = vec![0i32; nnz];
    let mut data = vec![0f64; nnz];
    // `counts` is sorted by (a, b): the lower triangle entries (b, a) arrive in increasing a
    // for each row b, and they all precede that row's upper entries, which arrive in order.
    for &(a, b, c) in &counts {
        let slot = next[b as usize] as usize;
        indices[slot] = a as i32;
        data[slot] = c;
        next[b as usize] += 1;
    }
    for &(a, b, c) in &counts {
        let slot = next[a as usize] as usize;
        indices[slot] = b as i32;
        data[slot] = c;
        next[a as usize] += 1;
    }
    Ok(Csr { n_rows: n, n_cols: n, indptr, indices, data })
}

/// PPMI with context-distribution smoothing (Levy, Goldberg & Dagan 2015):
/// `max(0, log(c_ij * Z / (r_i * r_j^alpha)) - log(shift))` where `r_i` are the row sums of the
/// symmetric counts, `Z = sum_i r_i^alpha` and `c_ij` the count. Entries that come out 0 are
/// dropped, so the result keeps sorted columns.
///
/// # Errors
/// [`Error::InvalidArgument`] when `alpha` is not in `(0, 1]`, `shift` is below 1 or a count is
/// negative or not finite; [`Error::ShapeMismatch`] when `counts` is not square.
pub fn ppmi(counts: &CsrView<'_, f64>, alpha: f64, shift: f64) -> Result<Csr<f32>> {
    if !(alpha > 0.0 && alpha <= 1.0) {
        return Err(Error::invalid("alpha", format!("must be in (0, 1], got {alpha}")));
    }
    if !(shift >= 1.0 && shift.is_finite()) {
        return Err(Error::invalid("shift", format!("must be at least 1, got {shift}")));
    }
    if counts.n_rows != counts.n_cols {
        return Err(Error::shape("counts", format!("must be square, got {} x {}", counts.n_rows, counts.n_cols)));
    }
    if counts.data.iter().any(|&c| !(c >= 0.0 && c.is_finite())) {
        return Err(Error::invalid("counts", "counts must be finite and non-negative"));
    }
    let n = counts.n_rows;
    let row_sums: Vec<f64> = (0..n).map(|r| counts.row_data(r).iter().sum()).collect();
    let smoothed: Vec<f64> = row_sums.iter().map(|&r| r.powf(alpha)).collect();
    let z: f64 = smoothed.iter().sum();
    let log_shift = shift.ln();
    let rows: Vec<(Vec<i32>, Vec<f32>)> = (0..n)
        .into_par_iter()
        .map(|r| {
            let mut cols = Vec::new();
            let mut vals = Vec::new();
            for (&c, &count) in counts.row_indices(r).iter().zip(counts.row_data(r)) {
                if count <= 0.0 {
                    continue;
                }
                let pmi = (count * z / (row_sums[r] * smoothed[c as usize])).ln() - log_shift;
                if pmi > 0.0 {
                    cols.push(c);
                    vals.push(pmi as f32);
                }
            }
            (cols, vals)
        })
        .collect();
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0i64);
    let mut indices = Vec::new();
    let mut data = Vec::new();
    for (cols, vals) in rows {
        indices.extend(cols);
        data.extend(vals);
        indptr.push(indices.len() as i64);
    }
    Ok(Csr { n_rows: n, n_cols: n, indptr, indices, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dense_cooccurrence(docs: &[Vec<i32>], n: usize) -> Vec<f64> {
        let mut m = vec![0.0; n * n];
        for doc in docs {
            for &a in doc {
                for &b in doc {
                    if a != b {
                        m[a as usize * n + b as usize] += 1.0;
                    }
                }
            }
        }
        m
    }

    fn to_dense(m: &Csr<f64>) -> Vec<f64> {
        let mut d = vec![0.0; m.n_rows * m.n_cols];
        for r in 0..m.n_rows {
            for (&c, &v) in m.view().row_indices(r).iter().zip(m.view().row_data(r)) {
                d[r * m.n_cols + c as usize] = v;
            }
        }
        d
    }

    proptest! {
        #[test]
        fn cooccurrence_matches_dense_count(docs in proptest::collection::vec(proptest::collection::btree_set(0i32..12, 0..6), 0..20)) {
            let docs: Vec<Vec<i32>> = docs.into_iter().map(|s| s.into_iter().collect()).collect();
            let mut indptr = vec![0i64];
            let mut indices = Vec::new();
            for d in &docs {
                indices.extend(d);
                indptr.push(indices.len() as i64);
            }
            let view = CsrView::<f64>::new("docs", docs.len(), 12, &indptr, &indices, &[], true).unwrap();
            let m = cooccurrence(&view, 100).unwrap();
            CsrView::new("m", 12, 12, &m.indptr, &m.indices, &m.data, true).unwrap();
            prop_assert_eq!(to_dense(&m), dense_cooccurrence(&docs, 12));
        }
    }

    #[test]
    fn ppmi_matches_formula() {
        let docs = vec![vec![0, 1, 2], vec![0, 1], vec![2, 3], vec![0, 3]];
        let mut indptr = vec![0i64];
        let mut indices = Vec::new();
        for d in &docs {
            indices.extend(d);
            indptr.push(indices.len() as i64);
        }
        let view = CsrView::<f64>::new("docs", 4, 4, &indptr, &indices, &[], true).unwrap();
        let counts = cooccurrence(&view, 10).unwrap();
        let dense = to_dense(&counts);
        let p = ppmi(&counts.view(), 0.75, 1.0).unwrap();
        let rows: Vec<f64> = (0..4).map(|r| dense[r * 4..r * 4 + 4].iter().sum()).collect();
        let z: f64 = rows.iter().map(|r| r.powf(0.75)).sum();
        let mut got = [0.0f64; 16];
        for r in 0..4 {
            for (&c, &v) in p.view().row_indices(r).iter().zip(p.view().row_data(r)) {
                got[r * 4 + c as usize] = f64::from(v);
            }
        }
        for r in 0..4 {
            for c in 0..4 {
                let count = dense[r * 4 + c];
                let want = if count > 0.0 { (count * z / (rows[r] * rows[c].powf(0.75))).ln().max(0.0) } else { 0.0 };
                assert!((got[r * 4 + c] - want).abs() < 1e-5, "{r} {c}: {} vs {want}", got[r * 4 + c]);
            }
        }
        assert!(ppmi(&counts.view(), 0.0, 1.0).is_err());
        assert!(ppmi(&counts.view(), 0.75, 0.5).is_err());
    }
}
