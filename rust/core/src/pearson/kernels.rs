//! The similarity measures as pair kernels: the sums each accumulates per pair of entities,
//! and how they become a similarity (the definitions are in the [parent module](super)).

/// Relative size under which a variance, covariance or norm is taken as rounding noise.
const NOISE: f64 = 1e-12;

/// One similarity measure: the sums it accumulates per pair and how they become a similarity.
pub(super) trait Kernel: Sync {
    type Sums: Copy + Default + Send;
    /// Adds one co-rating: `x` (with `xx = x * x`) of the row entity, `y` of the other.
    fn add(sums: &mut Self::Sums, x: f64, xx: f64, y: f64);
    /// The number of co-ratings added (kept as `f64`: the sums then have no padding, and are
    /// reset and copied as plain doubles).
    fn count(sums: &Self::Sums) -> f64;
    /// The similarity of entities `a` and `b` from their sums (before shrinkage).
    fn finish(&self, sums: &Self::Sums, a: usize, b: usize) -> f64;
    /// Whether a row can have any nonzero similarity at all.
    fn row_can_match(&self, _a: usize) -> bool {
        true
    }
}

/// Six doubles, padded to one cache line so that no accumulator straddles two.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
pub(super) struct PearsonSums {
    n: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

pub(super) struct PearsonKernel;

impl Kernel for PearsonKernel {
    type Sums = PearsonSums;
    #[inline]
    fn add(s: &mut PearsonSums, x: f64, xx: f64, y: f64) {
        s.n += 1.0;
        s.sx += x;
        s.sy += y;
        s.sxx += xx;
        s.syy += y * y;
        s.sxy += x * y;
    }
    #[inline]
    fn count(s: &PearsonSums) -> f64 {
        s.n
    }
    #[inline]
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // `!(v > t)` is also true for NaN, on purpose
    fn finish(&self, s: &PearsonSums, _a: usize, _b: usize) -> f64 {
        // The means over the co-rated set, then the centred sums: sum (x - mx)^2 = Sxx - Sx mx.
        let inv_n = 1.0 / s.n;
        let (mx, my) = (s.sx * inv_n, s.sy * inv_n);
        let vx = s.sxx - s.sx * mx;
        let vy = s.syy - s.sy * my;
        if !(vx > NOISE * s.sxx) || !(vy > NOISE * s.syy) {
            return 0.0;
        }
        let cov = s.sxy - s.sx * my;
        // |cov| <= NOISE * sqrt(sxx * syy), squared: a covariance that is only rounding noise.
        if !(cov * cov > NOISE * NOISE * s.sxx * s.syy) {
            return 0.0;
        }
        cov / (vx * vy).sqrt()
    }
}

/// Two doubles, aligned so that no accumulator straddles two cache lines.
#[derive(Clone, Copy, Default)]
#[repr(C, align(16))]
pub(super) struct CosineSums {
    n: f64,
    sxy: f64,
}

/// Full-row cosine: the norms are over every stored value of each entity.
pub(super) struct CosineKernel<'a> {
    pub(super) norms: &'a [f64],
}

impl Kernel for CosineKernel<'_> {
    type Sums = CosineSums;
    #[inline]
    fn add(s: &mut CosineSums, x: f64, _xx: f64, y: f64) {
        s.n += 1.0;
        s.sxy += x * y;
    }
    #[inline]
    fn count(s: &CosineSums) -> f64 {
        s.n
    }
    #[inline]
    fn finish(&self, s: &CosineSums, a: usize, b: usize) -> f64 {
        let (na, nb) = (self.norms[a], self.norms[b]);
        if na > 0.0 && nb > 0.0 {
            s.sxy / na / nb
        } else {
            0.0
        }
    }
    fn row_can_match(&self, a: usize) -> bool {
        self.norms[a] > 0.0
    }
}

/// Four doubles, aligned so that no accumulator straddles two cache lines.
#[derive(Clone, Copy, Default)]
#[repr(C, align(32))]
pub(super) struct CoratedSums {
    n: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

pub(super) struct CoratedKernel;

impl Kernel for CoratedKernel {
    type Sums = CoratedSums;
    #[inline]
    fn add(s: &mut CoratedSums, x: f64, xx: f64, y: f64) {
        s.n += 1.0;
        s.sxx += xx;
        s.syy += y * y;
        s.sxy += x * y;
    }
    #[inline]
    fn count(s: &CoratedSums) -> f64 {
        s.n
    }
    #[inline]
    fn finish(&self, s: &CoratedSums, _a: usize, _b: usize) -> f64 {
        if s.sxx > 0.0 && s.syy > 0.0 {
            s.sxy / (s.sxx.sqrt() * s.syy.sqrt())
        } else {
            0.0
        }
    }
}

/// Two doubles: the co-rating count and the sum of squared differences.
#[derive(Clone, Copy, Default)]
#[repr(C, align(16))]
pub(super) struct MsdSums {
    n: f64,
    sdd: f64,
}

/// Surprise's mean squared difference similarity, `1 / (msd + 1)`.
pub(super) struct MsdKernel;

impl Kernel for MsdKernel {
    type Sums = MsdSums;
    #[inline]
    fn add(s: &mut MsdSums, x: f64, _xx: f64, y: f64) {
        s.n += 1.0;
        s.sdd += (x - y) * (x - y);
    }
    #[inline]
    fn count(s: &MsdSums) -> f64 {
        s.n
    }
    #[inline]
    fn finish(&self, s: &MsdSums, _a: usize, _b: usize) -> f64 {
        1.0 / (s.sdd / s.n + 1.0)
    }
}

/// The plain dot product of the two rows.
pub(super) struct DotKernel;

impl Kernel for DotKernel {
    type Sums = CosineSums;
    #[inline]
    fn add(s: &mut CosineSums, x: f64, _xx: f64, y: f64) {
        s.n += 1.0;
        s.sxy += x * y;
    }
    #[inline]
    fn count(s: &CosineSums) -> f64 {
        s.n
    }
    #[inline]
    fn finish(&self, s: &CosineSums, _a: usize, _b: usize) -> f64 {
        s.sxy
    }
}

/// Runs `$body` with `$kernel` bound to the pair kernel of `$similarity` (the cosines read
/// the entities' norms `$norms`): one monomorphic copy of `$body` per kernel.
macro_rules! with_kernel {
    ($similarity:expr, $norms:expr, |$kernel:ident| $body:expr) => {{
        use $crate::pearson::{kernels, Similarity as S};
        match $similarity {
            S::Pearson => {
                let $kernel = &kernels::PearsonKernel;
                $body
            }
            S::CosineCorated => {
                let $kernel = &kernels::CoratedKernel;
                $body
            }
            S::Msd => {
                let $kernel = &kernels::MsdKernel;
                $body
            }
            S::Dot => {
                let $kernel = &kernels::DotKernel;
                $body
            }
            S::Cosine | S::AdjustedCosine => {
                let $kernel = &kernels::CosineKernel { norms: $norms };
                $body
            }
        }
    }};
}
pub(super) use with_kernel;
