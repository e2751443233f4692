//! Glue for the baseline biases (`_core.fit_biases`), shared by every model that fits them.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use shoprec_core::biases::fit_biases;

use crate::arrays::slice1;
use crate::parallel::run_detached_here;

/// Two float64 arrays handed to Python.
type Pair<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

/// `(b_user, b_item)` of regularised ALS over the interactions `(users, items, values)`.
#[pyfunction(name = "fit_biases")]
#[pyo3(signature = (users, items, values, n_users, n_items, mu, reg_users, reg_items, n_epochs))]
#[allow(clippy::too_many_arguments)]
pub fn fit_biases_py<'py>(
    py: Python<'py>,
    users: PyReadonlyArray1<'py, i32>,
    items: PyReadonlyArray1<'py, i32>,
    values: PyReadonlyArray1<'py, f64>,
    n_users: usize,
    n_items: usize,
    mu: f64,
    reg_users: f64,
    reg_items: f64,
    n_epochs: usize,
) -> PyResult<Pair<'py>> {
    let (users, items, values) = (slice1(&users, "users")?, slice1(&items, "items")?, slice1(&values, "values")?);
    let (b_user, b_item) =
        run_detached_here(py, || fit_biases(users, items, values, n_users, n_items, mu, reg_users, reg_items, n_epochs))?;
    Ok((b_user.into_pyarray(py), b_item.into_pyarray(py)))
}
