//! Sorted-array windows: sorting networks for the smallest windows, one sorted array with a
//! block move per step up to [`SMALL_WINDOW`], and the NaN-aware sorted window (also Hampel's).

use crate::real::Real;

/// Median of a sorted, NaN-free slice (the mean of the two middle values for an even length),
/// NaN when empty.
#[inline]
pub(super) fn median_of_sorted<T: Real>(sorted: &[T]) -> f64 {
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
pub(super) struct SortedWindow<T> {
    pub(super) values: Vec<T>,
}

impl<T: Real> SortedWindow<T> {
    pub(super) fn new() -> Self {
        SortedWindow { values: Vec::new() }
    }

    pub(super) fn reset(&mut self, items: &[T]) {
        self.values.clear();
        self.values.extend(items.iter().copied().filter(|v| !v.is_nan()));
        self.values.sort_unstable_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    }

    #[inline]
    pub(super) fn insert(&mut self, v: T) {
        if !v.is_nan() {
            let at = self.values.partition_point(|&s| s < v);
            self.values.insert(at, v);
        }
    }

    #[inline]
    pub(super) fn remove(&mut self, v: T) {
        if !v.is_nan() {
            let at = self.values.partition_point(|&s| s < v);
            self.values.remove(at);
        }
    }

    pub(super) fn median(&self) -> f64 {
        median_of_sorted(&self.values)
    }

    /// Median absolute deviation from `m` (the window median): the median of `|v - m|`,
    /// found as order statistics of two sorted runs (values below `m`, read backwards, and
    /// values from `m` up) by binary search, without sorting the deviations.
    pub(super) fn mad(&self, m: f64) -> f64 {
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
pub(super) fn kth_of_two(a_len: usize, a: impl Fn(usize) -> f64, b_len: usize, b: impl Fn(usize) -> f64, k: usize) -> f64 {
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
pub(super) const SMALL_WINDOW: usize = 63;

/// Replaces one occurrence of `old` by `new` in the ascending, NaN-free `sorted`: finds
/// `old` by counting the smaller values (branch-free, vectorises) and bubbles `new` from
/// there to its place, moving only the values between the two positions.
#[inline]
pub(super) fn replace_sorted<T: Real>(sorted: &mut [T], old: T, new: T) {
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
pub(super) fn network_medians<T: Real, const W: usize>(buffer: &[T], out: &mut [T]) {
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
pub(super) fn small_window_medians<T: Real>(buffer: &[T], window: usize, sorted: &mut Vec<T>, out: &mut [T]) {
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
pub(super) fn nan_median_windows<T: Real>(buffer: &[T], window: usize, sorted: &mut SortedWindow<T>, out: &mut [T]) {
    sorted.reset(&buffer[..window]);
    for (i, o) in out.iter_mut().enumerate() {
        if i > 0 {
            sorted.remove(buffer[i - 1]);
            sorted.insert(buffer[i + window - 1]);
        }
        *o = T::from_f64(sorted.median());
    }
}
