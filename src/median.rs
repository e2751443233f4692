//! Glue for `shoprec.kernels.median_filter` and `shoprec.kernels.hampel`.

use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use shoprec_core::median::{hampel, median_filter_into, Padding};
use shoprec_core::real::Real;
use shoprec_core::Error;

use crate::arrays::slice1;
use crate::error::to_py;
use crate::parallel::run_detached;

/// A series as float32 or float64; results come back in the same dtype.
#[derive(FromPyObject)]
pub enum Series<'py> {
    F32(PyReadonlyArray1<'py, f32>),
    F64(PyReadonlyArray1<'py, f64>),
}

fn padding<T: Real>(mode: &str, cval: f64) -> PyResult<Padding<T>> {
    Ok(match mode {
        "nearest" => Padding::Nearest,
        "reflect" => Padding::Reflect,
        "mirror" => Padding::Mirror,
        "wrap" => Padding::Wrap,
        "constant" => Padding::Constant(T::from_f64(cval)),
        other => {
            return Err(to_py(Error::invalid(
                "mode",
                format!("must be 'nearest', 'reflect', 'mirror', 'wrap' or 'constant', got {other:?}"),
            )))
        }
    })
}

fn filter_typed<'py, T: Real + numpy::Element>(
    py: Python<'py>,
    x: &PyReadonlyArray1<'py, T>,
    window: usize,
    mode: &str,
    cval: f64,
    groups: Option<&[i64]>,
    num_threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let values = slice1(x, "x")?;
    let padding = padding::<T>(mode, cval)?;
    // The result in numpy's memory (reused from earlier results instead of fresh pages),
    // written off the GIL; nobody else holds the new array yet.
    let out = PyArray1::<T>::zeros(py, values.len(), false);
    {
        let mut out_rw = out.readwrite();
        let out_slice = out_rw.as_slice_mut()?;
        run_detached(py, num_threads, || median_filter_into(values, window, padding, groups, out_slice))?;
    }
    Ok(out.into_any())
}

#[pyfunction(name = "median_filter")]
#[pyo3(signature = (x, window, mode = "nearest", cval = 0.0, groups = None, num_threads = 0))]
pub fn median_filter_py<'py>(
    py: Python<'py>,
    x: Series<'py>,
    window: usize,
    mode: &str,
    cval: f64,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    num_threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let groups = groups.as_ref().map(|g| slice1(g, "groups")).transpose()?;
    match &x {
        Series::F32(a) => filter_typed(py, a, window, mode, cval, groups, num_threads),
        Series::F64(a) => filter_typed(py, a, window, mode, cval, groups, num_threads),
    }
}

type HampelTuple<'py> = (Bound<'py, PyAny>, Bound<'py, PyArray1<bool>>);

fn hampel_typed<'py, T: Real + numpy::Element>(
    py: Python<'py>,
    x: &PyReadonlyArray1<'py, T>,
    window: usize,
    n_sigmas: f64,
    groups: Option<&[i64]>,
    num_threads: usize,
) -> PyResult<HampelTuple<'py>> {
    let values = slice1(x, "x")?;
    let (cleaned, flags) = run_detached(py, num_threads, || hampel(values, window, n_sigmas, groups))?;
    Ok((cleaned.into_pyarray(py).into_any(), flags.into_pyarray(py)))
}

#[pyfunction(name = "hampel")]
#[pyo3(signature = (x, window, n_sigmas = 3.0, groups = None, num_threads = 0))]
pub fn hampel_py<'py>(
    py: Python<'py>,
    x: Series<'py>,
    window: usize,
    n_sigmas: f64,
    groups: Option<PyReadonlyArray1<'py, i64>>,
    num_threads: usize,
) -> PyResult<HampelTuple<'py>> {
    let groups = groups.as_ref().map(|g| slice1(g, "groups")).transpose()?;
    match &x {
        Series::F32(a) => hampel_typed(py, a, window, n_sigmas, groups, num_threads),
        Series::F64(a) => hampel_typed(py, a, window, n_sigmas, groups, num_threads),
    }
}
