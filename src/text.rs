//! Glue for `shoprec.tokenize`, the `Tokenizer` class and the keyword-building kernels
//! (phrase discovery, corpus encoding, co-occurrence, PPMI, randomised SVD).

use std::sync::{Arc, OnceLock};

use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use shoprec_core::csr::CsrView;
use shoprec_core::linalg::svd::randomized_svd;
use shoprec_core::text::cooccur::{cooccurrence, ppmi};
use shoprec_core::text::corpus::Corpus;
use shoprec_core::text::phrases::discover_phrases;
use shoprec_core::text::tokenizer::{Tokenizer, TOKENIZER_VERSION};
use shoprec_core::Error;

use crate::arrays::{csr_into_py, csr_view, slice1, CsrOut};
use crate::error::to_py;
use crate::parallel::{run_detached, run_detached_here, run_sized};

/// A tokenizer: jieba-rs with the shop's user words, Latin words and model numbers, bigram
/// fallback. Immutable and shared by threads.
#[pyclass(frozen, name = "Tokenizer", module = "shoprec._core")]
pub struct PyTokenizer {
    pub inner: Arc<Tokenizer>,
}

/// The tokenizer without user words, built once (loading jieba's dictionary takes a moment).
fn default_tokenizer() -> PyResult<Arc<Tokenizer>> {
    static DEFAULT: OnceLock<Arc<Tokenizer>> = OnceLock::new();
    if let Some(t) = DEFAULT.get() {
        return Ok(Arc::clone(t));
    }
    let built = Arc::new(Tokenizer::new(&[]).map_err(to_py)?);
    Ok(Arc::clone(DEFAULT.get_or_init(|| built)))
}

#[pymethods]
impl PyTokenizer {
    #[new]
    #[pyo3(signature = (user_words = Vec::new()))]
    fn new(py: Python<'_>, user_words: Vec<String>) -> PyResult<Self> {
        if user_words.is_empty() {
            return Ok(PyTokenizer { inner: default_tokenizer()? });
        }
        let inner = run_detached_here(py, || Tokenizer::new(&user_words))?;
        Ok(PyTokenizer { inner: Arc::new(inner) })
    }

    fn tokenize(&self, py: Python<'_>, text: &str) -> PyResult<Vec<String>> {
        let text = text.to_owned();
        run_sized(py, text.len(), TOKENIZE_DETACH_MIN, || Ok(self.inner.tokenize(&text)))
    }

    #[pyo3(signature = (texts, num_threads = 0))]
    fn tokenize_many(&self, py: Python<'_>, texts: Vec<String>, num_threads: usize) -> PyResult<Vec<Vec<String>>> {
        use rayon::prelude::*;
        run_detached(py, num_threads, || Ok(texts.par_iter().map(|t| self.inner.tokenize(t)).collect()))
    }

    /// Hex of the 64-bit fingerprint of the tokenizer's version and user words.
    #[getter]
    fn fingerprint(&self) -> String {
        format!("{:016x}", self.inner.fingerprint())
    }

    #[getter]
    fn user_words(&self) -> Vec<String> {
        self.inner.user_words().to_vec()
    }

    #[classattr]
    fn version() -> &'static str {
        TOKENIZER_VERSION
    }
}

#[pyfunction(name = "tokenize")]
pub fn tokenize_py(py: Python<'_>, text: &str) -> PyResult<Vec<String>> {
    let tokenizer = default_tokenizer()?;
    let text = text.to_owned();
    run_sized(py, text.len(), TOKENIZE_DETACH_MIN, || Ok(tokenizer.tokenize(&text)))
}

/// The shortest text (UTF-8 bytes) tokenized with the GIL released: a search query of a few
/// words takes a few microseconds, less than handing the GIL to a waiting thread and taking it
/// back (benches/RESULTS.md, "Shop serving"); 1,000 bytes take about 60 us.
const TOKENIZE_DETACH_MIN: usize = 1_000;

#[pyfunction(name = "discover_phrases")]
#[pyo3(signature = (tokenizer, texts, min_count, min_cohesion, max_phrases, num_threads = 0))]
pub fn discover_phrases_py(
    py: Python<'_>,
    tokenizer: &PyTokenizer,
    texts: Vec<String>,
    min_count: u32,
    min_cohesion: f64,
    max_phrases: usize,
    num_threads: usize,
) -> PyResult<Vec<String>> {
    let tokenizer = Arc::clone(&tokenizer.inner);
    run_detached(py, num_threads, || discover_phrases(&tokenizer, &texts, min_count, min_cohesion, max_phrases))
}

/// Returns `(vocab, doc_freq, (indptr, indices, counts))`.
/// The vocabulary, the document frequency of each term and the documents as CSR term counts.
type CorpusOut<'py> = (Vec<String>, Bound<'py, PyArray1<u32>>, CsrOut<'py, u32>);

#[pyfunction(name = "build_corpus")]
#[pyo3(signature = (tokenizer, texts, max_terms, min_count, num_threads = 0))]
pub fn build_corpus_py<'py>(
    py: Python<'py>,
    tokenizer: &PyTokenizer,
    texts: Vec<String>,
    max_terms: usize,
    min_count: u32,
    num_threads: usize,
) -> PyResult<CorpusOut<'py>> {
    let tokenizer = Arc::clone(&tokenizer.inner);
    let corpus = run_detached(py, num_threads, || Corpus::build(&tokenizer, &texts, max_terms, min_count))?;
    Ok((corpus.vocab, corpus.doc_freq.into_pyarray(py), csr_into_py(py, corpus.docs)))
}

/// Symmetric text co-occurrence counts of `n_terms` terms from the texts' sorted term ids.
#[pyfunction(name = "cooccurrence")]
#[pyo3(signature = (indptr, indices, n_terms, max_terms_per_text, num_threads = 0))]
pub fn cooccurrence_py<'py>(
    py: Python<'py>,
    indptr: PyReadonlyArray1<'py, i64>,
    indices: PyReadonlyArray1<'py, i32>,
    n_terms: usize,
    max_terms_per_text: usize,
    num_threads: usize,
) -> PyResult<CsrOut<'py, f64>> {
    let indptr = slice1(&indptr, "docs")?;
    let indices = slice1(&indices, "docs")?;
    let n_texts = indptr.len().saturating_sub(1);
    if indptr.is_empty() {
        return Err(to_py(Error::invalid("docs", "indptr is empty")));
    }
    let view = CsrView::<f64>::new("docs", n_texts, n_terms, indptr, indices, &[], false).map_err(to_py)?;
    let m = run_detached(py, num_threads, || cooccurrence(&view, max_terms_per_text))?;
    Ok(csr_into_py(py, m))
}

#[pyfunction(name = "ppmi")]
#[pyo3(signature = (indptr, indices, data, n_terms, alpha, shift, num_threads = 0))]
#[allow(clippy::too_many_arguments)]
pub fn ppmi_py<'py>(
    py: Python<'py>,
    indptr: PyReadonlyArray1<'py, i64>,
    indices: PyReadonlyArray1<'py, i32>,
    data: PyReadonlyArray1<'py, f64>,
    n_terms: usize,
    alpha: f64,
    shift: f64,
    num_threads: usize,
) -> PyResult<CsrOut<'py, f32>> {
    let view = csr_view("counts", n_terms, n_terms, &indptr, &indices, &data, false)?;
    let m = run_detached(py, num_threads, || ppmi(&view, alpha, shift))?;
    Ok(csr_into_py(py, m))
}

type SvdOut<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray1<f32>>, Bound<'py, PyArray2<f32>>);

/// `(u, s, v)` of the `rank` leading singular triplets of a CSR matrix.
#[pyfunction(name = "randomized_svd")]
#[pyo3(signature = (indptr, indices, data, n_rows, n_cols, rank, oversample = 10, power_iterations = 2, seed = 0, num_threads = 0))]
#[allow(clippy::too_many_arguments)]
pub fn randomized_svd_py<'py>(
    py: Python<'py>,
    indptr: PyReadonlyArray1<'py, i64>,
    indices: PyReadonlyArray1<'py, i32>,
    data: PyReadonlyArray1<'py, f32>,
    n_rows: usize,
    n_cols: usize,
    rank: usize,
    oversample: usize,
    power_iterations: usize,
    seed: u64,
    num_threads: usize,
) -> PyResult<SvdOut<'py>> {
    let view = csr_view("matrix", n_rows, n_cols, &indptr, &indices, &data, false)?;
    let svd = run_detached(py, num_threads, || randomized_svd(&view, rank, oversample, power_iterations, seed))?;
    Ok((svd.u.into_pyarray(py).reshape([n_rows, rank])?, svd.s.into_pyarray(py), svd.v.into_pyarray(py).reshape([n_cols, rank])?))
}
