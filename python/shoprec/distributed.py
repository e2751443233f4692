"""Scale-out on a Dask cluster: the same results as one machine (``pip install shoprec[dask]``).

Three entry points, each taking a ``dask.distributed.Client``:

* :func:`pearson_neighbours`: the similarity kernel of
  :func:`shoprec.kernels.pearson_neighbours` split over the workers: each task computes the
  pairs of its share of the entities once (GIL released), exactly as the single-machine
  kernel, and the client merges the parts into the same CSR (same neighbours, same float32
  values, same order) as the single-machine call. The ratings are scattered once to every
  worker.
* :func:`fit`: fits a model with that kernel (``ItemKNN`` / ``UserKNN``; ``Baseline`` and
  ``Popular`` have nothing worth distributing and fit on the client).
* :func:`recommend_many`: batch scoring of many users (every user by default) on the workers,
  as a Dask DataFrame ``(user, rank, item, score)``, or written to Parquet.

Running against a real cluster
------------------------------
Start a scheduler and workers where shoprec is installed (the same version everywhere)::

    dask scheduler                                   # on one machine: tcp://host:8786
    dask worker tcp://host:8786 --nworkers 1 --nthreads 8 --memory-limit 16GB   # on each worker

then ``client = dask.distributed.Client("tcp://host:8786")`` and call the functions here.
Give each task the worker's cores with ``num_threads`` (Rust threads, outside the GIL) and
start workers with ``--nthreads 1``, or leave ``num_threads=1`` and let Dask run one task
per worker thread; do not do both (they multiply).

Memory and limits
-----------------
Every worker holds the whole interaction matrix (it is scattered to all of them: about 12
bytes per interaction as CSR, 8 for the value and 4 for the column, plus 8 per row) and, while
a task runs, the kernel's working copy (about 3 times that: the centred entities, their
transpose and positions), an accumulator per thread (64 bytes per item, or per user) and
the task's part (at most ``n x 2k`` candidates while it runs, ``n x k`` returned, 8 bytes
each). The client receives one part per task and holds the merged result (``n x k``
neighbours). So the matrix must fit one worker, with room for about
four copies: roughly 50 bytes per interaction, i.e. 100 million interactions need about 5 GB
per worker. Beyond that, the neighbourhood of a row needs every rating of its raters, which is
why the matrix is not split: reduce it first (drop users with a single interaction, keep the
recent window, sample the heaviest users), or split the catalogue into independent parts
(categories that never share a neighbour list) and fit one model per part.
:func:`recommend_many` ships the fitted model to every worker once (its size is what ``save``
writes).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

from . import _core
from ._validate import as_csr, check_choice, check_float, check_int, check_k, check_num_threads
from .errors import DTypeError, InvalidArgumentError
from .interactions import Interactions
from .kernels import AXES, SIMILARITIES, _neighbour_csr
from .models import Baseline, ItemKNN, Popular, UserKNN

__all__ = ["pearson_neighbours", "fit", "recommend_many"]


def _part(matrix: Tuple[np.ndarray, np.ndarray, np.ndarray, Tuple[int, int]], first: int, stride: int, n: int,
          k: int, axis: str, similarity: str, min_support: int, shrinkage: float,
          num_threads: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs on a worker: every pair whose lower entity is one of ``first, first + stride, ...``,
    as the part of the full result they give (``n x n``, the best ``k`` per row)."""
    # Arrays arrive as the transport left them (possibly unaligned views of a buffer).
    indptr, indices, data = (np.require(a, dtype, ["C", "A"]) for a, dtype in
                             zip(matrix[:3], (np.int64, np.int32, np.float64)))
    n_rows, n_cols = matrix[3]
    rows = np.arange(first, n, stride, dtype=np.int32)
    return _core.pearson_neighbours_part(
        indptr, indices, data, n_rows, n_cols, rows, k, axis, similarity, min_support, shrinkage, num_threads
    )


def _check_client(client: Any) -> Any:
    if not (hasattr(client, "scatter") and hasattr(client, "submit") and hasattr(client, "gather")):
        raise DTypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    return client


def pearson_neighbours(
    matrix: Any,
    client: Any,
    k: int = 50,
    *,
    axis: str = "items",
    similarity: str = "pearson",
    min_support: int = 1,
    shrinkage: float = 0.0,
    block_size: Optional[int] = None,
    num_threads: int = 1,
) -> sp.csr_matrix:
    """:func:`shoprec.kernels.pearson_neighbours` computed on a Dask cluster: the same matrix.

    The ratings are checked and made canonical here and scattered once to every worker. The
    entities are dealt to the tasks in turn (task ``j`` of ``T`` takes ``j, j + T, ...``, which
    balances the work), and each task computes every pair whose lower entity it holds, once,
    exactly as the single-machine kernel does, keeping the best ``k`` per row of the pairs it
    produced. The client merges the parts (Rust, every core): the best ``k`` of the union of a
    row's candidates is the single-machine row, bit for bit.

    Parameters
    ----------
    matrix, k, axis, similarity, min_support, shrinkage
        As :func:`shoprec.kernels.pearson_neighbours`.
    client : dask.distributed.Client
    block_size : int, optional
        Entities per task. None (the default): one task per worker thread of the cluster,
        which is the least work in all (every task pays the kernel's ``O(nnz)`` preparation of
        the matrix, and returns up to ``n x k`` candidates). Smaller blocks only help to
        spread a cluster whose workers differ in speed.
    num_threads : int
        Rust threads per task (0: every core of the worker); see the module documentation.

    Notes
    -----
    Each pair is summed once in all, as in one process: on one machine the cluster costs the
    single-process time plus the preparation per task, the transfer of the parts (8 bytes
    per candidate) and their merge (``benches/RESULTS.md``); it gains with the cores of
    several machines.

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (n, n), ordered as the single-machine result.
    """
    client = _check_client(client)
    k = check_k(k)
    axis = check_choice(axis, "axis", AXES)
    similarity = check_choice(similarity, "similarity", SIMILARITIES)
    min_support = check_int(min_support, "min_support", minimum=0)
    shrinkage = check_float(shrinkage, "shrinkage", minimum=0.0)
    if block_size is not None:
        block_size = check_int(block_size, "block_size", minimum=1)
    num_threads = check_num_threads(num_threads)
    indptr, indices, data, shape = as_csr(matrix, "matrix", dtype=np.float64)
    n = shape[1] if axis == "items" else shape[0]
    if n == 0:
        return _neighbour_csr((np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)), (0, 0))
    if block_size is None:
        n_tasks = max(1, sum(int(t) for t in client.nthreads().values()))
    else:
        n_tasks = -(-n // block_size)
    n_tasks = min(n_tasks, n)
    scattered = client.scatter((indptr, indices, data, shape), broadcast=True, hash=False)
    futures = [
        client.submit(_part, scattered, first, n_tasks, n, k, axis, similarity, min_support, shrinkage,
                      num_threads, pure=False)
        for first in range(n_tasks)
    ]
    parts = [(np.require(indptr, np.int64, ["C", "A"]), np.require(indices, np.int32, ["C", "A"]),
              np.require(values, np.float32, ["C", "A"])) for indptr, indices, values in client.gather(futures)]
    return _neighbour_csr(_core.merge_neighbour_parts(parts, n, k, 0), (n, n))


def fit(model: Any, interactions: Interactions, client: Any, *, fallback: Optional[Popular] = None,
        block_size: Optional[int] = None, num_threads: int = 1) -> Any:
    """Fits ``model`` on ``interactions`` with its similarities computed on the cluster.

    ``ItemKNN`` / ``UserKNN``: exactly ``model.fit(interactions, fallback=fallback)``, the
    neighbour kernel running as :func:`pearson_neighbours` (``block_size``, ``num_threads``
    as there); everything else (means, biases, the index) is computed on the client.
    ``Baseline`` and ``Popular`` fit on the client (a few vectorised passes over the
    interactions: nothing to gain from a cluster). Returns the fitted ``model``.
    """
    client = _check_client(client)
    if isinstance(model, (ItemKNN, UserKNN)):
        def kernel(matrix: Any, k: int, **kwargs: Any) -> sp.csr_matrix:
            kwargs.pop("num_threads", None)
            return pearson_neighbours(matrix, client, k, block_size=block_size, num_threads=num_threads, **kwargs)

        return model._fit_with(interactions, fallback, kernel)
    if fallback is not None:
        raise InvalidArgumentError("fallback is a parameter of ItemKNN and UserKNN only")
    if isinstance(model, (Baseline, Popular)):
        return model.fit(interactions)
    raise DTypeError(f"model must be a shoprec ItemKNN, UserKNN, Baseline or Popular, got {type(model).__name__}")


def _recommend_block(model: Any, users: List[Any], k: int, exclude_seen: bool) -> Any:
    """Runs on a worker: one block of users as a DataFrame (user, rank, item, score)."""
    import pandas as pd

    recommendations = model.recommend_many(users, k, exclude_seen=exclude_seen, num_threads=1)
    counts = np.array([len(r) for r in recommendations], dtype=np.int64)
    user_column = np.repeat(np.asarray(users, dtype=object), counts)
    ranks = np.concatenate([np.arange(1, c + 1) for c in counts]) if len(counts) else np.zeros(0, np.int64)
    items: Any = (np.concatenate([np.asarray(r.items, dtype=object) for r in recommendations])
                  if len(counts) else [])
    scores = np.concatenate([r.scores for r in recommendations]) if len(counts) else np.zeros(0, np.float32)
    return pd.DataFrame({
        "user": pd.Series(user_column, dtype=object).infer_objects(),
        "rank": ranks.astype(np.int32),
        "item": pd.Series(items, dtype=object).infer_objects(),
        "score": np.asarray(scores, dtype=np.float32),
    })


def recommend_many(model: Any, users: Optional[Sequence[Any]], client: Any, k: int = 10, *,
                   exclude_seen: bool = True, batch_size: int = 10_000, path: Optional[str] = None) -> Any:
    """Top-``k`` recommendations of many users, scored on the workers.

    Parameters
    ----------
    model : fitted ItemKNN, UserKNN, Baseline or Popular
        Sent once to every worker (pickled by value).
    users : sequence of user ids, or None for every user the model knows
        Unknown users get the model's fallback, as :meth:`recommend` gives them.
    client : dask.distributed.Client
    k, exclude_seen : as :meth:`recommend_many`.
    batch_size : int
        Users per task (one partition of the result).
    path : str, optional
        Write the result to this Parquet directory (any fsspec URL the workers can reach, e.g.
        ``s3://bucket/recs``; needs pyarrow) and return None.

    Returns
    -------
    dask.dataframe.DataFrame with columns ``user``, ``rank`` (1 = best), ``item``, ``score``
    (float32), one row per recommendation, in the order of ``users`` (partition by partition);
    None when ``path`` is given. ``.compute()`` equals the rows of
    ``model.recommend_many(users, k)``.
    """
    import dask.dataframe as dd  # type: ignore[import-not-found, unused-ignore]

    client = _check_client(client)
    k = check_k(k)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if not getattr(model, "is_fitted", False):
        raise InvalidArgumentError("recommend_many needs a fitted model")
    user_list = list(model.user_ids if users is None else users)
    if not user_list:
        raise InvalidArgumentError("no users to recommend for")
    scattered = client.scatter(model, broadcast=True, hash=False)
    futures = [
        client.submit(_recommend_block, scattered, user_list[start:start + batch_size], k, bool(exclude_seen),
                      pure=False)
        for start in range(0, len(user_list), batch_size)
    ]
    meta = _recommend_block(model, user_list[:1], k, bool(exclude_seen)).iloc[:0]
    frame = dd.from_delayed(futures, meta=meta, verify_meta=False)
    if path is not None:
        frame.to_parquet(path, write_index=False)
        return None
    return frame
