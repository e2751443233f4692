//! Suomela's sorted blocks (the long-window path of NaN-free series): each block of `window`
//! values sorted once into a doubly linked list over ranks, one cursor per block.

use crate::radix::counts_to_starts;
use crate::real::Real;

/// An order-preserving integer key of a value: keys compare as the values do (for NaN-free
/// input), so blocks sort with integer comparisons.
#[inline]
pub(super) fn order_key<T: Real>(value: T) -> u64 {
    let bits = value.to_f64().to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Bits of a value's key a packed sort key holds at least: of its offset from the block's
/// least key, from the range's leading bit down (values closer than 2^-30 of the block's key
/// range share them and go to the fix-up).
const MIN_KEY_BITS: u32 = 30;

/// Sorts a block's positions by value (ties by position), its scratch reused from block to
/// block. Each value's position and at least [`MIN_KEY_BITS`] leading bits of its key's offset are
/// packed into the fewest whole bytes of one integer (five at window 1001, six for blocks up
/// to 2^18 values), sorted by a least-significant-digit radix sort, a byte per pass, skipping
/// the bytes every key shares; runs equal in their leading bits are then checked against the
/// whole keys. That moves 8 bytes a value in five passes where (key, position) pairs moved 12
/// in eight. Longer blocks sort the pairs.
#[derive(Default)]
pub(super) struct RankSort {
    keys: Vec<u64>,
    positions: Vec<u32>,
    spare_keys: Vec<u64>,
    spare_positions: Vec<u32>,
}

impl RankSort {
    /// The positions of `data` in ascending order of value, ties in position order.
    pub(super) fn positions_by_value<T: Real>(&mut self, data: &[T]) -> &[u32] {
        self.sort(data);
        &self.positions
    }

    fn sort<T: Real>(&mut self, data: &[T]) {
        let n = data.len();
        // Bits that number the positions; the rest of the whole bytes holds the key's leading bits.
        let position_bits = usize::BITS - n.saturating_sub(1).leading_zeros();
        match (position_bits + MIN_KEY_BITS).div_ceil(8) {
            ..=4 => self.sort_packed::<4, T>(data, position_bits),
            5 => self.sort_packed::<5, T>(data, position_bits),
            6 => self.sort_packed::<6, T>(data, position_bits),
            _ => self.sort_wide(data),
        }
    }

    /// Sorts `(leading key bits, position)` packed into `BYTES` bytes (a pass per byte).
    fn sort_packed<const BYTES: usize, T: Real>(&mut self, data: &[T], position_bits: u32) {
        let n = data.len();
        let key_bits = BYTES as u32 * 8 - position_bits;
        // The leading bits of the keys' offsets from the least key: as many bits as the block's
        // own range needs, so values that agree in their first digits (1e9 + noise) still
        // spread over the passes.
        self.keys.clear();
        self.keys.extend(data.iter().map(|&v| order_key(v)));
        let (lo, hi) = self.keys.iter().fold((u64::MAX, 0), |(lo, hi), &key| (lo.min(key), hi.max(key)));
        let shift = (64 - hi.saturating_sub(lo).leading_zeros()).saturating_sub(key_bits);
        let packed = &mut self.spare_keys;
        packed.clear();
        packed.extend(self.keys.iter().enumerate().map(|(i, &key)| (key - lo) >> shift << position_bits | i as u64));
        let (mut sorted, mut scratch) = (&mut packed[..], &mut self.keys[..n]);
        let mut counts = byte_counts::<BYTES>(sorted);
        let mut swapped = false;
        for (byte, count) in counts.iter_mut().enumerate() {
            if !counts_to_starts(count, n) {
                continue;
            }
            for &key in sorted.iter() {
                let slot = &mut count[((key >> (8 * byte)) & 0xff) as usize];
                // SAFETY: the slots of a byte value start at the count of smaller bytes and
                // advance once per key holding it, so every slot is below n = scratch.len().
                unsafe { *scratch.get_unchecked_mut(*slot as usize) = key };
                *slot += 1;
            }
            std::mem::swap(&mut sorted, &mut scratch);
            swapped = !swapped;
        }
        if swapped {
            std::mem::swap(&mut self.keys, &mut self.spare_keys);
        }
        // Sorted by (leading key bits, position).
        let packed = &self.spare_keys[..n];
        let mask = (1u64 << position_bits) - 1;
        self.positions.clear();
        self.positions.extend(packed.iter().map(|&p| (p & mask) as u32));
        // Keys equal in their leading bits are in position order; where the whole keys differ
        // there, such a run may be out of order: sort it by (key, position). Rare for real data
        // (equal values are already in order), and never wrong.
        let key = |position: u32| order_key(data[position as usize]);
        let mut start = 0;
        while start + 1 < n {
            let lead = packed[start] >> position_bits;
            if packed[start + 1] >> position_bits != lead {
                start += 1;
                continue;
            }
            let mut end = start + 2;
            while end < n && packed[end] >> position_bits == lead {
                end += 1;
            }
            let run = &mut self.positions[start..end];
            if run.windows(2).any(|pair| key(pair[0]) > key(pair[1])) {
                run.sort_unstable_by_key(|&position| (key(position), position));
            }
            start = end;
        }
    }

    /// Sorts by the whole keys (eight passes, positions alongside): blocks too long to pack.
    fn sort_wide<T: Real>(&mut self, data: &[T]) {
        let n = data.len();
        self.keys.clear();
        self.keys.extend(data.iter().map(|&v| order_key(v)));
        self.positions.clear();
        self.positions.extend(0..n as u32);
        self.spare_keys.resize(n, 0);
        self.spare_positions.resize(n, 0);
        let mut counts = byte_counts::<8>(&self.keys);
        for (byte, count) in counts.iter_mut().enumerate() {
            if !counts_to_starts(count, n) {
                continue;
            }
            // Stable: equal bytes keep the order of the previous pass.
            for (&key, &position) in self.keys.iter().zip(&self.positions) {
                let slot = &mut count[((key >> (8 * byte)) & 0xff) as usize];
                self.spare_keys[*slot as usize] = key;
                self.spare_positions[*slot as usize] = position;
                *slot += 1;
            }
            std::mem::swap(&mut self.keys, &mut self.spare_keys);
            std::mem::swap(&mut self.positions, &mut self.spare_positions);
        }
    }
}

/// How many of `keys` hold each value of each of their low `BYTES` bytes.
fn byte_counts<const BYTES: usize>(keys: &[u64]) -> [[u32; 256]; BYTES] {
    let mut counts = [[0u32; 256]; BYTES];
    for &key in keys {
        for (byte, count) in counts.iter_mut().enumerate() {
            count[((key >> (8 * byte)) & 0xff) as usize] += 1;
        }
    }
    counts
}

/// One block of the sorted-blocks median. Its elements live in rank space: rank `r` is the
/// `r`-th smallest value of the block (ties by position), and the present elements form a
/// doubly linked list over ranks (slot `w` is the sentinel), from which elements are unlinked
/// and re-linked in O(1). "Small" elements are the present ones ranked below the cursor.
pub(super) struct Block<T> {
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

pub(super) const PREV: usize = 0;
pub(super) const NEXT: usize = 1;

impl<T: Real> Block<T> {
    pub(super) fn new(w: usize) -> Self {
        let mut sorted = vec![T::ZERO; w + 1];
        sorted[w] = T::INFINITY;
        Block { w, sorted, rank: vec![0; w], links: vec![[0, 0]; w + 1], cursor: w, small: 0 }
    }

    /// Loads `data` (`w` values) with every element present and the cursor on the median.
    pub(super) fn load(&mut self, data: &[T], ranking: &mut RankSort) {
        let w = self.w;
        for (r, &i) in ranking.positions_by_value(data).iter().enumerate() {
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
    pub(super) fn unwind(&mut self) {
        let mut walk = self.walk();
        for i in (0..walk.w).rev() {
            walk.unlink(i);
        }
        self.cursor = self.w;
        self.small = 0;
    }

    /// The block's lists, cursor and count of small elements as one local value, so that a
    /// step keeps them in registers (through `&mut self` the compiler reloads them after every
    /// store into the links).
    fn walk(&mut self) -> Walk<'_, T> {
        Walk { w: self.w, links: &mut self.links, rank: &self.rank, sorted: &self.sorted, cursor: self.cursor, small: self.small }
    }
}

/// A block being slid over: see [`Block::walk`]; [`Walk::state`] gives back its cursor and
/// count of small elements.
struct Walk<'a, T> {
    w: usize,
    links: &'a mut [[u32; 2]],
    rank: &'a [u32],
    sorted: &'a [T],
    cursor: usize,
    small: usize,
}

impl<T: Real> Walk<'_, T> {
    fn state(&self) -> (usize, usize) {
        (self.cursor, self.small)
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

    /// Takes the element at position `i` out of the list; its rank and its next neighbour's.
    #[inline]
    fn unlink(&mut self, i: usize) -> (usize, u32) {
        let r = self.rank[i] as usize;
        let [p, n] = self.link(r);
        self.set(p as usize, NEXT, n);
        self.set(n as usize, PREV, p);
        (r, n)
    }

    /// Removes the element at position `i`: a small one leaves one fewer small; a large one
    /// moves the cursor back one (onto its list neighbour if it was the cursor's), so that the
    /// count of small elements drops by one either way (while there is one). Selects in place
    /// of branches: which case holds is a coin toss for every step of noisy data, and a
    /// mispredicted branch cost more than computing both (about 25 % of the filter's time at
    /// window 1001).
    #[inline]
    fn delete(&mut self, i: usize) {
        use std::hint::select_unpredictable as select;
        let (r, n) = self.unlink(i);
        let from = select(self.cursor == r, n as usize, self.cursor);
        let back = self.link(from)[PREV] as usize;
        let has_small = self.small > 0;
        self.cursor = select(r < self.cursor, self.cursor, select(has_small, back, from));
        self.small -= usize::from(has_small);
    }

    /// Puts back the element at position `i` (in the reverse order of the unlinking); one
    /// below the cursor moves it back one, so the count of small elements is unchanged.
    #[inline]
    fn undelete(&mut self, i: usize) {
        let r = self.rank[i] as usize;
        let [p, n] = self.link(r);
        self.set(p as usize, NEXT, r as u32);
        self.set(n as usize, PREV, r as u32);
        let back = self.link(self.cursor)[PREV] as usize;
        self.cursor = std::hint::select_unpredictable(r < self.cursor, back, self.cursor);
    }

    /// Moves the cursor on one (one more small element) where `step`.
    #[inline]
    fn advance_if(&mut self, step: bool) {
        let next = self.link(self.cursor)[NEXT] as usize;
        self.cursor = std::hint::select_unpredictable(step, next, self.cursor);
        self.small += usize::from(step);
    }

    #[inline]
    fn at_end(&self) -> bool {
        self.cursor == self.w
    }

    /// The value at the cursor; +inf at the end.
    #[inline]
    fn peek(&self) -> T {
        debug_assert!(self.cursor <= self.w);
        // SAFETY: the cursor is a rank or the sentinel, at most w, and sorted.len() == w + 1.
        unsafe { *self.sorted.get_unchecked(self.cursor) }
    }
}

/// Scratch of the sorted-blocks median, reused across the tasks of one thread.
pub(super) struct SortedBlocks<T> {
    w: usize,
    a: Block<T>,
    b: Block<T>,
    ranking: RankSort,
    tail: Vec<T>,
}

impl<T: Real> SortedBlocks<T> {
    pub(super) fn new(w: usize) -> Self {
        SortedBlocks { w, a: Block::new(w), b: Block::new(w), ranking: RankSort::default(), tail: Vec::with_capacity(w) }
    }

    /// Loads block `j` of `buffer` into `b`; a last block running past the buffer is padded
    /// with +inf (only windows that are never written reach into it).
    pub(super) fn load_b(&mut self, buffer: &[T], j: usize) {
        let lo = j * self.w;
        if lo + self.w <= buffer.len() {
            self.b.load(&buffer[lo..lo + self.w], &mut self.ranking);
        } else {
            self.tail.clear();
            self.tail.extend_from_slice(&buffer[lo.min(buffer.len())..]);
            self.tail.resize(self.w, T::INFINITY);
            self.b.load(&self.tail, &mut self.ranking);
        }
    }

    /// Medians of the windows starting at `0..out.len()` of `buffer` (NaN-free, at least
    /// `out.len() + w - 1` long).
    #[allow(clippy::needless_bitwise_bool, reason = "& and | on the step's conditions: no branches")]
    pub(super) fn run(&mut self, buffer: &[T], out: &mut [T]) {
        let w = self.w;
        let h = w / 2;
        let n_out = out.len();
        let n_blocks = (n_out - 1).div_ceil(w) + 1;
        self.load_b(buffer, 0);
        out[0] = self.b.sorted[self.b.cursor];
        for j in 1..n_blocks {
            std::mem::swap(&mut self.a, &mut self.b);
            self.load_b(buffer, j);
            self.b.unwind();
            let base = (j - 1) * w + 1;
            let steps = w.min(n_out - base);
            let (mut a, mut b) = (self.a.walk(), self.b.walk());
            for (i, o) in out[base..base + steps].iter_mut().enumerate() {
                a.delete(i);
                b.undelete(i);
                // One small element short: the least large one of either block becomes small.
                let short = a.small + b.small < h;
                let take_a = b.at_end() | (!a.at_end() & (a.peek() <= b.peek()));
                a.advance_if(short & take_a);
                b.advance_if(short & !take_a);
                let (pa, pb) = (a.peek(), b.peek());
                *o = std::hint::select_unpredictable(pa <= pb, pa, pb);
            }
            // Block b slides on as the next step's a.
            (self.b.cursor, self.b.small) = b.state();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn blocks_match_sorting_every_window() {
        let mut rng = Rng::new(5);
        for w in [65, 129, 301] {
            let mut blocks = SortedBlocks::new(w);
            for n_out in [1, 2, w - 1, w, w + 1, 7 * w + 3] {
                let input: Vec<f64> = (0..n_out + w - 1)
                    .map(|_| if rng.below(8) == 0 { rng.below(3) as f64 } else { rng.uniform() - 0.5 })
                    .collect();
                let want: Vec<f64> = input
                    .windows(w)
                    .map(|window| {
                        let mut window = window.to_vec();
                        window.sort_by(f64::total_cmp);
                        window[w / 2]
                    })
                    .collect();
                let mut out = vec![f64::NAN; n_out];
                blocks.run(&input, &mut out);
                assert_eq!(out, want, "window {w}, outputs {n_out}");
            }
        }
    }

    #[test]
    fn rank_sort_orders_positions_as_a_comparison_sort_of_key_then_position() {
        let mut rng = Rng::new(3);
        let mut ranking = RankSort::default();
        // 300,000 values are too many to pack in six bytes (the wide sort); "near" values differ only in
        // bits the packed key drops, so the runs equal in leading bits must be reordered.
        for n in [0, 1, 2, 7, 256, 1001, 70_000, 300_000] {
            for distinct in [0, 1, 3, 50, usize::MAX] {
                let data: Vec<f64> = (0..n)
                    .map(|_| match rng.below(10) {
                        0 => f64::INFINITY,
                        1 => f64::NEG_INFINITY,
                        2 => -0.0,
                        _ if distinct == usize::MAX => 1.0 + rng.below(100) as f64 * f64::EPSILON,
                        _ if distinct > 0 => rng.below(distinct) as f64 - 1.0,
                        _ => rng.uniform() - 0.5,
                    })
                    .collect();
                let mut want: Vec<u32> = (0..n as u32).collect();
                want.sort_by_key(|&i| (order_key(data[i as usize]), i));
                assert_eq!(ranking.positions_by_value(&data), &want[..], "n {n}, distinct {distinct}");
            }
        }
        // Values agreeing in their leading digits: the packed keys hold their offsets.
        for n in [2, 1001, 5000] {
            let data: Vec<f64> = (0..n).map(|_| 1e9 + (rng.below(1000) as f64 - 500.0) * 1e-6).collect();
            let mut want: Vec<u32> = (0..n as u32).collect();
            want.sort_by_key(|&i| (order_key(data[i as usize]), i));
            assert_eq!(ranking.positions_by_value(&data), &want[..], "offsets, n {n}");
        }
    }
}
