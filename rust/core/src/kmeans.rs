//! k-means clustering of dense rows (Lloyd's iterations, accelerated with Hamerly's bounds).
//!
//! Conventions follow scikit-learn's `KMeans(algorithm="lloyd")` so that it can serve as the
//! oracle: greedy k-means++ seeding with `2 + ln(k)` local trials, `tol` relative to the mean
//! per-feature variance of the data, convergence when no label changes or when the summed
//! squared centre shift falls to `tol`, a final relabelling when stopped by `tol` or
//! `max_iter`, and `inertia` = the sum of squared distances of the rows to their centres.
//!
//! Hamerly's algorithm keeps, per row, an upper bound on the distance to its own centre and a
//! lower bound on the distance to every other centre; a row whose bounds prove that its centre
//! is still the nearest is skipped. Once the centres settle, most rows are skipped, and the
//! labels are those Lloyd would give (the bounds carry a small safety margin against rounding,
//! so a row is only skipped when the proof holds with room to spare).
//!
//! Determinism: every reduction (centre sums, potentials, inertia) is taken per fixed chunk of
//! [`CHUNK`] rows and the chunk results are added in chunk order, so the result depends on the
//! seed only, never on the number of threads.
//!
//! Empty clusters: after an iteration's update, each empty cluster is re-seeded with the row
//! farthest from its (old) centre, taken from a cluster that keeps at least one row; that row
//! is moved out of its cluster's mean. Rows are taken in decreasing distance, ties to the lower
//! row index. This is scikit-learn's relocation rule.

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

/// Squared Euclidean distance, with eight independent accumulators so the loop vectorises
/// without reassociation by the compiler.
#[inline]
pub fn squared_distance<T: Real>(a: &[T], b: &[T]) -> T {
    let b = &b[..a.len()];
    let mut acc = [T::ZERO; 8];
    let mut chunks_a = a.chunks_exact(8);
    let mut chunks_b = b.chunks_exact(8);
    for (xa, xb) in (&mut chunks_a).zip(&mut chunks_b) {
        for lane in 0..8 {
            let d = xa[lane] - xb[lane];
            acc[lane] = acc[lane] + d * d;
        }
    }
    let mut tail = T::ZERO;
    for (&va, &vb) in chunks_a.remainder().iter().zip(chunks_b.remainder()) {
        let d = va - vb;
        tail = tail + d * d;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The nearest centroid of `row` (lowest index on ties) with its squared distance, and the
/// squared distance to the second nearest (infinite when there is one centroid).
#[inline]
fn nearest_two<T: Real>(row: &[T], centroids: &[T], n_cols: usize) -> (usize, f64, f64) {
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    let mut second_d = f64::INFINITY;
    for (j, centre) in centroids.chunks_exact(n_cols).enumerate() {
        let d = squared_distance(row, centre).to_f64();
        if d < best_d {
            second_d = best_d;
            best_d = d;
            best = j;
        } else if d < second_d {
            second_d = d;
        }
    }
    (best, best_d, second_d)
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
            return Err(Error::shape(
                "init",
                format!("{} values do not make {n_clusters} x {n_cols} centroids", c.len()),
            ));
        }
        if !c.iter().all(|v| v.is_finite()) {
            return Err(Error::invalid("init", "contains NaN or infinite values"));
        }
    }
    let tol = options.tol * mean_variance(x, n_rows, n_cols);
    let problem = Problem { x, n_rows, n_cols, k: n_clusters };
    match init {
        Init::Centroids(c) => Ok(problem.lloyd_hamerly(c.to_vec(), options.max_iter, tol)),
        Init::KMeansPlusPlus => {
            let mut best: Option<KMeansFit<T>> = None;
            for run in 0..options.n_init {
                let mut seed_state = options.seed ^ (run as u64).wrapping_mul(0xA24B_AED4_963E_E407);
                let mut rng = Rng::new(splitmix64(&mut seed_state));
                let centroids = problem.kmeans_plus_plus(&mut rng);
                let fit = problem.lloyd_hamerly(centroids, options.max_iter, tol);
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
    let squares: Vec<f64> = x
        .par_chunks(CHUNK * n_cols)
        .map(|rows| {
            let mut total = 0f64;
            for row in rows.chunks_exact(n_cols) {
                for (m, v) in mean.iter().zip(row) {
                    let d = v.to_f64() - m;
                    total += d * d;
                }
            }
            total
        })
        .collect();
    squares.iter().sum::<f64>() / (n_rows as f64 * n_cols as f64)
}

struct Problem<'a, T> {
    x: &'a [T],
    n_rows: usize,
    n_cols: usize,
    k: usize,
}

/// What one chunk of rows contributes to the centre update.
struct ChunkSums {
    sums: Vec<f64>,
    counts: Vec<u64>,
    changed: u64,
}

impl<T: Real> Problem<'_, T> {
    fn row(&self, i: usize) -> &[T] {
        &self.x[i * self.n_cols..(i + 1) * self.n_cols]
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
                        for (pot, &cand) in pots.iter_mut().zip(&candidates) {
                            *pot += current.min(squared_distance(row, self.row(cand)).to_f64());
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

    /// Lloyd's iterations from `centroids`, skipping rows with Hamerly's bounds.
    fn lloyd_hamerly(&self, mut centroids: Vec<T>, max_iter: usize, tol: f64) -> KMeansFit<T> {
        let (n, d, k) = (self.n_rows, self.n_cols, self.k);
        let mut labels = vec![0u32; n];
        // Distances (not squared). Infinite upper bounds force a full scan on the first pass.
        let mut upper = vec![f64::INFINITY; n];
        let mut lower = vec![0f64; n];
        let mut strict_convergence = false;
        let mut n_iter = 0;
        for iteration in 0..max_iter {
            n_iter = iteration + 1;
            let half_gap = half_min_separation(&centroids, k, d);
            let parts = self.assign_step(&centroids, &half_gap, &mut labels, &mut upper, &mut lower, true);
            let mut sums = vec![0f64; k * d];
            let mut counts = vec![0u64; k];
            let mut changed = 0u64;
            for part in &parts {
                for (s, v) in sums.iter_mut().zip(&part.sums) {
                    *s += v;
                }
                for (c, v) in counts.iter_mut().zip(&part.counts) {
                    *c += v;
                }
                changed += part.changed;
            }
            if counts.contains(&0) {
                self.relocate_empty(&centroids, &labels, &mut sums, &mut counts);
            }
            let mut new_centroids = centroids.clone();
            for j in 0..k {
                if counts[j] > 0 {
                    let inv = 1.0 / counts[j] as f64;
                    for (c, s) in new_centroids[j * d..(j + 1) * d].iter_mut().zip(&sums[j * d..(j + 1) * d]) {
                        *c = T::from_f64(s * inv);
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
            // The first pass compares against no earlier labels, as scikit-learn's does.
            if iteration > 0 && changed == 0 {
                strict_convergence = true;
                break;
            }
            let total_shift: f64 = shifts.iter().sum();
            self.move_bounds(&shifts, &labels, &mut upper, &mut lower);
            if total_shift <= tol {
                break;
            }
        }
        if !strict_convergence {
            // Labels must match the returned centroids.
            let half_gap = half_min_separation(&centroids, k, d);
            self.assign_step(&centroids, &half_gap, &mut labels, &mut upper, &mut lower, false);
        }
        let inertia = self.inertia(&centroids, &labels);
        KMeansFit { centroids, labels: labels.iter().map(|&l| l as i32).collect(), inertia, n_iter }
    }

    /// One assignment pass over all rows (parallel over chunks): re-labels every row whose
    /// bounds do not prove its label, and (with `accumulate`) sums the rows per cluster.
    fn assign_step(
        &self,
        centroids: &[T],
        half_gap: &[f64],
        labels: &mut [u32],
        upper: &mut [f64],
        lower: &mut [f64],
        accumulate: bool,
    ) -> Vec<ChunkSums> {
        let (d, k) = (self.n_cols, self.k);
        // Skip only when the bound proof holds with this relative margin: the distances are
        // computed in T, and a skipped row must get the label a full scan would give it.
        let keep = 1.0 - 64.0 * T::EPSILON * (d as f64 + 8.0);
        labels
            .par_chunks_mut(CHUNK)
            .zip(upper.par_chunks_mut(CHUNK))
            .zip(lower.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, ((labels, upper), lower))| {
                let mut part = ChunkSums {
                    sums: if accumulate { vec![0f64; k * d] } else { Vec::new() },
                    counts: vec![0u64; k],
                    changed: 0,
                };
                for o in 0..labels.len() {
                    let row = self.row(c * CHUNK + o);
                    let mut label = labels[o] as usize;
                    let bound = half_gap[label].max(lower[o]) * keep;
                    if !(upper[o] < bound) {
                        upper[o] = squared_distance(row, &centroids[label * d..(label + 1) * d]).to_f64().sqrt();
                        if !(upper[o] < bound) {
                            let (best, best_d, second_d) = nearest_two(row, centroids, d);
                            if best != label {
                                part.changed += 1;
                                label = best;
                                labels[o] = best as u32;
                            }
                            upper[o] = best_d.sqrt();
                            lower[o] = second_d.sqrt();
                        }
                    }
                    if accumulate {
                        part.counts[label] += 1;
                        for (s, v) in part.sums[label * d..(label + 1) * d].iter_mut().zip(row) {
                            *s += v.to_f64();
                        }
                    }
                }
                part
            })
            .collect()
    }

    /// After the centres moved by `shifts` (squared): the upper bound grows by the own
    /// centre's shift, the lower bound shrinks by the largest shift of any other centre.
    fn move_bounds(&self, shifts: &[f64], labels: &[u32], upper: &mut [f64], lower: &mut [f64]) {
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
        upper.par_chunks_mut(CHUNK).zip(lower.par_chunks_mut(CHUNK)).zip(labels.par_chunks(CHUNK)).for_each(
            |((upper, lower), labels)| {
                for ((u, l), &label) in upper.iter_mut().zip(lower.iter_mut()).zip(labels) {
                    let label = label as usize;
                    *u += moves[label];
                    *l -= if label == first_j { second } else { first };
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

/// Sum in chunk order (parallel per chunk), so the result does not depend on the thread count.
fn ordered_sum(values: &[f64]) -> f64 {
    let parts: Vec<f64> = values.par_chunks(CHUNK).map(|c| c.iter().sum::<f64>()).collect();
    parts.iter().sum()
}

/// Half the distance from each centre to its nearest other centre (infinite for one centre):
/// a row closer than this to its own centre cannot be closer to any other.
fn half_min_separation<T: Real>(centroids: &[T], k: usize, d: usize) -> Vec<f64> {
    let mut gap = vec![f64::INFINITY; k];
    for a in 0..k {
        for b in (a + 1)..k {
            let dist = squared_distance(&centroids[a * d..(a + 1) * d], &centroids[b * d..(b + 1) * d]).to_f64().sqrt();
            gap[a] = gap[a].min(dist);
            gap[b] = gap[b].min(dist);
        }
    }
    gap.iter().map(|g| 0.5 * g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::Rng;
    use proptest::prelude::*;

    /// Plain Lloyd with the same conventions and no bounds: the reference for the fast path.
    fn plain_lloyd(x: &[f64], n: usize, d: usize, init: &[f64], max_iter: usize, tol: f64) -> KMeansFit<f64> {
        let k = init.len() / d;
        let tol = tol * mean_variance(x, n, d);
        let problem = Problem { x, n_rows: n, n_cols: d, k };
        let mut centroids = init.to_vec();
        let mut labels = vec![u32::MAX; n];
        let mut strict = false;
        let mut n_iter = 0;
        for it in 0..max_iter {
            n_iter = it + 1;
            let new_labels: Vec<u32> =
                (0..n).map(|i| nearest_two(&x[i * d..(i + 1) * d], &centroids, d).0 as u32).collect();
            let mut sums = vec![0f64; k * d];
            let mut counts = vec![0u64; k];
            for i in 0..n {
                let l = new_labels[i] as usize;
                counts[l] += 1;
                for f in 0..d {
                    sums[l * d + f] += x[i * d + f];
                }
            }
            if counts.contains(&0) {
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
            if same {
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
    fn identical_rows_do_not_break_anything() {
        let x = vec![3.0f32; 10];
        let fit = kmeans(&x, 5, 2, 3, Init::KMeansPlusPlus, &KMeansOptions::default()).unwrap();
        assert_eq!(fit.inertia, 0.0);
        assert!(fit.centroids.iter().all(|&c| c == 3.0));
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
            pool.install(|| kmeans(&x, 9000, 5, 6, Init::KMeansPlusPlus, &KMeansOptions { n_init: 2, ..Default::default() }).unwrap())
        };
        let one = run(1);
        assert_eq!(one, run(3));
        assert_eq!(one, run(4));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
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
            prop_assert_eq!(&fast.labels, &slow.labels);
            prop_assert_eq!(fast.n_iter, slow.n_iter);
            for (a, b) in fast.centroids.iter().zip(&slow.centroids) {
                prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()));
            }
            prop_assert!((fast.inertia - slow.inertia).abs() <= 1e-9 * (1.0 + slow.inertia));
        }
    }
}
