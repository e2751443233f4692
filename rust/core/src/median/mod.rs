//! Centred sliding medians over one long series or many short ones, and the Hampel filter.
//!
//! [`median_filter`] pads each series at both ends (the modes are scipy.ndimage's, so
//! `scipy.ndimage.median_filter` is the oracle) and takes the median of every window of odd
//! length `window`. A window longer than its series is still defined: the padding repeats as
//! often as needed (reflecting, mirroring or wrapping again), exactly as scipy extends a line.
//!
//! Windows up to 127 (NaN-free) on x86-64 with AVX-512F (up to 63 with AVX2 only): the sorted
//! window lives in vector registers and each step replaces the leaving value by the entering
//! one with a few branch-free instructions per register (`registers.rs`). Elsewhere, windows
//! up to 9 use sorting networks and windows up to 63 a sorted array with a block move per step.
//!
//! Algorithm (longer NaN-free windows): the sorted-blocks method of J. Suomela, "Median filtering is
//! equivalent to sorting" (2014). The padded series is cut into blocks of `window` values; each
//! block is sorted once into a doubly linked list. Sliding from block A to block B removes A's
//! values in position order (O(1) unlinks) and adds B's (O(1) re-links, undoing B's earlier
//! unlinking in reverse); one cursor per block, each moved O(1) times per step on average,
//! tracks the median. Cost: sorting, O(n log w), plus O(n) list work. No per-window sort.
//! Blocks sort as packed integers by a radix sort, and a step's list moves are selects, not
//! branches (noisy data would mispredict them half the time): see `blocks.rs`.
//!
//! NaN: NaN values are ignored within a window; the median of the remaining values is taken
//! (the mean of the two middle values when their count is even, as `numpy.nanmedian`), and a
//! window of NaN only gives NaN. Series holding NaN go through a sorted window buffer (binary
//! search, O(log w) comparisons and one block move of at most `window` values per step).
//!
//! Windows longer than their series (and than [`LONG_WINDOW`]): the padded series is never built (its length would be
//! the window's). The window is kept as counts per distinct value of the series (and the
//! constant), in a Fenwick tree over their ranks; the first window is counted in whole periods of
//! the padding, and each step moves one position out and one in. Memory is by the series'
//! length, time O(n log n) per series, whatever the window (up to 2^31 - 1).
//!
//! Long series are cut into chunks that overlap by `window - 1` values and filtered in
//! parallel; many series (`groups`) are filtered in parallel, each on its own. Results do not
//! depend on the number of threads.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::real::Real;

mod blocks;
mod long_window;
mod registers;
mod window;

use blocks::SortedBlocks;
use long_window::{long_window_medians, LONG_WINDOW};
use registers::{register_medians, REGISTER_WINDOW};
use window::{nan_median_windows, network_medians, replace_sorted, small_window_medians, SortedWindow, SMALL_WINDOW};

/// How a series is extended beyond its ends (scipy.ndimage's names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Padding<T> {
    /// `a a a | a b c d | d d d`
    Nearest,
    /// `c b a | a b c d | d c b` (half-sample symmetric)
    Reflect,
    /// `d c b | a b c d | c b a` (whole-sample symmetric)
    Mirror,
    /// `b c d | a b c d | a b c`
    Wrap,
    /// `k k k | a b c d | k k k`
    Constant(T),
}

/// Outputs per parallel task of a long series (a chunk also re-reads `window - 1` inputs).
const CHUNK_LEN: usize = 1 << 15;

/// One piece of work: outputs `lo..hi` of the series at `start..start + len` of the input.
#[derive(Debug, Clone, Copy)]
struct Task {
    start: usize,
    len: usize,
    lo: usize,
    hi: usize,
}

/// Checks `groups` (an indptr of series boundaries) and cuts every series into tasks.
fn plan(n: usize, groups: Option<&[i64]>, window: usize) -> Result<Vec<Task>> {
    let default = [0, n as i64];
    let bounds = groups.unwrap_or(&default);
    if bounds.is_empty() {
        return Err(Error::invalid("groups", "must hold at least one boundary (0)"));
    }
    if bounds[0] != 0 {
        return Err(Error::invalid("groups", format!("must start at 0, starts at {}", bounds[0])));
    }
    if *bounds.last().expect("not empty") != n as i64 {
        return Err(Error::shape("groups", format!("must end at len(x) = {n}, ends at {}", bounds.last().expect("not empty"))));
    }
    if let Some([before, after]) = bounds.windows(2).find(|w| w[1] < w[0]) {
        return Err(Error::invalid("groups", format!("must be non-decreasing, found {after} after {before}")));
    }
    let chunk = CHUNK_LEN.max(window.saturating_mul(16));
    let mut tasks = Vec::with_capacity(bounds.len());
    for w in bounds.windows(2) {
        let (start, len) = (w[0] as usize, (w[1] - w[0]) as usize);
        let mut lo = 0;
        while lo < len {
            let hi = (lo + chunk).min(len);
            tasks.push(Task { start, len, lo, hi });
            lo = hi;
        }
    }
    Ok(tasks)
}

/// Splits `out` into the disjoint slices the tasks write (tasks cover `out` in order).
fn split_for<'a, U>(tasks: &[Task], mut out: &'a mut [U]) -> Vec<(Task, &'a mut [U])> {
    let mut pieces = Vec::with_capacity(tasks.len());
    for &task in tasks {
        let (head, rest) = std::mem::take(&mut out).split_at_mut(task.hi - task.lo);
        pieces.push((task, head));
        out = rest;
    }
    pieces
}

fn check_window(window: usize) -> Result<()> {
    if window == 0 || window.is_multiple_of(2) {
        return Err(Error::invalid("window", format!("must be a positive odd number, got {window}")));
    }
    if window > i32::MAX as usize {
        return Err(Error::invalid("window", format!("{window} is more than 2^31 - 1")));
    }
    Ok(())
}

/// The input index a virtual position `p` of a series of length `n` reads, or `None` for the
/// constant padding.
#[inline]
fn source_index<T: Copy>(p: i64, n: i64, padding: Padding<T>) -> Option<usize> {
    if (0..n).contains(&p) {
        return Some(p as usize);
    }
    let index = match padding {
        Padding::Constant(_) => return None,
        Padding::Nearest => p.clamp(0, n - 1),
        Padding::Wrap => p.rem_euclid(n),
        Padding::Reflect => {
            let r = p.rem_euclid(2 * n);
            if r < n {
                r
            } else {
                2 * n - 1 - r
            }
        }
        Padding::Mirror => {
            if n == 1 {
                0
            } else {
                let r = p.rem_euclid(2 * n - 2);
                if r < n {
                    r
                } else {
                    2 * n - 2 - r
                }
            }
        }
    };
    Some(index as usize)
}

/// Centred sliding median of odd `window` over `x`, or over each series of `x` delimited by
/// `groups` (an indptr: starts at 0, non-decreasing, ends at `x.len()`).
///
/// Runs in parallel over series and chunks of long series in the current rayon pool.
///
/// # Errors
/// [`Error::InvalidArgument`] when `window` is even, 0 or above 2^31 - 1, when the constant
/// padding value is NaN, or when `groups` does not start at 0 or decreases;
/// [`Error::ShapeMismatch`] when `groups` does not end at `x.len()`.
pub fn median_filter<T: Real>(x: &[T], window: usize, padding: Padding<T>, groups: Option<&[i64]>) -> Result<Vec<T>> {
    let mut out = vec![T::ZERO; x.len()];
    median_filter_into(x, window, padding, groups, &mut out)?;
    Ok(out)
}

/// [`median_filter`] into `out` (one value per value of `x`), for a caller that owns the
/// result's memory (the Python glue writes into a numpy array: numpy's allocator reuses what
/// an earlier result freed, where fresh pages would cost a page fault each).
///
/// # Errors
/// As [`median_filter`]; [`Error::ShapeMismatch`] when `out` is not as long as `x`.
pub fn median_filter_into<T: Real>(
    x: &[T],
    window: usize,
    padding: Padding<T>,
    groups: Option<&[i64]>,
    out: &mut [T],
) -> Result<()> {
    if out.len() != x.len() {
        return Err(Error::shape("out", format!("must hold len(x) = {} values, holds {}", x.len(), out.len())));
    }
    check_window(window)?;
    if let Padding::Constant(c) = padding {
        if c.is_nan() {
            return Err(Error::invalid("cval", "must not be NaN"));
        }
    }
    let tasks = plan(x.len(), groups, window)?;
    split_for(&tasks, out).into_par_iter().for_each_init(
        || (Vec::new(), None, SortedWindow::new()),
        |(buffer, blocks, sorted), (task, out)| {
            let series = &x[task.start..task.start + task.len];
            if window > series.len() && window > LONG_WINDOW {
                // The padded series would be far longer than the series: count instead (memory
                // by the series' length, however long the window).
                long_window_medians(series, window, padding, out);
                return;
            }
            // A chunk inside its series reads the series itself; only the ends are padded.
            let input: &[T] = if let Some(input) = interior(series, task, window) {
                input
            } else {
                fill_padded(buffer, series, task, window, padding);
                buffer
            };
            if window == 1 {
                out.copy_from_slice(&input[..out.len()]);
            } else if has_nan(input) {
                nan_median_windows(input, window, sorted, out);
            } else if window <= REGISTER_WINDOW && register_medians(input, window, out) {
                // Done in vector registers (AVX-512 or AVX2).
            } else if window <= 9 {
                match window {
                    3 => network_medians::<T, 3>(input, out),
                    5 => network_medians::<T, 5>(input, out),
                    7 => network_medians::<T, 7>(input, out),
                    _ => network_medians::<T, 9>(input, out),
                }
            } else if window <= SMALL_WINDOW {
                small_window_medians(input, window, &mut sorted.values, out);
            } else {
                // Made on first use: a thread that never meets a long window never sizes one.
                blocks.get_or_insert_with(|| SortedBlocks::new(window)).run(input, out);
            }
        },
    );
    Ok(())
}

/// Whether `values` holds a NaN: whole runs of values tested without a branch each, so the
/// test vectorizes (`any` stops at every value to test whether it is done).
fn has_nan<T: Real>(values: &[T]) -> bool {
    values.chunks(64).any(|run| run.iter().fold(false, |nan, v| nan | v.is_nan()))
}

/// The input of a task whose windows all lie inside its series (virtual positions `lo - h ..
/// hi + h` need no padding): a slice of the series.
fn interior<T>(series: &[T], task: Task, window: usize) -> Option<&[T]> {
    let h = window / 2;
    let first = task.lo.checked_sub(h)?;
    series.get(first..task.hi.checked_add(h)?)
}

/// The padded input of a task: virtual positions `lo - h .. hi + h` of its series.
fn fill_padded<T: Real>(buffer: &mut Vec<T>, series: &[T], task: Task, window: usize, padding: Padding<T>) {
    let h = (window / 2) as i64;
    let n = series.len() as i64;
    buffer.clear();
    let (first, last) = (task.lo as i64 - h, task.hi as i64 + h);
    // Interior positions copy straight; only the ends need the index mapping.
    let inner_lo = first.max(0);
    let inner_hi = last.min(n);
    let cval = if let Padding::Constant(c) = padding { c } else { T::ZERO };
    let padded = |p: i64| source_index(p, n, padding).map_or(cval, |i| series[i]);
    buffer.extend((first..inner_lo.min(last)).map(padded));
    if inner_lo < inner_hi {
        buffer.extend_from_slice(&series[inner_lo as usize..inner_hi as usize]);
    }
    buffer.extend((inner_hi.max(first)..last).map(padded));
}

/// The Hampel filter: `m_i` = median and `MAD_i` = median absolute deviation from `m_i` of
/// the window centred on `i`; `x_i` is an outlier when `|x_i - m_i| > n_sigmas * 1.4826 *
/// MAD_i`, and is then replaced by `m_i`. Windows are clipped at the ends of each series (no
/// padding, so edge windows are shorter). NaN values are ignored in windows, are never
/// outliers and stay NaN. Where `MAD_i` is 0 (half the window or more equal to `m_i`), any
/// value other than `m_i` is an outlier.
///
/// Returns `(cleaned, is_outlier)`.
///
/// # Errors
/// As [`median_filter`] for `window` and `groups`; [`Error::InvalidArgument`] when
/// `n_sigmas` is negative or not finite.
pub fn hampel<T: Real>(x: &[T], window: usize, n_sigmas: f64, groups: Option<&[i64]>) -> Result<(Vec<T>, Vec<bool>)> {
    check_window(window)?;
    if !(n_sigmas.is_finite() && n_sigmas >= 0.0) {
        return Err(Error::invalid("n_sigmas", format!("must be finite and >= 0, got {n_sigmas}")));
    }
    let tasks = plan(x.len(), groups, window)?;
    let threshold = n_sigmas * 1.4826;
    let h = window / 2;
    let mut cleaned = x.to_vec();
    let mut flags = vec![false; x.len()];
    split_for(&tasks, &mut cleaned).into_par_iter().zip(split_for(&tasks, &mut flags)).for_each_init(
        SortedWindow::new,
        |sorted, ((task, cleaned), (_, flags))| {
            let series = &x[task.start..task.start + task.len];
            let n = series.len();
            sorted.reset(&series[task.lo.saturating_sub(h)..(task.lo + h + 1).min(n)]);
            for (o, i) in (task.lo..task.hi).enumerate() {
                if i > task.lo {
                    let leaving = (i > h).then(|| series[i - h - 1]);
                    let entering = (i + h < n).then(|| series[i + h]);
                    match (leaving, entering) {
                        (Some(old), Some(new)) if !old.is_nan() && !new.is_nan() => {
                            replace_sorted(&mut sorted.values, old, new);
                        }
                        _ => {
                            if let Some(old) = leaving {
                                sorted.remove(old);
                            }
                            if let Some(new) = entering {
                                sorted.insert(new);
                            }
                        }
                    }
                }
                let v = series[i];
                if v.is_nan() {
                    continue;
                }
                let m = sorted.median();
                let deviation = (v.to_f64() - m).abs();
                if deviation > 0.0 {
                    let mad = sorted.mad(m);
                    if deviation > threshold * mad {
                        cleaned[o] = T::from_f64(m);
                        flags[o] = true;
                    }
                }
            }
        },
    );
    Ok((cleaned, flags))
}

#[cfg(test)]
// Exact float equality is the point: results must match the references bit for bit.
#[allow(clippy::float_cmp)]
mod tests {
    use super::window::{kth_of_two, median_of_sorted};
    use super::*;
    use proptest::prelude::*;

    fn naive_median(values: &[f64]) -> f64 {
        let mut v: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        median_of_sorted(&v)
    }

    /// Sort-per-window reference over the padded series.
    fn naive_filter(x: &[f64], window: usize, padding: Padding<f64>) -> Vec<f64> {
        let n = x.len() as i64;
        let h = (window / 2) as i64;
        (0..n)
            .map(|i| {
                let win: Vec<f64> = (i - h..=i + h)
                    .map(|p| match source_index(p, n, padding) {
                        Some(j) => x[j],
                        None => match padding {
                            Padding::Constant(c) => c,
                            _ => unreachable!(),
                        },
                    })
                    .collect();
                naive_median(&win)
            })
            .collect()
    }

    fn naive_hampel(x: &[f64], window: usize, n_sigmas: f64) -> (Vec<f64>, Vec<bool>) {
        let h = window / 2;
        let n = x.len();
        let mut cleaned = x.to_vec();
        let mut flags = vec![false; n];
        for i in 0..n {
            let win = &x[i.saturating_sub(h)..(i + h + 1).min(n)];
            let m = naive_median(win);
            let dev: Vec<f64> = win.iter().map(|v| (v - m).abs()).collect();
            let mad = naive_median(&dev);
            if !x[i].is_nan() && (x[i] - m).abs() > n_sigmas * 1.4826 * mad {
                cleaned[i] = m;
                flags[i] = true;
            }
        }
        (cleaned, flags)
    }

    fn paddings() -> impl Strategy<Value = Padding<f64>> {
        prop_oneof![
            Just(Padding::Nearest),
            Just(Padding::Reflect),
            Just(Padding::Mirror),
            Just(Padding::Wrap),
            (-3i32..3).prop_map(|c| Padding::Constant(f64::from(c))),
        ]
    }

    #[test]
    fn padding_modes_match_scipy_examples() {
        // scipy.ndimage's documented extensions of [a b c d] = [1 2 3 4] by 3 on each side.
        let x = [1.0, 2.0, 3.0, 4.0];
        let ext = |padding| (-3..7).map(|p| source_index(p, 4, padding).map_or(0.0, |i| x[i])).collect::<Vec<f64>>();
        assert_eq!(ext(Padding::Nearest), vec![1., 1., 1., 1., 2., 3., 4., 4., 4., 4.]);
        assert_eq!(ext(Padding::Reflect), vec![3., 2., 1., 1., 2., 3., 4., 4., 3., 2.]);
        assert_eq!(ext(Padding::Mirror), vec![4., 3., 2., 1., 2., 3., 4., 3., 2., 1.]);
        assert_eq!(ext(Padding::Wrap), vec![2., 3., 4., 1., 2., 3., 4., 1., 2., 3.]);
        assert_eq!(ext(Padding::Constant(0.0)), vec![0., 0., 0., 1., 2., 3., 4., 0., 0., 0.]);
    }

    #[test]
    fn mad_by_binary_search() {
        let mut w = SortedWindow::new();
        w.reset(&[1.0, 2.0, 3.0, 4.0, 100.0]);
        assert_eq!(w.median(), 3.0);
        assert_eq!(w.mad(3.0), 1.0);
        w.reset(&[5.0, 5.0, 5.0, 9.0]);
        assert_eq!(w.mad(5.0), 0.0);
    }

    #[test]
    fn rejects_bad_arguments() {
        let x = [1.0, 2.0, 3.0];
        assert!(median_filter(&x, 2, Padding::Nearest, None).is_err());
        assert!(median_filter(&x, 0, Padding::Nearest, None).is_err());
        assert!(median_filter(&x, 3, Padding::Constant(f64::NAN), None).is_err());
        assert!(median_filter(&x, 3, Padding::Nearest, Some(&[1, 3])).is_err());
        assert!(median_filter(&x, 3, Padding::Nearest, Some(&[0, 2])).is_err());
        assert!(median_filter(&x, 3, Padding::Nearest, Some(&[0, 2, 1, 3])).is_err());
        assert!(hampel(&x, 3, -1.0, None).is_err());
        assert!(hampel(&x, 4, 3.0, None).is_err());
    }

    #[test]
    fn long_series_is_chunked_consistently() {
        let n = 3 * CHUNK_LEN + 17;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1013) as f64).collect();
        for window in [1, 3, 31, 101] {
            let got = median_filter(&x, window, Padding::Reflect, None).unwrap();
            assert_eq!(got, naive_filter(&x, window, Padding::Reflect), "window {window}");
        }
        let (c, f) = hampel(&x, 31, 2.0, None).unwrap();
        assert_eq!((c, f), naive_hampel(&x, 31, 2.0));
    }

    #[test]
    fn huge_windows_need_memory_of_the_series_only() {
        // The largest window (2^31 - 1) over ten values: instant, and right. With `Nearest`,
        // the window's two halves repeat the ends equally, so the median of `0..10` is itself.
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let window = i32::MAX as usize;
        assert_eq!(median_filter(&x, window, Padding::Nearest, None).unwrap(), x);
        assert_eq!(median_filter(&x, window, Padding::Constant(-7.0), None).unwrap(), vec![-7.0; 10]);
        // Wrap, reflect and mirror repeat the series about evenly: the median of its values
        // (up to the few positions of the last partial period).
        for padding in [Padding::Wrap, Padding::Reflect, Padding::Mirror] {
            for v in median_filter(&x, window, padding, None).unwrap() {
                assert!((4.0..=5.0).contains(&v), "{padding:?}: {v}");
            }
        }
        let with_nan = [f32::NAN, 1.0, f32::NAN, 3.0];
        let got = median_filter(&with_nan, 1_000_001, Padding::Wrap, None).unwrap();
        // The window holds about as many 1s as 3s; which is ahead depends on the partial period.
        assert!(got.iter().all(|&v| v == 1.0 || v == 2.0 || v == 3.0), "{got:?}");
        let got = median_filter(&[f64::NAN, f64::NAN], 1_000_001, Padding::Reflect, None).unwrap();
        assert!(got.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn long_windows_match_sort_per_window() {
        // Windows many times the series, every padding, against the padded sort.
        let x = [3.0, -1.0, f64::NAN, 3.0, 8.0, 0.5, -1.0];
        let paddings = [Padding::Nearest, Padding::Reflect, Padding::Mirror, Padding::Wrap, Padding::Constant(2.0)];
        for n in 1..=x.len() {
            for window in [n + 2, 2 * n + 1, 99, 1001, 20_001] {
                let window = window | 1;
                for padding in paddings {
                    let got = median_filter(&x[..n], window, padding, None).unwrap();
                    let want = naive_filter(&x[..n], window, padding);
                    for (g, w) in got.iter().zip(&want) {
                        assert!(g == w || (g.is_nan() && w.is_nan()), "n {n} window {window} {padding:?}: {got:?} vs {want:?}");
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn median_matches_sort_per_window(
            x in proptest::collection::vec(prop_oneof![8 => (-5i32..5).prop_map(f64::from), 1 => Just(f64::NAN), 1 => Just(f64::INFINITY)], 0..80),
            half in 0usize..30,
            padding in paddings(),
        ) {
            let window = 2 * half + 1;
            let got = median_filter(&x, window, padding, None).unwrap();
            let want = naive_filter(&x, window, padding);
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert!(g == w || (g.is_nan() && w.is_nan()), "{:?} vs {:?}", got, want);
            }
        }

        #[test]
        fn long_window_path_matches_sort_per_window(
            x in proptest::collection::vec(prop_oneof![8 => (-5i32..5).prop_map(f64::from), 1 => Just(f64::NAN), 1 => Just(f64::INFINITY)], 1..30),
            extra in 0usize..200,
            padding in paddings(),
        ) {
            // The counting path on its own, also for the short windows the padded path serves.
            let window = (x.len() + 1 + extra) | 1;
            let mut got = vec![0.0; x.len()];
            long_window_medians(&x, window, padding, &mut got);
            let want = naive_filter(&x, window, padding);
            for (g, w) in got.iter().zip(&want) {
                prop_assert!(g == w || (g.is_nan() && w.is_nan()), "window {}: {:?} vs {:?}", window, got, want);
            }
        }

        #[test]
        fn groups_filter_each_series_alone(
            lens in proptest::collection::vec(0usize..20, 1..6),
            half in 0usize..6,
            seed in any::<u64>(),
        ) {
            let window = 2 * half + 1;
            let n: usize = lens.iter().sum();
            let x: Vec<f32> = (0..n).map(|i| ((seed.wrapping_mul(i as u64 + 1) >> 20) % 9) as f32).collect();
            let mut groups = vec![0i64];
            for l in &lens { groups.push(groups.last().unwrap() + *l as i64); }
            let got = median_filter(&x, window, Padding::Mirror, Some(&groups)).unwrap();
            let (cleaned, flags) = hampel(&x, window, 2.0, Some(&groups)).unwrap();
            for g in groups.windows(2) {
                let (a, b) = (g[0] as usize, g[1] as usize);
                let series: Vec<f64> = x[a..b].iter().map(|&v| f64::from(v)).collect();
                let want = naive_filter(&series, window, Padding::Mirror);
                let have: Vec<f64> = got[a..b].iter().map(|&v| f64::from(v)).collect();
                prop_assert_eq!(have, want);
                let (wc, wf) = naive_hampel(&series, window, 2.0);
                prop_assert_eq!(&flags[a..b], &wf[..]);
                let hc: Vec<f64> = cleaned[a..b].iter().map(|&v| f64::from(v)).collect();
                prop_assert_eq!(hc, wc);
            }
        }

        #[test]
        fn hampel_matches_naive(
            x in proptest::collection::vec(prop_oneof![8 => (-20i32..20).prop_map(|v| f64::from(v) / 4.0), 1 => Just(f64::NAN), 1 => Just(50.0)], 0..80),
            half in 0usize..12,
            n_sigmas in 0.0f64..4.0,
        ) {
            let window = 2 * half + 1;
            let (cleaned, flags) = hampel(&x, window, n_sigmas, None).unwrap();
            let (wc, wf) = naive_hampel(&x, window, n_sigmas);
            prop_assert_eq!(flags, wf);
            for (g, w) in cleaned.iter().zip(&wc) {
                prop_assert!(g == w || (g.is_nan() && w.is_nan()));
            }
        }

        #[test]
        fn kth_of_two_matches_merge(mut a in proptest::collection::vec(-50i32..50, 0..20), mut b in proptest::collection::vec(-50i32..50, 0..20)) {
            a.sort_unstable();
            b.sort_unstable();
            let mut all: Vec<i32> = a.iter().chain(&b).copied().collect();
            all.sort_unstable();
            for (k, &want) in all.iter().enumerate() {
                let got = kth_of_two(a.len(), |i| f64::from(a[i]), b.len(), |i| f64::from(b[i]), k);
                prop_assert_eq!(got, f64::from(want));
            }
        }
    }
}
