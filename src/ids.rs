//! Glue for `shoprec._ids.IdMap`: integer ids to indices through the core's hash table
//! (`shoprec_core::idtable`), kept by the map as a plain int64 array.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use shoprec_core::idtable;

use crate::arrays::slice1;
use crate::parallel::{run_detached_here, run_sized};

/// Lookups of fewer values than this keep the GIL: a request's ~100 candidates take a few
/// microseconds, less than handing the GIL over and taking it back.
const LOOKUP_DETACH_MIN: usize = 1 << 14;

/// The hash table of `ids` (distinct int64 ids, index = position), or None when their hashes
/// cluster too much for it to be fast (the caller keeps its binary search then).
#[pyfunction(name = "id_table")]
pub fn id_table_py<'py>(py: Python<'py>, ids: PyReadonlyArray1<'py, i64>) -> PyResult<Option<Bound<'py, PyArray1<i64>>>> {
    let ids = slice1(&ids, "ids")?;
    let table = run_detached_here(py, || idtable::build(ids))?;
    Ok(table.map(|t| t.into_pyarray(py)))
}

/// The index of every value in `table` (from `id_table`) as int32, -1 for unknown values.
#[pyfunction(name = "id_lookup")]
pub fn id_lookup_py<'py>(
    py: Python<'py>,
    table: PyReadonlyArray1<'py, i64>,
    values: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<i32>>> {
    let table = slice1(&table, "table")?;
    let values = slice1(&values, "values")?;
    let found = run_sized(py, values.len(), LOOKUP_DETACH_MIN, || idtable::lookup(table, values))?;
    Ok(found.into_pyarray(py))
}
