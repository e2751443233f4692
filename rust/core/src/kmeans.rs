//! k-means clustering of dense rows (Lloyd's iterations, accelerated with Elkan's bounds).
//!
//! Conventions follow scikit-learn's `KMeans(algorithm="lloyd")` so that it can serve as the
//! oracle: greedy k-means++ seeding with `2 + ln(k)` local trials, `tol` relative to the mean
//! per-feature variance of the data, convergence when no label changes or when the summed
//! squared centre shift falls to `tol`, a final relabelling when stopped by `tol` or
//! `max_iter`, and `inertia` = the sum of squared distances of the rows to their centres.
//!
//! Elkan's algorithm keeps, per row, an upper bound on the distance to its own centre and a
//! lower bound on the distance to each other centre (triangle inequality, moved by how far
//! the centres moved); a centre whose bound proves it farther than the row's own is not
//! measured. Where `n_rows x n_clusters` bounds would take more than 256 MB, Hamerly's
//! variant keeps a single lower bound per row instead. Either way the labels are those plain
//! Lloyd gives (the bounds carry a small safety margin against rounding, so a distance is only
//! skipped when the proof holds with room to spare; ties go to the lower centre index).
//!
//! Determinism: every reduction (centre sums, potentials, inertia) is taken per fixed chunk of
//! [`CHUNK`] rows and the chunk results are added in chunk order, so the result depends on the
//! seed only, never on the number of threads.
//!
//! Empty clusters: after an iteration's update, each empty cluster is re-seeded with the row
//! farthest from its (old) centre, taken from a cluster that keeps at least one row; that row
//! is moved out of its cluster's mean. Rows are taken in decreasing distance, ties to the lower
//! row index. This is scikit-learn's relocation rule; unlike scikit-learn, an iteration that
//! relocated a centre never counts as converged, so the labels always match the centroids.

// The distance loops are `#[inline(always)]` on purpose: inlined into the AVX2 entry point
// they are compiled for 256-bit registers, which a call to a shared copy would not be.
#![allow(clippy::inline_always)]

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::real::Real;

/// Rows per reduction chunk. Fixed (not derived from the thread count) for determinism.
pub const CHUNK: usize = 2048;

/// How the first centroids are chosen.
#[derive(Debug, Clone, Copy)]
pub enum Init<'a, T> {
    /// Greedy k-means++ (scikit-learn's variant), from the seed.
    KMeansPlusPlus,
    /// These centroids, row-major `n_clusters x n_cols`.
    Centroids(&'a [T]),
}

/// The knobs of [`kmeans`], with scikit-learn's defaults.
#[derive(Debug, Clone, Copy)]
pub struct KMeansOptions {
    /// Independent k-means++ runs; the one with the lowest inertia wins. Ignored (one run)
    /// when explicit centroids are given.
    pub n_init: usize,
    /// At most this many Lloyd iterations per run.
    pub max_iter: usize,
    /// Stop when the summed squared centre shift is at most `tol * mean(var(x, axis=0))`.
    pub tol: f64,
    pub seed: u64,
}

impl Default for KMeansOptions {
    fn default() -> Self {
        KMeansOptions { n_init: 1, max_iter: 300, tol: 1e-4, seed: 0 }
    }
}

/// A fitted clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit<T> {
    /// Row-major `n_clusters x n_cols`.
    pub centroids: Vec<T>,
    /// The centroid of each row.
    pub labels: Vec<i32>,
    /// Sum of squared distances of the rows to their centroids.
    pub inertia: f64,
    /// Iterations run (of the best run).
    pub n_iter: usize,
}

/// Independent accumulators of the distance loops: enough chains to hide the latency of
/// vector additions (two 256-bit registers of f32, four of f64).
const LANES: usize = 16;

/// Adds up the lanes in a fixed tree order (the same in every distance function).
#[inline(always)]
fn reduce_lanes<T: Real>(acc: &[T; LANES]) -> T {
    let mut half = [T::ZERO; LANES / 2];
    for (i, h) in half.iter_mut().enumerate() {
        *h = acc[i] + acc[i + LANES / 2];
    }
    ((half[0] + half[4]) + (half[1] + half[5])) + ((half[2] + half[6]) + (half[3] + half[7]))
}

/// Squared Euclidean distance, with [`LANES`] independent accumulators so the loop
/// vectorises without reassociation by the compiler. Always inlined, so that it is compiled
/// for the vector unit of its caller (see [`ChunkScan::run_fastest`]).
#[inline(always)]
pub fn squared_distance<T: Real>(a: &[T], b: &[T]) -> T {
    let b = &b[..a.len()];
    let mut acc = [T::ZERO; LANES];
    let mut chunks_a = a.chunks_exact(LANES);
    let mut chunks_b = b.chunks_exact(LANES);
    for (xa, xb) in (&mut chunks_a).zip(&mut chunks_b) {
        for lane in 0..LANES {
            let d = xa[lane] - xb[lane];
            acc[lane] = acc[lane] + d * d;
        }
    }
    let mut tail = T::ZERO;
    for (&va, &vb) in chunks_a.remainder().iter().zip(chunks_b.remainder()) {
        let d = va - vb;
        tail = tail + d * d;
    }
    reduce_lanes(&acc) + tail
}

/// The nearest centroid of `row` (lowest index on ties) with its squared distance, and the
/// squared distance to the second nearest (infinite when there is one centroid).
#[inline(always)]
fn nearest_two<T: Real>(row: &[T], centroids: &[T], n_cols: usize) -> (usize, f64, f64) {
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    let mut second_d = f64::INFINITY;
    let mut offer = |j: usize, d: f64| {
        if d < best_d {
            second_d = best_d;
            best_d = d;
            best = j;
        } else if d < second_d {
            second_d = d;
        }
    };
    let mut blocks = centroids.chunks_exact(4 * n_cols);
    let mut j = 0;
    for block in &mut blocks {
        let (c0, rest) = block.split_at(n_cols);
        let (c1, rest) = rest.split_at(n_cols);
        let (c2, c3) = rest.split_at(n_cols);
        for d in squared_distances4(row, [c0, c1, c2, c3]) {
            offer(j, d.to_f64());
            j += 1;
        }
    }
    for centre in blocks.remainder().chunks_exact(n_cols) {
        offer(j, squared_distance(row, centre).to_f64());
        j += 1;
    }
    (best, best_d, second_d)
}

/// [`squared_distance`] from one row to four centres at once (bit for bit the same values):
/// four independent accumulator chains keep the vector unit busy instead of waiting on one
/// chain's additions, and each loaded piece of the row serves four centres.
#[inline(always)]
fn squared_distances4<T: Real>(row: &[T], centres: [&[T]; 4]) -> [T; 4] {
    let n = row.len();
    let mut acc = [[T::ZERO; LANES]; 4];
    let full = n - n % LANES;
    let mut f = 0;
    while f < full {
        let r = &row[f..f + LANES];
        for (a, c) in acc.iter_mut().zip(&centres) {
            let c = &c[f..f + LANES];
            for lane in 0..LANES {
                let d = r[lane] - c[lane];
                a[lane] = a[lane] + d * d;
            }
        }
        f += LANES;
    }
    let mut out = [T::ZERO; 4];
    for ((o, a), c) in out.iter_mut().zip(&acc).zip(&centres) {
        let mut tail = T::ZERO;
        for (&va, &vb) in row[full..].iter().zip(&c[full..n]) {
            let d = va - vb;
            tail = tail + d * d;
        }
        *o = reduce_lanes(a) + tail;
    }
    out
}

/// Squared norm in f64, with independent lanes (vectorisable, fixed order).
#[inline(always)]
fn squared_norm<T: Real>(v: &[T]) -> f64 {
    let mut acc = [0f64; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            let a = c[l].to_f64();
            acc[l] += a * a;
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|a| a.to_f64() * a.to_f64()).sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Lower bounds are stored as f32 (half the memory traffic of f64 over the n x k bounds of
/// Elkan's): each is rounded down on the way in, so it never exceeds the value it bounds.
#[inline(always)]
fn bound_down(v: f64) -> f32 {
    // 1 - 2^-22 more than covers the rounding to nearest f32 (2^-24 relative); the
    // subtracted f32::MIN_POSITIVE covers subnormal results (0 is always a valid bound).
    #[allow(clippy::cast_possible_truncation)]
    let b = (v * (1.0 - 1.0 / 4_194_304.0) - f64::from(f32::MIN_POSITIVE)).min(f64::from(f32::MAX)) as f32;
    b.max(0.0)
}

/// A distance moved down by at most `m_up` (itself rounded up to f32) stays a lower bound:
/// the f32 subtraction and the product round by at most 2^-24 each, the factor takes 2^-20.
#[inline(always)]
fn bound_minus(b: f32, m_up: f32) -> f32 {
    ((b - m_up) * (1.0 - 1.0 / 1_048_576.0)).max(0.0)
}

/// `v` rounded up to f32 (for the moves subtracted from the bounds).
#[inline(always)]
fn round_up(v: f64) -> f32 {
    #[allow(clippy::cast_possible_truncation)]
    let r = (v * (1.0 + 1.0 / 4_194_304.0) + f64::from(f32::MIN_POSITIVE)) as f32;
    r
}

/// Rows of the blocked distance kernel: three rows share each load of the centres (with 24
/// centres, 9 accumulators, 3 centre vectors and a broadcast fit in the 16 AVX2 registers).
const BLOCK_ROWS: usize = 3;

/// Centroids laid out for the blocked distance kernel ([`block_dots`]): transposed to
/// `d x kp` (centre index fastest, zero-padded to `kp`, a multiple of 8) with their squared
/// norms in f64.
struct Packed<T> {
    ct: Vec<T>,
    k: usize,
    kp: usize,
    norms: Vec<f64>,
    /// f32 input only: `norms` times `1 - err_scale` and `1 + err_scale`, as f32, padded to
    /// `kp` with infinity.
    norms_low32: Vec<f32>,
    norms_high32: Vec<f32>,
    /// Bound on |estimate - computed distance| per unit of `|x|^2 + |c|^2` (see [`Packed::nearest`]).
    err_scale: f64,
}

impl<T: Real> Packed<T> {
    fn new(centroids: &[T], k: usize, d: usize) -> Self {
        let kp = k.div_ceil(8) * 8;
        let mut ct = vec![T::ZERO; d * kp];
        for j in 0..k {
            for f in 0..d {
                ct[f * kp + j] = centroids[j * d + f];
            }
        }
        let norms: Vec<f64> = (0..k).map(|j| squared_norm(&centroids[j * d..(j + 1) * d])).collect();
        // |x.c computed in T - x.c| <= gamma_d |x||c| <= gamma_d (|x|^2 + |c|^2) / 2, and the
        // reference [`squared_distance`] errs by at most gamma_{d+1} |x - c|^2 <=
        // 2 gamma_{d+1} (|x|^2 + |c|^2): together about 3 (d + 1) eps; 4 (d + 4) eps leaves room
        // for the f64 roundings and the gamma denominators.
        //
        // The f32 sweep of [`Packed::nearest`] rounds the norms to f32 and rounds each of its
        // three operations, about 5 eps (|x|^2 + |c|^2) more: 4 (d + 8) eps covers that too.
        let err_scale = 4.0 * (d as f64 + 8.0) * T::EPSILON;
        // Norms times (1 -/+ err_scale) in f32, padded with infinity (see `nearest`).
        #[allow(clippy::cast_possible_truncation)]
        let scaled = |factor: f64| -> Vec<f32> {
            (0..kp).map(|j| if j < k { (norms[j] * factor) as f32 } else { f32::INFINITY }).collect()
        };
        let (norms_low32, norms_high32) = (scaled(1.0 - err_scale), scaled(1.0 + err_scale));
        Packed { ct, k, kp, norms, norms_low32, norms_high32, err_scale }
    }

    /// Dot products of [`BLOCK_ROWS`] rows with every centre, into `out` (`BLOCK_ROWS x kp`).
    #[inline(always)]
    fn dots<const FMA: bool>(&self, rows: [&[T]; BLOCK_ROWS], out: &mut [T]) {
        let kp = self.kp;
        let mut j0 = 0;
        // Three rows times 24 centres: 9 vector accumulators of f32 (fewer for f64, whose
        // vectors hold half as many values).
        if std::mem::size_of::<T>() == 4 {
            while j0 + 24 <= kp {
                block_dots::<T, FMA, 3>(rows, &self.ct, kp, j0, out);
                j0 += 24;
            }
            if j0 + 16 <= kp {
                block_dots::<T, FMA, 2>(rows, &self.ct, kp, j0, out);
                j0 += 16;
            }
        }
        while j0 < kp {
            block_dots::<T, FMA, 1>(rows, &self.ct, kp, j0, out);
            j0 += 8;
        }
    }

    /// The nearest centre of `row` from its dot products (`dots`, `k` of them) and squared
    /// norm, exactly as a full scan with [`squared_distance`] finds it (lowest index on ties):
    /// each distance is estimated as `|x|^2 + |c|^2 - 2 x.c` with a bound on its error against
    /// [`squared_distance`]; a centre whose estimate cannot beat the best one is out, and when
    /// more than one remains they are measured with [`squared_distance`].
    ///
    /// Returns the label, an upper bound on the squared distance to it, and writes a lower
    /// bound on the squared distance of every centre into `low` (the label's own entry holds
    /// the upper bound).
    #[inline(always)]
    fn nearest(&self, row: &[T], row_norm: f64, dots: &[T], centroids: &[T], low: &mut [f64]) -> (usize, f64) {
        let k = self.k;
        if std::mem::size_of::<T>() == 4 {
            return self.nearest_f32(row, row_norm, dots, centroids, low);
        }
        let dots = &dots[..k];
        let low = &mut low[..k];
        let norms = &self.norms[..k];
        // Branch-free sweeps (vectorised): estimates minus their error bounds, then the
        // smallest estimate plus its bound, then the centres that could beat it.
        for ((l, &dot), &norm) in low.iter_mut().zip(dots).zip(norms) {
            let base = row_norm + norm;
            *l = base - 2.0 * dot.to_f64() - self.err_scale * base;
        }
        // estimate + err = low + 2 err: the smallest, in four independent lanes.
        let mut lanes = [f64::INFINITY; 4];
        let mut chunks = low.chunks_exact(4).zip(norms.chunks_exact(4));
        for (ls, ns) in &mut chunks {
            for l in 0..4 {
                let high = ls[l] + 2.0 * self.err_scale * (row_norm + ns[l]);
                lanes[l] = if high < lanes[l] { high } else { lanes[l] };
            }
        }
        let rest = k - k % 4;
        for (l, n) in low[rest..].iter().zip(&norms[rest..]) {
            let high = l + 2.0 * self.err_scale * (row_norm + n);
            lanes[0] = if high < lanes[0] { high } else { lanes[0] };
        }
        let best_high = lanes[0].min(lanes[1]).min(lanes[2].min(lanes[3]));
        self.choose(row, best_high, centroids, low)
    }

    /// [`Packed::nearest`] for f32 input: the sweeps in f32 over all `kp` (padded) centres,
    /// eight lanes at a time. The dots of f32 input are f32 (the conversions are no-ops).
    #[inline(always)]
    fn nearest_f32(&self, row: &[T], row_norm: f64, dots: &[T], centroids: &[T], low: &mut [f64]) -> (usize, f64) {
        let (k, kp) = (self.k, self.kp);
        #[allow(clippy::cast_possible_truncation)]
        let (row_low, row_high) = ((row_norm * (1.0 - self.err_scale)) as f32, (row_norm * (1.0 + self.err_scale)) as f32);
        let mut lanes = [f32::INFINITY; 8];
        let mut low32 = [0f32; 64];
        let mut best_high = f64::INFINITY;
        let mut filled = 0;
        // Blocks of up to 64 centres (the scratch stays on the stack).
        for start in (0..kp).step_by(64) {
            let end = (start + 64).min(kp);
            for (((l, dot), n_low), n_high) in low32[..end - start]
                .chunks_exact_mut(8)
                .zip(dots[start..end].chunks_exact(8))
                .zip(self.norms_low32[start..end].chunks_exact(8))
                .zip(self.norms_high32[start..end].chunks_exact(8))
            {
                for lane in 0..8 {
                    #[allow(clippy::cast_possible_truncation)]
                    let twice = 2.0 * dot[lane].to_f64() as f32;
                    l[lane] = row_low + n_low[lane] - twice;
                    let high = row_high + n_high[lane] - twice;
                    lanes[lane] = if high < lanes[lane] { high } else { lanes[lane] };
                }
            }
            for (out, &l) in low[start..end.min(k)].iter_mut().zip(&low32[..end - start]) {
                *out = f64::from(l);
            }
            filled = end.min(k);
        }
        debug_assert_eq!(filled, k);
        for &lane in &lanes {
            best_high = if f64::from(lane) < best_high { f64::from(lane) } else { best_high };
        }
        self.choose(row, best_high, centroids, low)
    }

    /// The label from the lower bounds `low` (estimate - err, `k` of them) and the smallest
    /// estimate + err: a centre whose lower bound exceeds it cannot be nearest; when more than
    /// one remains they are measured with [`squared_distance`]. A NaN (overflowing estimates)
    /// counts as a candidate, so every centre is then measured.
    #[inline(always)]
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(l > high)` on purpose: NaN is a candidate
    fn choose(&self, row: &[T], best_high: f64, centroids: &[T], low: &mut [f64]) -> (usize, f64) {
        let k = self.k;
        let d = row.len();
        let low = &mut low[..k];
        // The candidates as bit masks of 64 centres (compares and a movemask, no branches):
        // how many, and the first.
        let mut candidates = 0;
        let mut first = usize::MAX;
        for (block, ls) in low.chunks(64).enumerate() {
            let mut mask = 0u64;
            for (j, &l) in ls.iter().enumerate() {
                mask |= u64::from(!(l > best_high)) << j;
            }
            if first == usize::MAX && mask != 0 {
                first = block * 64 + mask.trailing_zeros() as usize;
            }
            candidates += mask.count_ones();
        }
        let (label, best_sq) = if candidates == 1 {
            (first, best_high)
        } else {
            let mut label = usize::MAX;
            let mut best_sq = f64::INFINITY;
            for j in 0..k {
                if !(low[j] > best_high) {
                    let exact = squared_distance(row, &centroids[j * d..(j + 1) * d]).to_f64();
                    low[j] = exact;
                    if exact < best_sq || label == usize::MAX {
                        best_sq = exact;
                        label = j;
                    }
                }
            }
            (label, best_sq)
        };
        low[label] = best_sq;
        (label, best_sq)
    }
}

/// Dot products of [`BLOCK_ROWS`] rows with the centres `j0..j0 + 8 * NV` of the transposed
/// centroids `ct` (`d x kp`), added into `out[r * kp + j]`: `BLOCK_ROWS x NV` vector
/// accumulators of 8 lanes stay in registers while the loop walks the features, each
/// broadcast row value meeting `8 * NV` centre values. With `FMA` each step is one fused
/// multiply-add (the caller must be compiled with the `fma` target feature), otherwise a
/// multiply and an add.
#[inline(always)]
fn block_dots<T: Real, const FMA: bool, const NV: usize>(
    rows: [&[T]; BLOCK_ROWS],
    ct: &[T],
    kp: usize,
    j0: usize,
    out: &mut [T],
) {
    let d = rows[0].len();
    let rows = rows.map(|r| &r[..d]);
    let ct = &ct[..d * kp];
    let mut acc = [[[T::ZERO; 8]; NV]; BLOCK_ROWS];
    for f in 0..d {
        let c = &ct[f * kp + j0..f * kp + j0 + 8 * NV];
        for (a, row) in acc.iter_mut().zip(&rows) {
            let xv = row[f];
            for (v, av) in a.iter_mut().enumerate() {
                for (l, al) in av.iter_mut().enumerate() {
                    let cv = c[v * 8 + l];
                    *al = if FMA { xv.mul_add(cv, *al) } else { *al + xv * cv };
                }
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        for (v, av) in a.iter().enumerate() {
            out[r * kp + j0 + v * 8..r * kp + j0 + v * 8 + 8].copy_from_slice(av);
        }
    }
}

/// A small, fast, seedable generator (SplitMix64-seeded xoshiro256**): the same seed gives
/// the same stream on every platform.
struct Rng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    fn new(seed: u64) -> Self {
        let mut state = seed;
        Rng { s: [splitmix64(&mut state), splitmix64(&mut state), splitmix64(&mut state), splitmix64(&mut state)] }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)`.
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (n > 0), without modulo bias worth mentioning for n < 2^32.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

fn check_data<T: Real>(x: &[T], n_rows: usize, n_cols: usize, name: &'static str) -> Result<()> {
    if x.len() != n_rows * n_cols {
        return Err(Error::shape(name, format!("{} values do not make {n_rows} x {n_cols}", x.len())));
    }
    if n_rows == 0 || n_cols == 0 {
        return Err(Error::invalid(name, format!("is empty ({n_rows} x {n_cols})")));
    }
    let finite = x.par_chunks(CHUNK * n_cols).all(|chunk| chunk.iter().all(|v| v.is_finite()));
    if !finite {
        return Err(Error::invalid(name, "contains NaN or infinite values"));
    }
    Ok(())
}

/// Clusters the rows of `x` (row-major `n_rows x n_cols`) into `n_clusters` clusters.
///
/// Runs in parallel over chunks of rows in the current rayon pool; the result does not depend
/// on the number of threads.
///
/// # Errors
/// [`Error::InvalidArgument`] when `x` is empty or holds NaN/inf, when `n_clusters` is 0 or
/// more than `n_rows`, when `n_init` or `max_iter` is 0, or when `tol` is negative or not
/// finite; [`Error::ShapeMismatch`] when `x` or the initial centroids have the wrong length.
pub fn kmeans<T: Real>(
    x: &[T],
    n_rows: usize,
    n_cols: usize,
    n_clusters: usize,
    init: Init<'_, T>,
    options: &KMeansOptions,
) -> Result<KMeansFit<T>> {
    check_data(x, n_rows, n_cols, "x")?;
    if n_clusters == 0 {
        return Err(Error::invalid("n_clusters", "must be at least 1"));
    }
    if n_clusters > n_rows {
        return Err(Error::invalid("n_clusters", format!("{n_clusters} clusters need at least as many rows, x has {n_rows}")));
    }
    if n_clusters > i32::MAX as usize {
        return Err(Error::invalid("n_clusters", "more than 2^31 - 1"));
    }
    if options.n_init == 0 {
        return Err(Error::invalid("n_init", "must be at least 1"));
    }
    if options.max_iter == 0 {
        return Err(Error::invalid("max_iter", "must be at least 1"));
    }
    if !(options.tol >= 0.0 && options.tol.is_finite()) {
        return Err(Error::invalid("tol", format!("must be finite and >= 0, got {}", options.tol)));
    }
    if let Init::Centroids(c) = init {
        if c.len() != n_clusters * n_cols {
            return Err(Error::shape("init", format!("{} values do not make {n_clusters} x {n_cols} centroids", c.len())));
        }
        if !c.iter().all(|v| v.is_finite()) {
            return Err(Error::invalid("init", "contains NaN or infinite values"));
        }
    }
    let tol = options.tol * mean_variance(x, n_rows, n_cols);
    // Elkan's per-centre bounds skip far more distances than Hamerly's single bound when
    // clusters overlap, but cost n_rows x n_clusters memory: used up to 2^25 bounds (256 MB).
    let elkan = n_clusters > 1 && n_rows.saturating_mul(n_clusters) <= 1 << 25;
    let problem = Problem { x, n_rows, n_cols, k: n_clusters, elkan };
    match init {
        Init::Centroids(c) => Ok(problem.lloyd_bounded(c.to_vec(), options.max_iter, tol)),
        Init::KMeansPlusPlus => {
            let mut best: Option<KMeansFit<T>> = None;
            for run in 0..options.n_init {
                let mut seed_state = options.seed ^ (run as u64).wrapping_mul(0xA24B_AED4_963E_E407);
                let mut rng = Rng::new(splitmix64(&mut seed_state));
                let centroids = problem.kmeans_plus_plus(&mut rng);
                let fit = problem.lloyd_bounded(centroids, options.max_iter, tol);
                if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
                    best = Some(fit);
                }
            }
            Ok(best.expect("n_init >= 1"))
        }
    }
}

/// The nearest centroid of every row of `x` (lowest index on ties).
///
/// # Errors
/// [`Error::InvalidArgument`] when `x` is empty or holds NaN/inf, or `centroids` is empty;
/// [`Error::ShapeMismatch`] when the lengths do not make `n_rows x n_cols` and `? x n_cols`.
pub fn assign<T: Real>(x: &[T], n_rows: usize, n_cols: usize, centroids: &[T]) -> Result<Vec<i32>> {
    if x.len() != n_rows * n_cols {
        return Err(Error::shape("x", format!("{} values do not make {n_rows} x {n_cols}", x.len())));
    }
    if n_cols == 0 || centroids.is_empty() || centroids.len() % n_cols != 0 {
        return Err(Error::shape("centroids", format!("{} values do not make centroids of {n_cols} columns", centroids.len())));
    }
    if !x.par_chunks(CHUNK * n_cols).all(|chunk| chunk.iter().all(|v| v.is_finite())) {
        return Err(Error::invalid("x", "contains NaN or infinite values"));
    }
    let mut labels = vec![0i32; n_rows];
    labels.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK * n_cols)).for_each(|(out, rows)| {
        for (label, row) in out.iter_mut().zip(rows.chunks_exact(n_cols)) {
            *label = nearest_two(row, centroids, n_cols).0 as i32;
        }
    });
    Ok(labels)
}

/// Mean over features of the per-feature variance (scikit-learn's scale for `tol`).
fn mean_variance<T: Real>(x: &[T], n_rows: usize, n_cols: usize) -> f64 {
    let sums = x
        .par_chunks(CHUNK * n_cols)
        .map(|rows| {
            let mut s = vec![0f64; n_cols];
            for row in rows.chunks_exact(n_cols) {
                for (acc, v) in s.iter_mut().zip(row) {
                    *acc += v.to_f64();
                }
            }
            s
        })
        .collect::<Vec<_>>();
    let mut mean = vec![0f64; n_cols];
    for s in &sums {
        for (m, v) in mean.iter_mut().zip(s) {
            *m += v;
        }
    }
    for m in &mut mean {
        *m /= n_rows as f64;
    }
    // Per column (independent accumulators that vectorise, where one running total would wait
    // on each addition), then the columns in order.
    let squares: Vec<f64> = x
        .par_chunks(CHUNK * n_cols)
        .map(|rows| {
            let mut per_column = vec![0f64; n_cols];
            for row in rows.chunks_exact(n_cols) {
                for ((acc, m), v) in per_column.iter_mut().zip(&mean).zip(row) {
                    let d = v.to_f64() - m;
                    *acc += d * d;
                }
            }
            per_column.iter().sum::<f64>()
        })
        .collect();
    squares.iter().sum::<f64>() / (n_rows as f64 * n_cols as f64)
}

struct Problem<'a, T> {
    x: &'a [T],
    n_rows: usize,
    n_cols: usize,
    k: usize,
    /// Elkan's bounds (a lower bound per row and centre) instead of Hamerly's (one per row).
    elkan: bool,
}

/// What one chunk of rows contributes to the centre update.
struct ChunkSums {
    sums: Vec<f64>,
    counts: Vec<u64>,
    changed: u64,
    /// Distances measured one at a time (bounded passes): what decides the next pass's kind.
    measured: u64,
}

impl<T: Real> Problem<'_, T> {
    fn row(&self, i: usize) -> &[T] {
        &self.x[i * self.n_cols..(i + 1) * self.n_cols]
    }

    /// Squared norm of every row (f64).
    fn row_norms(&self) -> Vec<f64> {
        let mut norms = vec![0f64; self.n_rows];
        norms.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
            for (o, v) in out.iter_mut().enumerate() {
                *v = squared_norm(self.row(c * CHUNK + o));
            }
        });
        norms
    }

    /// Greedy k-means++: each new centre is the best (lowest potential) of `2 + ln k`
    /// candidates sampled proportionally to the squared distance to the nearest chosen centre.
    fn kmeans_plus_plus(&self, rng: &mut Rng) -> Vec<T> {
        let (n, d, k) = (self.n_rows, self.n_cols, self.k);
        let n_trials = 2 + (k as f64).ln() as usize;
        let mut centroids = Vec::with_capacity(k * d);
        let first = rng.below(n);
        centroids.extend_from_slice(self.row(first));
        let mut closest = vec![0f64; n];
        closest.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
            for (o, value) in out.iter_mut().enumerate() {
                *value = squared_distance(self.row(c * CHUNK + o), &centroids[..d]).to_f64();
            }
        });
        let mut potential = ordered_sum(&closest);
        let mut cumulative = vec![0f64; n];
        for _ in 1..k {
            let mut running = 0f64;
            for (cum, v) in cumulative.iter_mut().zip(&closest) {
                running += v;
                *cum = running;
            }
            let candidates: Vec<usize> = (0..n_trials)
                .map(|_| {
                    let target = rng.uniform() * potential;
                    cumulative.partition_point(|&c| c < target).min(n - 1)
                })
                .collect();
            // Potential of each candidate, reduced per chunk then in chunk order.
            let per_chunk: Vec<Vec<f64>> = closest
                .par_chunks(CHUNK)
                .enumerate()
                .map(|(c, dists)| {
                    let mut pots = vec![0f64; candidates.len()];
                    for (o, &current) in dists.iter().enumerate() {
                        let row = self.row(c * CHUNK + o);
                        let mut groups = candidates.chunks_exact(4);
                        let mut t = 0;
                        for group in &mut groups {
                            let centres = [self.row(group[0]), self.row(group[1]), self.row(group[2]), self.row(group[3])];
                            for dist in squared_distances4(row, centres) {
                                pots[t] += current.min(dist.to_f64());
                                t += 1;
                            }
                        }
                        for &cand in groups.remainder() {
                            pots[t] += current.min(squared_distance(row, self.row(cand)).to_f64());
                            t += 1;
                        }
                    }
                    pots
                })
                .collect();
            let mut pots = vec![0f64; candidates.len()];
            for chunk in &per_chunk {
                for (p, v) in pots.iter_mut().zip(chunk) {
                    *p += v;
                }
            }
            let mut best = 0;
            for t in 1..pots.len() {
                if pots[t] < pots[best] {
                    best = t;
                }
            }
            let chosen = candidates[best];
            potential = pots[best];
            centroids.extend_from_slice(self.row(chosen));
            let centre = self.row(chosen);
            closest.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
                for (o, value) in out.iter_mut().enumerate() {
                    *value = value.min(squared_distance(self.row(c * CHUNK + o), centre).to_f64());
                }
            });
        }
        centroids
    }

    /// Lloyd's iterations from `centroids`, skipping distances with Elkan's or Hamerly's bounds.
    fn lloyd_bounded(&self, mut centroids: Vec<T>, max_iter: usize, tol: f64) -> KMeansFit<T> {
        let (n, d, k) = (self.n_rows, self.n_cols, self.k);
        let mut labels = vec![0u32; n];
        // Distances (not squared). Infinite upper bounds force a full scan on the first pass.
        let mut upper = vec![f64::INFINITY; n];
        let mut lower = vec![0f32; if self.elkan { n * k } else { n }];
        // Elkan: how far each centre moved since the bounds were last brought up to date. The
        // next pass applies it to each row's bounds as it reads them (one sweep of the n x k
        // bounds per iteration instead of two).
        let mut pending_moves = vec![0f64; k];
        let mut strict_convergence = false;
        let mut n_iter = 0;
        let row_norms = self.row_norms();
        // The first pass has no bounds to use: a full pass. So are the next ones while more
        // than 2% of the labels change (the bounds then prune too little to pay for their
        // upkeep), and again whenever a bounded pass measured more than one distance in 20 one
        // at a time (measured on 100,000 x 64, k = 20: beyond that a full pass through the
        // blocked kernel is faster).
        let mut full_next = true;
        let mut last_changed = n as u64;
        for iteration in 0..max_iter {
            n_iter = iteration + 1;
            let gaps = CentreGaps::new(&centroids, k, d);
            let packed = full_next.then(|| Packed::new(&centroids, k, d));
            // A full pass writes the lower bounds (n x k of them with Elkan's) only when the
            // labels have nearly settled, i.e. when a bounded pass is likely to follow.
            let write_bounds = iteration > 0 && last_changed.saturating_mul(16) <= n as u64;
            let full = packed.as_ref().map(|packed| FullPass { packed, row_norms: &row_norms, write_bounds });
            let parts = self.assign_step(&centroids, &gaps, &pending_moves, &mut labels, &mut upper, &mut lower, true, full);
            pending_moves.fill(0.0);
            let measured: u64 = parts.iter().map(|p| p.measured).sum();
            let changed: u64 = parts.iter().map(|p| p.changed).sum();
            full_next = if full.is_some() {
                !write_bounds || changed.saturating_mul(50) > n as u64
            } else {
                measured.saturating_mul(20) > (n as u64).saturating_mul(k as u64)
            };
            last_changed = changed;
            let mut sums = vec![0f64; k * d];
            let mut counts = vec![0u64; k];
            for part in &parts {
                for (s, v) in sums.iter_mut().zip(&part.sums) {
                    *s += v;
                }
                for (c, v) in counts.iter_mut().zip(&part.counts) {
                    *c += v;
                }
            }
            let relocated = counts.contains(&0);
            if relocated {
                self.relocate_empty(&centroids, &labels, &mut sums, &mut counts);
            }
            let mut new_centroids = centroids.clone();
            for j in 0..k {
                if counts[j] > 0 {
                    let count = counts[j] as f64;
                    for (c, s) in new_centroids[j * d..(j + 1) * d].iter_mut().zip(&sums[j * d..(j + 1) * d]) {
                        *c = T::from_f64(s / count);
                    }
                }
            }
            let shifts: Vec<f64> = (0..k)
                .map(|j| {
                    new_centroids[j * d..(j + 1) * d]
                        .iter()
                        .zip(&centroids[j * d..(j + 1) * d])
                        .map(|(a, b)| {
                            let diff = a.to_f64() - b.to_f64();
                            diff * diff
                        })
                        .sum::<f64>()
                })
                .collect();
            centroids = new_centroids;
            // The first pass compares against no earlier labels, as scikit-learn's does. After a
            // relocation the centres moved although no label did: not converged (unlike
            // scikit-learn, so that the labels always match the returned centroids).
            if iteration > 0 && changed == 0 && !relocated {
                strict_convergence = true;
                break;
            }
            let total_shift: f64 = shifts.iter().sum();
            if self.elkan {
                for (m, s) in pending_moves.iter_mut().zip(&shifts) {
                    *m = s.sqrt();
                }
            } else {
                Self::move_bounds(&shifts, &labels, &mut upper, &mut lower);
            }
            if total_shift <= tol {
                break;
            }
        }
        if !strict_convergence {
            // Labels must match the returned centroids.
            let gaps = CentreGaps::new(&centroids, k, d);
            let packed = full_next.then(|| Packed::new(&centroids, k, d));
            let full = packed.as_ref().map(|packed| FullPass { packed, row_norms: &row_norms, write_bounds: false });
            self.assign_step(&centroids, &gaps, &pending_moves, &mut labels, &mut upper, &mut lower, false, full);
        }
        let inertia = self.inertia(&centroids, &labels);
        KMeansFit { centroids, labels: labels.iter().map(|&l| l as i32).collect(), inertia, n_iter }
    }

    /// One assignment pass over all rows (parallel over chunks): re-labels every row whose
    /// bounds do not prove its label, and (with `accumulate`) sums the rows per cluster.
    #[allow(clippy::too_many_arguments)]
    fn assign_step(
        &self,
        centroids: &[T],
        gaps: &CentreGaps,
        moves: &[f64],
        labels: &mut [u32],
        upper: &mut [f64],
        lower: &mut [f32],
        accumulate: bool,
        full: Option<FullPass<'_, T>>,
    ) -> Vec<ChunkSums> {
        let (d, k) = (self.n_cols, self.k);
        // Skip only when the bound proof holds with this relative margin: the distances are
        // computed in T, and a skipped row must get the label a full scan would give it.
        let keep = 1.0 - 64.0 * T::EPSILON * (d as f64 + 8.0);
        let moves_up: Vec<f32> = moves.iter().map(|&m| round_up(m)).collect();
        labels
            .par_chunks_mut(CHUNK)
            .zip(upper.par_chunks_mut(CHUNK))
            .zip(lower.par_chunks_mut(if self.elkan { CHUNK * k } else { CHUNK }))
            .enumerate()
            .map(|(c, ((labels, upper), lower))| {
                let scan = ChunkScan {
                    x: self.x,
                    first_row: c * CHUNK,
                    d,
                    k,
                    centroids,
                    gaps,
                    moves,
                    moves_up: &moves_up,
                    keep,
                    accumulate,
                    elkan: self.elkan,
                    full,
                };
                scan.run_fastest(labels, upper, lower)
            })
            .collect()
    }

    /// Hamerly: after the centres moved by `shifts` (squared), the upper bound grows by the own
    /// centre's shift, the lower bound shrinks by the largest shift of any other centre.
    fn move_bounds(shifts: &[f64], labels: &[u32], upper: &mut [f64], lower: &mut [f32]) {
        let moves: Vec<f64> = shifts.iter().map(|s| s.sqrt()).collect();
        let (mut first, mut second, mut first_j) = (0f64, 0f64, usize::MAX);
        for (j, &m) in moves.iter().enumerate() {
            if m > first {
                second = first;
                first = m;
                first_j = j;
            } else if m > second {
                second = m;
            }
        }
        let (first_up, second_up) = (round_up(first), round_up(second));
        upper.par_chunks_mut(CHUNK).zip(lower.par_chunks_mut(CHUNK)).zip(labels.par_chunks(CHUNK)).for_each(
            |((upper, lower), labels)| {
                for ((u, l), &label) in upper.iter_mut().zip(lower.iter_mut()).zip(labels) {
                    let label = label as usize;
                    *u += moves[label];
                    *l = bound_minus(*l, if label == first_j { second_up } else { first_up });
                }
            },
        );
    }

    /// Re-seeds empty clusters with the rows farthest from their centres (see module docs).
    fn relocate_empty(&self, centroids: &[T], labels: &[u32], sums: &mut [f64], counts: &mut [u64]) {
        let d = self.n_cols;
        let mut distances = vec![0f64; self.n_rows];
        distances.par_chunks_mut(CHUNK).zip(labels.par_chunks(CHUNK)).enumerate().for_each(|(c, (out, labels))| {
            for (o, (dist, &label)) in out.iter_mut().zip(labels).enumerate() {
                let label = label as usize;
                *dist = squared_distance(self.row(c * CHUNK + o), &centroids[label * d..(label + 1) * d]).to_f64();
            }
        });
        let mut order: Vec<usize> = (0..self.n_rows).collect();
        order.sort_by(|&a, &b| distances[b].total_cmp(&distances[a]).then(a.cmp(&b)));
        let mut candidates = order.into_iter();
        for empty in 0..self.k {
            if counts[empty] != 0 {
                continue;
            }
            for far in candidates.by_ref() {
                let from = labels[far] as usize;
                if counts[from] > 1 {
                    counts[from] -= 1;
                    let row = self.row(far);
                    for (s, v) in sums[from * d..(from + 1) * d].iter_mut().zip(row) {
                        *s -= v.to_f64();
                    }
                    for (s, v) in sums[empty * d..(empty + 1) * d].iter_mut().zip(row) {
                        *s = v.to_f64();
                    }
                    counts[empty] = 1;
                    break;
                }
            }
        }
    }

    fn inertia(&self, centroids: &[T], labels: &[u32]) -> f64 {
        let d = self.n_cols;
        let parts: Vec<f64> = labels
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, labels)| {
                labels
                    .iter()
                    .enumerate()
                    .map(|(o, &label)| {
                        let label = label as usize;
                        squared_distance(self.row(c * CHUNK + o), &centroids[label * d..(label + 1) * d]).to_f64()
                    })
                    .sum::<f64>()
            })
            .collect();
        parts.iter().sum()
    }
}

/// The assignment pass over one chunk of rows (see [`Problem::assign_step`]).
struct ChunkScan<'a, T> {
    x: &'a [T],
    first_row: usize,
    d: usize,
    k: usize,
    centroids: &'a [T],
    gaps: &'a CentreGaps,
    /// Elkan: centre moves not yet applied to the bounds.
    moves: &'a [f64],
    /// The same rounded up to f32.
    moves_up: &'a [f32],
    keep: f64,
    accumulate: bool,
    elkan: bool,
    /// A full pass: every distance through the blocked kernel, bounds written afresh.
    full: Option<FullPass<'a, T>>,
}

/// What a full pass needs besides the bounded pass's fields.
#[derive(Clone, Copy)]
struct FullPass<'a, T> {
    packed: &'a Packed<T>,
    /// Squared norms of all rows.
    row_norms: &'a [f64],
    /// Write the lower bounds (only worth it when the next pass is a bounded one).
    write_bounds: bool,
}

impl<T: Real> ChunkScan<'_, T> {
    /// Runs the pass compiled for the widest vector unit this CPU has (AVX2 on x86-64 when
    /// present: the distance loops then use 256-bit registers), else for the baseline.
    fn run_fastest(&self, labels: &mut [u32], upper: &mut [f64], lower: &mut [f32]) -> ChunkSums {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                return unsafe { self.run_avx2_fma(labels, upper, lower) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.run_avx2(labels, upper, lower) };
            }
        }
        self.run::<false>(labels, upper, lower)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2_fma(&self, labels: &mut [u32], upper: &mut [f64], lower: &mut [f32]) -> ChunkSums {
        self.run::<true>(labels, upper, lower)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&self, labels: &mut [u32], upper: &mut [f64], lower: &mut [f32]) -> ChunkSums {
        self.run::<false>(labels, upper, lower)
    }

    /// `FMA`: the blocked kernel of a full pass may use fused multiply-adds (only where the
    /// caller is compiled with that target feature). The bounded passes never do.
    #[inline(always)]
    fn run<const FMA: bool>(&self, labels: &mut [u32], upper: &mut [f64], lower: &mut [f32]) -> ChunkSums {
        if let Some(full) = self.full {
            return self.run_full::<FMA>(full, labels, upper, lower);
        }
        if self.elkan {
            return self.run_elkan(labels, upper, lower);
        }
        let (d, k) = (self.d, self.k);
        let mut part = ChunkSums {
            sums: if self.accumulate { vec![0f64; k * d] } else { Vec::new() },
            counts: vec![0u64; k],
            changed: 0,
            measured: 0,
        };
        for o in 0..labels.len() {
            let start = (self.first_row + o) * d;
            let row = &self.x[start..start + d];
            let mut label = labels[o] as usize;
            let bound = self.gaps.half_min[label].max(f64::from(lower[o])) * self.keep;
            if upper[o] >= bound {
                upper[o] = squared_distance(row, &self.centroids[label * d..(label + 1) * d]).to_f64().sqrt();
                part.measured += 1;
                if upper[o] >= bound {
                    let (best, best_d, second_d) = nearest_two(row, self.centroids, d);
                    part.measured += k as u64;
                    if best != label {
                        part.changed += 1;
                        label = best;
                        labels[o] = best as u32;
                    }
                    upper[o] = best_d.sqrt();
                    lower[o] = bound_down(second_d.sqrt());
                }
            }
            if self.accumulate {
                part.counts[label] += 1;
                for (s, v) in part.sums[label * d..(label + 1) * d].iter_mut().zip(row) {
                    *s += v.to_f64();
                }
            }
        }
        part
    }

    /// A full pass: all distances of [`BLOCK_ROWS`] rows at a time through the blocked kernel
    /// ([`Packed::nearest`] keeps the labels exact), bounds written afresh (Elkan: one per
    /// centre; Hamerly: the nearest other centre's).
    #[inline(always)]
    fn run_full<const FMA: bool>(
        &self,
        full: FullPass<'_, T>,
        labels: &mut [u32],
        upper: &mut [f64],
        lower: &mut [f32],
    ) -> ChunkSums {
        let (d, k) = (self.d, self.k);
        let packed = full.packed;
        let mut part = ChunkSums {
            sums: if self.accumulate { vec![0f64; k * d] } else { Vec::new() },
            counts: vec![0u64; k],
            changed: 0,
            measured: 0,
        };
        let m = labels.len();
        let mut dots = vec![T::ZERO; BLOCK_ROWS * packed.kp];
        let mut low = vec![0f64; k];
        let mut o0 = 0;
        while o0 < m {
            // A short last block repeats its last row (the extra results are not used).
            let rows: [&[T]; BLOCK_ROWS] = std::array::from_fn(|r| {
                let start = (self.first_row + (o0 + r).min(m - 1)) * d;
                &self.x[start..start + d]
            });
            packed.dots::<FMA>(rows, &mut dots);
            for (r, row) in rows.iter().enumerate().take(m - o0) {
                let o = o0 + r;
                let norm = full.row_norms[self.first_row + o];
                let (label, best_sq) = packed.nearest(row, norm, &dots[r * packed.kp..], self.centroids, &mut low);
                if label as u32 != labels[o] {
                    part.changed += 1;
                    labels[o] = label as u32;
                }
                upper[o] = best_sq.sqrt();
                if !full.write_bounds {
                } else if self.elkan {
                    for (b, &l) in lower[o * k..(o + 1) * k].iter_mut().zip(&low) {
                        *b = bound_down(l.max(0.0).sqrt());
                    }
                } else {
                    low[label] = f64::INFINITY;
                    let second = low.iter().fold(f64::INFINITY, |m, &l| if l < m { l } else { m });
                    lower[o] = bound_down(second.max(0.0).sqrt());
                }
                if self.accumulate {
                    part.counts[label] += 1;
                    for (s, v) in part.sums[label * d..(label + 1) * d].iter_mut().zip(*row) {
                        *s += v.to_f64();
                    }
                }
            }
            o0 += BLOCK_ROWS;
        }
        part
    }

    /// Elkan's pass: a centre is measured only if neither its lower bound nor half its
    /// distance to the current centre proves it farther than the row's upper bound.
    #[inline(always)]
    fn run_elkan(&self, labels: &mut [u32], upper: &mut [f64], lower: &mut [f32]) -> ChunkSums {
        let (d, k) = (self.d, self.k);
        let mut part = ChunkSums {
            sums: if self.accumulate { vec![0f64; k * d] } else { Vec::new() },
            counts: vec![0u64; k],
            changed: 0,
            measured: 0,
        };
        let centre = |j: usize| &self.centroids[j * d..(j + 1) * d];
        let mut gate: Vec<f64> = Vec::with_capacity(k);
        for (o, bounds) in lower.chunks_exact_mut(k).enumerate() {
            let start = (self.first_row + o) * d;
            let row = &self.x[start..start + d];
            let old = labels[o] as usize;
            let mut label = old;
            let mut u = upper[o] + self.moves[old];
            for (bound, &m) in bounds.iter_mut().zip(self.moves_up) {
                *bound = bound_minus(*bound, m);
            }
            if u >= self.gaps.half_min[label] * self.keep {
                // Squared distance to the current label once measured (comparisons use the
                // squared values, exactly as a full scan does, ties to the lower index).
                let mut best_sq = f64::NAN;
                // The gate of every centre in one vectorisable sweep; the loop below then
                // only compares. A centre whose distance is measured gets its bound updated,
                // but its own gate is already passed by then. The gates hold for the label
                // they were computed with: once the label changes, they are computed afresh.
                let gated_label = label;
                gate.clear();
                gate.extend(
                    bounds
                        .iter()
                        .zip(&self.gaps.half_pair[label * k..(label + 1) * k])
                        .map(|(&b, h)| f64::from(b).max(*h) * self.keep),
                );
                gate[label] = f64::INFINITY;
                // Usually no centre passes its gate once the labels settle: one branch-free
                // count instead of a compare and branch per centre.
                let open = gate.iter().filter(|&&z| u >= z).count();
                for c in 0..if open == 0 { 0 } else { k } {
                    if c == label {
                        continue;
                    }
                    let z = if label == gated_label {
                        gate[c]
                    } else {
                        f64::from(bounds[c]).max(self.gaps.half_pair[label * k + c]) * self.keep
                    };
                    if u < z {
                        continue;
                    }
                    if best_sq.is_nan() {
                        best_sq = squared_distance(row, centre(label)).to_f64();
                        part.measured += 1;
                        u = best_sq.sqrt();
                        bounds[label] = bound_down(u);
                        if u < z {
                            continue;
                        }
                    }
                    let dist_sq = squared_distance(row, centre(c)).to_f64();
                    part.measured += 1;
                    bounds[c] = bound_down(dist_sq.sqrt());
                    // An exact tie goes to the lower index, as in a full scan.
                    #[allow(clippy::float_cmp)]
                    let closer = dist_sq < best_sq || (dist_sq == best_sq && c < label);
                    if closer {
                        label = c;
                        best_sq = dist_sq;
                        u = dist_sq.sqrt();
                    }
                }
                if label != old {
                    part.changed += 1;
                    labels[o] = label as u32;
                }
            }
            upper[o] = u;
            if self.accumulate {
                part.counts[label] += 1;
                for (s, v) in part.sums[label * d..(label + 1) * d].iter_mut().zip(row) {
                    *s += v.to_f64();
                }
            }
        }
        part
    }
}

/// Sum in chunk order (parallel per chunk), so the result does not depend on the thread count.
fn ordered_sum(values: &[f64]) -> f64 {
    let parts: Vec<f64> = values.par_chunks(CHUNK).map(|c| c.iter().sum::<f64>()).collect();
    parts.iter().sum()
}

/// Half-distances between centres: a row closer than `half_pair[a * k + c]` to its centre
/// `a` cannot be closer to `c`, and one closer than `half_min[a]` to no other centre
/// (infinite for a single centre).
struct CentreGaps {
    half_min: Vec<f64>,
    half_pair: Vec<f64>,
}

impl CentreGaps {
    fn new<T: Real>(centroids: &[T], k: usize, d: usize) -> Self {
        let mut half_pair = vec![0f64; k * k];
        let mut half_min = vec![f64::INFINITY; k];
        for a in 0..k {
            for b in (a + 1)..k {
                let half = 0.5 * squared_distance(&centroids[a * d..(a + 1) * d], &centroids[b * d..(b + 1) * d]).to_f64().sqrt();
                half_pair[a * k + b] = half;
                half_pair[b * k + a] = half;
                half_min[a] = half_min[a].min(half);
                half_min[b] = half_min[b].min(half);
            }
        }
        CentreGaps { half_min, half_pair }
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;
    use super::*;
    use proptest::prelude::*;

    /// Plain Lloyd with the same conventions and no bounds: the reference for the fast path.
    fn plain_lloyd(x: &[f64], n: usize, d: usize, init: &[f64], max_iter: usize, tol: f64) -> KMeansFit<f64> {
        let k = init.len() / d;
        let tol = tol * mean_variance(x, n, d);
        let problem = Problem { x, n_rows: n, n_cols: d, k, elkan: false };
        let mut centroids = init.to_vec();
        let mut labels = vec![u32::MAX; n];
        let mut strict = false;
        let mut n_iter = 0;
        for it in 0..max_iter {
            n_iter = it + 1;
            let new_labels: Vec<u32> = (0..n).map(|i| nearest_two(&x[i * d..(i + 1) * d], &centroids, d).0 as u32).collect();
            let mut sums = vec![0f64; k * d];
            let mut counts = vec![0u64; k];
            for i in 0..n {
                let l = new_labels[i] as usize;
                counts[l] += 1;
                for f in 0..d {
                    sums[l * d + f] += x[i * d + f];
                }
            }
            let relocated = counts.contains(&0);
            if relocated {
                problem.relocate_empty(&centroids, &new_labels, &mut sums, &mut counts);
            }
            let mut shift = 0.0;
            for j in 0..k {
                if counts[j] > 0 {
                    for f in 0..d {
                        let v = sums[j * d + f] / counts[j] as f64;
                        shift += (v - centroids[j * d + f]).powi(2);
                        centroids[j * d + f] = v;
                    }
                }
            }
            let same = new_labels == labels;
            labels = new_labels;
            if same && !relocated {
                strict = true;
                break;
            }
            if shift <= tol {
                break;
            }
        }
        if !strict {
            labels = (0..n).map(|i| nearest_two(&x[i * d..(i + 1) * d], &centroids, d).0 as u32).collect();
        }
        let inertia = problem.inertia(&centroids, &labels);
        KMeansFit { centroids, labels: labels.iter().map(|&l| l as i32).collect(), inertia, n_iter }
    }

    fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        let centres: Vec<f64> = (0..k * d).map(|_| rng.uniform() * 10.0).collect();
        let mut x = Vec::with_capacity(n * d);
        for i in 0..n {
            let c = i % k;
            for f in 0..d {
                x.push(centres[c * d + f] + (rng.uniform() - 0.5) * 4.0);
            }
        }
        x
    }

    #[test]
    fn separated_blobs_are_found() {
        let x = vec![0.0, 0.0, 0.1, 0.0, 0.0, 0.1, 10.0, 10.0, 10.1, 10.0, 10.0, 10.1];
        let fit = kmeans(&x, 6, 2, 2, Init::KMeansPlusPlus, &KMeansOptions::default()).unwrap();
        assert_eq!(fit.labels[0], fit.labels[1]);
        assert_eq!(fit.labels[0], fit.labels[2]);
        assert_eq!(fit.labels[3], fit.labels[4]);
        assert_ne!(fit.labels[0], fit.labels[3]);
        assert!((fit.inertia - 24.0 / 900.0).abs() < 1e-9, "{}", fit.inertia);
    }

    #[test]
    fn empty_cluster_is_reseeded_with_the_farthest_row() {
        // Centre 1 starts far from every row and loses them all on the first pass.
        let x = vec![0.0, 1.0, 2.0, 10.0];
        let init = vec![1.0, 100.0];
        let fit = kmeans(&x, 4, 1, 2, Init::Centroids(&init), &KMeansOptions::default()).unwrap();
        // Farthest from 1.0 is 10.0: it becomes its own cluster.
        assert_eq!(fit.labels, vec![0, 0, 0, 1]);
        assert_eq!(fit.centroids, vec![1.0, 10.0]);
        assert!((fit.inertia - 2.0).abs() < 1e-12);
    }

    #[test]
    fn relocation_to_duplicate_centres_keeps_ties_to_the_lower_index() {
        let x = [3.0, 1.0, 0.0, 0.0, 0.0, -2.0, 0.0, -2.0, 1.0];
        let init = [3.0, 0.0, 0.0, 0.0, 0.0];
        let slow = plain_lloyd(&x, 9, 1, &init, 20, 1e-4);
        for elkan in [true, false] {
            let fast = Problem { x: &x, n_rows: 9, n_cols: 1, k: 5, elkan }.lloyd_bounded(
                init.to_vec(),
                20,
                1e-4 * mean_variance(&x, 9, 1),
            );
            assert_eq!(fast.labels, slow.labels, "elkan {elkan}");
        }
        // The labels match the returned centroids: the tied rows go to the lower index.
        assert_eq!(slow.labels, vec![0, 3, 1, 1, 1, 2, 1, 2, 3]);
    }

    #[test]
    fn identical_rows_do_not_break_anything() {
        let x = vec![3.0f32; 10];
        let fit = kmeans(&x, 5, 2, 3, Init::KMeansPlusPlus, &KMeansOptions::default()).unwrap();
        assert_eq!(fit.inertia, 0.0);
        assert!(fit.centroids.iter().all(|&c| c == 3.0));
    }

    #[test]
    fn four_at_once_equals_one_at_a_time() {
        let x = blobs(7, 37, 7, 5);
        let row = &x[..37];
        let centres: Vec<&[f64]> = x[37..].chunks_exact(37).collect();
        let four = squared_distances4(row, [centres[0], centres[1], centres[2], centres[3]]);
        for (got, centre) in four.iter().zip(&centres) {
            assert_eq!(got.to_bits(), squared_distance(row, centre).to_bits());
        }
    }

    /// One full pass over all rows through [`ChunkScan::run`] with or without FMA, as labels
    /// and Hamerly bounds (upper, lower).
    fn full_pass<T: Real, const FMA: bool>(x: &[T], n: usize, d: usize, centroids: &[T]) -> (Vec<u32>, Vec<f64>, Vec<f32>) {
        let k = centroids.len() / d;
        let packed = Packed::new(centroids, k, d);
        let problem = Problem { x, n_rows: n, n_cols: d, k, elkan: false };
        let row_norms = problem.row_norms();
        let gaps = CentreGaps::new(centroids, k, d);
        let (mut labels, mut upper, mut lower) = (vec![0u32; n], vec![0f64; n], vec![0f32; n]);
        let scan = ChunkScan {
            x,
            first_row: 0,
            d,
            k,
            centroids,
            gaps: &gaps,
            moves: &[],
            moves_up: &[],
            keep: 1.0,
            accumulate: false,
            elkan: false,
            full: Some(FullPass { packed: &packed, row_norms: &row_norms, write_bounds: true }),
        };
        assert!(n <= CHUNK);
        scan.run::<FMA>(&mut labels, &mut upper, &mut lower);
        (labels, upper, lower)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn full_pass_avx2_fma<T: Real>(x: &[T], n: usize, d: usize, centroids: &[T]) -> (Vec<u32>, Vec<f64>, Vec<f32>) {
        full_pass::<T, true>(x, n, d, centroids)
    }

    /// The blocked kernel (portable and AVX2+FMA) against the row-at-a-time scan, on sizes
    /// that fill no block evenly, with real and integer (tie-prone) values, in f32 and f64.
    fn check_full_pass<T: Real>(to_t: fn(f64) -> T) {
        for (n, d, k) in
            [(1, 1, 1), (2, 3, 2), (5, 7, 3), (7, 9, 5), (11, 17, 9), (4, 33, 20), (13, 65, 25), (3, 64, 20), (8, 5, 33)]
        {
            for integer in [false, true] {
                let mut x = blobs(n + k, d, k, (n * 31 + d * 7 + k) as u64);
                if integer {
                    for v in &mut x {
                        *v = (*v / 3.0).round();
                    }
                }
                let x: Vec<T> = x.into_iter().map(to_t).collect();
                let (rows, centroids) = x.split_at(n * d);
                let expected: Vec<(usize, f64, f64)> = rows.chunks_exact(d).map(|r| nearest_two(r, centroids, d)).collect();
                let mut runs = vec![full_pass::<T, false>(rows, n, d, centroids), full_pass::<T, true>(rows, n, d, centroids)];
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    runs.push(unsafe { full_pass_avx2_fma(rows, n, d, centroids) });
                }
                for (labels, upper, lower) in runs {
                    for (i, &(best, best_d, second_d)) in expected.iter().enumerate() {
                        assert_eq!(labels[i] as usize, best, "n {n} d {d} k {k} integer {integer} row {i}");
                        // The bounds hold: upper above the distance, lower below the second.
                        assert!(upper[i] >= best_d.sqrt(), "upper {} < {}", upper[i], best_d.sqrt());
                        assert!(f64::from(lower[i]) <= second_d.sqrt(), "lower {} > {}", lower[i], second_d.sqrt());
                    }
                }
            }
        }
    }

    #[test]
    fn full_pass_matches_row_scan_f64() {
        check_full_pass::<f64>(|v| v);
    }

    #[test]
    fn full_pass_matches_row_scan_f32() {
        #[allow(clippy::cast_possible_truncation)]
        check_full_pass::<f32>(|v| v as f32);
    }

    #[test]
    fn full_pass_survives_overflowing_estimates() {
        // Squared norms beyond f32's range: the estimates overflow (inf or NaN) and every
        // centre is measured, as the row scan does (which then sees infinite distances too).
        let (n, d, k) = (5, 9, 3);
        let x: Vec<f32> = (0..(n + k) * d).map(|i| if i % 3 == 0 { 1e20 } else { -2e19 * (i % 5) as f32 }).collect();
        let (rows, centroids) = x.split_at(n * d);
        let (labels, _, _) = full_pass::<f32, false>(rows, n, d, centroids);
        for (i, row) in rows.chunks_exact(d).enumerate() {
            assert_eq!(labels[i] as usize, nearest_two(row, centroids, d).0);
        }
    }

    #[test]
    fn f32_bounds_round_the_safe_way() {
        let mut rng = Rng::new(9);
        let specials = [0.0, 1e-300, 1e-45, 1e-40, 1.17e-38, 1.0, 3.0e38, 3.5e38, 1e300, f64::INFINITY];
        let randoms: Vec<f64> = (0..10_000).map(|i| rng.uniform() * 10f64.powi(i % 80 - 40)).collect();
        for v in specials.into_iter().chain(randoms) {
            assert!(f64::from(bound_down(v)) <= v, "{v}");
            assert!(bound_down(v) >= 0.0);
            if v < 3.0e38 {
                assert!(f64::from(round_up(v)) >= v, "{v}");
                let b = bound_down(v);
                let m = round_up(v * rng.uniform());
                assert!(f64::from(bound_minus(b, m)) <= (f64::from(b) - f64::from(m)).max(0.0), "{v}");
            }
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let opts = KMeansOptions::default();
        assert!(kmeans(&x, 2, 2, 3, Init::KMeansPlusPlus, &opts).is_err());
        assert!(kmeans(&x, 2, 2, 0, Init::KMeansPlusPlus, &opts).is_err());
        assert!(kmeans(&[f64::NAN, 1.0], 2, 1, 1, Init::KMeansPlusPlus, &opts).is_err());
        assert!(kmeans(&x, 2, 2, 1, Init::Centroids(&[1.0]), &opts).is_err());
        assert!(kmeans(&x, 2, 2, 1, Init::KMeansPlusPlus, &KMeansOptions { max_iter: 0, ..opts }).is_err());
        assert!(kmeans::<f64>(&[], 0, 2, 1, Init::KMeansPlusPlus, &opts).is_err());
    }

    #[test]
    fn same_seed_same_result_in_any_pool() {
        let x = blobs(9000, 5, 6, 3);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                kmeans(&x, 9000, 5, 6, Init::KMeansPlusPlus, &KMeansOptions { n_init: 2, ..Default::default() }).unwrap()
            })
        };
        let one = run(1);
        assert_eq!(one, run(3));
        assert_eq!(one, run(4));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn matches_plain_lloyd(n in 2usize..300, d in 1usize..11, k in 1usize..9, seed in any::<u64>(), integer in any::<bool>()) {
            let k = k.min(n);
            let mut x = blobs(n, d, k.max(1), seed);
            if integer {
                // Coarse values make exact ties and duplicate rows common.
                for v in &mut x { *v = v.round(); }
            }
            let mut rng = Rng::new(seed ^ 77);
            let init: Vec<f64> = (0..k).flat_map(|_| { let r = rng.below(n); x[r * d..(r + 1) * d].to_vec() }).collect();
            let fast = kmeans(&x, n, d, k, Init::Centroids(&init), &KMeansOptions { max_iter: 50, tol: 1e-4, ..Default::default() }).unwrap();
            let slow = plain_lloyd(&x, n, d, &init, 50, 1e-4);
            // The same run with Hamerly's bounds (used when Elkan's would not fit in memory).
            let hamerly = Problem { x: &x, n_rows: n, n_cols: d, k, elkan: false }
                .lloyd_bounded(init.clone(), 50, 1e-4 * mean_variance(&x, n, d));
            prop_assert_eq!(&hamerly.labels, &slow.labels);
            prop_assert_eq!(hamerly.n_iter, slow.n_iter);
            prop_assert!((hamerly.inertia - slow.inertia).abs() <= 1e-9 * (1.0 + slow.inertia));
            prop_assert_eq!(&fast.labels, &slow.labels);
            prop_assert_eq!(fast.n_iter, slow.n_iter);
            for (a, b) in fast.centroids.iter().zip(&slow.centroids) {
                prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()));
            }
            prop_assert!((fast.inertia - slow.inertia).abs() <= 1e-9 * (1.0 + slow.inertia));
        }
    }
}
