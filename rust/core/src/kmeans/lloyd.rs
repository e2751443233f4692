//! The Lloyd driver: iterations of assignment and centre update, with Elkan's per-centre lower
//! bounds (or Hamerly's single one for very large inputs) to skip distances that provably
//! cannot change a label, full passes through the blocked kernel of [`super::distance`] while
//! many labels still change, the relocation of empty clusters, and the inertia.

// The distance loops are `#[inline(always)]` on purpose: inlined into the AVX2 entry point
// they are compiled for 256-bit registers, which a call to a shared copy would not be.
#![allow(clippy::inline_always)]

use rayon::prelude::*;

use super::distance::{nearest_two, squared_distance, squared_norm, Packed, BLOCK_ROWS};
use super::{KMeansFit, CHUNK};
use crate::real::Real;

/// Lower bounds are stored as f32 (half the memory traffic of f64 over the n x k bounds of
/// Elkan's): each is rounded down on the way in, so it never exceeds the value it bounds.
#[inline(always)]
pub(super) fn bound_down(v: f64) -> f32 {
    // 1 - 2^-22 more than covers the rounding to nearest f32 (2^-24 relative); the
    // subtracted f32::MIN_POSITIVE covers subnormal results (0 is always a valid bound).
    #[allow(clippy::cast_possible_truncation)]
    let b = (v * (1.0 - 1.0 / 4_194_304.0) - f64::from(f32::MIN_POSITIVE)).min(f64::from(f32::MAX)) as f32;
    b.max(0.0)
}

/// A distance moved down by at most `m_up` (itself rounded up to f32) stays a lower bound:
/// the f32 subtraction and the product round by at most 2^-24 each, the factor takes 2^-20.
#[inline(always)]
pub(super) fn bound_minus(b: f32, m_up: f32) -> f32 {
    ((b - m_up) * (1.0 - 1.0 / 1_048_576.0)).max(0.0)
}

/// `v` rounded up to f32 (for the moves subtracted from the bounds).
#[inline(always)]
pub(super) fn round_up(v: f64) -> f32 {
    #[allow(clippy::cast_possible_truncation)]
    let r = (v * (1.0 + 1.0 / 4_194_304.0) + f64::from(f32::MIN_POSITIVE)) as f32;
    r
}

pub(super) struct Problem<'a, T> {
    pub(super) x: &'a [T],
    pub(super) n_rows: usize,
    pub(super) n_cols: usize,
    pub(super) k: usize,
    /// Elkan's bounds (a lower bound per row and centre) instead of Hamerly's (one per row).
    pub(super) elkan: bool,
}

/// What one chunk of rows contributes to the centre update.
pub(super) struct ChunkSums {
    pub(super) sums: Vec<f64>,
    pub(super) counts: Vec<u64>,
    pub(super) changed: u64,
    /// Distances measured one at a time (bounded passes): what decides the next pass's kind.
    pub(super) measured: u64,
}

impl<T: Real> Problem<'_, T> {
    pub(super) fn row(&self, i: usize) -> &[T] {
        &self.x[i * self.n_cols..(i + 1) * self.n_cols]
    }

    /// Squared norm of every row (f64).
    pub(super) fn row_norms(&self) -> Vec<f64> {
        let mut norms = vec![0f64; self.n_rows];
        norms.par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
            for (o, v) in out.iter_mut().enumerate() {
                *v = squared_norm(self.row(c * CHUNK + o));
            }
        });
        norms
    }

    /// Lloyd's iterations from `centroids`, skipping distances with Elkan's or Hamerly's bounds.
    pub(super) fn lloyd_bounded(&self, mut centroids: Vec<T>, max_iter: usize, tol: f64) -> KMeansFit<T> {
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
    pub(super) fn assign_step(
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
    pub(super) fn move_bounds(shifts: &[f64], labels: &[u32], upper: &mut [f64], lower: &mut [f32]) {
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
    pub(super) fn relocate_empty(&self, centroids: &[T], labels: &[u32], sums: &mut [f64], counts: &mut [u64]) {
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

    pub(super) fn inertia(&self, centroids: &[T], labels: &[u32]) -> f64 {
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
pub(super) struct ChunkScan<'a, T> {
    pub(super) x: &'a [T],
    pub(super) first_row: usize,
    pub(super) d: usize,
    pub(super) k: usize,
    pub(super) centroids: &'a [T],
    pub(super) gaps: &'a CentreGaps,
    /// Elkan: centre moves not yet applied to the bounds.
    pub(super) moves: &'a [f64],
    /// The same rounded up to f32.
    pub(super) moves_up: &'a [f32],
    pub(super) keep: f64,
    pub(super) accumulate: bool,
    pub(super) elkan: bool,
    /// A full pass: every distance through the blocked kernel, bounds written afresh.
    pub(super) full: Option<FullPass<'a, T>>,
}

/// What a full pass needs besides the bounded pass's fields.
#[derive(Clone, Copy)]
pub(super) struct FullPass<'a, T> {
    pub(super) packed: &'a Packed<T>,
    /// Squared norms of all rows.
    pub(super) row_norms: &'a [f64],
    /// Write the lower bounds (only worth it when the next pass is a bounded one).
    pub(super) write_bounds: bool,
}

impl<T: Real> ChunkScan<'_, T> {
    /// Runs the pass compiled for the widest vector unit this CPU has (AVX2 on x86-64 when
    /// present: the distance loops then use 256-bit registers), else for the baseline.
    pub(super) fn run_fastest(&self, labels: &mut [u32], upper: &mut [f64], lower: &mut [f32]) -> ChunkSums {
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
    pub(super) fn run<const FMA: bool>(&self, labels: &mut [u32], upper: &mut [f64], lower: &mut [f32]) -> ChunkSums {
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
    pub(super) fn run_full<const FMA: bool>(
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
    pub(super) fn run_elkan(&self, labels: &mut [u32], upper: &mut [f64], lower: &mut [f32]) -> ChunkSums {
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
pub(super) fn ordered_sum(values: &[f64]) -> f64 {
    let parts: Vec<f64> = values.par_chunks(CHUNK).map(|c| c.iter().sum::<f64>()).collect();
    parts.iter().sum()
}

/// Half-distances between centres: a row closer than `half_pair[a * k + c]` to its centre
/// `a` cannot be closer to `c`, and one closer than `half_min[a]` to no other centre
/// (infinite for a single centre).
pub(super) struct CentreGaps {
    pub(super) half_min: Vec<f64>,
    pub(super) half_pair: Vec<f64>,
}

impl CentreGaps {
    pub(super) fn new<T: Real>(centroids: &[T], k: usize, d: usize) -> Self {
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
