//! Borrowing numpy arrays as slices, and the id filters shared by several kernels.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use shoprec_core::csr::{Csr, CsrView};
use shoprec_core::topk::IdFilter;

use crate::error::{not_contiguous, to_py};

/// A contiguous 1-D array as a slice, or a clear error naming the argument.
pub fn slice1<'a, T: numpy::Element>(array: &'a PyReadonlyArray1<'_, T>, name: &'static str) -> PyResult<&'a [T]> {
    array.as_slice().map_err(|_| not_contiguous(name))
}

/// Borrows `(indptr, indices, data)` arrays from Python as a checked CSR view
/// (see [`CsrView::new`]); errors name `name`.
#[allow(clippy::too_many_arguments)]
pub fn csr_view<'a, T: numpy::Element>(
    name: &'static str,
    n_rows: usize,
    n_cols: usize,
    indptr: &'a PyReadonlyArray1<'_, i64>,
    indices: &'a PyReadonlyArray1<'_, i32>,
    data: &'a PyReadonlyArray1<'_, T>,
    sorted: bool,
) -> PyResult<CsrView<'a, T>> {
    CsrView::new(name, n_rows, n_cols, slice1(indptr, name)?, slice1(indices, name)?, slice1(data, name)?, sorted).map_err(to_py)
}

/// A CSR matrix as it crosses to Python: `(indptr int64, indices int32, data)`.
pub type CsrOut<'py, T> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<T>>);

/// Moves a core CSR result into numpy arrays (no copy).
pub fn csr_into_py<T: numpy::Element>(py: Python<'_>, m: Csr<T>) -> CsrOut<'_, T> {
    (m.indptr.into_pyarray(py), m.indices.into_pyarray(py), m.data.into_pyarray(py))
}

/// An include/exclude filter as the Python layer passes it: a 1-D int32 array of ids for every
/// row, or `(indptr, indices)` of a CSR mask with one row per score row.
#[derive(FromPyObject)]
pub enum IdFilterArrays<'py> {
    PerRow(PyReadonlyArray1<'py, i64>, PyReadonlyArray1<'py, i32>),
    Ids(PyReadonlyArray1<'py, i32>),
}

/// Borrows an optional filter for `n_rows x n_cols` scores.
pub fn id_filter<'a>(
    filter: Option<&'a IdFilterArrays<'_>>,
    name: &'static str,
    n_rows: usize,
    n_cols: usize,
) -> PyResult<IdFilter<'a>> {
    Ok(match filter {
        None => IdFilter::None,
        Some(IdFilterArrays::Ids(ids)) => IdFilter::Ids(slice1(ids, name)?),
        Some(IdFilterArrays::PerRow(indptr, indices)) => {
            let view =
                CsrView::new(name, n_rows, n_cols, slice1(indptr, name)?, slice1(indices, name)?, &[], true).map_err(to_py)?;
            IdFilter::PerRow(view)
        }
    })
}

/// Rows and columns of a 2-D array's shape.
pub fn rows_cols(shape: &[usize]) -> (usize, usize) {
    (shape[0], shape[1])
}
