//! Glue for `shoprec.kernels.pearson_neighbours`.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use shoprec_core::csr::CsrView;
use shoprec_core::pearson::{pearson_neighbours, Axis, Similarity};

use crate::arrays::slice1;
use crate::error::to_py;
use crate::parallel::run_detached;

type CsrOut<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<f32>>);

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
) -> PyResult<CsrOut<'py>> {
    let axis = Axis::parse(axis).map_err(to_py)?;
    let similarity = Similarity::parse(similarity).map_err(to_py)?;
    let view = CsrView::new(
        "matrix",
        n_rows,
        n_cols,
        slice1(&indptr, "matrix")?,
        slice1(&indices, "matrix")?,
        slice1(&data, "matrix")?,
        true,
    )
    .map_err(to_py)?;
    let result = run_detached(py, num_threads, || pearson_neighbours(&view, k, axis, similarity, min_support, shrinkage))?;
    Ok((result.indptr.into_pyarray(py), result.indices.into_pyarray(py), result.data.into_pyarray(py)))
}
