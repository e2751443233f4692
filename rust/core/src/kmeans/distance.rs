//! The distance kernels of k-means: squared Euclidean distances with independent accumulator
//! lanes (one row to one or four centres), squared norms, and the blocked dot-product kernel
//! ([`Packed`], [`block_dots`]) that the full assignment pass runs, compiled for AVX2/FMA where
//! the CPU has them (see `ChunkScan::run_fastest` in [`super::lloyd`]), with the error bounds
//! that let it find exactly the centre a plain scan finds.

// The distance loops are `#[inline(always)]` on purpose: inlined into the AVX2 entry point
// they are compiled for 256-bit registers, which a call to a shared copy would not be.
#![allow(clippy::inline_always)]

use crate::real::Real;

/// Independent accumulators of the distance loops: enough chains to hide the latency of
/// vector additions (two 256-bit registers of f32, four of f64).
pub(super) const LANES: usize = 16;

/// Adds up the lanes in a fixed tree order (the same in every distance function).
#[inline(always)]
pub(super) fn reduce_lanes<T: Real>(acc: &[T; LANES]) -> T {
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
pub(super) fn nearest_two<T: Real>(row: &[T], centroids: &[T], n_cols: usize) -> (usize, f64, f64) {
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
pub(super) fn squared_distances4<T: Real>(row: &[T], centres: [&[T]; 4]) -> [T; 4] {
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
pub(super) fn squared_norm<T: Real>(v: &[T]) -> f64 {
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

/// Rows of the blocked distance kernel: three rows share each load of the centres (with 24
/// centres, 9 accumulators, 3 centre vectors and a broadcast fit in the 16 AVX2 registers).
pub(super) const BLOCK_ROWS: usize = 3;

/// Centroids laid out for the blocked distance kernel ([`block_dots`]): transposed to
/// `d x kp` (centre index fastest, zero-padded to `kp`, a multiple of 8) with their squared
/// norms in f64.
pub(super) struct Packed<T> {
    pub(super) ct: Vec<T>,
    pub(super) k: usize,
    pub(super) kp: usize,
    pub(super) norms: Vec<f64>,
    /// f32 input only: `norms` times `1 - err_scale` and `1 + err_scale`, as f32, padded to
    /// `kp` with infinity.
    pub(super) norms_low32: Vec<f32>,
    pub(super) norms_high32: Vec<f32>,
    /// Bound on |estimate - computed distance| per unit of `|x|^2 + |c|^2` (see [`Packed::nearest`]).
    pub(super) err_scale: f64,
}

impl<T: Real> Packed<T> {
    pub(super) fn new(centroids: &[T], k: usize, d: usize) -> Self {
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
    pub(super) fn dots<const FMA: bool>(&self, rows: [&[T]; BLOCK_ROWS], out: &mut [T]) {
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
    pub(super) fn nearest(&self, row: &[T], row_norm: f64, dots: &[T], centroids: &[T], low: &mut [f64]) -> (usize, f64) {
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
    pub(super) fn nearest_f32(&self, row: &[T], row_norm: f64, dots: &[T], centroids: &[T], low: &mut [f64]) -> (usize, f64) {
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
    pub(super) fn choose(&self, row: &[T], best_high: f64, centroids: &[T], low: &mut [f64]) -> (usize, f64) {
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
pub(super) fn block_dots<T: Real, const FMA: bool, const NV: usize>(
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
