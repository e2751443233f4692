"""The shoprec command line: main(argv) in-process, and the console entry via subprocess."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shoprec.cli import main
from shoprec.datasets import demo_shop


def run(*argv):
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    data = demo_shop(n_users=200, n_products=300, seed=2)
    data.products.to_csv(folder / "products.csv", index=False)
    data.events.to_csv(folder / "events.csv", index=False)
    data.sales.to_csv(folder / "sales.csv", index=False)
    data.coupons.to_csv(folder / "coupons.csv", index=False)
    data.redemptions.to_csv(folder / "redemptions.csv", index=False)
    return folder, data


@pytest.fixture(scope="module")
def built(files):
    folder, _ = files
    code, text = run("build", "--products", str(folder / "products.csv"), "--events", str(folder / "events.csv"),
                     "--sales", str(folder / "sales.csv"), "--coupons", str(folder / "coupons.csv"),
                     "--redemptions", str(folder / "redemptions.csv"),
                     "--config", '{"keywords": false, "n_segments": 3}', "--out", str(folder / "shop"), "--quiet")
    assert code == 0, text
    assert "Built" in text
    return folder / "shop"


def test_recommend_and_json(built, files):
    code, text = run("recommend", str(built), "u00001", "-k", "3")
    assert code == 0 and "For u00001: itemknn" in text
    code, text = run("recommend", str(built), "stranger", "--json")
    answer = json.loads(text)
    assert code == 0 and (answer["part"], answer["source"], answer["reason"]) == ("popular", "fallback", "unknown_user")
    assert len(answer["items"]) == 10 and all("title" in row and "why" in row for row in answer["items"])
    code, text = run("recommend", str(built), "u00001", "--coupons", "--json")
    assert code == 0 and json.loads(text)["part"].startswith("coupons")
    # Same answer as the library.
    import shoprec

    shop = shoprec.Shop.load(built)
    code, text = run("recommend", str(built), "u00002", "-k", "4", "--json")
    assert [row["id"] for row in json.loads(text)["items"]] == list(shop.recommend("u00002", 4).items)


def test_similar_evaluate(built, files):
    _, data = files
    import shoprec

    item = shoprec.Shop.load(built).parts.interactions.item_ids[0]
    code, text = run("similar", str(built), str(item), "--json")
    assert code == 0 and json.loads(text)["part"] in ("similar-items", "popular-in-category")
    code, text = run("evaluate", str(built), "--json")
    assert code == 0 and "ItemKNN (with popular-in-segment fallback)" in json.loads(text)["models"]
    code, text = run("evaluate", str(built))
    assert code == 0 and "ndcg@10" in text


def test_search(built):
    import shoprec

    code, text = run("search", str(built), "耳机", "--json")
    if shoprec.Shop.load(built).has_search:
        assert code == 0 and json.loads(text)["items"]
    else:
        assert code == 1


def test_errors_and_usage(built, tmp_path, capsys):
    assert run("recommend", str(tmp_path / "nope"), "u1")[0] == 2
    assert run("similar", str(built), "not-a-product")[0] == 1
    assert "not in the catalogue" in capsys.readouterr().err
    assert run("recommend", str(built))[0] == 2  # missing USER
    assert run("recommend", str(built), "u1", "-k", "zero")[0] == 2
    assert run("search", str(built), "x", "--max-price", "cheap")[0] == 2
    assert run("frobnicate")[0] == 2
    assert run()[0] == 2
    assert run("build", "--out", str(tmp_path / "x"))[0] == 2
    bad = tmp_path / "e.csv"
    bad.write_text("who,what\n1,2\n")
    assert run("build", "--products", str(bad), "--events", str(bad), "--out", str(tmp_path / "x"), "-q")[0] == 1
    assert run("--help")[0] == 0
    assert "examples:" in capsys.readouterr().out


def test_console_script_subprocess(built):
    import shoprec

    # The shoprec under test (an in-place build or the installed package), not whatever is first.
    env = dict(os.environ, PYTHONPATH=str(Path(shoprec.__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-m", "shoprec", "recommend", str(built), "u00003", "-k", "2"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "u00003" in done.stdout
    assert "[" not in done.stderr  # no progress bar when stderr is not a terminal
    done = subprocess.run([sys.executable, "-m", "shoprec", "recommend"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 2 and "usage" in done.stderr


def test_demo_small(tmp_path):
    code, text = run("demo", "--users", "300", "--products", "400", "--quiet", "--out", str(tmp_path / "demo"))
    assert code == 0
    for part in ("Recommended for", "Similar to", "Interest segments", "Evaluation", "Coupons", "Restock"):
        assert part in text
    assert (tmp_path / "demo" / "manifest.json").is_file()


def test_serve_runs_the_flask_example(built, monkeypatch):
    flask = pytest.importorskip("flask")
    pytest.importorskip("prometheus_client")
    started = {}

    def fake_run(app, host=None, port=None, **options):
        started.update(host=host, port=port, client=app.test_client())

    monkeypatch.setattr(flask.Flask, "run", fake_run)
    code, text = run("serve", str(built), "--port", "8123", "-q")
    assert code == 0 and "http://127.0.0.1:8123/" in text
    assert started["port"] == 8123
    response = started["client"].get("/recommend/stranger?k=2")
    assert response.status_code == 200 and response.get_json()["reason"] == "unknown_user"


def test_movielens_build_with_integer_ids(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(1, 81), 12)
    movies = np.concatenate([rng.choice(np.arange(1, 41), 12, replace=False) for _ in range(80)])
    lines = ["userId,movieId,rating,timestamp"] + [
        f"{u},{m},{rng.integers(1, 6)},{964982703 + i}" for i, (u, m) in enumerate(zip(users, movies))]
    (tmp_path / "ratings.csv").write_text("\n".join(lines) + "\n")
    genres = ["Comedy", "Drama", "Action|Thriller", "Animation"]
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n" + "".join(
        f"{m},Movie {m} (1995),{genres[m % 4]}\n" for m in range(1, 41)))
    code, text = run("build", "--movielens", str(tmp_path), "--config", '{"keywords": false, "n_segments": 2}',
                     "--out", str(tmp_path / "shop"), "-q")
    assert code == 0, text
    code, text = run("recommend", str(tmp_path / "shop"), "7", "-k", "3", "--json")
    answer = json.loads(text)
    assert code == 0 and answer["part"] == "itemknn" and len(answer["items"]) == 3
    assert all(isinstance(row["id"], int) for row in answer["items"])
    code, text = run("similar", str(tmp_path / "shop"), "5", "--json")
    assert code == 0 and json.loads(text)["items"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_on_a_terminal_only(files, tmp_path):
    """`shoprec build` draws its bar when stderr is a terminal, and not with --quiet."""
    import pty
    import threading

    import shoprec

    folder, _ = files
    env = dict(os.environ, PYTHONPATH=str(Path(shoprec.__file__).resolve().parents[1]))

    def build(*extra):
        master, slave = pty.openpty()
        chunks = []

        def read():
            while True:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    return
                if not data:
                    return
                chunks.append(data)

        reader = threading.Thread(target=read)
        reader.start()
        done = subprocess.run([sys.executable, "-m", "shoprec", "build", "--products", str(folder / "products.csv"),
                               "--events", str(folder / "events.csv"), "--config",
                               '{"keywords": false, "search": false, "evaluate": false, "n_segments": 2}',
                               "--out", str(tmp_path / f"shop{len(extra)}"), *extra],
                              stdout=subprocess.PIPE, stderr=slave, text=True, env=env, timeout=300)
        os.close(slave)
        reader.join(30)
        os.close(master)
        assert done.returncode == 0
        return b"".join(chunks).decode("utf-8", "replace")

    assert "[####################] " in build()
    assert "[#" not in build("--quiet")


def test_build_reads_several_event_files(files, tmp_path):
    """--events twice: the same shop as one file holding both (split in the middle)."""
    import shoprec

    folder, data = files
    half = len(data.events) // 2
    data.events.iloc[:half].to_csv(tmp_path / "a.csv", index=False)
    data.events.iloc[half:].to_csv(tmp_path / "b.csv", index=False)
    config = '{"keywords": false, "search": false, "evaluate": false, "n_segments": 2}'
    for name, events in (("two", [tmp_path / "a.csv", tmp_path / "b.csv"]), ("one", [folder / "events.csv"])):
        argv = ["build", "--products", str(folder / "products.csv"), "--config", config, "--out", str(tmp_path / name),
                "-q"]
        for path in events:
            argv += ["--events", str(path)]
        assert run(*argv)[0] == 0
    two, one = shoprec.Shop.load(tmp_path / "two"), shoprec.Shop.load(tmp_path / "one")
    assert (two.parts.interactions.to_csr() != one.parts.interactions.to_csr()).nnz == 0
    assert list(two.parts.interactions.user_ids) == list(one.parts.interactions.user_ids)
    assert two.recommend("u00003", 5).to_list() == one.recommend("u00003", 5).to_list()
