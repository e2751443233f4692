//! The floating-point element types the dense kernels (k-means, sliding medians) accept.

use std::ops::{Add, Div, Mul, Sub};

/// `f32` or `f64`: what the dense kernels compute in. Arithmetic stays in the element type
/// where speed matters (distance loops); sums that must not lose precision are taken in `f64`.
pub trait Real:
    Copy
    + Send
    + Sync
    + PartialOrd
    + Default
    + std::fmt::Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + 'static
{
    const ZERO: Self;
    const INFINITY: Self;
    const NAN: Self;
    /// Machine epsilon of the type, as `f64`.
    const EPSILON: f64;
    fn to_f64(self) -> f64;
    fn from_f64(value: f64) -> Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;
    /// `self * a + b` with one rounding (an FMA instruction where the caller is compiled with
    /// the `fma` target feature; a slow library call otherwise, so only used on that path).
    #[must_use]
    fn mul_add(self, a: Self, b: Self) -> Self;
}

macro_rules! impl_real {
    ($t:ty) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const INFINITY: Self = <$t>::INFINITY;
            const NAN: Self = <$t>::NAN;
            const EPSILON: f64 = <$t>::EPSILON as f64;
            #[inline]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            #[inline]
            fn from_f64(value: f64) -> Self {
                value as $t
            }
            #[inline]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }
        }
    };
}

impl_real!(f32);
impl_real!(f64);
