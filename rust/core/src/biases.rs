//! User and item biases `r ~ mu + b_u + b_i` by regularised alternating least squares.
//!
//! The updates are those of scikit-surprise's `baseline_als` (items first, then users, a fixed
//! number of rounds from zero). Every sum runs over the interactions in their given order, one
//! addition at a time, and every residual is `(r - mu) - b`: the results are the same doubles
//! as numpy's `bincount(items, values - mu - b_user[users]) / (reg + count)`, so a model fitted
//! before this kernel existed, or its numpy reference, agrees bit for bit.

use crate::error::{Error, Result};

/// `(b_user, b_item)` after `n_epochs` rounds of
/// `b_i = sum_u (r_ui - mu - b_u) / (reg_items + n_i)` then
/// `b_u = sum_i (r_ui - mu - b_i) / (reg_users + n_u)`, from zero. `mu` is given (the caller's
/// mean of `values`). An entity without interactions gets `0 / reg` (NaN when `reg` is 0, as
/// numpy).
///
/// # Errors
/// [`Error::InvalidArgument`] when the three arrays differ in length or an index is out of range.
#[allow(clippy::too_many_arguments)]
pub fn fit_biases(
    users: &[i32],
    items: &[i32],
    values: &[f64],
    n_users: usize,
    n_items: usize,
    mu: f64,
    reg_users: f64,
    reg_items: f64,
    n_epochs: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    if users.len() != values.len() || items.len() != values.len() {
        return Err(Error::invalid("interactions", "users, items and values differ in length"));
    }
    let check = |ids: &[i32], n: usize, name: &'static str| -> Result<()> {
        match ids.iter().find(|&&i| i < 0 || i as usize >= n) {
            Some(bad) => Err(Error::invalid(name, format!("index {bad} is out of range for {n}"))),
            None => Ok(()),
        }
    };
    check(users, n_users, "users")?;
    check(items, n_items, "items")?;
    let mut count_user = vec![0u64; n_users];
    let mut count_item = vec![0u64; n_items];
    for (&u, &i) in users.iter().zip(items) {
        count_user[u as usize] += 1;
        count_item[i as usize] += 1;
    }
    // numpy: `reg + count` with the count converted to a double.
    #[allow(clippy::cast_precision_loss)]
    let denominator = |reg: f64, counts: &[u64]| -> Vec<f64> { counts.iter().map(|&c| reg + c as f64).collect() };
    let (den_user, den_item) = (denominator(reg_users, &count_user), denominator(reg_items, &count_item));
    let centred: Vec<f64> = values.iter().map(|&v| v - mu).collect();
    let mut b_user = vec![0.0f64; n_users];
    let mut b_item = vec![0.0f64; n_items];
    for _ in 0..n_epochs {
        b_item.fill(0.0);
        for ((&u, &i), &c) in users.iter().zip(items).zip(&centred) {
            b_item[i as usize] += c - b_user[u as usize];
        }
        for (b, &d) in b_item.iter_mut().zip(&den_item) {
            *b /= d;
        }
        b_user.fill(0.0);
        for ((&u, &i), &c) in users.iter().zip(items).zip(&centred) {
            b_user[u as usize] += c - b_item[i as usize];
        }
        for (b, &d) in b_user.iter_mut().zip(&den_user) {
            *b /= d;
        }
    }
    Ok((b_user, b_item))
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    /// The textbook loop, in the same order.
    fn naive(users: &[i32], items: &[i32], values: &[f64], nu: usize, ni: usize, mu: f64, epochs: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut bu, mut bi) = (vec![0.0; nu], vec![0.0; ni]);
        for _ in 0..epochs {
            let mut s = vec![0.0; ni];
            let mut n = vec![0.0; ni];
            for j in 0..values.len() {
                s[items[j] as usize] += values[j] - mu - bu[users[j] as usize];
                n[items[j] as usize] += 1.0;
            }
            bi = (0..ni).map(|i| s[i] / (10.0 + n[i])).collect();
            let mut s = vec![0.0; nu];
            let mut n = vec![0.0; nu];
            for j in 0..values.len() {
                s[users[j] as usize] += values[j] - mu - bi[items[j] as usize];
                n[users[j] as usize] += 1.0;
            }
            bu = (0..nu).map(|u| s[u] / (15.0 + n[u])).collect();
        }
        (bu, bi)
    }

    #[test]
    fn equals_the_textbook_loop() {
        let users = [0, 0, 1, 2, 2, 2, 3];
        let items = [0, 1, 1, 0, 2, 3, 3];
        let values = [4.0, 3.5, 1.0, 5.0, 2.0, 4.5, 3.0];
        let mu = values.iter().sum::<f64>() / 7.0;
        let got = fit_biases(&users, &items, &values, 5, 4, mu, 15.0, 10.0, 7).unwrap();
        assert_eq!(got, naive(&users, &items, &values, 5, 4, mu, 7));
        assert_eq!(got.0[4], 0.0); // no interactions: 0 / reg
    }

    #[test]
    fn rejects_bad_input() {
        assert!(fit_biases(&[0], &[0, 1], &[1.0], 1, 2, 0.0, 1.0, 1.0, 1).is_err());
        assert!(fit_biases(&[1], &[0], &[1.0], 1, 1, 0.0, 1.0, 1.0, 1).is_err());
        assert!(fit_biases(&[0], &[-1], &[1.0], 1, 1, 0.0, 1.0, 1.0, 1).is_err());
    }
}
