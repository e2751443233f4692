//! Randomised truncated SVD of a sparse matrix (Halko, Martinsson & Tropp 2011, algorithm 4.4
//! with power iterations), computed in f64.
//!
//! `A (m x n) ~ U diag(s) V^T` with `rank` columns: a Gaussian sketch `Y = A Omega` with
//! `rank + oversample` columns, `power_iterations` rounds of re-orthonormalised `A A^T`
//! products, `Q = orth(Y)`, `B^T = A^T Q`, then the exact SVD of the small `B` from the
//! eigen-decomposition of `B B^T` (cyclic Jacobi). Columns are kept column-major (one `Vec` per
//! column) so that the sparse products and the Gram-Schmidt steps run over contiguous memory.

use rayon::prelude::*;

use crate::buffer::zeroed;
use crate::csr::{Csr, CsrView};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;

/// The truncated SVD: `u` is `m x rank` and `v` is `n x rank`, both row-major; `s` decreasing.
/// Components beyond the numerical rank of `A` have `s = 0` and zero vectors.
#[derive(Debug, Clone)]
pub struct TruncatedSvd {
    pub rank: usize,
    pub u: Vec<f32>,
    pub s: Vec<f32>,
    pub v: Vec<f32>,
}

/// `A x` for every column `x` of `columns` (each of length `a.n_cols`).
fn multiply_columns(a: &CsrView<'_, f32>, columns: &[Vec<f64>]) -> Vec<Vec<f64>> {
    columns
        .par_iter()
        .map(|x| {
            (0..a.n_rows)
                .map(|r| a.row_indices(r).iter().zip(a.row_data(r)).map(|(&c, &v)| f64::from(v) * x[c as usize]).sum())
                .collect()
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Orthonormalises the columns in place by classical Gram-Schmidt; two `passes` ("CGS2") are as
/// accurate as modified Gram-Schmidt, and its dot products and updates run in parallel. The
/// power iterations only need the columns kept apart, so they use one pass (half the cost).
/// A column that is numerically dependent on the previous ones becomes zero.
fn orthonormalize(columns: &mut [Vec<f64>], passes: usize) {
    const CHUNK: usize = 4096;
    for j in 0..columns.len() {
        let (done, rest) = columns.split_at_mut(j);
        let col = &mut rest[0];
        let original = dot(col, col).sqrt();
        for _ in 0..passes {
            let coefs: Vec<f64> = done.par_iter().map(|q| dot(q, col)).collect();
            col.par_chunks_mut(CHUNK).enumerate().for_each(|(chunk_index, chunk)| {
                let offset = chunk_index * CHUNK;
                for (q, &coef) in done.iter().zip(&coefs) {
                    let len = chunk.len();
                    chunk.iter_mut().zip(&q[offset..offset + len]).for_each(|(c, qv)| *c -= coef * qv);
                }
            });
        }
        let norm = dot(col, col).sqrt();
        if norm <= 1e-10 * original.max(f64::MIN_POSITIVE) || norm == 0.0 {
            col.fill(0.0);
        } else {
            for c in col.iter_mut() {
                *c /= norm;
            }
        }
    }
}

/// Eigen-decomposition of a symmetric `n x n` row-major matrix by cyclic Jacobi rotations:
/// eigenvalues (decreasing) and eigenvectors as columns of a row-major matrix.
fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 =
            (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i * n + j].powi(2)).sum();
        let total: f64 = a.iter().map(|x| x * x).sum();
        if off <= 1e-30 * total.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]));
    let values = order.iter().map(|&i| a[i * n + i]).collect();
    let mut vectors = vec![0.0; n * n];
    for (new, &old) in order.iter().enumerate() {
        for k in 0..n {
            vectors[k * n + new] = v[k * n + old];
        }
    }
    (values, vectors)
}

/// The `rank` leading singular triplets of `a`.
///
/// A `rank` beyond `min(m, n)` only adds zero components: it sizes the result (`m x rank` and
/// `n x rank`) but no work.
///
/// # Errors
/// [`Error::InvalidArgument`] when `rank` is 0, a value of `a` is not finite, or the result of
/// `rank` columns does not fit in memory.
pub fn randomized_svd(
    a: &CsrView<'_, f32>,
    rank: usize,
    oversample: usize,
    power_iterations: usize,
    seed: u64,
) -> Result<TruncatedSvd> {
    if rank == 0 {
        return Err(Error::invalid("dim", "must be at least 1"));
    }
    if a.data.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid("matrix", "contains NaN or infinite values"));
    }
    let (m, n) = (a.n_rows, a.n_cols);
    let width = rank.saturating_add(oversample).min(m.min(n));
    let transposed = Csr::transpose_of(a);
    let at = transposed.view();
    let mut rng = SplitMix64(seed);
    let omega: Vec<Vec<f64>> = (0..width).map(|_| (0..n).map(|_| rng.next_normal()).collect()).collect();
    let mut q = multiply_columns(a, &omega);
    for _ in 0..power_iterations {
        orthonormalize(&mut q, 1);
        let mut z = multiply_columns(&at, &q);
        orthonormalize(&mut z, 1);
        q = multiply_columns(a, &z);
    }
    orthonormalize(&mut q, 2);
    // B^T = A^T Q (n x width); B B^T = (B^T)^T B^T.
    let bt = multiply_columns(&at, &q);
    let gram: Vec<f64> = (0..width * width).into_par_iter().map(|ij| dot(&bt[ij / width], &bt[ij % width])).collect();
    let (eigenvalues, w) = symmetric_eigen(gram, width);
    let mut u = zeroed::<f32>("dim", m, rank)?;
    let mut v = zeroed::<f32>("dim", n, rank)?;
    let mut s = zeroed::<f32>("dim", 1, rank)?;
    let largest = eigenvalues.first().copied().unwrap_or(0.0).max(0.0).sqrt();
    let components: Vec<(usize, f64, Vec<f64>, Vec<f64>)> = (0..rank.min(width))
        .into_par_iter()
        .filter_map(|k| {
            let sigma = eigenvalues[k].max(0.0).sqrt();
            if sigma <= 1e-9 * largest || sigma == 0.0 {
                return None;
            }
            let mut u_col = vec![0.0f64; m];
            let mut v_col = vec![0.0f64; n];
            for j in 0..width {
                let weight = w[j * width + k];
                u_col.iter_mut().zip(&q[j]).for_each(|(x, qv)| *x += weight * qv);
                v_col.iter_mut().zip(&bt[j]).for_each(|(x, bv)| *x += weight * bv / sigma);
            }
            Some((k, sigma, u_col, v_col))
        })
        .collect();
    for (k, sigma, u_col, v_col) in components {
        // A deterministic sign: the largest entry of u is positive.
        let pivot = u_col.iter().copied().fold(0.0f64, |best, x| if x.abs() > best.abs() { x } else { best });
        let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
        s[k] = sigma as f32;
        for r in 0..m {
            u[r * rank + k] = (sign * u_col[r]) as f32;
        }
        for r in 0..n {
            v[r * rank + k] = (sign * v_col[r]) as f32;
        }
    }
    Ok(TruncatedSvd { rank, u, s, v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense_to_csr(d: &[f64], m: usize, n: usize) -> Csr<f32> {
        let mut indptr = vec![0i64];
        let mut indices = Vec::new();
        let mut data = Vec::new();
        for r in 0..m {
            for c in 0..n {
                if d[r * n + c] != 0.0 {
                    indices.push(c as i32);
                    data.push(d[r * n + c] as f32);
                }
            }
            indptr.push(indices.len() as i64);
        }
        Csr { n_rows: m, n_cols: n, indptr, indices, data }
    }

    #[test]
    fn recovers_a_low_rank_matrix() {
        let (m, n, r) = (40, 30, 3);
        let mut rng = SplitMix64(7);
        let x: Vec<f64> = (0..m * r).map(|_| rng.next_normal()).collect();
        let y: Vec<f64> = (0..n * r).map(|_| rng.next_normal()).collect();
        let dense: Vec<f64> = (0..m * n).map(|ij| (0..r).map(|k| x[ij / n * r + k] * y[ij % n * r + k]).sum()).collect();
        let a = dense_to_csr(&dense, m, n);
        let svd = randomized_svd(&a.view(), 5, 5, 2, 1).unwrap();
        assert!(svd.s[0] >= svd.s[1] && svd.s[1] >= svd.s[2] && svd.s[2] > 0.0);
        assert!(svd.s[3] < 1e-3 * svd.s[0], "{:?}", svd.s);
        for i in 0..m {
            for j in 0..n {
                let approx: f64 =
                    (0..5).map(|k| f64::from(svd.u[i * 5 + k]) * f64::from(svd.s[k]) * f64::from(svd.v[j * 5 + k])).sum();
                assert!((approx - dense[i * n + j]).abs() < 1e-3, "{i} {j}: {approx} vs {}", dense[i * n + j]);
            }
        }
        // Orthonormal columns of u.
        for p in 0..3 {
            for q in 0..3 {
                let d: f64 = (0..m).map(|i| f64::from(svd.u[i * 5 + p]) * f64::from(svd.u[i * 5 + q])).sum();
                assert!((d - if p == q { 1.0 } else { 0.0 }).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn jacobi_diagonalises() {
        let a = vec![4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 1.0];
        let (values, vectors) = symmetric_eigen(a.clone(), 3);
        for k in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i * 3 + j] * vectors[j * 3 + k]).sum();
                assert!((av - values[k] * vectors[i * 3 + k]).abs() < 1e-9);
            }
        }
        assert!(values[0] >= values[1] && values[1] >= values[2]);
    }

    #[test]
    fn empty_and_bad_input() {
        let a = Csr::<f32> { n_rows: 0, n_cols: 0, indptr: vec![0], indices: vec![], data: vec![] };
        let svd = randomized_svd(&a.view(), 4, 2, 1, 0).unwrap();
        assert!(svd.u.is_empty() && svd.s.iter().all(|&s| s == 0.0));
        assert!(randomized_svd(&a.view(), 0, 2, 1, 0).is_err());
    }

    #[test]
    fn a_rank_past_the_matrix_pads_with_zeros_and_a_huge_one_is_an_error() {
        let a = dense_to_csr(&[1.0, 2.0, 0.0, 0.0, 3.0, 1.0], 2, 3);
        let small = randomized_svd(&a.view(), 2, 3, 2, 5).unwrap();
        let padded = randomized_svd(&a.view(), 1000, usize::MAX, 2, 5).unwrap();
        assert_eq!((padded.u.len(), padded.v.len(), padded.s.len()), (2 * 1000, 3 * 1000, 1000));
        assert_eq!(&padded.s[..2], &small.s[..]);
        assert!(padded.s[2..].iter().all(|&s| s == 0.0));
        for r in 0..2 {
            assert_eq!(&padded.u[r * 1000..r * 1000 + 2], &small.u[r * 2..r * 2 + 2]);
            assert!(padded.u[r * 1000 + 2..(r + 1) * 1000].iter().all(|&x| x == 0.0));
        }
        assert!(randomized_svd(&a.view(), usize::MAX / 2, 10, 2, 5).is_err());
        assert!(randomized_svd(&a.view(), usize::MAX, 10, 2, 5).is_err());
    }
}
