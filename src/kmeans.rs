//! Glue for `shoprec.kernels.kmeans` and `KMeansResult.predict`.

use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use shoprec_core::kmeans::{assign, kmeans, Init, KMeansFit, KMeansOptions};
use shoprec_core::real::Real;

use crate::arrays::rows_cols;
use crate::error::{not_contiguous, to_py};
use crate::parallel::run_detached;
use shoprec_core::Error;

/// Rows as float32 or float64; centroids come back in the same dtype.
#[derive(FromPyObject)]
pub enum DenseRows<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

/// `(centroids, labels, inertia, n_iter)`, centroids in the dtype of `x`.
type KMeansTuple<'py> = (Bound<'py, PyAny>, Bound<'py, PyArray1<i32>>, f64, usize);

fn fit_typed<'py, T: Real + numpy::Element>(
    py: Python<'py>,
    x: &PyReadonlyArray2<'py, T>,
    n_clusters: usize,
    init: Option<&PyReadonlyArray2<'py, T>>,
    options: KMeansOptions,
    num_threads: usize,
) -> PyResult<KMeansTuple<'py>> {
    let (n_rows, n_cols) = rows_cols(x.shape());
    let data = x.as_slice().map_err(|_| not_contiguous("x"))?;
    let init = match init {
        None => Init::KMeansPlusPlus,
        Some(c) => {
            let (rows, cols) = rows_cols(c.shape());
            if rows != n_clusters || cols != n_cols {
                return Err(to_py(Error::shape(
                    "init",
                    format!("centroids have shape ({rows}, {cols}), expected ({n_clusters}, {n_cols})"),
                )));
            }
            Init::Centroids(c.as_slice().map_err(|_| not_contiguous("init"))?)
        }
    };
    let KMeansFit { centroids, labels, inertia, n_iter } =
        run_detached(py, num_threads, || kmeans(data, n_rows, n_cols, n_clusters, init, &options))?;
    let centroids = centroids.into_pyarray(py).reshape([n_clusters, n_cols])?.into_any();
    Ok((centroids, labels.into_pyarray(py), inertia, n_iter))
}

#[pyfunction(name = "kmeans")]
#[pyo3(signature = (x, n_clusters, init = None, n_init = 1, max_iter = 300, tol = 1e-4, seed = 0, num_threads = 0))]
#[allow(clippy::too_many_arguments)]
pub fn kmeans_py<'py>(
    py: Python<'py>,
    x: DenseRows<'py>,
    n_clusters: usize,
    init: Option<DenseRows<'py>>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    num_threads: usize,
) -> PyResult<KMeansTuple<'py>> {
    let options = KMeansOptions { n_init, max_iter, tol, seed };
    let dtype_mismatch = || to_py(Error::invalid("init", "centroids must have the dtype of x"));
    match (&x, init.as_ref()) {
        (DenseRows::F32(a), None) => fit_typed(py, a, n_clusters, None, options, num_threads),
        (DenseRows::F64(a), None) => fit_typed(py, a, n_clusters, None, options, num_threads),
        (DenseRows::F32(a), Some(DenseRows::F32(c))) => fit_typed(py, a, n_clusters, Some(c), options, num_threads),
        (DenseRows::F64(a), Some(DenseRows::F64(c))) => fit_typed(py, a, n_clusters, Some(c), options, num_threads),
        _ => Err(dtype_mismatch()),
    }
}

fn assign_typed<'py, T: Real + numpy::Element>(
    py: Python<'py>,
    x: &PyReadonlyArray2<'py, T>,
    centroids: &PyReadonlyArray2<'py, T>,
    num_threads: usize,
) -> PyResult<Bound<'py, PyArray1<i32>>> {
    let (n_rows, n_cols) = rows_cols(x.shape());
    let (_, centroid_cols) = rows_cols(centroids.shape());
    if centroid_cols != n_cols {
        return Err(to_py(Error::shape("x", format!("x has {n_cols} columns, the centroids have {centroid_cols}"))));
    }
    let data = x.as_slice().map_err(|_| not_contiguous("x"))?;
    let centres = centroids.as_slice().map_err(|_| not_contiguous("centroids"))?;
    let labels = run_detached(py, num_threads, || assign(data, n_rows, n_cols, centres))?;
    Ok(labels.into_pyarray(py))
}

/// The nearest centroid of each row (lowest index on ties).
#[pyfunction(name = "kmeans_assign")]
#[pyo3(signature = (x, centroids, num_threads = 0))]
pub fn kmeans_assign_py<'py>(
    py: Python<'py>,
    x: DenseRows<'py>,
    centroids: DenseRows<'py>,
    num_threads: usize,
) -> PyResult<Bound<'py, PyArray1<i32>>> {
    match (&x, &centroids) {
        (DenseRows::F32(a), DenseRows::F32(c)) => assign_typed(py, a, c, num_threads),
        (DenseRows::F64(a), DenseRows::F64(c)) => assign_typed(py, a, c, num_threads),
        _ => Err(to_py(Error::invalid("x", "must have the dtype of the centroids"))),
    }
}
