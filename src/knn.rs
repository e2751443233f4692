//! Glue for the neighbourhood recommenders: `_core.KnnIndex`, the fitted arrays of one model.
//!
//! The index keeps references to the model's numpy arrays (which may be read-only maps of a
//! saved file: nothing is copied) and checks their structure once, when it is built. Every
//! call re-checks the cheap invariants (lengths) and indexes with Rust's bounds checks, so
//! even an array modified behind our back can only raise `InternalError`, never read out of
//! bounds. Per-request inputs (a user index, filters) are checked on every call.

use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use shoprec_core::cosine::{cosine_top_k, CosineQuery};
use shoprec_core::csr::CsrView;
use shoprec_core::knn::{self, Filters, Query, Ranking};
use shoprec_core::Error;

use crate::arrays::slice1;
use crate::error::to_py;
use crate::parallel::{run_detached, run_detached_here, run_sized};

/// A CSR matrix held by reference to its three numpy arrays.
struct CsrHandles {
    name: &'static str,
    n_rows: usize,
    n_cols: usize,
    indptr: Py<PyArray1<i64>>,
    indices: Py<PyArray1<i32>>,
    data: Py<PyArray1<f32>>,
}

/// The borrowed arrays of a [`CsrHandles`] during one call.
struct CsrBorrow<'py> {
    name: &'static str,
    n_rows: usize,
    n_cols: usize,
    indptr: PyReadonlyArray1<'py, i64>,
    indices: PyReadonlyArray1<'py, i32>,
    data: PyReadonlyArray1<'py, f32>,
}

type CsrTriple<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<f32>>);

impl CsrHandles {
    /// Takes the arrays (checked by [`check_all`], once, when the index is built).
    fn new(name: &'static str, arrays: CsrTriple<'_>, n_rows: usize, n_cols: usize) -> Self {
        let (indptr, indices, data) = arrays;
        CsrHandles { name, n_rows, n_cols, indptr: indptr.unbind(), indices: indices.unbind(), data: data.unbind() }
    }

    fn borrow<'py>(&self, py: Python<'py>) -> PyResult<CsrBorrow<'py>> {
        let fail = |_| to_py(Error::invalid(self.name, "array is being written elsewhere"));
        Ok(CsrBorrow {
            name: self.name,
            n_rows: self.n_rows,
            n_cols: self.n_cols,
            indptr: self.indptr.bind(py).try_readonly().map_err(fail)?,
            indices: self.indices.bind(py).try_readonly().map_err(fail)?,
            data: self.data.bind(py).try_readonly().map_err(fail)?,
        })
    }
}

impl CsrBorrow<'_> {
    /// The view, without re-walking the structure checked at construction; only the lengths
    /// are re-checked (O(1)).
    fn view(&self) -> PyResult<CsrView<'_, f32>> {
        let indptr = slice1(&self.indptr, self.name)?;
        let indices = slice1(&self.indices, self.name)?;
        let data = slice1(&self.data, self.name)?;
        if indptr.len() != self.n_rows + 1 || indptr[self.n_rows] as usize != indices.len() || data.len() != indices.len() {
            return Err(to_py(Error::invalid(self.name, "arrays changed size since the model was built")));
        }
        Ok(CsrView { n_rows: self.n_rows, n_cols: self.n_cols, indptr, indices, data })
    }
}

/// The slices of one CSR of the index and what its rows must satisfy.
struct ToCheck<'a> {
    name: &'static str,
    n_rows: usize,
    n_cols: usize,
    indptr: &'a [i64],
    indices: &'a [i32],
    data: &'a [f32],
    /// Strictly increasing column indices per row.
    sorted: bool,
    /// Every row ordered by value descending.
    by_value_desc: bool,
}

/// Checks the whole structure of every CSR once: the offsets and column indices (`sorted`:
/// strictly increasing per row), one finite value per entry, and with `by_value_desc` every
/// row ordered by value descending. The rows in parallel, one pass over each (the neighbour
/// lists hold millions of entries); run with the GIL released.
fn check_all(csrs: &[ToCheck<'_>]) -> Result<(), Error> {
    for c in csrs {
        if c.data.len() != c.indices.len() {
            return Err(Error::invalid(c.name, "needs one value per stored entry"));
        }
        CsrView::new_parallel(c.name, c.n_rows, c.n_cols, c.indptr, c.indices, c.data, c.sorted, |row, values| {
            // Counts without early exits, so that they vectorise; the position only on failure.
            if values.iter().filter(|v| !v.is_finite()).count() > 0 {
                let bad = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
                return Err(Error::invalid(c.name, format!("value {} is not finite", c.indptr[row] as usize + bad)));
            }
            if c.by_value_desc && values.windows(2).filter(|w| w[0] < w[1]).count() > 0 {
                return Err(Error::invalid(c.name, format!("row {row} is not ordered by similarity descending")));
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// The fitted arrays of a kNN model and the requests served from them.
///
/// Item-based: `neighbours` is item x item, a user's query is their history row weighted by
/// their values, scattered through `neighbours`. User-based: `neighbours` is user x user, a
/// user's query is their neighbour row, scattered through `history`.
#[pyclass(frozen, name = "KnnIndex", module = "shoprec._core")]
pub struct PyKnnIndex {
    item_based: bool,
    history: CsrHandles,
    neighbours: CsrHandles,
    predict_neighbours: CsrHandles,
    residuals: CsrHandles,
    tiebreak: Py<PyArray1<f32>>,
    order: Py<PyArray1<i32>>,
}

struct Borrowed<'py> {
    history: CsrBorrow<'py>,
    neighbours: CsrBorrow<'py>,
    tiebreak: PyReadonlyArray1<'py, f32>,
    order: PyReadonlyArray1<'py, i32>,
}

impl Borrowed<'_> {
    fn ranking(&self) -> PyResult<Ranking<'_>> {
        Ok(Ranking { tiebreak: slice1(&self.tiebreak, "tiebreak")?, order: slice1(&self.order, "order")? })
    }
}

fn ids_or_empty<'a>(ids: Option<&'a PyReadonlyArray1<'_, i32>>, name: &'static str) -> PyResult<Option<&'a [i32]>> {
    ids.map(|a| slice1(a, name)).transpose()
}

impl PyKnnIndex {
    fn borrow<'py>(&self, py: Python<'py>) -> PyResult<Borrowed<'py>> {
        let fail = |_| to_py(Error::invalid("ranking", "array is being written elsewhere"));
        Ok(Borrowed {
            history: self.history.borrow(py)?,
            neighbours: self.neighbours.borrow(py)?,
            tiebreak: self.tiebreak.bind(py).try_readonly().map_err(fail)?,
            order: self.order.bind(py).try_readonly().map_err(fail)?,
        })
    }

    fn n_users(&self) -> usize {
        self.history.n_rows
    }

    /// A user index for a recommendation: `0..n_users`, or -1 for a shopper without history.
    fn check_user_or_none(&self, user: i64) -> PyResult<()> {
        if user < -1 || user >= self.n_users() as i64 {
            return Err(to_py(Error::invalid("user", format!("index {user} is out of range for {} users", self.n_users()))));
        }
        Ok(())
    }
}

/// Predicted values and the neighbour count behind each.
type Predictions<'py> = (Bound<'py, PyArray1<f32>>, Bound<'py, PyArray1<i32>>);
type Pair1<'py> = (Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<f32>>);
type Pair2<'py> = (Bound<'py, PyArray2<i32>>, Bound<'py, PyArray2<f32>>);

#[pymethods]
impl PyKnnIndex {
    #[new]
    #[pyo3(signature = (item_based, n_users, n_items, history, neighbours, predict_neighbours, residuals, tiebreak, order, *, num_threads = 0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        item_based: bool,
        n_users: usize,
        n_items: usize,
        history: CsrTriple<'_>,
        neighbours: CsrTriple<'_>,
        predict_neighbours: CsrTriple<'_>,
        residuals: CsrTriple<'_>,
        tiebreak: Bound<'_, PyArray1<f32>>,
        order: Bound<'_, PyArray1<i32>>,
        num_threads: usize,
    ) -> PyResult<Self> {
        let (n_x, n_y) = if item_based { (n_items, n_users) } else { (n_users, n_items) };
        let history = CsrHandles::new("history", history, n_users, n_items);
        let neighbours = CsrHandles::new("neighbours", neighbours, n_x, n_x);
        let predict_neighbours = CsrHandles::new("predict_neighbours", predict_neighbours, n_x, n_x);
        let residuals = CsrHandles::new("residuals", residuals, n_y, n_x);
        {
            let all = [
                (&history, true, false),
                (&neighbours, false, true),
                (&predict_neighbours, false, true),
                (&residuals, true, false),
            ];
            let borrowed = all.iter().map(|(h, _, _)| h.borrow(py)).collect::<PyResult<Vec<_>>>()?;
            let mut csrs = Vec::with_capacity(all.len());
            for ((h, sorted, by_value_desc), b) in all.iter().zip(&borrowed) {
                csrs.push(ToCheck {
                    name: h.name,
                    n_rows: h.n_rows,
                    n_cols: h.n_cols,
                    indptr: slice1(&b.indptr, h.name)?,
                    indices: slice1(&b.indices, h.name)?,
                    data: slice1(&b.data, h.name)?,
                    sorted: *sorted,
                    by_value_desc: *by_value_desc,
                });
            }
            run_detached(py, num_threads, || check_all(&csrs))?;
        }
        {
            let tb =
                tiebreak.try_readonly().map_err(|_| to_py(Error::invalid("tiebreak", "array is being written elsewhere")))?;
            let od = order.try_readonly().map_err(|_| to_py(Error::invalid("order", "array is being written elsewhere")))?;
            let ranking = Ranking::new(slice1(&tb, "tiebreak")?, slice1(&od, "order")?).map_err(to_py)?;
            if ranking.n_items() != n_items {
                return Err(to_py(Error::shape("tiebreak", format!("{} values for {n_items} items", ranking.n_items()))));
            }
        }
        Ok(PyKnnIndex {
            item_based,
            history,
            neighbours,
            predict_neighbours,
            residuals,
            tiebreak: tiebreak.unbind(),
            order: order.unbind(),
        })
    }

    /// The top `k` items of user index `user` (-1: no history, the tie-break order).
    #[pyo3(signature = (user, k, items = None, exclude = None, exclude_seen = true))]
    fn recommend<'py>(
        &self,
        py: Python<'py>,
        user: i64,
        k: usize,
        items: Option<PyReadonlyArray1<'py, i32>>,
        exclude: Option<PyReadonlyArray1<'py, i32>>,
        exclude_seen: bool,
    ) -> PyResult<Pair1<'py>> {
        let filters = Filters {
            include: ids_or_empty(items.as_ref(), "items")?,
            exclude: ids_or_empty(exclude.as_ref(), "exclude")?.unwrap_or(&[]),
        };
        let (ids, scores) = self.rank_user(py, user, k, &filters, exclude_seen, 0)?;
        Ok((ids.into_pyarray(py), scores.into_pyarray(py)))
    }

    /// The serving path of one shopper: the top `k` items of user index `user` (-1: no
    /// history, the tie-break order) as [`Self::recommend`] with the user's training items
    /// excluded, trimmed to the candidates found (no `-1` padding). The GIL is released only
    /// when the request's work (the stored neighbour entries its query visits plus the
    /// excluded ids) is at least `detach_min_work` (0: always).
    #[pyo3(signature = (user, k, exclude = None, detach_min_work = 0))]
    fn recommend_user<'py>(
        &self,
        py: Python<'py>,
        user: i64,
        k: usize,
        exclude: Option<PyReadonlyArray1<'py, i32>>,
        detach_min_work: usize,
    ) -> PyResult<Pair1<'py>> {
        let filters = Filters { include: None, exclude: ids_or_empty(exclude.as_ref(), "exclude")?.unwrap_or(&[]) };
        let (mut ids, mut scores) = self.rank_user(py, user, k, &filters, true, detach_min_work)?;
        // Padding (-1) only ever fills the tail.
        let found = ids.iter().take_while(|&&id| id >= 0).count();
        ids.truncate(found);
        scores.truncate(found);
        Ok((ids.into_pyarray(py), scores.into_pyarray(py)))
    }

    /// The search path of one shopper: user index `user`'s ranking of the candidates as
    /// [`Self::recommend`] gives it with `exclude_seen=False` and `items` as the include filter
    /// (`None`: the non-negative entries of `positions`), read back at `positions` (item
    /// indices, -1 for none): `(scores, first)` with `scores[j]` the score of item
    /// `positions[j]` in the top `k` as float64 (NaN when it is -1 or not in the top `k`), and
    /// `first` the score of the top-ranked item (NaN when no candidate was ranked). The GIL
    /// rule is [`Self::recommend_user`]'s (`detach_min_work`, 0: always released).
    #[pyo3(signature = (user, k, positions, items = None, detach_min_work = 0))]
    fn recommend_aligned<'py>(
        &self,
        py: Python<'py>,
        user: i64,
        k: usize,
        positions: PyReadonlyArray1<'py, i32>,
        items: Option<PyReadonlyArray1<'py, i32>>,
        detach_min_work: usize,
    ) -> PyResult<(Bound<'py, PyArray1<f64>>, f32)> {
        let positions = slice1(&positions, "positions")?;
        let known: Vec<i32> = if items.is_none() { positions.iter().copied().filter(|&p| p >= 0).collect() } else { Vec::new() };
        let include = ids_or_empty(items.as_ref(), "items")?.unwrap_or(&known);
        let filters = Filters { include: Some(include), exclude: &[] };
        let (ids, scores) = self.rank_user(py, user, k, &filters, false, detach_min_work)?;
        let first = if ids.first().is_some_and(|&id| id >= 0) { scores[0] } else { f32::NAN };
        Ok((knn::scores_at(&ids, &scores, positions).into_pyarray(py), first))
    }

    /// The `k` items most similar to item index `item` from the stored neighbours
    /// (`predict_neighbours`, each row ordered by similarity), skipping `exclude` (item
    /// indices, sorted ascending): `(items, similarities)`, at most `k` long. Item-based
    /// models only. The GIL is released only when the request's work (the row's stored
    /// entries plus the excluded ids) is at least `detach_min_work` (0: always).
    #[pyo3(signature = (item, k, exclude = None, detach_min_work = 0))]
    fn similar_items<'py>(
        &self,
        py: Python<'py>,
        item: i64,
        k: usize,
        exclude: Option<PyReadonlyArray1<'py, i32>>,
        detach_min_work: usize,
    ) -> PyResult<Pair1<'py>> {
        if !self.item_based {
            return Err(to_py(Error::invalid("similar_items", "the stored neighbours of a user-based model are users")));
        }
        let neighbours = self.predict_neighbours.borrow(py)?;
        let view = neighbours.view()?;
        let row = usize::try_from(item)
            .ok()
            .filter(|&row| row < view.n_rows)
            .ok_or_else(|| to_py(Error::invalid("item", format!("index {item} is out of range for {} items", view.n_rows))))?;
        let exclude = ids_or_empty(exclude.as_ref(), "exclude")?.unwrap_or(&[]);
        let work = view.row_indices(row).len().saturating_add(exclude.len());
        let (ids, sims) = run_sized(py, work, detach_min_work, || knn::row_head(&view, row, k, exclude))?;
        Ok((ids.into_pyarray(py), sims.into_pyarray(py)))
    }

    /// The top `k` items of an explicit query: `sources` are item indices (item-based) or
    /// user indices (user-based) with their `weights`; `seen` items are excluded.
    #[pyo3(signature = (sources, weights, seen, k, items = None, exclude = None))]
    #[allow(clippy::too_many_arguments)]
    fn recommend_query<'py>(
        &self,
        py: Python<'py>,
        sources: PyReadonlyArray1<'py, i32>,
        weights: PyReadonlyArray1<'py, f32>,
        seen: PyReadonlyArray1<'py, i32>,
        k: usize,
        items: Option<PyReadonlyArray1<'py, i32>>,
        exclude: Option<PyReadonlyArray1<'py, i32>>,
    ) -> PyResult<Pair1<'py>> {
        let b = self.borrow(py)?;
        let history = b.history.view()?;
        let neighbours = b.neighbours.view()?;
        let ranking = b.ranking()?;
        let filters = Filters {
            include: ids_or_empty(items.as_ref(), "items")?,
            exclude: ids_or_empty(exclude.as_ref(), "exclude")?.unwrap_or(&[]),
        };
        let query =
            Query { sources: slice1(&sources, "history")?, weights: slice1(&weights, "weights")?, seen: slice1(&seen, "seen")? };
        let matrix = if self.item_based { neighbours } else { history };
        let (ids, scores) = run_detached_here(py, || knn::recommend_query(query, &matrix, &ranking, &filters, k))?;
        Ok((ids.into_pyarray(py), scores.into_pyarray(py)))
    }

    /// The top `k` items of every user index in `users` (-1: no history), in parallel.
    #[pyo3(signature = (users, k, items = None, exclude = None, exclude_seen = true, num_threads = 0))]
    #[allow(clippy::too_many_arguments)]
    fn recommend_many<'py>(
        &self,
        py: Python<'py>,
        users: PyReadonlyArray1<'py, i32>,
        k: usize,
        items: Option<PyReadonlyArray1<'py, i32>>,
        exclude: Option<PyReadonlyArray1<'py, i32>>,
        exclude_seen: bool,
        num_threads: usize,
    ) -> PyResult<Pair2<'py>> {
        let b = self.borrow(py)?;
        let history = b.history.view()?;
        let neighbours = b.neighbours.view()?;
        let ranking = b.ranking()?;
        let filters = Filters {
            include: ids_or_empty(items.as_ref(), "items")?,
            exclude: ids_or_empty(exclude.as_ref(), "exclude")?.unwrap_or(&[]),
        };
        let users = slice1(&users, "users")?;
        let (queries, sources) = if self.item_based { (history, neighbours) } else { (neighbours, history) };
        let seen = exclude_seen.then_some(&history);
        let (ids, scores) =
            run_detached(py, num_threads, || knn::recommend_rows(users, &queries, seen, &sources, &ranking, &filters, k))?;
        let (n, k) = (users.len(), knn::effective_k(k, self.history.n_cols));
        Ok((ids.into_pyarray(py).reshape([n, k])?, scores.into_pyarray(py).reshape([n, k])?))
    }

    /// `(sources, contributions)` of user index `user`'s score for item index `item`.
    fn explain<'py>(&self, py: Python<'py>, user: i64, item: i32) -> PyResult<Pair1<'py>> {
        if user < 0 || user >= self.n_users() as i64 {
            return Err(to_py(Error::invalid("user", format!("index {user} is out of range for {} users", self.n_users()))));
        }
        let b = self.borrow(py)?;
        let history = b.history.view()?;
        let neighbours = b.neighbours.view()?;
        let (query, sources) = self.query_of(user, &history, &neighbours, false);
        let pairs = run_detached_here(py, || knn::explain_query(query, &sources, item))?;
        let (ids, values): (Vec<i32>, Vec<f32>) = pairs.into_iter().unzip();
        Ok((ids.into_pyarray(py), values.into_pyarray(py)))
    }

    /// Weighted mean residuals of the `k` nearest rated neighbours for index pairs `(xs, ys)`
    /// (item-based: x = item, y = user), and how many neighbours were used.
    #[pyo3(signature = (xs, ys, k, min_k = 1, num_threads = 0))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        xs: PyReadonlyArray1<'py, i32>,
        ys: PyReadonlyArray1<'py, i32>,
        k: usize,
        min_k: usize,
        num_threads: usize,
    ) -> PyResult<Predictions<'py>> {
        let neighbours = self.predict_neighbours.borrow(py)?;
        let residuals = self.residuals.borrow(py)?;
        let (nv, rv) = (neighbours.view()?, residuals.view()?);
        let (xs, ys) = (slice1(&xs, "x")?, slice1(&ys, "y")?);
        let (values, counts) = if xs.len() < 256 {
            run_detached_here(py, || knn::predict_pairs(&nv, &rv, xs, ys, k, min_k))?
        } else {
            run_detached(py, num_threads, || knn::predict_pairs(&nv, &rv, xs, ys, k, min_k))?
        };
        Ok((values.into_pyarray(py), counts.into_pyarray(py)))
    }
}

impl PyKnnIndex {
    /// User `user`'s query and the matrix it scatters through (-1: the empty query).
    fn query_of<'a>(
        &self,
        user: i64,
        history: &CsrView<'a, f32>,
        neighbours: &CsrView<'a, f32>,
        exclude_seen: bool,
    ) -> (Query<'a>, CsrView<'a, f32>) {
        let sources = if self.item_based { *neighbours } else { *history };
        if user < 0 {
            return (Query { sources: &[], weights: &[], seen: &[] }, sources);
        }
        let row = user as usize;
        let seen = if exclude_seen { history.row_indices(row) } else { &[] };
        let query_matrix = if self.item_based { history } else { neighbours };
        (Query { sources: query_matrix.row_indices(row), weights: query_matrix.row_data(row), seen }, sources)
    }

    /// The top `k` of user index `user` (-1: no history) under `filters`, padded as
    /// [`knn::recommend_query`] returns them: what `recommend` and `recommend_user` share. The
    /// GIL is released around the scoring when its work (the stored entries the query visits,
    /// the seen and the excluded ids) is at least `detach_min_work` (0: always, uncounted).
    fn rank_user(
        &self,
        py: Python<'_>,
        user: i64,
        k: usize,
        filters: &Filters<'_>,
        exclude_seen: bool,
        detach_min_work: usize,
    ) -> PyResult<(Vec<i32>, Vec<f32>)> {
        self.check_user_or_none(user)?;
        let b = self.borrow(py)?;
        let history = b.history.view()?;
        let neighbours = b.neighbours.view()?;
        let ranking = b.ranking()?;
        let (query, sources) = self.query_of(user, &history, &neighbours, exclude_seen);
        let work = if detach_min_work == 0 {
            0
        } else {
            knn::query_work(&query, &sources).saturating_add(query.seen.len()).saturating_add(filters.exclude.len())
        };
        run_sized(py, work, detach_min_work, || knn::recommend_query(query, &sources, &ranking, filters, k))
    }
}

/// `(columns, similarities)` of a cosine search.
type Similarities<'py> = (Bound<'py, PyArray1<i32>>, Bound<'py, PyArray1<f64>>);

/// A sparse matrix and the norms of its columns, for cosine searches over the columns (the
/// kNN models' `similar_items`, `similar_users` and the neighbours of an anonymous history).
/// Built once per fitted model; its structure is checked once, here.
#[pyclass(frozen, name = "CosineIndex", module = "shoprec._core")]
pub struct PyCosineIndex {
    through: CsrHandles,
    norms: Py<PyArray1<f64>>,
}

#[pymethods]
impl PyCosineIndex {
    #[new]
    fn new(
        py: Python<'_>,
        through: CsrTriple<'_>,
        n_rows: usize,
        n_cols: usize,
        norms: Bound<'_, PyArray1<f64>>,
    ) -> PyResult<Self> {
        let through = CsrHandles::new("through", through, n_rows, n_cols);
        {
            let b = through.borrow(py)?;
            let csr = ToCheck {
                name: through.name,
                n_rows,
                n_cols,
                indptr: slice1(&b.indptr, through.name)?,
                indices: slice1(&b.indices, through.name)?,
                data: slice1(&b.data, through.name)?,
                sorted: true,
                by_value_desc: false,
            };
            run_detached(py, 1, || check_all(&[csr]))?;
        }
        {
            let borrowed =
                norms.try_readonly().map_err(|_| to_py(Error::invalid("norms", "array is being written elsewhere")))?;
            let values = slice1(&borrowed, "norms")?;
            if values.len() != n_cols {
                return Err(to_py(Error::shape("norms", format!("{} norms for {n_cols} columns", values.len()))));
            }
            if let Some(bad) = values.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(to_py(Error::invalid("norms", format!("norm {bad} is negative or not finite"))));
            }
        }
        Ok(PyCosineIndex { through, norms: norms.unbind() })
    }

    /// `(columns, similarities)`: the `k` columns most cosine-similar to the sparse query
    /// `(sources, weights)` over rows, best first (ties to the lower column), positive only;
    /// never column `skip` (-1: none), only `include` (if given), never `exclude`.
    #[pyo3(signature = (sources, weights, k, skip = -1, include = None, exclude = None))]
    #[allow(clippy::too_many_arguments)]
    fn top_k<'py>(
        &self,
        py: Python<'py>,
        sources: PyReadonlyArray1<'py, i32>,
        weights: PyReadonlyArray1<'py, f64>,
        k: usize,
        skip: i64,
        include: Option<PyReadonlyArray1<'py, i32>>,
        exclude: Option<PyReadonlyArray1<'py, i32>>,
    ) -> PyResult<Similarities<'py>> {
        let through = self.through.borrow(py)?;
        let view = through.view()?;
        let norms =
            self.norms.bind(py).try_readonly().map_err(|_| to_py(Error::invalid("norms", "array is being written elsewhere")))?;
        let skip = match usize::try_from(skip) {
            Ok(s) => Some(s),
            Err(_) if skip == -1 => None,
            Err(_) => return Err(to_py(Error::invalid("skip", format!("index {skip} is out of range")))),
        };
        let query = CosineQuery {
            sources: slice1(&sources, "sources")?,
            weights: slice1(&weights, "weights")?,
            skip,
            include: ids_or_empty(include.as_ref(), "items")?,
            exclude: ids_or_empty(exclude.as_ref(), "exclude")?.unwrap_or(&[]),
        };
        let norms = slice1(&norms, "norms")?;
        let (ids, sims) = run_detached_here(py, || cosine_top_k(query, &view, norms, k))?;
        Ok((ids.into_pyarray(py), sims.into_pyarray(py)))
    }
}
