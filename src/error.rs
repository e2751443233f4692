//! The one place where Rust errors become Python exceptions.
//!
//! The exception classes are defined in Python (`shoprec/errors.py`) because each one derives
//! from both `shoprec.ShoprecError` and the matching builtin (`ValueError`, ...), which is
//! plain in Python and awkward from Rust. They are looked up once and cached.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use shoprec_core::Error;

fn exception_class<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyType>>, name: &str) -> PyResult<&'py Bound<'py, PyType>> {
    cell.import(py, "shoprec.errors", name)
}

macro_rules! exception {
    ($fn_name:ident, $class:literal) => {
        fn $fn_name(py: Python<'_>, message: String) -> PyErr {
            static CELL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
            match exception_class(py, &CELL, $class) {
                Ok(class) => PyErr::from_type(class.clone(), message),
                Err(import_error) => import_error,
            }
        }
    };
}

exception!(invalid_argument, "InvalidArgumentError");
exception!(shape_mismatch, "ShapeMismatchError");
exception!(corrupt_data, "ModelFileError");
exception!(internal, "InternalError");
exception!(unknown_id, "UnknownIdError");

/// Maps a core error to the Python exception a user can catch as `shoprec.ShoprecError` or as
/// the matching builtin.
pub fn to_py(error: Error) -> PyErr {
    Python::attach(|py| match error {
        Error::InvalidArgument { .. } => invalid_argument(py, error.to_string()),
        Error::ShapeMismatch { .. } => shape_mismatch(py, error.to_string()),
        Error::CorruptData(_) => corrupt_data(py, error.to_string()),
    })
}

/// Maps a search error the same way. An engine failure (an I/O error on the index directory,
/// a lock held by another process) is the builtin `OSError`: not a bug of shoprec, and what a
/// shop already catches for disk trouble.
pub fn search_to_py(error: shoprec_search::Error) -> PyErr {
    use shoprec_search::Error as E;
    Python::attach(|py| match error {
        E::InvalidArgument { .. } => invalid_argument(py, error.to_string()),
        E::UnknownId(_) => unknown_id(py, error.to_string()),
        E::CorruptData(_) => corrupt_data(py, error.to_string()),
        E::Engine(_) => pyo3::exceptions::PyOSError::new_err(error.to_string()),
    })
}

/// A Rust panic is a bug in shoprec: it becomes `shoprec.InternalError` (a `RuntimeError`),
/// never an abort of the user's process.
pub fn panic_to_py(payload: &(dyn std::any::Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Python::attach(|py| {
        let err = internal(py, format!("internal error in shoprec's Rust core (please report it): {what}"));
        if err.is_instance_of::<PyRuntimeError>(py) {
            err
        } else {
            PyRuntimeError::new_err(what)
        }
    })
}

/// Error for arrays numpy cannot give us as one contiguous slice (the Python layer copies
/// such arrays before the call, so reaching this is a bug in the caller of `_core`).
pub fn not_contiguous(name: &'static str) -> PyErr {
    to_py(Error::invalid(name, "array must be C-contiguous"))
}
