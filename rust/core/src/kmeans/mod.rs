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
//!
//! The parts: this file holds the public API and the argument checks; [`distance`] the
//! distance kernels (the blocked AVX2/FMA one among them); [`seeding`] k-means++; [`lloyd`]
//! the Lloyd/Elkan driver. The random stream comes from [`crate::rng`].

mod distance;
mod lloyd;
mod seeding;

use rayon::prelude::*;

use self::distance::nearest_two;
pub use self::distance::squared_distance;
use self::lloyd::Problem;
use crate::error::{Error, Result};
use crate::real::Real;
use crate::rng::{splitmix64, Rng};

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
    if n_cols == 0 || centroids.is_empty() || !centroids.len().is_multiple_of(n_cols) {
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

#[cfg(test)]
// Exact float equality is the point: results must match the references bit for bit.
#[allow(clippy::float_cmp)]
mod tests {
    use super::distance::*;
    use super::lloyd::*;
    use super::*;
    use crate::rng::Rng;
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
            let mut rng = Rng::new(seed ^ 0x4D);
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
