//! Windows longer than their series: the window as counts per distinct value in a Fenwick
//! tree over their ranks, so the padded series (as long as the window) is never built.

use super::{source_index, Padding};
use crate::real::Real;

/// Windows longer than their series and than this go through [`long_window_medians`]; shorter
/// ones pad (at most this many values more than the series), which is quicker for the many
/// short series of `groups`.
pub(super) const LONG_WINDOW: usize = 256;

/// Counts of the values of a series, by rank, in a Fenwick tree: add or remove one value in
/// O(log m), find the `r`-th smallest present value in O(log m) (`m` distinct values).
pub(super) struct RankCounts {
    tree: Vec<u64>,
    total: u64,
}

impl RankCounts {
    pub(super) fn new(m: usize) -> Self {
        RankCounts { tree: vec![0; m + 1], total: 0 }
    }

    pub(super) fn add(&mut self, rank: usize, count: u64) {
        self.total += count;
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] += count;
            i += i & i.wrapping_neg();
        }
    }

    pub(super) fn remove(&mut self, rank: usize) {
        self.total -= 1;
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] -= 1;
            i += i & i.wrapping_neg();
        }
    }

    /// The rank of the `r`-th smallest (0-based) present value; `r < total`.
    pub(super) fn select(&self, r: u64) -> usize {
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
pub(super) fn long_window_medians<T: Real>(series: &[T], window: usize, padding: Padding<T>, out: &mut [T]) {
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
