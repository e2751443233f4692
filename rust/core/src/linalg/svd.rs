//! Randomised truncated SVD of a sparse matrix (Halko, Martinsson & Tropp 2011, algorithm 4.4
//! with power iterations), computed in f64.
//!
//! `A (m x n) ~ U diag(s) V^T` with `rank` columns: a Gaussian sketch `Y = A Omega` with
//! `rank + oversample` columns, `power_iterations` rounds of re-orthonormalised `A A^T`
//! products, `Q = orth(Y)`, `B^T = A^T Q`, then the exact SVD of the small `B` from the
//! eigen-decomposition of `B B^T` (cyclic Jacobi). The tall matrices (`Y`, `Q`, `B^T`) are kept
//! row-major (`rows x width`; in f32 during the power iterations, with sums in f64, and in f64
//! from the final basis on): a sparse product is then one pass over `A` that adds contiguous
//! rows, and an orthonormalisation is a Cholesky QR (a small Gram matrix, summed over fixed blocks
//! of rows in a fixed order, and one triangular solve per row). Every step is either per row or
//! reduced in a fixed order, so the result does not depend on the number of threads.

use rayon::prelude::*;

use crate::buffer::zeroed;
use crate::csr::{Csr, CsrView};
use crate::error::{Error, Result};
use crate::real::Real;
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

/// Rows of a tall matrix per parallel task.
const ROWS_PER_TASK: usize = 256;

/// How many stored entries ahead [`multiply`] prefetches the row of `X` an entry names.
const PREFETCH_AHEAD: usize = 8;

/// Asks the cache for the memory of `values` ahead of its use (a hint; never faults).
#[inline]
fn prefetch<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let pointer = values.as_ptr().cast::<i8>();
        for offset in (0..std::mem::size_of_val(values)).step_by(64) {
            // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 target has; the address is
            // inside `values` (offset < its size), and a prefetch never faults anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(pointer.add(offset)) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// `A X` for a row-major `X` (`a.n_cols x width`), row-major (`a.n_rows x width`): a stored
/// entry `(r, c, v)` adds `v` times row `c` of `X` to row `r`, in stored order, in f64 (stored
/// as `T`: f32 halves the memory the product gathers from, which bounds its speed).
fn multiply<T: Real>(a: &CsrView<'_, f32>, x: &[T], width: usize) -> Vec<T> {
    let mut y = vec![T::ZERO; a.n_rows * width];
    y.par_chunks_mut(width * ROWS_PER_TASK).enumerate().for_each(|(task, block)| {
        let mut sums = vec![0f64; width];
        for (offset, out) in block.chunks_exact_mut(width).enumerate() {
            let r = task * ROWS_PER_TASK + offset;
            sums.fill(0.0);
            let (first, end) = (a.indptr[r] as usize, a.indptr[r + 1] as usize);
            for e in first..end {
                // The rows of X an entry names are scattered: ask for one a few entries ahead.
                if let Some(&ahead) = a.indices.get(e + PREFETCH_AHEAD) {
                    let start = ahead as usize * width;
                    if let Some(row) = x.get(start..start + width) {
                        prefetch(row);
                    }
                }
                let v = f64::from(a.data[e]);
                let start = a.indices[e] as usize * width;
                for (o, xv) in sums.iter_mut().zip(&x[start..start + width]) {
                    *o += v * xv.to_f64();
                }
            }
            for (o, &sum) in out.iter_mut().zip(&sums) {
                *o = T::from_f64(sum);
            }
        }
    });
    y
}

/// `Y^T Y` of a row-major `Y` (`width x width`, row-major): partial sums over fixed blocks of
/// rows, added in block order.
fn gram<T: Real>(y: &[T], width: usize) -> Vec<f64> {
    let partials: Vec<Vec<f64>> = y
        .par_chunks(width * ROWS_PER_TASK * 4)
        .map(|block| {
            let mut g = vec![0f64; width * width];
            let mut row = vec![0f64; width];
            for stored in block.chunks_exact(width) {
                row.iter_mut().zip(stored).for_each(|(x, s)| *x = s.to_f64());
                for (i, &ri) in row.iter().enumerate() {
                    let upper = &mut g[i * width + i..(i + 1) * width];
                    upper.iter_mut().zip(&row[i..]).for_each(|(gv, &rv)| *gv += ri * rv);
                }
            }
            g
        })
        .collect();
    let mut g = vec![0f64; width * width];
    for partial in &partials {
        g.iter_mut().zip(partial).for_each(|(a, b)| *a += b);
    }
    for i in 0..width {
        for j in 0..i {
            g[i * width + j] = g[j * width + i];
        }
    }
    g
}

/// Orthonormalises the columns of a row-major `Y` (`width` columns) in place by Cholesky QR
/// (Fukaya et al. 2014): `R` from the Cholesky factor of `Y^T Y`, then `Y R^-1` row by row.
/// Two `passes` (`CholQR2`) give columns orthonormal to working precision unless `Y` is very
/// ill-conditioned; the power iterations only need the columns kept apart, so they use one.
/// A column whose part outside the previous columns is at most 1e-6 of its norm (below what
/// the Gram matrix resolves) is numerically dependent and becomes zero.
fn orthonormalize<T: Real>(y: &mut [T], width: usize, passes: usize) {
    for _ in 0..passes {
        let g = gram(y, width);
        // Upper-triangular R, stored transposed (rt[j * width + k] = R[k][j]) for the solve.
        let mut rt = vec![0f64; width * width];
        let mut diagonal = vec![0f64; width];
        for j in 0..width {
            let mut d = g[j * width + j];
            for k in 0..j {
                d -= rt[j * width + k] * rt[j * width + k];
            }
            if d.is_nan() || d <= 1e-12 * g[j * width + j] || d <= 0.0 {
                continue; // dependent: R's row j stays zero, the column becomes zero
            }
            let r_jj = d.sqrt();
            diagonal[j] = r_jj;
            rt[j * width + j] = r_jj;
            for l in j + 1..width {
                let mut value = g[j * width + l];
                for k in 0..j {
                    value -= rt[j * width + k] * rt[l * width + k];
                }
                rt[l * width + j] = value / r_jj;
            }
        }
        // R row-major (r[j * width + l] = R[j][l]) for the row-wise solve.
        let mut r = vec![0f64; width * width];
        for j in 0..width {
            for l in j..width {
                r[j * width + l] = rt[l * width + j];
            }
        }
        y.par_chunks_mut(width * ROWS_PER_TASK).for_each(|block| {
            let mut row = vec![0f64; width];
            for stored in block.chunks_exact_mut(width) {
                row.iter_mut().zip(stored.iter()).for_each(|(x, s)| *x = s.to_f64());
                // Forward substitution by columns (axpy updates vectorise; dot products would not).
                for j in 0..width {
                    if diagonal[j] == 0.0 {
                        row[j] = 0.0;
                        continue;
                    }
                    let q = row[j] / diagonal[j];
                    row[j] = q;
                    row[j + 1..].iter_mut().zip(&r[j * width + j + 1..(j + 1) * width]).for_each(|(x, r)| *x -= q * r);
                }
                stored.iter_mut().zip(&row).for_each(|(s, x)| *s = T::from_f64(*x));
            }
        });
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
    let mut u = zeroed::<f32>("dim", m, rank)?;
    let mut v = zeroed::<f32>("dim", n, rank)?;
    let mut s = zeroed::<f32>("dim", 1, rank)?;
    if width == 0 {
        return Ok(TruncatedSvd { rank, u, s, v });
    }
    let transposed = Csr::transpose_of(a);
    let at = transposed.view();
    // The Gaussian sketch, column after column from the seeded stream, stored row-major. The
    // range finder keeps its tall matrices in f32 (sums in f64): it only has to find the
    // subspace, and the products it runs are bound by the memory they gather from.
    let mut rng = SplitMix64(seed);
    let mut omega = vec![0f32; n * width];
    for j in 0..width {
        for c in 0..n {
            omega[c * width + j] = rng.next_normal() as f32;
        }
    }
    let mut y = multiply(a, &omega, width);
    for _ in 0..power_iterations {
        orthonormalize(&mut y, width, 1);
        let mut z = multiply(&at, &y, width);
        orthonormalize(&mut z, width, 1);
        y = multiply(a, &z, width);
    }
    // The basis and everything after it in f64.
    let mut q: Vec<f64> = y.iter().map(|&x| f64::from(x)).collect();
    drop(y);
    orthonormalize(&mut q, width, 2);
    // B^T = A^T Q (n x width); B B^T = (B^T)^T B^T.
    let bt = multiply(&at, &q, width);
    let (eigenvalues, w) = symmetric_eigen(gram(&bt, width), width);
    let largest = eigenvalues.first().copied().unwrap_or(0.0).max(0.0).sqrt();
    // Components beyond the numerical rank keep s = 0 and zero vectors.
    let kept: Vec<(usize, f64)> = (0..rank.min(width))
        .map(|k| (k, eigenvalues[k].max(0.0).sqrt()))
        .filter(|&(_, sigma)| sigma > 1e-9 * largest && sigma > 0.0)
        .collect();
    // u = Q W and v = B^T W / sigma, row by row (in f64, rounded once).
    // W's first `rank` columns, row-major (`width x rank`); a component not kept is a zero column
    // (and v's columns are divided by sigma here).
    let mut w_u = vec![0f64; width * rank];
    let mut w_v = vec![0f64; width * rank];
    for &(k, sigma) in &kept {
        for j in 0..width {
            w_u[j * rank + k] = w[j * width + k];
            w_v[j * rank + k] = w[j * width + k] / sigma;
        }
    }
    let project = |tall: &[f64], rows: usize, weights: &[f64]| -> Vec<f64> {
        let mut out = vec![0f64; rows * rank];
        out.par_chunks_mut(rank * ROWS_PER_TASK).zip(tall.par_chunks(width * ROWS_PER_TASK)).for_each(|(outs, ins)| {
            for (o, row) in outs.chunks_exact_mut(rank).zip(ins.chunks_exact(width)) {
                // Row times W by rows of W (axpy updates vectorise; per-entry dot products would not).
                for (j, &x) in row.iter().enumerate() {
                    o.iter_mut().zip(&weights[j * rank..(j + 1) * rank]).for_each(|(out, wv)| *out += x * wv);
                }
            }
        });
        out
    };
    let u64s = project(&q, m, &w_u);
    let v64s = project(&bt, n, &w_v);
    for &(k, sigma) in &kept {
        // A deterministic sign: the largest entry of u is positive (the first, on ties).
        let pivot = (0..m).map(|r| u64s[r * rank + k]).fold(0.0f64, |best, x| if x.abs() > best.abs() { x } else { best });
        let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
        s[k] = sigma as f32;
        for r in 0..m {
            u[r * rank + k] = (sign * u64s[r * rank + k]) as f32;
        }
        for r in 0..n {
            v[r * rank + k] = (sign * v64s[r * rank + k]) as f32;
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
    fn same_result_for_any_thread_count() {
        // Enough rows for several row blocks (products, solves) and Gram blocks.
        let (m, n) = (2500, 120);
        let mut rng = SplitMix64(3);
        let dense: Vec<f64> = (0..m * n)
            .map(|ij| {
                let x = rng.next_normal();
                if x > 0.8 {
                    x + (ij % 7) as f64
                } else {
                    0.0
                }
            })
            .collect();
        let a = dense_to_csr(&dense, m, n);
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| randomized_svd(&a.view(), 6, 4, 3, 9).unwrap())
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one.s, two.s);
        assert_eq!(one.u, two.u);
        assert_eq!(one.v, two.v);
        // Orthonormal right vectors (to float32 rounding).
        for p in 0..6 {
            for q in 0..6 {
                let d: f64 = (0..n).map(|i| f64::from(one.v[i * 6 + p]) * f64::from(one.v[i * 6 + q])).sum();
                assert!((d - if p == q { 1.0 } else { 0.0 }).abs() < 1e-5, "{p} {q}: {d}");
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
