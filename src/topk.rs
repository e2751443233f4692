//! Glue for `shoprec.kernels.top_k`.

use numpy::{IntoPyArray, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use shoprec_core::topk::{output_width, top_k};

use crate::arrays::{id_filter, rows_cols, IdFilterArrays};
use crate::error::not_contiguous;
use crate::parallel::run_detached;

/// Scores as float32 or float64; ranked in their own precision, returned as float32.
#[derive(FromPyObject)]
pub enum ScoreMatrix<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

type TopK<'py> = (Bound<'py, PyArray2<i32>>, Bound<'py, PyArray2<f32>>);

#[pyfunction(name = "top_k")]
#[pyo3(signature = (scores, k, include = None, exclude = None, num_threads = 0))]
pub fn top_k_py<'py>(
    py: Python<'py>,
    scores: ScoreMatrix<'py>,
    k: usize,
    include: Option<IdFilterArrays<'py>>,
    exclude: Option<IdFilterArrays<'py>>,
    num_threads: usize,
) -> PyResult<TopK<'py>> {
    let (n_rows, n_cols) = match &scores {
        ScoreMatrix::F32(a) => rows_cols(a.shape()),
        ScoreMatrix::F64(a) => rows_cols(a.shape()),
    };
    let include = id_filter(include.as_ref(), "include", n_rows, n_cols)?;
    let exclude = id_filter(exclude.as_ref(), "exclude", n_rows, n_cols)?;
    let (ids, values) = match &scores {
        ScoreMatrix::F32(a) => {
            let s = a.as_slice().map_err(|_| not_contiguous("scores"))?;
            run_detached(py, num_threads, || top_k(s, n_rows, n_cols, k, include, exclude))?
        }
        ScoreMatrix::F64(a) => {
            let s = a.as_slice().map_err(|_| not_contiguous("scores"))?;
            run_detached(py, num_threads, || top_k(s, n_rows, n_cols, k, include, exclude))?
        }
    };
    // The core clamps a huge `k` (see `output_width`): the rows are that wide.
    let width = output_width(k, n_cols);
    Ok((ids.into_pyarray(py).reshape([n_rows, width])?, values.into_pyarray(py).reshape([n_rows, width])?))
}
