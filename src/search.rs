//! Glue for product search: `_core.SearchEngine`, the tantivy index of `shoprec-search`.
//!
//! Products, filters and queries arrive as plain tuples and lists that `shoprec.search` has
//! already normalised (ids as strings, numbers as floats); this layer extracts them, runs the
//! engine with the GIL released and returns plain tuples. Query text is read with
//! `to_string_lossy`, so even a `str` with lone surrogates is searched (as U+FFFD), never refused.

use std::path::PathBuf;
use std::sync::Arc;

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString, PyTuple};
use shoprec_search::{
    blend, BlendWeights, Condition, Config, Error, Filter, FilterKind, Product, SearchIndex, SearchQuery, Value,
};

use crate::arrays::slice1;
use crate::error::search_to_py;
use crate::parallel::run_sized_with;

/// Runs `work` with the GIL released on this thread; errors and panics become exceptions.
fn detached<T: Send>(py: Python<'_>, work: impl FnOnce() -> Result<T, Error> + Send) -> PyResult<T> {
    run_sized_with(py, 0, 0, work, search_to_py)
}

/// The fewest candidates a blend releases the GIL for (1,000 take about 50 us; a search's
/// default 100 about 5 us).
const BLEND_DETACH_MIN: usize = 1_000;

fn lossy(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    let s = obj.cast::<PyString>().map_err(|_| PyTypeError::new_err(format!("{what} must be a str")))?;
    Ok(s.to_string_lossy().into_owned())
}

fn kind_of(name: &str) -> PyResult<FilterKind> {
    match name {
        "str" => Ok(FilterKind::Str),
        "number" => Ok(FilterKind::Number),
        "bool" => Ok(FilterKind::Bool),
        other => Err(search_to_py(Error::invalid("filters", format!("unknown filter type {other:?}")))),
    }
}

fn kind_name(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::Str => "str",
        FilterKind::Number => "number",
        FilterKind::Bool => "bool",
    }
}

/// `None`, a bool, a number, a str or a list of str.
fn value_of(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        Ok(Value::Missing)
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>() {
        Ok(Value::Number(obj.extract::<f64>()?))
    } else if obj.is_instance_of::<PyString>() {
        Ok(Value::Str(vec![lossy(obj, "a filter value")?]))
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        Ok(Value::Str(obj.try_iter()?.map(|v| lossy(&v?, "a filter value")).collect::<PyResult<_>>()?))
    } else {
        Err(PyTypeError::new_err("a filter value must be None, a bool, a number, a str or a list of str"))
    }
}

/// `(id, [text, ...], [value, ...], popularity)` tuples.
fn products_of(products: &Bound<'_, PyAny>) -> PyResult<Vec<Product>> {
    let mut out = Vec::new();
    for item in products.try_iter()? {
        let item = item?;
        let (id, texts, values, popularity): (Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>, f64) = item.extract()?;
        out.push(Product {
            id: lossy(&id, "id")?,
            texts: texts.try_iter()?.map(|t| lossy(&t?, "a text")).collect::<PyResult<_>>()?,
            values: values.try_iter()?.map(|v| value_of(&v?)).collect::<PyResult<_>>()?,
            popularity,
        });
    }
    Ok(out)
}

fn value_to_py(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Missing => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(x) => PyFloat::new(py, *x).into_any().unbind(),
        Value::Str(values) => PyList::new(py, values)?.into_any().unbind(),
    })
}

/// `(field, "any" | "numbers" | "range" | "bool", payload)` triples.
fn filters_of(filters: Vec<(String, String, Bound<'_, PyAny>)>) -> PyResult<Vec<Filter>> {
    filters
        .into_iter()
        .map(|(field, op, payload)| {
            let condition = match op.as_str() {
                "any" => Condition::AnyOf(payload.extract()?),
                "numbers" => Condition::NumberAnyOf(payload.extract()?),
                "range" => {
                    let (min, max): (Option<f64>, Option<f64>) = payload.extract()?;
                    Condition::Range { min, max }
                }
                "bool" => Condition::Bool(payload.extract()?),
                other => return Err(search_to_py(Error::invalid("filters", format!("unknown condition {other:?}")))),
            };
            Ok(Filter { field, condition })
        })
        .collect()
}

type FieldSpec = (Vec<(String, f32)>, Vec<(String, String)>, Vec<String>, Option<String>);

fn config_of(spec: FieldSpec) -> PyResult<Config> {
    let (text_fields, filter_fields, user_words, stock_field) = spec;
    let filter_fields = filter_fields.into_iter().map(|(n, k)| Ok((n, kind_of(&k)?))).collect::<PyResult<_>>()?;
    Ok(Config { text_fields, filter_fields, user_words, stock_field })
}

type ProductTuple = (String, Vec<String>, Vec<Py<PyAny>>, f64);
type SearchTuple<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f64>>,
    u64,
    Vec<(String, Vec<(String, u64)>)>,
    Vec<String>,
    Vec<(String, String)>,
    Vec<String>,
    bool,
);
type BlendTuple<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<f32>>,
);

/// Product ids as `shoprec.search` encoded them (`i:42`, `s:abc`), decoded: an int64 array
/// when every id is an int that fits, else a list of int and str.
fn ids_to_py(py: Python<'_>, ids: Vec<String>) -> PyResult<Bound<'_, PyAny>> {
    let ints: Option<Vec<i64>> = ids.iter().map(|id| id.strip_prefix("i:").and_then(|d| d.parse().ok())).collect();
    if let Some(ints) = ints {
        return Ok(ints.into_pyarray(py).into_any());
    }
    let list = PyList::empty(py);
    for id in &ids {
        match id.strip_prefix("i:") {
            Some(digits) => match digits.parse::<i64>() {
                Ok(value) => list.append(value)?,
                // Python ints have no size limit: let Python read the digits.
                Err(_) => list.append(py.get_type::<PyInt>().call1((digits,))?)?,
            },
            None => list.append(id.strip_prefix("s:").unwrap_or(id))?,
        }
    }
    Ok(list.into_any())
}

fn f32s(values: Vec<f64>) -> Vec<f32> {
    values.into_iter().map(|v| v as f32).collect()
}

/// Ranks the candidates of a search by the blend of their parts (`shoprec.search.blend`):
/// returns `(order, score, text, expansion, personal, popularity)` for the candidates
/// `offset..offset + k` of the ranking, `order` being their positions in the inputs.
#[pyfunction(name = "blend")]
#[pyo3(signature = (text, expansion, personal, popularity, weights, offset, k))]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
pub fn blend_py<'py>(
    py: Python<'py>,
    text: PyReadonlyArray1<'py, f32>,
    expansion: PyReadonlyArray1<'py, f32>,
    personal: Option<PyReadonlyArray1<'py, f64>>,
    popularity: PyReadonlyArray1<'py, f64>,
    weights: (f64, f64, f64),
    offset: usize,
    k: usize,
) -> PyResult<BlendTuple<'py>> {
    let text = slice1(&text, "text")?;
    let expansion = slice1(&expansion, "expansion")?;
    let personal = personal.as_ref().map(|p| slice1(p, "personal")).transpose()?;
    let popularity = slice1(&popularity, "popularity")?;
    let weights = BlendWeights { text: weights.0, personal: weights.1, popularity: weights.2 };
    let blended = || blend(text, expansion, personal, popularity, weights, offset, k);
    let out = run_sized_with(py, text.len(), BLEND_DETACH_MIN, blended, search_to_py)?;
    let order: Vec<i64> = out.order.iter().map(|&i| i as i64).collect();
    Ok((
        order.into_pyarray(py),
        f32s(out.score).into_pyarray(py),
        f32s(out.text).into_pyarray(py),
        f32s(out.expansion).into_pyarray(py),
        f32s(out.personal).into_pyarray(py),
        f32s(out.popularity).into_pyarray(py),
    ))
}

/// A product index: tantivy with shoprec's tokenizer. Thread-safe; writes are visible to the
/// next search.
#[pyclass(frozen, name = "SearchEngine", module = "shoprec._core")]
pub struct PySearchEngine {
    inner: Arc<SearchIndex>,
    /// Declared after `inner`, so dropped after it.
    owner: Owner,
}

/// The process that opened an engine. tantivy's writer threads exist only there: a child of
/// `fork()` must not drop the engine (joining threads it does not have panics), and writes in
/// a child go to a fresh copy (`shoprec.SearchIndex` makes one when `forked()`).
struct Owner {
    pid: u32,
}

impl Owner {
    fn here() -> Self {
        Owner { pid: std::process::id() }
    }

    fn forked(&self) -> bool {
        std::process::id() != self.pid
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        if !self.forked() {
            release_free_memory();
        }
    }
}

impl Drop for PySearchEngine {
    fn drop(&mut self) {
        if self.owner.forked() {
            // Keep the parent's index alive for good in this process: its memory goes when
            // the child exits.
            std::mem::forget(Arc::clone(&self.inner));
        }
    }
}

impl PySearchEngine {
    fn open(inner: SearchIndex) -> Self {
        PySearchEngine { inner: Arc::new(inner), owner: Owner::here() }
    }
}

/// Gives the memory that tantivy's writer threads freed back to the OS. Opening, saving or
/// dropping an index runs indexing threads whose buffers (an 8 MB term table per thread, the
/// segment being built) glibc keeps in per-thread arenas after they are freed: without this,
/// a process that loads indexes again and again grows by megabytes per load although nothing
/// is leaked (measured in benches/RESULTS.md, "Soak"). Costs about a millisecond.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    extern "C" {
        fn malloc_trim(pad: usize) -> std::os::raw::c_int;
    }
    // SAFETY: glibc's malloc_trim takes every arena's lock itself and only returns free pages.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

#[pymethods]
impl PySearchEngine {
    #[new]
    #[pyo3(signature = (text_fields, filter_fields, user_words, stock_field = None, path = None, num_threads = 0))]
    fn new(
        py: Python<'_>,
        text_fields: Vec<(String, f32)>,
        filter_fields: Vec<(String, String)>,
        user_words: Vec<String>,
        stock_field: Option<String>,
        path: Option<PathBuf>,
        num_threads: usize,
    ) -> PyResult<Self> {
        let config = config_of((text_fields, filter_fields, user_words, stock_field))?;
        let inner = detached(py, || SearchIndex::create(&config, path.as_deref(), num_threads))?;
        Ok(PySearchEngine::open(inner))
    }

    /// The index saved in `dir`, copied into memory or into a new directory at `path`.
    #[staticmethod]
    #[pyo3(signature = (dir, text_fields, filter_fields, user_words, stock_field = None, path = None, num_threads = 0))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        py: Python<'_>,
        dir: PathBuf,
        text_fields: Vec<(String, f32)>,
        filter_fields: Vec<(String, String)>,
        user_words: Vec<String>,
        stock_field: Option<String>,
        path: Option<PathBuf>,
        num_threads: usize,
    ) -> PyResult<Self> {
        let config = config_of((text_fields, filter_fields, user_words, stock_field))?;
        let inner = detached(py, || {
            let loaded = SearchIndex::load(&dir, &config, path.as_deref(), num_threads);
            release_free_memory();
            loaded
        })?;
        Ok(PySearchEngine::open(inner))
    }

    fn save(&self, py: Python<'_>, dir: PathBuf) -> PyResult<()> {
        let inner = Arc::clone(&self.inner);
        detached(py, move || {
            let saved = inner.save(&dir);
            release_free_memory();
            saved
        })
    }

    /// Whether this process is a `fork()` child of the one that opened the engine: searches
    /// work, writes must go to a copy.
    fn forked(&self) -> bool {
        self.owner.forked()
    }

    /// `(text_fields, filter_fields, user_words, stock_field)` as given at creation.
    fn fields(&self) -> FieldSpec {
        let c = self.inner.config();
        (
            c.text_fields.clone(),
            c.filter_fields.iter().map(|(n, k)| (n.clone(), kind_name(*k).to_owned())).collect(),
            c.user_words.clone(),
            c.stock_field.clone(),
        )
    }

    fn __len__(&self) -> usize {
        self.inner.len() as usize
    }

    fn analyze(&self, py: Python<'_>, text: &Bound<'_, PyString>) -> PyResult<Vec<String>> {
        let text = text.to_string_lossy().into_owned();
        let inner = Arc::clone(&self.inner);
        detached(py, move || Ok(inner.analyze(&text)))
    }

    fn add(&self, py: Python<'_>, products: &Bound<'_, PyAny>) -> PyResult<()> {
        let products = products_of(products)?;
        let inner = Arc::clone(&self.inner);
        detached(py, move || inner.add(&products))
    }

    fn update(&self, py: Python<'_>, products: &Bound<'_, PyAny>) -> PyResult<()> {
        let products = products_of(products)?;
        let inner = Arc::clone(&self.inner);
        detached(py, move || inner.update(&products))
    }

    fn delete(&self, py: Python<'_>, ids: Vec<String>) -> PyResult<usize> {
        let inner = Arc::clone(&self.inner);
        detached(py, move || inner.delete(&ids))
    }

    fn set_stock(&self, py: Python<'_>, ids: Vec<String>, in_stock: bool) -> PyResult<usize> {
        let inner = Arc::clone(&self.inner);
        detached(py, move || inner.set_stock(&ids, in_stock))
    }

    /// Every product as `(id, texts, values, popularity)`, by id.
    fn products(&self, py: Python<'_>) -> PyResult<Vec<ProductTuple>> {
        let inner = Arc::clone(&self.inner);
        let products = detached(py, move || inner.products())?;
        products
            .into_iter()
            .map(|p| {
                let values = p.values.iter().map(|v| value_to_py(py, v)).collect::<PyResult<_>>()?;
                Ok((p.id, p.texts, values, p.popularity))
            })
            .collect()
    }

    /// Returns `(ids, text, expansion, popularity, total, facets, words, corrections,
    /// expansions_used, browsed)`: the best matches' decoded ids (see `ids_to_py`) and their
    /// text, expansion and popularity as arrays, best first. Answers are remembered until the next
    /// write within about `remember` bytes (none by default; `SearchIndex::search_remembering`).
    #[pyo3(signature = (text, expansions, typos, filters, facets, limit, browse_if_empty, remember = 0))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'_, PyString>,
        expansions: Vec<(String, f32)>,
        typos: bool,
        filters: Vec<(String, String, Bound<'_, PyAny>)>,
        facets: Vec<String>,
        limit: usize,
        browse_if_empty: bool,
        remember: usize,
    ) -> PyResult<SearchTuple<'py>> {
        let query = SearchQuery {
            text: text.to_string_lossy().into_owned(),
            expansions,
            typos,
            filters: filters_of(filters)?,
            facets,
            limit,
            browse_if_empty,
        };
        // A remembered answer is a lookup of microseconds: taken with the GIL held, as handing
        // the GIL to another thread and back costs more (see `run_sized_with`).
        let remembered = run_sized_with(py, 0, 1, || self.inner.remembered_answer(&query, remember), search_to_py)?;
        let out = if let Some(found) = remembered {
            found
        } else {
            let inner = Arc::clone(&self.inner);
            detached(py, move || inner.search_remembering(&query, remember))?
        };
        let n = out.hits.len();
        let (mut ids, mut text, mut expansion, mut popularity) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for hit in out.hits {
            ids.push(hit.id);
            text.push(hit.text);
            expansion.push(hit.expansion);
            popularity.push(hit.popularity);
        }
        Ok((
            ids_to_py(py, ids)?,
            text.into_pyarray(py),
            expansion.into_pyarray(py),
            popularity.into_pyarray(py),
            out.total,
            out.facets,
            out.words,
            out.corrections,
            out.expansions_used,
            out.browsed,
        ))
    }
}
