//! Glue for `shoprec.kernels.pearson_neighbours` and its subset / update entry points.

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use shoprec_core::csr::CsrView;
use shoprec_core::pearson::{
    first_of_rows, merge_neighbour_parts, pearson_neighbours, pearson_neighbours_of_rows, pearson_neighbours_part, plan_update,
    Axis, NeighbourUpdate, Similarity,
};

use crate::arrays::{csr_into_py, csr_view, slice1, CsrOut};
use crate::error::to_py;
use crate::parallel::run_detached;

/// What every entry point takes: the canonical users x items ratings, whose neighbours (the
/// axis) and by which similarity, extracted from Python and checked.
struct Ratings<'a> {
    view: CsrView<'a, f64>,
    axis: Axis,
    similarity: Similarity,
}

impl<'a> Ratings<'a> {
    /// Parses the names and borrows the CSR arrays as a checked, sorted view (errors name
    /// `"matrix"`, `"axis"` or `"similarity"`).
    #[allow(clippy::too_many_arguments)]
    fn extract(
        indptr: &'a PyReadonlyArray1<'_, i64>,
        indices: &'a PyReadonlyArray1<'_, i32>,
        data: &'a PyReadonlyArray1<'_, f64>,
        n_rows: usize,
        n_cols: usize,
        axis: &str,
        similarity: &str,
    ) -> PyResult<Self> {
        let axis = Axis::parse(axis).map_err(to_py)?;
        let similarity = Similarity::parse(similarity).map_err(to_py)?;
        let view = csr_view("matrix", n_rows, n_cols, indptr, indices, data, true)?;
        Ok(Ratings { view, axis, similarity })
    }
}

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
    let Ratings { view, axis, similarity } = Ratings::extract(&indptr, &indices, &data, n_rows, n_cols, axis, similarity)?;
    let result = run_detached(py, num_threads, || pearson_neighbours(&view, k, axis, similarity, min_support, shrinkage))?;
    Ok(csr_into_py(py, result))
}

/// Defines an entry point over the rows of some entities against the whole matrix:
/// `pearson_neighbours_rows` and `pearson_neighbours_part` take the same arguments and differ
/// only in the core function they run.
macro_rules! rows_entry_point {
    ($(#[doc = $doc:literal])* $py_name:literal, $name:ident, $kernel:path) => {
        $(#[doc = $doc])*
        #[pyfunction(name = $py_name)]
        #[pyo3(signature = (indptr, indices, data, n_rows, n_cols, rows, k, axis, similarity, min_support, shrinkage, num_threads = 0))]
        #[allow(clippy::too_many_arguments)]
        pub fn $name<'py>(
            py: Python<'py>,
            indptr: PyReadonlyArray1<'py, i64>,
            indices: PyReadonlyArray1<'py, i32>,
            data: PyReadonlyArray1<'py, f64>,
            n_rows: usize,
            n_cols: usize,
            rows: PyReadonlyArray1<'py, i32>,
            k: usize,
            axis: &str,
            similarity: &str,
            min_support: usize,
            shrinkage: f64,
            num_threads: usize,
        ) -> PyResult<CsrOut<'py, f32>> {
            let Ratings { view, axis, similarity } = Ratings::extract(&indptr, &indices, &data, n_rows, n_cols, axis, similarity)?;
            let rows = slice1(&rows, "rows")?;
            let result = run_detached(py, num_threads, || $kernel(&view, rows, k, axis, similarity, min_support, shrinkage))?;
            Ok(csr_into_py(py, result))
        }
    };
}

rows_entry_point!(
    /// The neighbour rows of the entities `rows` only, against the whole matrix: row `j` is row
    /// `rows[j]` of `pearson_neighbours`; returns the `len(rows) x n` CSR arrays.
    "pearson_neighbours_rows",
    pearson_neighbours_rows_py,
    pearson_neighbours_of_rows
);

rows_entry_point!(
    /// One part of the full call split over the entities `rows` (every pair with its lower entity
    /// in `rows`, offered to both rows); returns the `n x n` CSR arrays. See `merge_neighbour_parts`.
    "pearson_neighbours_part",
    pearson_neighbours_part_py,
    pearson_neighbours_part
);

/// The neighbours of the new ratings computed from the old result (`old_*`, `old_n x old_n`,
/// computed with `old_k`), `old_to_new` and the `touched` entities; returns the wide result
/// and its first `narrow_k` entries per row, each as CSR arrays.
#[pyfunction(name = "pearson_neighbours_update")]
#[pyo3(signature = (indptr, indices, data, n_rows, n_cols, old_indptr, old_indices, old_data, old_k, old_to_new, touched, k, narrow_k, axis, similarity, min_support, shrinkage, num_threads = 0))]
#[allow(clippy::too_many_arguments)]
pub fn pearson_neighbours_update_py<'py>(
    py: Python<'py>,
    indptr: PyReadonlyArray1<'py, i64>,
    indices: PyReadonlyArray1<'py, i32>,
    data: PyReadonlyArray1<'py, f64>,
    n_rows: usize,
    n_cols: usize,
    old_indptr: PyReadonlyArray1<'py, i64>,
    old_indices: PyReadonlyArray1<'py, i32>,
    old_data: PyReadonlyArray1<'py, f32>,
    old_k: usize,
    old_to_new: PyReadonlyArray1<'py, i32>,
    touched: PyReadonlyArray1<'py, i32>,
    k: usize,
    narrow_k: usize,
    axis: &str,
    similarity: &str,
    min_support: usize,
    shrinkage: f64,
    num_threads: usize,
) -> PyResult<(CsrOut<'py, f32>, CsrOut<'py, f32>)> {
    let Ratings { view, axis, similarity } = Ratings::extract(&indptr, &indices, &data, n_rows, n_cols, axis, similarity)?;
    if narrow_k == 0 {
        return Err(to_py(shoprec_core::Error::invalid("k", "must be at least 1")));
    }
    let old_to_new = slice1(&old_to_new, "old_to_new")?;
    let n_old = old_to_new.len();
    let (old_indptr, old_indices, old_data) =
        (slice1(&old_indptr, "old")?, slice1(&old_indices, "old")?, slice1(&old_data, "old")?);
    let touched = slice1(&touched, "touched")?;
    let plan = run_detached(py, num_threads, || {
        // The old result's columns and values (millions of entries) are checked by the update
        // itself, in its parallel pass over them; here only its offsets.
        let old = CsrView::with_checked_offsets("old", n_old, n_old, old_indptr, old_indices, old_data)?;
        let update = NeighbourUpdate { old, old_k, old_to_new, touched };
        plan_update(&view, &update, k, axis, similarity, min_support, shrinkage)
    })?;
    // The result's entries in numpy's memory (the allocator keeps what a replaced model freed,
    // so the next update reuses it instead of faulting in fresh pages), written off the GIL.
    let nnz = plan.nnz();
    let wide_indices = PyArray1::<i32>::zeros(py, nnz, false);
    let wide_data = PyArray1::<f32>::zeros(py, nnz, false);
    let narrow = {
        let mut indices_rw = wide_indices.readwrite();
        let mut data_rw = wide_data.readwrite();
        let (indices_out, data_out) = (indices_rw.as_slice_mut()?, data_rw.as_slice_mut()?);
        run_detached(py, num_threads, || {
            plan.write(indices_out, data_out)?;
            let n = plan.indptr().len() - 1;
            let wide = CsrView { n_rows: n, n_cols: n, indptr: plan.indptr(), indices: indices_out, data: data_out };
            Ok(first_of_rows(&wide, narrow_k))
        })?
    };
    let wide_indptr = PyArray1::from_slice(py, plan.indptr());
    Ok(((wide_indptr, wide_indices, wide_data), csr_into_py(py, narrow)))
}

/// The parts of `pearson_neighbours_part` (each `n x n` CSR arrays) merged: the full call's
/// result, the best `k` per row.
#[pyfunction(name = "merge_neighbour_parts")]
#[pyo3(signature = (parts, n, k, num_threads = 0))]
pub fn merge_neighbour_parts_py<'py>(
    py: Python<'py>,
    parts: Vec<(PyReadonlyArray1<'py, i64>, PyReadonlyArray1<'py, i32>, PyReadonlyArray1<'py, f32>)>,
    n: usize,
    k: usize,
    num_threads: usize,
) -> PyResult<CsrOut<'py, f32>> {
    let views = parts
        .iter()
        .map(|(indptr, indices, data)| csr_view("parts", n, n, indptr, indices, data, false))
        .collect::<PyResult<Vec<_>>>()?;
    let result = run_detached(py, num_threads, || merge_neighbour_parts(&views, k))?;
    Ok(csr_into_py(py, result))
}
