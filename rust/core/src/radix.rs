//! The step that LSD radix sorts in several kernels share.

/// Turns one byte's counts over `n` keys into the first slot of each byte value; false (and
/// no pass needed: it would keep the order) when every key has the same byte.
pub(crate) fn counts_to_starts(count: &mut [u32; 256], n: usize) -> bool {
    if count.iter().any(|&c| c as usize == n) {
        return false;
    }
    let mut start = 0;
    for c in count.iter_mut() {
        (*c, start) = (start, start + *c);
    }
    true
}
