"""shoprec.distributed on a real dask.distributed LocalCluster with 2 worker processes: the
same neighbours, models and recommendations as one machine. Skipped without dask."""

import numpy as np
import pytest

distributed_dask = pytest.importorskip("dask.distributed")

from shoprec import Baseline, Interactions, ItemKNN, Popular, UserKNN, distributed  # noqa: E402
from shoprec.errors import DTypeError, InvalidArgumentError  # noqa: E402
from shoprec.kernels import pearson_neighbours  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed_dask.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                            dashboard_address=None)
    with cluster, distributed_dask.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def inter():
    rng = np.random.default_rng(3)
    n = 1500
    users = np.array([f"u{u}" for u in rng.integers(0, 60, n)])
    items = (rng.random(n) ** 2 * 90).astype(np.int64)
    return Interactions.from_arrays(users, items, rng.integers(1, 11, n) / 2.0)


@pytest.mark.parametrize("similarity", ["pearson", "cosine", "adjusted_cosine", "cosine_corated"])
@pytest.mark.parametrize("axis", ["items", "users"])
def test_neighbours_equal_the_single_machine_call(client, inter, similarity, axis):
    kw = dict(axis=axis, similarity=similarity, min_support=2, shrinkage=3.0)
    want = pearson_neighbours(inter.to_csr(), 6, **kw)
    for block_size in (None, 1, 7, 1000):  # None: one task per worker thread
        got = distributed.pearson_neighbours(inter.to_csr(), client, 6, block_size=block_size, **kw)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.indptr, want.indptr)
        np.testing.assert_array_equal(got.indices, want.indices)
        np.testing.assert_array_equal(got.data, want.data)


def test_fit_equals_fit(client, inter):
    for make in (lambda: ItemKNN(10), lambda: UserKNN(5, similarity="cosine", baseline=True), Baseline, Popular):
        got = distributed.fit(make(), inter, client, block_size=11)
        want = make().fit(inter)
        gs, ws = got._fitted(), want._fitted()
        for name in ("neighbours", "predict_neighbours"):
            if hasattr(ws, name):
                for g, w in zip(getattr(gs, name), getattr(ws, name)):
                    np.testing.assert_array_equal(g, w)
        users = list(inter.user_ids[:20]) + ["nobody"]
        for g, w in zip(got.recommend_many(users, 5), want.recommend_many(users, 5)):
            np.testing.assert_array_equal(g.items, w.items)
            np.testing.assert_array_equal(g.scores, w.scores)


def test_recommend_many_as_a_dataframe_and_parquet(client, inter, tmp_path):
    model = ItemKNN(10).fit(inter)
    users = list(inter.user_ids) + ["nobody"]
    frame = distributed.recommend_many(model, users, client, k=4, batch_size=17).compute()
    want = model.recommend_many(users, 4)
    rows = [(u, r + 1, i, s) for u, recs in zip(users, want) for r, (i, s) in enumerate(zip(recs.items, recs.scores))]
    assert len(frame) == len(rows)
    assert list(frame["user"]) == [r[0] for r in rows]
    assert list(frame["rank"]) == [r[1] for r in rows]
    assert list(frame["item"]) == [r[2] for r in rows]
    np.testing.assert_array_equal(frame["score"].to_numpy(), np.array([r[3] for r in rows], np.float32))
    # Every known user by default; written to Parquet.
    pytest.importorskip("pyarrow")
    import pandas as pd

    assert distributed.recommend_many(model, None, client, k=4, path=str(tmp_path / "recs")) is None
    back = pd.read_parquet(tmp_path / "recs").sort_values(["user", "rank"]).reset_index(drop=True)
    local = frame[frame["user"] != "nobody"].sort_values(["user", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back[["user", "rank", "item"]], local[["user", "rank", "item"]], check_dtype=False)


def test_bad_arguments(client, inter):
    with pytest.raises(DTypeError):
        distributed.pearson_neighbours(inter.to_csr(), object(), 5)
    with pytest.raises(InvalidArgumentError):
        distributed.pearson_neighbours(inter.to_csr(), client, 5, block_size=0)
    with pytest.raises(InvalidArgumentError):
        distributed.recommend_many(ItemKNN(), None, client)
    with pytest.raises(DTypeError):
        distributed.fit(object(), inter, client)
