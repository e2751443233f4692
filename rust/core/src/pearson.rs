//! Nearest neighbours by sparse similarity: item-item or user-user Pearson, cosine, adjusted
//! cosine and co-rated cosine, top `k` per row, without ever forming a dense `n x n` matrix.
//!
//! # Definitions
//!
//! The input is a users x items matrix of ratings. Every *stored* entry is a rating, explicit
//! zeros included. The *entities* are the items (`Axis::Items`, item-item neighbours) or the
//! users (`Axis::Users`); the *raters* of an entity are the users that rated it (items that a
//! user rated, for `Axis::Users`). For two entities `a` and `b`, `I` is their co-rated set
//! (raters that rated both), `n = |I|`, and `x_r`, `y_r` are the ratings of `a` and `b` by `r`.
//!
//! - [`Similarity::Pearson`]: the correlation over `I` with the means taken over `I`:
//!   `sum_I (x - mx)(y - my) / sqrt(sum_I (x - mx)^2 * sum_I (y - my)^2)`, where
//!   `mx = sum_I x / n` and `my = sum_I y / n` (the classic user-based CF definition; not the
//!   means over all of an entity's ratings).
//! - [`Similarity::Cosine`]: the cosine of the two full sparse rows, `sum_I x y / (|a| |b|)`,
//!   the norms over *all* stored ratings of each entity (unrated counts as 0). This is
//!   scikit-learn's `cosine_similarity` of the rows; with all-ones data it is the implicit
//!   feedback cosine.
//! - [`Similarity::AdjustedCosine`]: every rating is first centred on the mean of its rater
//!   (for item-item: each user's mean over all of that user's ratings; for user-user: each
//!   item's mean over all of its ratings), then the full-row cosine of the centred rows (unrated
//!   stays 0). A rater whose ratings are all equal has the exact value as mean.
//! - [`Similarity::CosineCorated`]: `sum_I x y / sqrt(sum_I x^2 * sum_I y^2)`, all three sums
//!   over the co-rated set (surprise's `cosine`; on baseline residuals, its `pearson_baseline`).
//!
//! Then: a pair with `n < min_support` gets no similarity; `shrinkage` `λ >= 0` multiplies the
//! similarity by `n / (n + λ)`. A zero variance or zero norm gives 0, and so does a Pearson
//! covariance or a variance that is only rounding noise (at most `1e-12` of the magnitude of the
//! sums it was computed from). Results are clamped to `[-1, 1]`, rounded to `f32`, and a
//! similarity of exactly 0 is not stored. No NaN is ever returned.
//!
//! # Output
//!
//! An `n x n` CSR (`n` entities) holding at most `k` neighbours per row, never the row itself:
//! the `k` largest similarities (negative ones too, if they are among the `k` largest). Within a
//! row the entries are ordered by similarity descending (as `f32`), ties by the lower column
//! index, so the column indices of a row are in that order, *not* sorted.
//!
//! # Algorithm
//!
//! Gustavson-style row-by-row accumulation: for entity `a`, for each rater `r` of `a`, for each
//! entity `b` rated by `r`, add the pair's terms into a dense per-thread accumulator of length
//! `n` (with a list of the touched entries), then select the top `k` of the row and reset only
//! what was touched. Rows run in parallel in the current rayon pool. Memory is
//! `O(nnz + n * k + threads * n)`. Only the sums the chosen similarity needs are accumulated,
//! in `f64`, Pearson on values shifted by each entity's mean (the result is invariant to the
//! shift; it keeps the one-pass sums well conditioned).

use rayon::prelude::*;

use crate::csr::{Csr, CsrView};
use crate::error::{Error, Result};

/// Whose neighbours: items (item-item, the columns of the ratings) or users (the rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Items,
    Users,
}

impl Axis {
    /// Parses `"items"` or `"users"`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "items" => Ok(Axis::Items),
            "users" => Ok(Axis::Users),
            other => Err(Error::invalid("axis", format!("must be 'items' or 'users', got {other:?}"))),
        }
    }
}

/// The similarity measure; see the [module documentation](self) for the exact definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Similarity {
    Pearson,
    Cosine,
    AdjustedCosine,
    CosineCorated,
}

impl Similarity {
    pub const NAMES: [&'static str; 4] = ["pearson", "cosine", "adjusted_cosine", "cosine_corated"];

    /// Parses `"pearson"`, `"cosine"`, `"adjusted_cosine"` or `"cosine_corated"`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for any other name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "pearson" => Ok(Similarity::Pearson),
            "cosine" => Ok(Similarity::Cosine),
            "adjusted_cosine" => Ok(Similarity::AdjustedCosine),
            "cosine_corated" => Ok(Similarity::CosineCorated),
            other => Err(Error::invalid(
                "similarity",
                format!("must be one of {}, got {other:?}", Similarity::NAMES.join(", ")),
            )),
        }
    }
}

/// Relative size under which a variance, covariance or norm is taken as rounding noise.
const NOISE: f64 = 1e-12;

/// Top-`k` neighbours of every entity. See the [module documentation](self) for the exact
/// definitions, the order within a row and the memory used.
///
/// `ratings` is users x items; its rows must have strictly increasing column indices (sorted,
/// no duplicates) and `data` must hold a finite value for every entry. Runs in the current
/// rayon pool.
///
/// # Errors
/// [`Error::InvalidArgument`] when `k == 0`, when `shrinkage` is negative or not finite, when
/// `ratings` has no `data`, a non-finite value, an unsorted or duplicated column index in a
/// row, or more than `2^31 - 1` entities.
pub fn pearson_neighbours(
    ratings: &CsrView<'_, f64>,
    k: usize,
    axis: Axis,
    similarity: Similarity,
    min_support: usize,
    shrinkage: f64,
) -> Result<Csr<f32>> {
    if k == 0 {
        return Err(Error::invalid("k", "must be at least 1"));
    }
    if !shrinkage.is_finite() || shrinkage < 0.0 {
        return Err(Error::invalid("shrinkage", format!("must be finite and >= 0, got {shrinkage}")));
    }
    check_ratings(ratings)?;

    // Entities as rows, with the values the similarity works on.
    let mut entities = match axis {
        Axis::Items => Csr::transpose_of(ratings),
        Axis::Users => Csr {
            n_rows: ratings.n_rows,
            n_cols: ratings.n_cols,
            indptr: ratings.indptr.to_vec(),
            indices: ratings.indices.to_vec(),
            data: ratings.data.to_vec(),
        },
    };
    if entities.n_rows > i32::MAX as usize {
        return Err(Error::invalid("matrix", "more than 2^31 - 1 entities"));
    }
    match similarity {
        Similarity::Pearson => centre_rows(&mut entities),
        Similarity::AdjustedCosine => centre_columns(&mut entities),
        Similarity::Cosine | Similarity::CosineCorated => {}
    }
    let raters = Csr::transpose_of(&entities.view());
    let support = min_support.max(1) as u32;
    let ctx = Context { entities: entities.view(), raters: raters.view(), k, support, shrinkage };

    match similarity {
        Similarity::Pearson => run(&ctx, &PearsonKernel),
        Similarity::CosineCorated => run(&ctx, &CoratedKernel),
        Similarity::Cosine | Similarity::AdjustedCosine => {
            let norms = row_norms(&entities);
            run(&ctx, &CosineKernel { norms: &norms })
        }
    }
}

fn check_ratings(ratings: &CsrView<'_, f64>) -> Result<()> {
    if ratings.data.len() != ratings.nnz() {
        return Err(Error::invalid("matrix", "needs a value for every stored entry"));
    }
    if ratings.data.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid("matrix", "contains NaN or infinite values"));
    }
    for row in 0..ratings.n_rows {
        if ratings.row_indices(row).windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                "matrix",
                format!("column indices of row {row} are not sorted and unique"),
            ));
        }
    }
    Ok(())
}

/// The mean of some values; the exact value when they are all equal (so that centring an
/// all-equal row gives exact zeros).
fn mean_of(sum: f64, count: usize, min: f64, max: f64) -> f64 {
    if min == max {
        min
    } else {
        sum / count as f64
    }
}

/// Shifts every row by its own mean (Pearson is invariant to it; it conditions the sums).
fn centre_rows(m: &mut Csr<f64>) {
    for row in 0..m.n_rows {
        let values = &mut m.data[m.indptr[row] as usize..m.indptr[row + 1] as usize];
        if values.is_empty() {
            continue;
        }
        let (min, max) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let mean = mean_of(values.iter().sum(), values.len(), min, max);
        for v in values {
            *v -= mean;
        }
    }
}

/// Centres every value on the mean of its column (the rater, for the adjusted cosine).
fn centre_columns(m: &mut Csr<f64>) {
    let mut sum = vec![0.0f64; m.n_cols];
    let mut count = vec![0usize; m.n_cols];
    let mut min = vec![f64::INFINITY; m.n_cols];
    let mut max = vec![f64::NEG_INFINITY; m.n_cols];
    for (&col, &v) in m.indices.iter().zip(&m.data) {
        let c = col as usize;
        sum[c] += v;
        count[c] += 1;
        min[c] = min[c].min(v);
        max[c] = max[c].max(v);
    }
    let means: Vec<f64> = (0..m.n_cols)
        .map(|c| if count[c] == 0 { 0.0 } else { mean_of(sum[c], count[c], min[c], max[c]) })
        .collect();
    for (&col, v) in m.indices.iter().zip(m.data.iter_mut()) {
        *v -= means[col as usize];
    }
}

fn row_norms(m: &Csr<f64>) -> Vec<f64> {
    (0..m.n_rows)
        .map(|row| {
            m.data[m.indptr[row] as usize..m.indptr[row + 1] as usize].iter().map(|v| v * v).sum::<f64>().sqrt()
        })
        .collect()
}

struct Context<'a> {
    /// Entity x rater values (already centred as the similarity needs).
    entities: CsrView<'a, f64>,
    /// The transpose: rater x entity.
    raters: CsrView<'a, f64>,
    k: usize,
    support: u32,
    shrinkage: f64,
}

/// One similarity measure: the sums it accumulates per pair and how they become a similarity.
trait Kernel: Sync {
    type Sums: Copy + Default + Send;
    /// Adds one co-rating: `x` (with `xx = x * x`) of the row entity, `y` of the other.
    fn add(sums: &mut Self::Sums, x: f64, xx: f64, y: f64);
    fn count(sums: &Self::Sums) -> u32;
    /// The similarity of entities `a` and `b` from their sums (before shrinkage).
    fn finish(&self, sums: &Self::Sums, a: usize, b: usize) -> f64;
    /// Whether a row can have any nonzero similarity at all.
    fn row_can_match(&self, _a: usize) -> bool {
        true
    }
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct PearsonSums {
    n: u32,
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

struct PearsonKernel;

impl Kernel for PearsonKernel {
    type Sums = PearsonSums;
    #[inline(always)]
    fn add(s: &mut PearsonSums, x: f64, xx: f64, y: f64) {
        s.n += 1;
        s.sx += x;
        s.sy += y;
        s.sxx += xx;
        s.syy += y * y;
        s.sxy += x * y;
    }
    #[inline(always)]
    fn count(s: &PearsonSums) -> u32 {
        s.n
    }
    #[inline]
    fn finish(&self, s: &PearsonSums, _a: usize, _b: usize) -> f64 {
        let n = f64::from(s.n);
        let vx = s.sxx - s.sx * s.sx / n;
        let vy = s.syy - s.sy * s.sy / n;
        if !(vx > NOISE * s.sxx) || !(vy > NOISE * s.syy) {
            return 0.0;
        }
        let cov = s.sxy - s.sx * s.sy / n;
        let scale = s.sxx.sqrt() * s.syy.sqrt();
        if !(cov.abs() > NOISE * scale) {
            return 0.0;
        }
        cov / (vx.sqrt() * vy.sqrt())
    }
}

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct CosineSums {
    n: u32,
    sxy: f64,
}

/// Full-row cosine: the norms are over every stored value of each entity.
struct CosineKernel<'a> {
    norms: &'a [f64],
}

impl Kernel for CosineKernel<'_> {
    type Sums = CosineSums;
    #[inline(always)]
    fn add(s: &mut CosineSums, x: f64, _xx: f64, y: f64) {
        s.n += 1;
        s.sxy += x * y;
    }
    #[inline(always)]
    fn count(s: &CosineSums) -> u32 {
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

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct CoratedSums {
    n: u32,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

struct CoratedKernel;

impl Kernel for CoratedKernel {
    type Sums = CoratedSums;
    #[inline(always)]
    fn add(s: &mut CoratedSums, x: f64, xx: f64, y: f64) {
        s.n += 1;
        s.sxx += xx;
        s.syy += y * y;
        s.sxy += x * y;
    }
    #[inline(always)]
    fn count(s: &CoratedSums) -> u32 {
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

/// Per-thread scratch: the dense accumulator, the touched list and the row's candidates.
struct Scratch<S> {
    sums: Vec<S>,
    touched: Vec<u32>,
    candidates: Vec<(f32, u32)>,
}

/// Descending similarity, then ascending column.
#[inline]
fn rank(a: &(f32, u32), b: &(f32, u32)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

fn run<K: Kernel>(ctx: &Context<'_>, kernel: &K) -> Result<Csr<f32>> {
    let n = ctx.entities.n_rows;
    let k = ctx.k.min(n.saturating_sub(1)).max(1);
    let mut out_cols = vec![0i32; n * k];
    let mut out_vals = vec![0f32; n * k];
    let mut counts = vec![0usize; n];
    out_cols
        .par_chunks_mut(k)
        .zip(out_vals.par_chunks_mut(k))
        .zip(counts.par_iter_mut())
        .enumerate()
        .with_min_len(8)
        .for_each_init(
            || Scratch::<K::Sums> { sums: vec![K::Sums::default(); n], touched: Vec::new(), candidates: Vec::new() },
            |scratch, (a, ((cols_out, vals_out), count))| {
                *count = neighbours_of_row(ctx, kernel, scratch, a, k, cols_out, vals_out);
            },
        );

    // Stitch the rows together.
    let total: usize = counts.iter().sum();
    let mut indptr = Vec::with_capacity(n + 1);
    let mut indices = Vec::with_capacity(total);
    let mut data = Vec::with_capacity(total);
    indptr.push(0i64);
    for (row, &count) in counts.iter().enumerate() {
        indices.extend_from_slice(&out_cols[row * k..row * k + count]);
        data.extend_from_slice(&out_vals[row * k..row * k + count]);
        indptr.push(indices.len() as i64);
    }
    Ok(Csr { n_rows: n, n_cols: n, indptr, indices, data })
}

/// Accumulates row `a`, selects its top `k`, writes them and returns how many there are.
fn neighbours_of_row<K: Kernel>(
    ctx: &Context<'_>,
    kernel: &K,
    scratch: &mut Scratch<K::Sums>,
    a: usize,
    k: usize,
    cols_out: &mut [i32],
    vals_out: &mut [f32],
) -> usize {
    if !kernel.row_can_match(a) {
        return 0;
    }
    let Scratch { sums, touched, candidates } = scratch;
    touched.clear();
    candidates.clear();
    let raters = &ctx.raters;
    for (&r, &x) in ctx.entities.row_indices(a).iter().zip(ctx.entities.row_data(a)) {
        let xx = x * x;
        let start = raters.indptr[r as usize] as usize;
        let end = raters.indptr[r as usize + 1] as usize;
        for (&b, &y) in raters.indices[start..end].iter().zip(&raters.data[start..end]) {
            let slot = &mut sums[b as usize];
            if K::count(slot) == 0 {
                touched.push(b as u32);
            }
            K::add(slot, x, xx, y);
        }
    }
    for &b in touched.iter() {
        let slot = std::mem::take(&mut sums[b as usize]);
        let b = b as usize;
        let n_common = K::count(&slot);
        if b == a || n_common < ctx.support {
            continue;
        }
        let mut s = kernel.finish(&slot, a, b);
        if ctx.shrinkage > 0.0 {
            let n_common = f64::from(n_common);
            s *= n_common / (n_common + ctx.shrinkage);
        }
        let s = s.clamp(-1.0, 1.0) as f32;
        // NaN fails the comparison and is dropped with the zeros.
        if s > 0.0 || s < 0.0 {
            candidates.push((s, b as u32));
        }
    }
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k - 1, rank);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(rank);
    for ((col, val), &(s, b)) in cols_out.iter_mut().zip(vals_out.iter_mut()).zip(candidates.iter()) {
        *col = b as i32;
        *val = s;
    }
    candidates.len()
}
