//! Sliding medians of windows up to [`REGISTER_WINDOW`] with the sorted window held in vector
//! registers (x86-64 with AVX-512F, or AVX2 for windows up to [`AVX2_WINDOW`]).
//!
//! The window's values stay sorted across `N` registers of lanes, padded with -inf below and
//! +inf above so that the median always sits in the same lane: lane `2N` of `4N` for `f64`,
//! `4N` of `8N` for `f32`. A step replaces the value leaving the window by the one entering
//! it without a search or a branch, every register at once (shown for the four `f64` lanes of
//! AVX2; AVX-512 registers hold eight `f64` or sixteen `f32`, with the median on lane `4N` or
//! `8N`):
//!
//! - remove `old`: every lane holding a value `>= old` takes its upper neighbour's value
//!   (`blendv` of the register and the register shifted down by one lane), which drops the
//!   first lane equal to `old` and brings +inf in at the top;
//! - insert `new`: lane `i` becomes `min(max(s[i], new), b[i])`, where `s` is the array
//!   shifted up by one lane (-inf at the bottom), which puts `new` at its rank and moves the
//!   larger values up one lane, dropping the top +inf.
//!
//! A sorted array with a block move per step (`window::small_window_medians`) measured about
//! 40 ns per output at windows 11-31; here the state stays in registers, and a step costs a
//! few instructions per register.
//!
//! Only ties differ from a sorted array of the window (which of two equal values leaves);
//! the values, and so every median, are the same.

use crate::real::Real;

/// The longest window the register kernel takes with AVX-512 (16 registers of eight `f64`
/// lanes, 8 of sixteen `f32` lanes; one lane is padding at least).
pub(super) const REGISTER_WINDOW: usize = 127;

/// The longest window it takes with AVX2 only: AVX2 has 16 registers, and beyond about a
/// dozen the window spills to memory every step (measured slower than the sorted blocks at
/// window 101).
pub(super) const AVX2_WINDOW: usize = 63;

/// Sliding medians of an odd `window` (3..=[`REGISTER_WINDOW`]) over a NaN-free `buffer`
/// (`out.len() + window - 1` values) with the register kernel, when this CPU has AVX-512F (or
/// AVX2, up to [`AVX2_WINDOW`]) and `T` is `f32` or `f64`. Returns `false` (and writes
/// nothing) otherwise.
pub(super) fn register_medians<T: Real>(buffer: &[T], window: usize, out: &mut [T]) -> bool {
    debug_assert!(window % 2 == 1 && window <= REGISTER_WINDOW);
    debug_assert_eq!(buffer.len(), out.len() + window - 1);
    #[cfg(target_arch = "x86_64")]
    {
        use std::any::TypeId;
        let avx512 = std::arch::is_x86_feature_detected!("avx512f");
        if out.is_empty() || !(avx512 || (window <= AVX2_WINDOW && std::arch::is_x86_feature_detected!("avx2"))) {
            return false;
        }
        if TypeId::of::<T>() == TypeId::of::<f64>() {
            // SAFETY: T is f64 (same type, so same layout); the slices are reborrowed with
            // their own lengths and lifetimes.
            let (buffer, out) = unsafe { (retype::<T, f64>(buffer), retype_mut::<T, f64>(out)) };
            if avx512 {
                // SAFETY: the CPU supports AVX-512F, checked above.
                unsafe { x86::medians_f64_avx512(buffer, window, out) };
            } else {
                // SAFETY: the CPU supports AVX2, checked above.
                unsafe { x86::medians_f64(buffer, window, out) };
            }
            return true;
        }
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            // SAFETY: as above, T is f32.
            let (buffer, out) = unsafe { (retype::<T, f32>(buffer), retype_mut::<T, f32>(out)) };
            if avx512 {
                // SAFETY: the CPU supports AVX-512F, checked above.
                unsafe { x86::medians_f32_avx512(buffer, window, out) };
            } else {
                // SAFETY: the CPU supports AVX2, checked above.
                unsafe { x86::medians_f32(buffer, window, out) };
            }
            return true;
        }
    }
    let _ = (buffer, window, out);
    false
}

/// `&[T]` as `&[U]`; the caller guarantees that `T` and `U` are the same type.
#[cfg(target_arch = "x86_64")]
unsafe fn retype<T, U>(s: &[T]) -> &[U] {
    // SAFETY: T and U are the same type (the caller's guarantee).
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<U>(), s.len()) }
}

/// `&mut [T]` as `&mut [U]`; the caller guarantees that `T` and `U` are the same type.
#[cfg(target_arch = "x86_64")]
unsafe fn retype_mut<T, U>(s: &mut [T]) -> &mut [U] {
    // SAFETY: T and U are the same type (the caller's guarantee).
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<U>(), s.len()) }
}

/// The first window sorted, padded to `lanes` values with -inf below and +inf above so that
/// its median lands on lane `lanes / 2`.
fn padded_sorted<T: Real>(first: &[T], lanes: usize) -> Vec<T> {
    let h = first.len() / 2;
    let below = lanes / 2 - h;
    let mut values = vec![T::INFINITY; lanes];
    for v in &mut values[..below] {
        *v = T::ZERO - T::INFINITY;
    }
    values[below..below + first.len()].copy_from_slice(first);
    values[below..below + first.len()].sort_unstable_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    values
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m256, __m256d, _mm256_blend_pd, _mm256_blend_ps, _mm256_blendv_pd, _mm256_blendv_ps, _mm256_castpd256_pd128,
        _mm256_castps256_ps128, _mm256_cmp_pd, _mm256_cmp_ps, _mm256_extractf128_pd, _mm256_extractf128_ps, _mm256_loadu_pd,
        _mm256_loadu_ps, _mm256_max_pd, _mm256_max_ps, _mm256_min_pd, _mm256_min_ps, _mm256_permute4x64_pd,
        _mm256_permutevar8x32_ps, _mm256_set1_pd, _mm256_set1_ps, _mm256_setr_epi32, _mm_cvtsd_f64, _mm_cvtss_f32, _CMP_GE_OQ,
    };
    use std::arch::x86_64::{
        __m512, __m512d, _mm256_castpd_ps, _mm256_cvtsd_f64, _mm256_cvtss_f32, _mm512_castps_pd, _mm512_cmp_pd_mask,
        _mm512_cmp_ps_mask, _mm512_cvtsd_f64, _mm512_cvtss_f32, _mm512_extractf64x4_pd, _mm512_loadu_pd, _mm512_loadu_ps,
        _mm512_mask_blend_pd, _mm512_mask_blend_ps, _mm512_max_pd, _mm512_max_ps, _mm512_min_pd, _mm512_min_ps,
        _mm512_permutex2var_pd, _mm512_permutex2var_ps, _mm512_set1_pd, _mm512_set1_ps, _mm512_setr_epi32, _mm512_setr_epi64,
    };

    use super::padded_sorted;

    /// Two halves of a task's outputs are stepped in turn (each step is one chain of dependent
    /// instructions; the other half's fills its gaps) when both windows fit in this many
    /// registers together (AVX-512 has 32).
    const STREAMED_REGISTERS: usize = 16;

    /// ... and each half has at least this many outputs.
    const MIN_STREAM: usize = 32;

    /// How many of `len` outputs (an even number, maybe 0) a kernel of `registers` registers
    /// per window runs as two streams; the rest, if any, runs as one.
    fn streamed_outputs(registers: usize, len: usize) -> usize {
        if 2 * registers <= STREAMED_REGISTERS && len >= 2 * MIN_STREAM {
            len / 2 * 2
        } else {
            0
        }
    }

    /// Calls `$kernel::<N>(buffer, window, out)` with the number of registers `N` the window
    /// needs (`window + 1` lanes at least).
    macro_rules! by_registers {
        ($kernel:ident, $lanes:expr, $buffer:expr, $window:expr, $out:expr, $($n:literal)*) => {
            match ($window + 1).div_ceil($lanes) {
                // SAFETY: the kernel's target feature is enabled in the caller (its only one).
                $($n => unsafe { $kernel::<$n>($buffer, $window, $out) },)*
                n => unreachable!("{n} registers for a window of {}", $window),
            }
        };
    }

    /// `f64` windows: `N` registers of four lanes, `window <= 4N - 1`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn medians_f64(buffer: &[f64], window: usize, out: &mut [f64]) {
        by_registers!(kernel_f64, 4, buffer, window, out, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    }

    #[target_feature(enable = "avx2")]
    unsafe fn kernel_f64<const N: usize>(buffer: &[f64], window: usize, out: &mut [f64]) {
        let start = padded_sorted(&buffer[..window], 4 * N);
        out[0] = start[2 * N];
        let above = _mm256_set1_pd(f64::INFINITY);
        let below = _mm256_set1_pd(f64::NEG_INFINITY);
        // SAFETY: `start` holds 4N values, read four at a time.
        let mut regs: [__m256d; N] = std::array::from_fn(|r| unsafe { _mm256_loadu_pd(start.as_ptr().add(4 * r)) });
        let steps = out[1..].iter_mut().zip(&buffer[..buffer.len() - window]).zip(&buffer[window..]);
        for ((o, &old), &new) in steps {
            let old = _mm256_set1_pd(old);
            let new = _mm256_set1_pd(new);
            // Register by register, so that few values are live at once: register r + 1 is
            // read (for the removal) before it is rewritten.
            let mut prev = below;
            for r in 0..N {
                let next = if r + 1 < N { regs[r + 1] } else { above };
                // [a1, a2, a3, next0]
                let down = _mm256_permute4x64_pd::<0b00_11_10_01>(_mm256_blend_pd::<0b0001>(regs[r], next));
                let kept = _mm256_blendv_pd(regs[r], down, _mm256_cmp_pd::<_CMP_GE_OQ>(regs[r], old));
                // [prev3, kept0, kept1, kept2]
                let up = _mm256_permute4x64_pd::<0b10_01_00_11>(_mm256_blend_pd::<0b1000>(kept, prev));
                regs[r] = _mm256_min_pd(_mm256_max_pd(up, new), kept);
                prev = kept;
            }
            // Lane 2N: register N / 2, lane 0 (N even) or 2 (N odd).
            let median: __m256d = regs[N / 2];
            *o = if N.is_multiple_of(2) {
                _mm_cvtsd_f64(_mm256_castpd256_pd128(median))
            } else {
                _mm_cvtsd_f64(_mm256_extractf128_pd::<1>(median))
            };
        }
    }

    /// `f32` windows: `N` registers of eight lanes, `window <= 8N - 1`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn medians_f32(buffer: &[f32], window: usize, out: &mut [f32]) {
        by_registers!(kernel_f32, 8, buffer, window, out, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    }

    #[target_feature(enable = "avx2")]
    unsafe fn kernel_f32<const N: usize>(buffer: &[f32], window: usize, out: &mut [f32]) {
        let start = padded_sorted(&buffer[..window], 8 * N);
        out[0] = start[4 * N];
        let above = _mm256_set1_ps(f32::INFINITY);
        let below = _mm256_set1_ps(f32::NEG_INFINITY);
        let rotate_down = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0);
        let rotate_up = _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6);
        // SAFETY: `start` holds 8N values, read eight at a time.
        let mut regs: [__m256; N] = std::array::from_fn(|r| unsafe { _mm256_loadu_ps(start.as_ptr().add(8 * r)) });
        let steps = out[1..].iter_mut().zip(&buffer[..buffer.len() - window]).zip(&buffer[window..]);
        for ((o, &old), &new) in steps {
            let old = _mm256_set1_ps(old);
            let new = _mm256_set1_ps(new);
            let mut prev = below;
            for r in 0..N {
                let next = if r + 1 < N { regs[r + 1] } else { above };
                // [a1 .. a7, next0]
                let down = _mm256_permutevar8x32_ps(_mm256_blend_ps::<0b0000_0001>(regs[r], next), rotate_down);
                let kept = _mm256_blendv_ps(regs[r], down, _mm256_cmp_ps::<_CMP_GE_OQ>(regs[r], old));
                // [prev7, kept0 .. kept6]
                let up = _mm256_permutevar8x32_ps(_mm256_blend_ps::<0b1000_0000>(kept, prev), rotate_up);
                regs[r] = _mm256_min_ps(_mm256_max_ps(up, new), kept);
                prev = kept;
            }
            // Lane 4N: register N / 2, lane 0 (N even) or 4 (N odd).
            let median: __m256 = regs[N / 2];
            *o = if N.is_multiple_of(2) {
                _mm_cvtss_f32(_mm256_castps256_ps128(median))
            } else {
                _mm_cvtss_f32(_mm256_extractf128_ps::<1>(median))
            };
        }
    }

    /// `f64` windows with AVX-512F: `N` registers of eight lanes, `window <= 8N - 1`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn medians_f64_avx512(buffer: &[f64], window: usize, out: &mut [f64]) {
        by_registers!(kernel_f64_avx512, 8, buffer, window, out, 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn kernel_f64_avx512<const N: usize>(buffer: &[f64], window: usize, out: &mut [f64]) {
        let pairs = streamed_outputs(N, out.len());
        // SAFETY (both calls): AVX-512F is enabled here; each call gets its outputs and the
        // `window - 1` inputs more that they read.
        if pairs > 0 {
            unsafe { streams_f64_avx512::<N, 2>(&buffer[..pairs + window - 1], window, &mut out[..pairs]) };
        }
        if pairs < out.len() {
            unsafe { streams_f64_avx512::<N, 1>(&buffer[pairs..], window, &mut out[pairs..]) };
        }
    }

    /// `S` equal parts of `out`, each with its own window in registers, stepped in turn.
    #[target_feature(enable = "avx512f")]
    unsafe fn streams_f64_avx512<const N: usize, const S: usize>(buffer: &[f64], window: usize, out: &mut [f64]) {
        let len = out.len() / S;
        assert!(len >= 1 && len * S == out.len() && buffer.len() == out.len() + window - 1);
        let above = _mm512_set1_pd(f64::INFINITY);
        let below = _mm512_set1_pd(f64::NEG_INFINITY);
        // Lanes 0-7 pick from the first operand, 8-15 from the second.
        let shift_down = _mm512_setr_epi64(1, 2, 3, 4, 5, 6, 7, 8);
        let shift_up = _mm512_setr_epi64(7, 8, 9, 10, 11, 12, 13, 14);
        let mut regs: [[__m512d; N]; S] = std::array::from_fn(|s| {
            let start = padded_sorted(&buffer[s * len..s * len + window], 8 * N);
            out[s * len] = start[4 * N];
            // SAFETY: `start` holds 8N values, read eight at a time.
            std::array::from_fn(|r| unsafe { _mm512_loadu_pd(start.as_ptr().add(8 * r)) })
        });
        for i in 1..len {
            for (s, regs) in regs.iter_mut().enumerate() {
                let at = s * len + i;
                // SAFETY: at <= S * len - 1 = out.len() - 1, and at + window - 1 <=
                // buffer.len() - 1 (asserted above).
                let (old, new) = unsafe { (*buffer.get_unchecked(at - 1), *buffer.get_unchecked(at + window - 1)) };
                let old = _mm512_set1_pd(old);
                let new = _mm512_set1_pd(new);
                let mut prev = below;
                for r in 0..N {
                    let next = if r + 1 < N { regs[r + 1] } else { above };
                    let down = _mm512_permutex2var_pd(regs[r], shift_down, next);
                    let kept = _mm512_mask_blend_pd(_mm512_cmp_pd_mask::<_CMP_GE_OQ>(regs[r], old), regs[r], down);
                    let up = _mm512_permutex2var_pd(prev, shift_up, kept);
                    regs[r] = _mm512_min_pd(_mm512_max_pd(up, new), kept);
                    prev = kept;
                }
                // Lane 4N: register N / 2, lane 0 (N even) or 4 (N odd).
                let median: __m512d = regs[N / 2];
                let median = if N.is_multiple_of(2) {
                    _mm512_cvtsd_f64(median)
                } else {
                    _mm256_cvtsd_f64(_mm512_extractf64x4_pd::<1>(median))
                };
                // SAFETY: as above.
                unsafe { *out.get_unchecked_mut(at) = median };
            }
        }
    }

    /// `f32` windows with AVX-512F: `N` registers of sixteen lanes, `window <= 16N - 1`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn medians_f32_avx512(buffer: &[f32], window: usize, out: &mut [f32]) {
        by_registers!(kernel_f32_avx512, 16, buffer, window, out, 1 2 3 4 5 6 7 8);
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn kernel_f32_avx512<const N: usize>(buffer: &[f32], window: usize, out: &mut [f32]) {
        let pairs = streamed_outputs(N, out.len());
        // SAFETY (both calls): as for f64.
        if pairs > 0 {
            unsafe { streams_f32_avx512::<N, 2>(&buffer[..pairs + window - 1], window, &mut out[..pairs]) };
        }
        if pairs < out.len() {
            unsafe { streams_f32_avx512::<N, 1>(&buffer[pairs..], window, &mut out[pairs..]) };
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn streams_f32_avx512<const N: usize, const S: usize>(buffer: &[f32], window: usize, out: &mut [f32]) {
        let len = out.len() / S;
        assert!(len >= 1 && len * S == out.len() && buffer.len() == out.len() + window - 1);
        let above = _mm512_set1_ps(f32::INFINITY);
        let below = _mm512_set1_ps(f32::NEG_INFINITY);
        let shift_down = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
        let shift_up = _mm512_setr_epi32(15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30);
        let mut regs: [[__m512; N]; S] = std::array::from_fn(|s| {
            let start = padded_sorted(&buffer[s * len..s * len + window], 16 * N);
            out[s * len] = start[8 * N];
            // SAFETY: `start` holds 16N values, read sixteen at a time.
            std::array::from_fn(|r| unsafe { _mm512_loadu_ps(start.as_ptr().add(16 * r)) })
        });
        for i in 1..len {
            for (s, regs) in regs.iter_mut().enumerate() {
                let at = s * len + i;
                // SAFETY: as for f64.
                let (old, new) = unsafe { (*buffer.get_unchecked(at - 1), *buffer.get_unchecked(at + window - 1)) };
                let old = _mm512_set1_ps(old);
                let new = _mm512_set1_ps(new);
                let mut prev = below;
                for r in 0..N {
                    let next = if r + 1 < N { regs[r + 1] } else { above };
                    let down = _mm512_permutex2var_ps(regs[r], shift_down, next);
                    let kept = _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_GE_OQ>(regs[r], old), regs[r], down);
                    let up = _mm512_permutex2var_ps(prev, shift_up, kept);
                    regs[r] = _mm512_min_ps(_mm512_max_ps(up, new), kept);
                    prev = kept;
                }
                // Lane 8N: register N / 2, lane 0 (N even) or 8 (N odd).
                let median: __m512 = regs[N / 2];
                let median = if N.is_multiple_of(2) {
                    _mm512_cvtss_f32(median)
                } else {
                    _mm256_cvtss_f32(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(median))))
                };
                // SAFETY: as above.
                unsafe { *out.get_unchecked_mut(at) = median };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Every window's median by sorting a copy of it.
    fn naive<T: Real>(buffer: &[T], window: usize) -> Vec<T> {
        buffer
            .windows(window)
            .map(|w| {
                let mut w = w.to_vec();
                w.sort_unstable_by(|a, b| a.partial_cmp(b).expect("no NaN"));
                w[window / 2]
            })
            .collect()
    }

    fn series(rng: &mut Rng, n: usize, distinct: usize) -> Vec<f64> {
        (0..n)
            .map(|i| match rng.below(20) {
                0 => f64::INFINITY,
                1 => f64::NEG_INFINITY,
                2 => -0.0,
                _ if distinct > 0 => rng.below(distinct) as f64 - (distinct / 2) as f64,
                _ => rng.uniform() * 2.0 - 1.0 + (i % 7) as f64,
            })
            .collect()
    }

    /// Every kernel this CPU can run on `buffer`: the dispatcher's choice, then AVX2 and
    /// AVX-512 each on their own.
    fn all_kernels_f64(buffer: &[f64], window: usize, len: usize) -> Vec<(&'static str, Vec<f64>)> {
        let mut runs = Vec::new();
        let mut out = vec![f64::NAN; len];
        if register_medians(buffer, window, &mut out) {
            runs.push(("dispatch", out));
        }
        #[cfg(target_arch = "x86_64")]
        {
            if window <= AVX2_WINDOW && std::arch::is_x86_feature_detected!("avx2") {
                let mut out = vec![f64::NAN; len];
                // SAFETY: AVX2 checked just above.
                unsafe { x86::medians_f64(buffer, window, &mut out) };
                runs.push(("avx2", out));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                let mut out = vec![f64::NAN; len];
                // SAFETY: AVX-512F checked just above.
                unsafe { x86::medians_f64_avx512(buffer, window, &mut out) };
                runs.push(("avx512", out));
            }
        }
        runs
    }

    fn all_kernels_f32(buffer: &[f32], window: usize, len: usize) -> Vec<(&'static str, Vec<f32>)> {
        let mut runs = Vec::new();
        let mut out = vec![f32::NAN; len];
        if register_medians(buffer, window, &mut out) {
            runs.push(("dispatch", out));
        }
        #[cfg(target_arch = "x86_64")]
        {
            if window <= AVX2_WINDOW && std::arch::is_x86_feature_detected!("avx2") {
                let mut out = vec![f32::NAN; len];
                // SAFETY: AVX2 checked just above.
                unsafe { x86::medians_f32(buffer, window, &mut out) };
                runs.push(("avx2", out));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                let mut out = vec![f32::NAN; len];
                // SAFETY: AVX-512F checked just above.
                unsafe { x86::medians_f32_avx512(buffer, window, &mut out) };
                runs.push(("avx512", out));
            }
        }
        runs
    }

    #[test]
    #[allow(clippy::float_cmp)] // a median is one of the window's values: exactly equal
    fn every_kernel_equals_sorting_every_window_for_every_register_count() {
        let mut rng = Rng::new(7);
        let mut ran = std::collections::BTreeSet::new();
        for window in (3..=REGISTER_WINDOW).step_by(2) {
            for (len, distinct) in [(1, 0), (2, 3), (37, 0), (64, 2), (301, 5), (300, 0)] {
                let buffer = series(&mut rng, len + window - 1, distinct);
                let want = naive(&buffer, window);
                for (kernel, got) in all_kernels_f64(&buffer, window, len) {
                    assert!(got.iter().zip(&want).all(|(g, w)| g == w), "f64 {kernel}, window {window}, length {len}");
                    ran.insert(kernel);
                }
                let buffer: Vec<f32> = buffer.iter().map(|&v| v as f32).collect();
                let want = naive(&buffer, window);
                for (kernel, got) in all_kernels_f32(&buffer, window, len) {
                    assert!(got.iter().zip(&want).all(|(g, w)| g == w), "f32 {kernel}, window {window}, length {len}");
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(ran.contains("avx2"), std::arch::is_x86_feature_detected!("avx2"));
            assert_eq!(ran.contains("avx512"), std::arch::is_x86_feature_detected!("avx512f"));
        }
    }
}
