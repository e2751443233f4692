//! How a search ranks its candidates: text relevance blended with the shopper's affinity and
//! popularity (the formula `shoprec.search.blend` documents).
//!
//! Each part is scaled to [0, 1] over the candidates of one search, then weighted:
//!
//! * text: `text + expansion` divided by the best candidate's, times the text weight (the
//!   shopper's words and the expansions keep their own columns);
//! * personal: the recommender's scores for the candidates, min-max scaled (a candidate it gave
//!   no score counts as its lowest score), times the personal weight; all zero when there are
//!   no scores or none is finite;
//! * popularity: `ln(1 + max(popularity, 0))` divided by the best candidate's, times the
//!   popularity weight.
//!
//! The arithmetic is numpy's on float64 step by step (the same operations in the same order),
//! so the scores are those of the former numpy implementation to the last bit.

use crate::error::{Error, Result};

/// The weights of the three parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlendWeights {
    pub text: f64,
    pub personal: f64,
    pub popularity: f64,
}

/// The candidates of one search, ranked by their blended score.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blended {
    /// Positions into the candidates, best first: `offset..offset + k` of the whole ranking.
    pub order: Vec<usize>,
    /// The blended score of each ranked candidate (the sum of its four parts).
    pub score: Vec<f64>,
    /// The weighted parts of each ranked candidate.
    pub text: Vec<f64>,
    pub expansion: Vec<f64>,
    pub personal: Vec<f64>,
    pub popularity: Vec<f64>,
}

/// numpy's `max` of an array: NaN if any value is NaN, 0 for none.
fn max_or_nan(values: impl Iterator<Item = f64>) -> f64 {
    let mut top = f64::NEG_INFINITY;
    let mut any = false;
    for v in values {
        if v.is_nan() {
            return f64::NAN;
        }
        any = true;
        if v > top {
            top = v;
        }
    }
    if any {
        top
    } else {
        0.0
    }
}

/// The personal part of every candidate, unweighted: min-max scaled scores (numpy's
/// `(nan_to_num(p, nan=low) - low) / (high - low)` with `low, high = nanmin, nanmax`).
fn scaled_personal(personal: Option<&[f64]>, n: usize) -> Vec<f64> {
    let Some(p) = personal.filter(|p| p.iter().any(|x| x.is_finite())) else {
        return vec![0.0; n];
    };
    let low = p.iter().copied().filter(|x| !x.is_nan()).fold(f64::INFINITY, f64::min);
    let high = p.iter().copied().filter(|x| !x.is_nan()).fold(f64::NEG_INFINITY, f64::max);
    // Neither is NaN (at least one score is finite): numpy's `high > low` test.
    if high <= low {
        return vec![0.0; n];
    }
    let range = high - low;
    p.iter()
        .map(|&x| {
            let x = if x.is_nan() {
                low
            } else if x == f64::INFINITY {
                f64::MAX
            } else if x == f64::NEG_INFINITY {
                f64::MIN
            } else {
                x
            };
            (x - low) / range
        })
        .collect()
}

/// Blends and ranks the candidates of one search; `personal` is the recommender's raw score of
/// each candidate (NaN where it gave none), or `None`. Ties keep the candidates' order.
///
/// # Errors
/// [`Error::InvalidArgument`] when the arrays differ in length.
pub fn blend(
    text: &[f32],
    expansion: &[f32],
    personal: Option<&[f64]>,
    popularity: &[f64],
    weights: BlendWeights,
    offset: usize,
    k: usize,
) -> Result<Blended> {
    let n = text.len();
    if expansion.len() != n || popularity.len() != n || personal.is_some_and(|p| p.len() != n) {
        return Err(Error::invalid("candidates", "text, expansion, personal and popularity must have one value per candidate"));
    }
    let top = max_or_nan(text.iter().zip(expansion).map(|(&t, &e)| f64::from(t) + f64::from(e)));
    let scale = if top > 0.0 { weights.text / top } else { 0.0 };
    let personal = scaled_personal(personal, n);
    let popular: Vec<f64> = popularity.iter().map(|&p| if p.is_nan() { p } else { p.max(0.0) }.ln_1p()).collect();
    let top_popular = max_or_nan(popular.iter().copied());
    let part = |i: usize| {
        let t = f64::from(text[i]) * scale;
        let e = f64::from(expansion[i]) * scale;
        let p = weights.personal * personal[i];
        let q = weights.popularity * if top_popular > 0.0 { popular[i] / top_popular } else { 0.0 };
        (t, e, p, q)
    };
    let scores: Vec<f64> = (0..n)
        .map(|i| {
            let (t, e, p, q) = part(i);
            t + e + p + q
        })
        .collect();
    // numpy's stable argsort of -score: best first, ties in input order, NaN last.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| match (scores[a].is_nan(), scores[b].is_nan()) {
        (false, false) => scores[b].partial_cmp(&scores[a]).unwrap_or(std::cmp::Ordering::Equal),
        (x, y) => x.cmp(&y),
    });
    let order: Vec<usize> = order.into_iter().skip(offset).take(k).collect();
    let mut out = Blended { score: order.iter().map(|&i| scores[i]).collect(), ..Blended::default() };
    for &i in &order {
        let (t, e, p, q) = part(i);
        out.text.push(t);
        out.expansion.push(e);
        out.personal.push(p);
        out.popularity.push(q);
    }
    out.order = order;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: BlendWeights = BlendWeights { text: 1.0, personal: 0.35, popularity: 0.15 };

    #[test]
    fn text_first_then_personal_and_popularity() {
        let out = blend(&[2.0, 1.0, 1.0], &[0.0, 0.5, 0.0], Some(&[0.0, f64::NAN, 4.0]), &[10.0, 0.0, 100.0], W, 0, 10).unwrap();
        // text 1.0; 0.75; 0.5 of the best relevance; personal 0, 0 (NaN -> lowest), 0.35;
        // popularity ln(11)/ln(101), 0, 1 of 0.15.
        let q = 0.15 * 11f64.ln() / 101f64.ln();
        let want = [(0, 1.0 + q), (2, 0.5 + 0.35 + 0.15), (1, 0.75)];
        assert_eq!(out.order, want.iter().map(|w| w.0).collect::<Vec<_>>());
        for (got, (_, score)) in out.score.iter().zip(want) {
            assert!((got - score).abs() < 1e-12, "{got} vs {score}");
        }
        assert_eq!(out.personal, vec![0.0, 0.35, 0.0]);
    }

    #[test]
    fn ties_keep_input_order_and_paging_cuts_the_ranking() {
        let out = blend(&[1.0; 5], &[0.0; 5], None, &[0.0; 5], W, 1, 3).unwrap();
        assert_eq!(out.order, vec![1, 2, 3]);
        assert!(blend(&[], &[], None, &[], W, 0, 3).unwrap().order.is_empty());
        assert!(blend(&[1.0], &[], None, &[0.0], W, 0, 3).is_err());
    }

    #[test]
    fn no_finite_personal_score_and_equal_scores_give_no_personal_part() {
        for personal in [vec![f64::NAN, f64::NAN], vec![3.0, 3.0]] {
            let out = blend(&[1.0, 2.0], &[0.0, 0.0], Some(&personal), &[1.0, 1.0], W, 0, 2).unwrap();
            assert_eq!(out.personal, vec![0.0, 0.0]);
        }
    }
}
