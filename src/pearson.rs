//! Glue for `shoprec.kernels.pearson_neighbours`.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use shoprec_core::pearson::{pearson_neighbours, Axis, Similarity};

use crate::arrays::{csr_into_py, csr_view, CsrOut};
use crate::error::to_py;
use crate::parallel::run_detached;

/// Top-`k` neighbours of the canonical users x items CSR `(indptr, indices, data)`; returns the
/// `n x n` result as CSR arrays `(indptr, indices, data)`.
#[pyfunction(name = "pearson_neighbours")]
#[pyo3(signature = (indptr, indices, data, n_rows, n_cols, k, axis, similarity, min_support, shrinkage, num_threads = 0))]
#[allow(clippy::too_many_arguments)]
pub fn pearson_neighbours_py<'py>(
    py: Python<'py>,
    indptr: PyReadonlyArray1<'py, i64>,
    indices: PyReadonlyArray1<'py, i32>,
    data: PyReadonlyArray1<'py, f64>,
    n_rows: usize,
    n_cols: usize,
    k: usize,
    axis: &str,
    similarity: &str,
    min_support: usize,
    shrinkage: f64,
    num_threads: usize,
) -> PyResult<CsrOut<'py, f32>> {
    let axis = Axis::parse(axis).map_err(to_py)?;
    let similarity = Similarity::parse(similarity).map_err(to_py)?;
    let view = csr_view("matrix", n_rows, n_cols, &indptr, &indices, &data, true)?;
    let result = run_detached(py, num_threads, || pearson_neighbours(&view, k, axis, similarity, min_support, shrinkage))?;
    Ok(csr_into_py(py, result))
}
