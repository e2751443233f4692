//! Centred sliding medians over one long series or many short ones, and the Hampel filter.
//!
//! [`median_filter`] pads each series at both ends (the modes are scipy.ndimage's, so
//! `scipy.ndimage.median_filter` is the oracle) and takes the median of every window of odd
//! length `window`. A window longer than its series is still defined: the padding repeats as
//! often as needed (reflecting, mirroring or wrapping again), exactly as scipy extends a line.
//!
//! Algorithm (NaN-free windows): the sorted-blocks method of J. Suomela, "Median filtering is
//! equivalent to sorting" (2014). The padded series is cut into blocks of `window` values; each
//! block is sorted once into a doubly linked list. Sliding from block A to block B removes A's
//! values in position order (O(1) unlinks) and adds B's (O(1) re-links, undoing B's earlier
//! unlinking in reverse); one cursor per block, each moved O(1) times per step on average,
//! tracks the median. Cost: sorting, O(n log w), plus O(n) list work. No per-window sort.
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
    if window == 0 || window % 2 == 0 {
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
    check_window(window)?;
    if let Padding::Constant(c) = padding {
        if c.is_nan() {
            return Err(Error::invalid("cval", "must not be NaN"));
        }
    }
    let tasks = plan(x.len(), groups, window)?;
    let mut out = vec![T::ZERO; x.len()];
    split_for(&tasks, &mut out).into_par_iter().for_each_init(
        || (Vec::new(), None, SortedWindow::new()),
        |(buffer, blocks, sorted), (task, out)| {
            let series = &x[task.start..task.start + task.len];
            if window > series.len() && window > LONG_WINDOW {
                // The padded series would be far longer than the series: count instead (memory
                // by the series' length, however long the window).
                long_window_medians(series, window, padding, out);
                return;
            }
            fill_padded(buffer, series, task, window, padding);
            if window == 1 {
                out.copy_from_slice(&buffer[..out.len()]);
            } else if buffer.iter().any(|v| v.is_nan()) {
                nan_median_windows(buffer, window, sorted, out);
            } else if window <= 9 {
                match window {
                    3 => network_medians::<T, 3>(buffer, out),
                    5 => network_medians::<T, 5>(buffer, out),
                    7 => network_medians::<T, 7>(buffer, out),
                    _ => network_medians::<T, 9>(buffer, out),
                }
            } else if window <= SMALL_WINDOW {
                small_window_medians(buffer, window, &mut sorted.values, out);
            } else {
                // Made on first use: a thread that never meets a long window never sizes one.
                blocks.get_or_insert_with(|| SortedBlocks::new(window)).run(buffer, out);
            }
        },
    );
    Ok(out)
}

/// Windows longer than their series and than this go through [`long_window_medians`]; shorter
/// ones pad (at most this many values more than the series), which is quicker for the many
/// short series of `groups`.
const LONG_WINDOW: usize = 256;

/// Counts of the values of a series, by rank, in a Fenwick tree: add or remove one value in
/// O(log m), find the `r`-th smallest present value in O(log m) (`m` distinct values).
struct RankCounts {
    tree: Vec<u64>,
    total: u64,
}

impl RankCounts {
    fn new(m: usize) -> Self {
        RankCounts { tree: vec![0; m + 1], total: 0 }
    }

    fn add(&mut self, rank: usize, count: u64) {
        self.total += count;
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] += count;
            i += i & i.wrapping_neg();
        }
    }

    fn remove(&mut self, rank: usize) {
        self.total -= 1;
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] -= 1;
            i += i & i.wrapping_neg();
        }
    }

    /// The rank of the `r`-th smallest (0-based) present value; `r < total`.
    fn select(&self, r: u64) -> usize {
        let mut pos = 0;
        let mut left = r;
        let mut step = (self.tree.len() - 1).checked_ilog2().map_or(0, |b| 1usize << b);
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= left {
                pos = next;
                left -= self.tree[next];
            }
            step >>= 1;
        }
        pos
    }
}

/// Sliding medians of a window longer than its series, in memory of the series' length: the
/// window's values are kept as counts per distinct value (the padding repeats the series, so a
/// window holds each value many times), slid one position per output, with the medians read off
/// by rank. The same values as the padded-buffer paths (the median of the same multiset).
fn long_window_medians<T: Real>(series: &[T], window: usize, padding: Padding<T>, out: &mut [T]) {
    let n = series.len();
    debug_assert!(window > n && n > 0 && out.len() == n);
    // Distinct values in ascending order (the constant padding value among them); NaN has none.
    let mut values: Vec<T> = series.iter().copied().filter(|v| !v.is_nan()).collect();
    let cval = if let Padding::Constant(c) = padding { Some(c) } else { None };
    values.extend(cval);
    values.sort_unstable_by(|a, b| a.to_f64().total_cmp(&b.to_f64()));
    values.dedup_by(|a, b| a.to_f64().total_cmp(&b.to_f64()).is_eq());
    let rank_of = |v: T| values.binary_search_by(|p| p.to_f64().total_cmp(&v.to_f64())).ok();
    let ranks: Vec<Option<usize>> = series.iter().map(|&v| rank_of(v)).collect();
    let cval_rank = cval.and_then(rank_of);
    // The rank a virtual position reads (None: NaN).
    let (len, half) = (n as i64, (window / 2) as i64);
    let rank_at = |p: i64| source_index(p, len, padding).map_or(cval_rank, |i| ranks[i]);

    // The first window, positions -h..=h, counted per source index without visiting each one.
    let mut per_index = vec![0u64; n];
    let mut per_cval = 0u64;
    let (first, last) = (-half, half);
    let period = match padding {
        Padding::Wrap => Some(len),
        Padding::Reflect => Some(2 * len),
        Padding::Mirror => Some(if len == 1 { 1 } else { 2 * len - 2 }),
        Padding::Nearest | Padding::Constant(_) => None,
    };
    if let Some(period) = period {
        // Whole periods hold every position of the period once; the rest one by one.
        let span = last - first + 1;
        let whole = (span / period) as u64;
        for p in 0..period {
            per_index[source_index(p, len, padding).expect("not constant")] += whole;
        }
        for p in first..first + span % period {
            per_index[source_index(p, len, padding).expect("not constant")] += 1;
        }
    } else {
        // Nearest or constant: positions before 0 and after n - 1, then the series once.
        let (before, after) = (half as u64, (half - len + 1).max(0) as u64);
        if matches!(padding, Padding::Constant(_)) {
            per_cval = before + after;
        } else {
            per_index[0] += before;
            per_index[n - 1] += after;
        }
        for c in &mut per_index[..n.min(half as usize + 1)] {
            *c += 1;
        }
    }
    let mut counts = RankCounts::new(values.len());
    for (rank, &c) in ranks.iter().zip(&per_index) {
        if let Some(rank) = rank {
            counts.add(*rank, c);
        }
    }
    if let Some(rank) = cval_rank {
        counts.add(rank, per_cval);
    }

    for (i, o) in out.iter_mut().enumerate() {
        let i = i as i64;
        if i > 0 {
            if let Some(rank) = rank_at(i - 1 - half) {
                counts.remove(rank);
            }
            if let Some(rank) = rank_at(i + half) {
                counts.add(rank, 1);
            }
        }
        let c = counts.total;
        *o = if c == 0 {
            T::from_f64(f64::NAN)
        } else if c % 2 == 1 {
            values[counts.select(c / 2)]
        } else {
            T::from_f64(0.5 * (values[counts.select(c / 2 - 1)].to_f64() + values[counts.select(c / 2)].to_f64()))
        };
    }
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

/// Median of a sorted, NaN-free slice (the mean of the two middle values for an even length),
/// NaN when empty.
#[inline]
fn median_of_sorted<T: Real>(sorted: &[T]) -> f64 {
    let c = sorted.len();
    if c == 0 {
        f64::NAN
    } else if c % 2 == 1 {
        sorted[c / 2].to_f64()
    } else {
        0.5 * (sorted[c / 2 - 1].to_f64() + sorted[c / 2].to_f64())
    }
}

/// A window kept as a sorted vector of its non-NaN values.
struct SortedWindow<T> {
    values: Vec<T>,
}

impl<T: Real> SortedWindow<T> {
    fn new() -> Self {
        SortedWindow { values: Vec::new() }
    }

    fn reset(&mut self, items: &[T]) {
        self.values.clear();
        self.values.extend(items.iter().copied().filter(|v| !v.is_nan()));
        self.values.sort_unstable_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    }

    #[inline]
    fn insert(&mut self, v: T) {
        if !v.is_nan() {
            let at = self.values.partition_point(|&s| s < v);
            self.values.insert(at, v);
        }
    }

    #[inline]
    fn remove(&mut self, v: T) {
        if !v.is_nan() {
            let at = self.values.partition_point(|&s| s < v);
            self.values.remove(at);
        }
    }

    fn median(&self) -> f64 {
        median_of_sorted(&self.values)
    }

    /// Median absolute deviation from `m` (the window median): the median of `|v - m|`,
    /// found as order statistics of two sorted runs (values below `m`, read backwards, and
    /// values from `m` up) by binary search, without sorting the deviations.
    fn mad(&self, m: f64) -> f64 {
        let s = &self.values;
        let c = s.len();
        if c == 0 {
            return f64::NAN;
        }
        let p = s.partition_point(|v| v.to_f64() < m);
        let below = |t: usize| m - s[p - 1 - t].to_f64();
        let above = |t: usize| s[p + t].to_f64() - m;
        let kth = |k: usize| kth_of_two(p, below, c - p, above, k);
        if c % 2 == 1 {
            kth(c / 2)
        } else {
            0.5 * (kth(c / 2 - 1) + kth(c / 2))
        }
    }
}

/// The `k`-th smallest (0-based) of the union of two ascending sequences given by accessors.
#[inline]
fn kth_of_two(a_len: usize, a: impl Fn(usize) -> f64, b_len: usize, b: impl Fn(usize) -> f64, k: usize) -> f64 {
    debug_assert!(k < a_len + b_len);
    // i = how many of the k + 1 smallest come from `a`.
    let mut lo = (k + 1).saturating_sub(b_len);
    let mut hi = (k + 1).min(a_len);
    while lo < hi {
        let i = lo + (hi - lo) / 2;
        if a(i) < b(k - i) {
            lo = i + 1;
        } else {
            hi = i;
        }
    }
    let i = lo;
    let from_a = if i > 0 { a(i - 1) } else { f64::NEG_INFINITY };
    let from_b = if k + 1 > i { b(k - i) } else { f64::NEG_INFINITY };
    from_a.max(from_b)
}

/// Windows up to this length keep a plain sorted array (one short block move per step beats
/// the linked lists of the sorted-blocks method there).
const SMALL_WINDOW: usize = 63;

/// Replaces one occurrence of `old` by `new` in the ascending, NaN-free `sorted`: finds
/// `old` by counting the smaller values (branch-free, vectorises) and bubbles `new` from
/// there to its place, moving only the values between the two positions.
#[inline]
fn replace_sorted<T: Real>(sorted: &mut [T], old: T, new: T) {
    let mut at = sorted.iter().map(|&v| usize::from(v < old)).sum::<usize>();
    if new > old {
        while at + 1 < sorted.len() && sorted[at + 1] < new {
            sorted[at] = sorted[at + 1];
            at += 1;
        }
    } else {
        while at > 0 && sorted[at - 1] > new {
            sorted[at] = sorted[at - 1];
            at -= 1;
        }
    }
    sorted[at] = new;
}

/// Sliding median of a tiny window `W` over a NaN-free `buffer`: every output is computed on
/// its own by a branch-free sorting network (odd-even transposition), run elementwise over a
/// block of outputs so that the compiler vectorises it across positions.
fn network_medians<T: Real, const W: usize>(buffer: &[T], out: &mut [T]) {
    const BLOCK: usize = 64;
    let mut lanes = [[T::ZERO; BLOCK]; W];
    for (b, block) in out.chunks_mut(BLOCK).enumerate() {
        let base = b * BLOCK;
        let len = block.len();
        for (j, lane) in lanes.iter_mut().enumerate() {
            lane[..len].copy_from_slice(&buffer[base + j..base + j + len]);
        }
        for pass in 0..W {
            let mut j = pass % 2;
            while j + 1 < W {
                let (lo, hi) = lanes.split_at_mut(j + 1);
                for (a, b) in lo[j].iter_mut().zip(hi[0].iter_mut()) {
                    let (x, y) = (*a, *b);
                    *a = if y < x { y } else { x };
                    *b = if y < x { x } else { y };
                }
                j += 2;
            }
        }
        block.copy_from_slice(&lanes[W / 2][..len]);
    }
}

/// Sliding median of a small odd window over a NaN-free `buffer`.
fn small_window_medians<T: Real>(buffer: &[T], window: usize, sorted: &mut Vec<T>, out: &mut [T]) {
    sorted.clear();
    sorted.extend_from_slice(&buffer[..window]);
    sorted.sort_unstable_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let h = window / 2;
    out[0] = sorted[h];
    for (i, o) in out.iter_mut().enumerate().skip(1) {
        replace_sorted(sorted, buffer[i - 1], buffer[i + window - 1]);
        *o = sorted[h];
    }
}

/// Sliding median over windows of `buffer` that may hold NaN (ignored).
fn nan_median_windows<T: Real>(buffer: &[T], window: usize, sorted: &mut SortedWindow<T>, out: &mut [T]) {
    sorted.reset(&buffer[..window]);
    for (i, o) in out.iter_mut().enumerate() {
        if i > 0 {
            sorted.remove(buffer[i - 1]);
            sorted.insert(buffer[i + window - 1]);
        }
        *o = T::from_f64(sorted.median());
    }
}

/// An order-preserving integer key of a value: keys compare as the values do (for NaN-free
/// input), so blocks sort with integer comparisons.
#[inline]
fn order_key<T: Real>(value: T) -> u64 {
    let bits = value.to_f64().to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// One block of the sorted-blocks median. Its elements live in rank space: rank `r` is the
/// `r`-th smallest value of the block (ties by position), and the present elements form a
/// doubly linked list over ranks (slot `w` is the sentinel), from which elements are unlinked
/// and re-linked in O(1). "Small" elements are the present ones ranked below the cursor.
struct Block<T> {
    w: usize,
    /// Values by rank, then one +inf for the sentinel (so `peek` needs no branch).
    sorted: Vec<T>,
    /// Rank of the element at each position.
    rank: Vec<u32>,
    /// `[prev, next]` rank of each rank's list neighbours (`w + 1` slots).
    links: Vec<[u32; 2]>,
    /// Rank of the first "large" element, or `w` when every present element is small.
    cursor: usize,
    /// Present elements ranked below the cursor.
    small: usize,
}

const PREV: usize = 0;
const NEXT: usize = 1;

impl<T: Real> Block<T> {
    fn new(w: usize) -> Self {
        let mut sorted = vec![T::ZERO; w + 1];
        sorted[w] = T::INFINITY;
        Block { w, sorted, rank: vec![0; w], links: vec![[0, 0]; w + 1], cursor: w, small: 0 }
    }

    /// The links of rank `r`. Every rank handled here is at most `w` (ranks come from `rank`,
    /// which holds `0..w`, and from `links`, which holds `0..=w`); the check stays in debug
    /// builds and is skipped in the hot loop of release builds.
    #[inline]
    fn link(&self, r: usize) -> [u32; 2] {
        debug_assert!(r <= self.w);
        // SAFETY: r <= w and links.len() == w + 1 (see above).
        unsafe { *self.links.get_unchecked(r) }
    }

    #[inline]
    fn set(&mut self, r: usize, side: usize, to: u32) {
        debug_assert!(r <= self.w && side < 2);
        // SAFETY: as in `link`.
        unsafe { *self.links.get_unchecked_mut(r).get_unchecked_mut(side) = to }
    }

    /// Loads `data` (`w` values) with every element present and the cursor on the median.
    fn load(&mut self, data: &[T], order: &mut Vec<u128>) {
        let w = self.w;
        order.clear();
        // (key, position) packed in one integer: one branch-free comparison per step of the sort.
        order.extend(data.iter().enumerate().map(|(i, &v)| (u128::from(order_key(v)) << 32) | i as u128));
        order.sort_unstable();
        for (r, &packed) in order.iter().enumerate() {
            let i = packed as u32;
            self.rank[i as usize] = r as u32;
            self.sorted[r] = data[i as usize];
        }
        // In rank space the full list is simply 0, 1, ..., w - 1 between the sentinels.
        for (r, link) in self.links.iter_mut().enumerate() {
            *link = [if r == 0 { w as u32 } else { r as u32 - 1 }, if r == w { 0 } else { r as u32 + 1 }];
        }
        self.cursor = w / 2;
        self.small = w / 2;
    }

    /// Unlinks every element, last position first, so that re-linking in position order
    /// restores the list (each re-link undoes the matching unlink).
    fn unwind(&mut self) {
        for i in (0..self.w).rev() {
            let r = self.rank[i] as usize;
            let [p, n] = self.link(r);
            self.set(p as usize, NEXT, n);
            self.set(n as usize, PREV, p);
        }
        self.cursor = self.w;
        self.small = 0;
    }

    /// Removes the element at position `i`.
    #[inline]
    fn delete(&mut self, i: usize) {
        let r = self.rank[i] as usize;
        let [p, n] = self.link(r);
        self.set(p as usize, NEXT, n);
        self.set(n as usize, PREV, p);
        if r < self.cursor {
            self.small -= 1;
        } else {
            if self.cursor == r {
                self.cursor = n as usize;
            }
            if self.small > 0 {
                self.cursor = self.link(self.cursor)[PREV] as usize;
                self.small -= 1;
            }
        }
    }

    /// Puts back the element at position `i` (in the reverse order of the unlinking).
    #[inline]
    fn undelete(&mut self, i: usize) {
        let r = self.rank[i] as usize;
        let [p, n] = self.link(r);
        self.set(p as usize, NEXT, r as u32);
        self.set(n as usize, PREV, r as u32);
        if r < self.cursor {
            self.cursor = self.link(self.cursor)[PREV] as usize;
        }
    }

    #[inline]
    fn advance(&mut self) {
        self.cursor = self.link(self.cursor)[NEXT] as usize;
        self.small += 1;
    }

    #[inline]
    fn at_end(&self) -> bool {
        self.cursor == self.w
    }

    /// The value at the cursor; +inf at the end.
    #[inline]
    fn peek(&self) -> T {
        self.sorted[self.cursor]
    }
}

/// Scratch of the sorted-blocks median, reused across the tasks of one thread.
struct SortedBlocks<T> {
    w: usize,
    a: Block<T>,
    b: Block<T>,
    order: Vec<u128>,
    tail: Vec<T>,
}

impl<T: Real> SortedBlocks<T> {
    fn new(w: usize) -> Self {
        SortedBlocks { w, a: Block::new(w), b: Block::new(w), order: Vec::with_capacity(w), tail: Vec::with_capacity(w) }
    }

    /// Loads block `j` of `buffer` into `b`; a last block running past the buffer is padded
    /// with +inf (only windows that are never written reach into it).
    fn load_b(&mut self, buffer: &[T], j: usize) {
        let lo = j * self.w;
        if lo + self.w <= buffer.len() {
            self.b.load(&buffer[lo..lo + self.w], &mut self.order);
        } else {
            self.tail.clear();
            self.tail.extend_from_slice(&buffer[lo.min(buffer.len())..]);
            self.tail.resize(self.w, T::INFINITY);
            self.b.load(&self.tail, &mut self.order);
        }
    }

    /// Medians of the windows starting at `0..out.len()` of `buffer` (NaN-free, at least
    /// `out.len() + w - 1` long).
    fn run(&mut self, buffer: &[T], out: &mut [T]) {
        let w = self.w;
        let h = w / 2;
        let n_out = out.len();
        let n_blocks = (n_out - 1).div_ceil(w) + 1;
        self.load_b(buffer, 0);
        out[0] = self.b.peek();
        for j in 1..n_blocks {
            std::mem::swap(&mut self.a, &mut self.b);
            self.load_b(buffer, j);
            self.b.unwind();
            let base = (j - 1) * w + 1;
            let steps = w.min(n_out - base);
            let (a, b) = (&mut self.a, &mut self.b);
            for (i, o) in out[base..base + steps].iter_mut().enumerate() {
                a.delete(i);
                b.undelete(i);
                if a.small + b.small < h {
                    let take_a = if b.at_end() {
                        true
                    } else if a.at_end() {
                        false
                    } else {
                        a.peek() <= b.peek()
                    };
                    if take_a {
                        a.advance();
                    } else {
                        b.advance();
                    }
                }
                let (pa, pb) = (a.peek(), b.peek());
                *o = if pa <= pb { pa } else { pb };
            }
        }
    }
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
