//! `shoprec._core`: the `PyO3` glue between the Python package and the `shoprec-core` kernels.
//!
//! Every function here follows the same three steps: extract and check the Python inputs,
//! run the core with the GIL released (`parallel::run_detached`), convert the outputs
//! (moved into numpy arrays, not copied). No kernel logic lives in this crate.

// PyO3 hands every argument over by value (extracted arrays, options); taking them by
// reference would only add a copy at the call site.
#![allow(clippy::needless_pass_by_value)]

mod allocator;
mod arrays;
mod biases;
mod error;
mod ids;
mod kmeans;
mod knn;
mod median;
mod parallel;
mod pearson;
mod search;
mod text;
mod topk;

use pyo3::prelude::*;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
mod _core {
    #[pymodule_export]
    use crate::biases::fit_biases_py;
    #[pymodule_export]
    use crate::ids::{id_lookup_py, id_table_py};
    #[pymodule_export]
    use crate::kmeans::{kmeans_assign_py, kmeans_py};
    #[pymodule_export]
    use crate::knn::{PyCosineIndex, PyKnnIndex};
    #[pymodule_export]
    use crate::median::{hampel_py, median_filter_py};
    #[pymodule_export]
    use crate::parallel::panic_for_test_py;
    #[pymodule_export]
    use crate::pearson::{
        merge_neighbour_parts_py, pearson_neighbours_part_py, pearson_neighbours_py, pearson_neighbours_rows_py,
        pearson_neighbours_update_py,
    };
    #[pymodule_export]
    use crate::search::{blend_py, PySearchEngine};
    #[pymodule_export]
    use crate::text::{
        build_corpus_py, cooccurrence_py, discover_phrases_py, ppmi_py, randomized_svd_py, tokenize_py, PyTokenizer,
    };
    #[pymodule_export]
    use crate::topk::top_k_py;

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        crate::allocator::return_freed_memory_promptly();
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
