"""The recommenders side by side with scikit-surprise and implicit, in one run, on MovieLens.

    python benches/accuracy.py [--data PATH] [--folds 5] [--seed 42] [--write]
                               [--skip-ratings] [--choose-defaults]

Data: any MovieLens-format ratings file, or a folder holding one: ``ratings.csv``
(``userId,movieId,rating,timestamp`` with a header, ml-latest*), ``u.data`` (tab-separated
``user item rating timestamp``, no header, ml-100k) or ``ratings.dat`` (``::``-separated,
ml-1m/10m). Default ``$SHOPREC_DATA/ml-latest-small`` (``SHOPREC_DATA`` defaults to
``../shared/data``); the script exits cleanly when the data is absent.

Protocol: ``shoprec.evaluate.k_fold`` (``--folds``, ``--seed``) splits the ratings into
folds; fold ``f`` is the test part and the other folds are the training part, and every
library gets exactly the same training rows and the same test rows. Results are the mean
over the folds (the standard deviation over folds in brackets).

* Top-10 ranking, the data used as implicit feedback: the training part is unary (every
  training rating is one interaction of weight 1, ``Interactions.from_arrays(users, items)``,
  ``explicit`` False), the same users x items matrix is given to implicit; test ratings >= 4
  are the relevant items, training items are excluded from the lists; only users that have a
  training interaction and a relevant test item are scored, all lists by the same function
  (``ranking_metrics_from_lists``, on shop ids).
* Rating prediction: RMSE/MAE of the test ratings; scikit-surprise's kNN rows (KNNBasic,
  KNNWithMeans, KNNBaseline) against their shoprec counterparts, fit and predict times.
* ``--choose-defaults`` (instead of the above): the cross-validation that chose the
  implicit-data defaults of ``ItemKNN``/``UserKNN``: on the *training* part of every fold
  only, an inner 3-fold split (same protocol) scores a grid of weighting x alpha x
  k_neighbours by NDCG@10; the test parts are never looked at. With ``--write`` it fills the
  ``recommender_defaults`` section of RESULTS.md.
* Latency of one ``recommend()`` call (p50/p99 over every user, several passes) and
  ``recommend_many`` over all users against implicit's batch ``recommend`` (first fold).

With ``--write`` the tables replace the ``recommender`` section of benches/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gc
import warnings
import os
import platform
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from shoprec import Baseline, Interactions, ItemKNN, Popular, UserKNN, evaluate

HERE = os.path.dirname(os.path.abspath(__file__))
K = 10


def timed(fn: Callable[[], Any]) -> Tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


# ---------------------------------------------------------------------------- data
LAYOUTS = ("ratings.csv", "u.data", "ratings.dat")


def data_path(arg: str) -> str:
    """The ratings file named by ``arg`` (a file, or a folder holding one of :data:`LAYOUTS`)."""
    root = arg or os.path.join(os.environ.get("SHOPREC_DATA", os.path.join(HERE, "..", "..", "shared", "data")),
                               "ml-latest-small")
    if os.path.isdir(root):
        for name in LAYOUTS:
            if os.path.exists(os.path.join(root, name)):
                return os.path.join(root, name)
        return os.path.join(root, LAYOUTS[0])
    return root


def read_ratings(path: str):
    """A MovieLens ratings file as a DataFrame ``user, item, rating, timestamp``, whatever its
    layout: ``ratings.csv`` (comma, header), ``u.data`` (tab, no header), ``ratings.dat``
    (``::``, no header). The layout is read from the first line, not from the file name."""
    import pandas as pd

    names = ["user", "item", "rating", "timestamp"]
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    if "::" in first:
        df = pd.read_csv(path, sep="::", engine="python", header=None, names=names)
    elif "\t" in first:
        df = pd.read_csv(path, sep="\t", header=None, names=names)
    elif "," in first:
        header = not first.split(",")[0].strip().lstrip("-").isdigit()
        df = pd.read_csv(path, header=0 if header else None)
        df = df.iloc[:, :4]
        df.columns = names[: df.shape[1]]
    else:
        df = pd.read_csv(path, sep=r"\s+", header=None, names=names)
    return df


# ---------------------------------------------------------------------------- ranking
def unary(train: Interactions) -> Interactions:
    """The training ratings as implicit data: one interaction of weight 1 per rating."""
    return Interactions.from_arrays(train.user_ids[train.users], train.item_ids[train.items])


class RankingFold:
    """One (train, test) split seen as implicit data, with the relevant test items."""

    def __init__(self, train: Interactions, test: Interactions) -> None:
        self.ratings = train
        self.train = unary(train)
        liked = test.values >= 4
        user_ids = test.user_ids[test.users[liked]]
        item_ids = test.item_ids[test.items[liked]]
        known = self.train.user_map.indices(user_ids, "users") >= 0
        user_ids, item_ids = user_ids[known], item_ids[known]
        order = np.argsort(self.train.user_map.indices(user_ids, "users"), kind="stable")
        user_ids, item_ids = user_ids[order], item_ids[order]
        starts = np.flatnonzero(np.r_[True, user_ids[1:] != user_ids[:-1]]) if len(user_ids) else np.zeros(0, int)
        self.users = self.train.user_map.indices(user_ids[starts], "users").astype(np.int32)
        self.relevant = np.split(item_ids, starts[1:]) if len(starts) else []
        self.csr = self.train.to_csr().astype(np.float32).tocsr()

    def score(self, item_index_lists: np.ndarray) -> Dict[str, float]:
        """Metrics of top-k lists of training item indices (one row per evaluated user)."""
        ids = self.train.item_ids
        lists = [ids[row[row >= 0]] for row in item_index_lists]
        return evaluate.ranking_metrics_from_lists(lists, self.relevant, K, n_items=self.train.n_items)

    def shoprec(self, model: Any) -> Tuple[Dict[str, float], float, float]:
        (_, fit_s) = timed(lambda: model.fit(self.train))
        (ids, _, _), rec_s = timed(lambda: model._recommend_indices(self.users, K))
        return self.score(ids), fit_s, rec_s

    def on_ratings(self, model: Any) -> Tuple[Dict[str, float], float, float]:
        """A shoprec model fitted on the explicit training ratings, scored on the same users."""
        (_, fit_s) = timed(lambda: model.fit(self.ratings))
        users = model._fitted().users.indices(self.train.user_ids[self.users], "users")
        (ids, _, _), rec_s = timed(lambda: model._recommend_indices(users, K))
        lists = [model.item_ids[row[row >= 0]] for row in ids]
        return evaluate.ranking_metrics_from_lists(lists, self.relevant, K, n_items=self.train.n_items), fit_s, rec_s

    def implicit(self, model: Any) -> Tuple[Dict[str, float], float, float]:
        _, fit_s = timed(lambda: model.fit(self.csr, show_progress=False))
        (ids, _), rec_s = timed(lambda: model.recommend(self.users, self.csr[self.users], N=K,
                                                        filter_already_liked_items=True))
        return self.score(ids), fit_s, rec_s


def implicit_models() -> List[Tuple[str, Callable[[], Any]]]:
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender

    # K=50 everywhere: implicit's lists include the item itself, so an item keeps 49 others.
    return [("implicit CosineRecommender K=50", lambda: CosineRecommender(K=50)),
            ("implicit TFIDFRecommender K=50", lambda: TFIDFRecommender(K=50)),
            ("implicit BM25Recommender K=50", lambda: BM25Recommender(K=50))]


def shoprec_ranking_models() -> List[Tuple[str, Callable[[], Any]]]:
    return [
        ("shoprec ItemKNN() default", lambda: ItemKNN()),
        ("shoprec UserKNN() default", lambda: UserKNN()),
        ("shoprec ItemKNN(49, cosine) (= implicit Cosine)", lambda: ItemKNN(49, "cosine", weighting="none")),
        ("shoprec ItemKNN(49, cosine, tfidf) (= implicit TF-IDF)", lambda: ItemKNN(49, "cosine", weighting="tfidf")),
        ("shoprec ItemKNN(49, cosine, bm25, alpha=0) (= implicit BM25)",
         lambda: ItemKNN(49, "cosine", weighting="bm25", alpha=0.0)),
        ("shoprec ItemKNN(50, pearson) (explicit default before)", lambda: ItemKNN(50, "pearson")),
        ("shoprec UserKNN(50, cosine)", lambda: UserKNN(50, "cosine")),
        ("shoprec ItemKNN(50, cosine, tfidf, alpha=0.75)", lambda: ItemKNN(50, "cosine", weighting="tfidf", alpha=0.75)),
        ("shoprec UserKNN(100, cosine, bm25, alpha=0.75)", lambda: UserKNN(100, "cosine", weighting="bm25", alpha=0.75)),
        ("shoprec Popular", lambda: Popular()),
    ]


def ratings_ranking_models() -> List[Tuple[str, Callable[[], Any]]]:
    """Fitted on the explicit training ratings (``Interactions.explicit`` True)."""
    return [("shoprec ItemKNN() default, fitted on the ratings", lambda: ItemKNN()),
            ("shoprec UserKNN() default, fitted on the ratings", lambda: UserKNN()),
            ("shoprec Popular, fitted on the ratings", lambda: Popular())]


def ranking_section(folds: Sequence[RankingFold], rows: List[str], notes: Dict[str, Any],
                    extra: Sequence[Tuple[str, Callable[[], Any]]] = ()) -> None:
    try:
        peers = implicit_models()
    except ImportError:
        peers = []
        rows.append("| (implicit is not installed: no peer rows) | | | | | | |")
    entries = [(label, make, "implicit") for label, make in peers]
    entries += [(label, make, "shoprec") for label, make in list(shoprec_ranking_models()) + list(extra)]
    entries += [(label, make, "ratings") for label, make in ratings_ranking_models()]
    for label, make, kind in entries:
        results = []
        fits, recs = [], []
        for fold in folds:
            model = make()
            run = {"implicit": fold.implicit, "shoprec": fold.shoprec, "ratings": fold.on_ratings}[kind]
            metrics, fit_s, rec_s = run(model)
            results.append(metrics)
            fits.append(fit_s)
            recs.append(rec_s)
            del model
        ndcg = np.array([m["ndcg@10"] for m in results])
        prec = np.array([m["precision@10"] for m in results])
        recall = np.mean([m["recall@10"] for m in results])
        cover = np.mean([m["coverage@10"] for m in results])
        rows.append(f"| {label} | {ndcg.mean():.4f} ({ndcg.std():.4f}) | {prec.mean():.4f} ({prec.std():.4f}) | "
                    f"{recall:.4f} | {cover:.3f} | {np.median(fits):.3f} s | {1000 * np.median(recs):.1f} ms |")
        notes[f"rank {label}"] = {"ndcg": float(ndcg.mean()), "precision": float(prec.mean()),
                                  "ndcg_folds": ndcg.tolist()}
        print(rows[-1], flush=True)
        gc.collect()


# ---------------------------------------------------------------------------- choosing defaults
GRID = {
    "weighting": ["none", "tfidf", "bm25"],
    "alpha": [0.5, 0.75, 0.9, 1.0],
    "k_neighbours": [25, 50, 100],
}


def choose_defaults(explicit_folds: Sequence[Tuple[Interactions, Interactions]], seed: int, rows: List[str],
                    notes: Dict[str, Any]) -> None:
    """Inner 3-fold CV on each outer fold's training part only; NDCG@10 per setting."""
    import itertools

    for name, cls in (("ItemKNN", ItemKNN), ("UserKNN", UserKNN)):
        combos = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]
        table = np.zeros((len(explicit_folds), len(combos)))
        for outer, (train, _test) in enumerate(explicit_folds):
            inner = [RankingFold(a, b) for a, b in evaluate.k_fold(train, 3, seed=seed + 1)]
            for c, params in enumerate(combos):
                # max_neighbours = k: the stored rows recommend uses are the same, the fit is cheaper.
                scores = [fold.shoprec(cls(params["k_neighbours"], "cosine", weighting=params["weighting"],
                                           alpha=params["alpha"], max_neighbours=params["k_neighbours"]))[0]["ndcg@10"]
                          for fold in inner]
                table[outer, c] = np.mean(scores)
            best = int(np.argmax(table[outer]))
            print(f"{name} outer fold {outer}: CV picks {combos[best]} ({table[outer, best]:.4f})", flush=True)
        picks = [combos[int(np.argmax(table[o]))] for o in range(len(explicit_folds))]
        mean = table.mean(axis=0)
        order = np.argsort(-mean)
        rows.append(f"**{name}** (similarity cosine; inner 3-fold CV NDCG@10 on the training part, mean over the "
                    f"{len(explicit_folds)} outer training parts; picks per outer fold: "
                    + "; ".join(f"{p['weighting']}, alpha {p['alpha']:g}, k {p['k_neighbours']}" for p in picks) + ")")
        rows.append("")
        rows.append("| weighting | alpha | k_neighbours | CV NDCG@10 |")
        rows.append("|---|---|---|---|")
        for c in order[:12]:
            p = combos[int(c)]
            rows.append(f"| {p['weighting']} | {p['alpha']:g} | {p['k_neighbours']} | {mean[c]:.4f} |")
        worst = combos[int(order[-1])]
        rows.append(f"| (worst: {worst['weighting']}, alpha {worst['alpha']:g}, k {worst['k_neighbours']}) | | | "
                    f"{mean[order[-1]]:.4f} |")
        rows.append("")
        notes[f"cv {name}"] = combos[int(order[0])]


# ---------------------------------------------------------------------------- ratings
def surprise_data(train: Interactions, test: Interactions):
    import pandas as pd
    import surprise

    df = pd.DataFrame({"u": train.user_ids[train.users], "i": train.item_ids[train.items], "r": train.values})
    low, high = train.rating_scale
    trainset = surprise.Dataset.load_from_df(df, surprise.Reader(rating_scale=(low, high))).build_full_trainset()
    testset = list(zip(test.user_ids[test.users].tolist(), test.item_ids[test.items].tolist(), test.values.tolist()))
    return surprise, trainset, testset


def rating_pairs() -> List[Tuple[str, Optional[Callable[[Any], Any]], str, Callable[[], Any]]]:
    """(surprise label, surprise factory or None, shoprec label, shoprec factory)."""
    def knn(name: str, sim: str, user_based: bool, **kw: Any) -> Callable[[Any], Any]:
        return lambda s: getattr(s, name)(k=40, sim_options={"name": sim, "user_based": user_based}, verbose=False, **kw)

    return [
        ("KNNBasic item msd k=40", knn("KNNBasic", "msd", False),
         "ItemKNN(40, msd, centred=False)", lambda: ItemKNN(40, "msd", centred=False, max_neighbours=None)),
        ("KNNBasic user msd k=40", knn("KNNBasic", "msd", True),
         "UserKNN(40, msd, centred=False)", lambda: UserKNN(40, "msd", centred=False, max_neighbours=None)),
        ("KNNBasic item cosine k=40", knn("KNNBasic", "cosine", False),
         "ItemKNN(40, cosine_corated, centred=False)",
         lambda: ItemKNN(40, "cosine_corated", centred=False, max_neighbours=None)),
        ("KNNWithMeans item pearson k=40", knn("KNNWithMeans", "pearson", False),
         "ItemKNN(40, pearson, shrinkage=0)", lambda: ItemKNN(40, "pearson", shrinkage=0.0, max_neighbours=None)),
        ("KNNWithMeans user msd k=40", knn("KNNWithMeans", "msd", True),
         "UserKNN(40, msd)", lambda: UserKNN(40, "msd", max_neighbours=None)),
        ("KNNBaseline item pearson_baseline k=40", knn("KNNBaseline", "pearson_baseline", False),
         "ItemKNN(40, pearson_baseline, baseline=True)",
         lambda: ItemKNN(40, "pearson_baseline", baseline=True, max_neighbours=None)),
        ("KNNBaseline user pearson_baseline k=40", knn("KNNBaseline", "pearson_baseline", True),
         "UserKNN(40, pearson_baseline, baseline=True)",
         lambda: UserKNN(40, "pearson_baseline", baseline=True, max_neighbours=None)),
        ("BaselineOnly (ALS)", lambda s: s.BaselineOnly(verbose=False), "Baseline()", lambda: Baseline()),
        ("", None, "ItemKNN() default on ratings (pearson, shrinkage 25)", lambda: ItemKNN()),
        ("", None, "UserKNN() default on ratings (pearson, shrinkage 25)", lambda: UserKNN()),
    ]


def rating_section(folds: Sequence[Tuple[Interactions, Interactions]], rows: List[str], notes: Dict[str, Any],
                   with_surprise: bool) -> None:
    try:
        import surprise  # noqa: F401

        have_surprise = with_surprise
    except ImportError:
        have_surprise = False
        rows.append("| (scikit-surprise is not installed: shoprec rows only) | | | | | | | | | |")
    for their_label, their_make, our_label, our_make in rating_pairs():
        theirs: List[Tuple[float, ...]] = []
        ours: List[Tuple[float, ...]] = []
        for train, test in folds:
            truth = test.values
            users, items = test.user_ids[test.users], test.item_ids[test.items]
            # Warm pairs: user and item both have training ratings (the cold rule does not apply).
            warm = ((np.bincount(train.users, minlength=train.n_users)[test.users] > 0)
                    & (np.bincount(train.items, minlength=train.n_items)[test.items] > 0))
            model = our_make()
            _, fit_s = timed(lambda model=model: model.fit(train))
            preds, pred_s = timed(lambda model=model: model.predict_many(users, items))
            err = preds - truth
            ours.append((float(np.sqrt(np.mean(err**2))), float(np.mean(np.abs(err))), fit_s, pred_s,
                         float(np.sqrt(np.mean(err[warm] ** 2)))))
            if have_surprise and their_make is not None:
                s, trainset, testset = surprise_data(train, test)
                algo = their_make(s)
                _, fit_s = timed(lambda algo=algo: algo.fit(trainset))
                out, pred_s = timed(lambda algo=algo: algo.test(testset))
                est = np.array([p.est for p in out])
                err = est - truth
                theirs.append((float(np.sqrt(np.mean(err**2))), float(np.mean(np.abs(err))), fit_s, pred_s,
                               float(np.sqrt(np.mean(err[warm] ** 2)))))
                del algo, out, trainset
                gc.collect()
        a = np.array(ours)
        row_theirs = "n/a | n/a | n/a"
        ratio = ""
        if theirs:
            b = np.array(theirs)
            row_theirs = f"{b[:, 0].mean():.4f} ({b[:, 0].std():.4f}) | {b[:, 1].mean():.4f} | {b[:, 4].mean():.4f}"
            ratio = f"{np.median(b[:, 2]) / np.median(a[:, 2]):.0f}x / {np.median(b[:, 3]) / np.median(a[:, 3]):.0f}x"
            notes[f"rmse surprise {their_label}"] = float(b[:, 0].mean())
        notes[f"rmse shoprec {our_label}"] = float(a[:, 0].mean())
        rows.append(f"| {their_label or '-'} | {row_theirs} | {our_label} | {a[:, 0].mean():.4f} ({a[:, 0].std():.4f}) | "
                    f"{a[:, 1].mean():.4f} | {a[:, 4].mean():.4f} | {np.median(a[:, 2]):.3f} s | {ratio} |")
        print(rows[-1], flush=True)


# ---------------------------------------------------------------------------- latency
def latency_section(fold: RankingFold, rows: List[str], notes: Dict[str, Any]) -> None:
    all_users = np.arange(fold.train.n_users, dtype=np.int32)
    peer_s = None
    try:
        from implicit.nearest_neighbours import BM25Recommender

        peer = BM25Recommender(K=50)
        peer.fit(fold.csr, show_progress=False)
        peer.recommend(all_users[:10], fold.csr[all_users[:10]], N=K)
        _, peer_s = timed(lambda: peer.recommend(all_users, fold.csr, N=K, filter_already_liked_items=True))
    except ImportError:
        pass
    for label, model in (("ItemKNN() default", ItemKNN()), ("UserKNN() default", UserKNN())):
        model.fit(fold.train)
        users = list(fold.train.user_ids) * 5
        for user in users[:200]:
            model.recommend(user, K)
        times = np.empty(len(users))
        clock = time.perf_counter_ns
        for j, user in enumerate(users):
            start = clock()
            model.recommend(user, K)
            times[j] = clock() - start
        p50, p99 = np.percentile(times, [50, 99]) / 1000
        model.recommend_many(fold.train.user_ids[:10], K)
        _, many_s = timed(lambda model=model: model.recommend_many(fold.train.user_ids, K))
        _, one_s = timed(lambda model=model: model.recommend_many(fold.train.user_ids, K, num_threads=1))
        ratio = f"{peer_s / many_s:.1f}x" if peer_s else "n/a"
        rows.append(f"| {label} | {p50:.1f} µs | {p99:.1f} µs | {1000 * many_s:.1f} ms | {1000 * one_s:.1f} ms | "
                    f"{1000 * peer_s:.1f} ms | {ratio} |" if peer_s else
                    f"| {label} | {p50:.1f} µs | {p99:.1f} µs | {1000 * many_s:.1f} ms | {1000 * one_s:.1f} ms | n/a | n/a |")
        print(rows[-1], flush=True)


# ---------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="", help="a MovieLens ratings file (ratings.csv, u.data, ratings.dat) "
                                                   "or a folder holding one")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--skip-ratings", action="store_true", help="skip the rating-prediction part")
    parser.add_argument("--no-surprise", action="store_true", help="shoprec rows only in the rating part")
    parser.add_argument("--choose-defaults", action="store_true",
                        help="also run the inner cross-validation that chose the implicit-data defaults (slow)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="implicit")  # its "expects CSR input" notices
    load_before = os.getloadavg()
    path = data_path(args.data)
    if not os.path.exists(path):
        print(f"skipped: {path} not found (pass --data or set SHOPREC_DATA)")
        return
    df = read_ratings(path)
    inter = Interactions.from_pandas(df, user="user", item="item", rating="rating",
                                     timestamp="timestamp" if "timestamp" in df.columns else None)
    folds = list(evaluate.k_fold(inter, args.folds, seed=args.seed))
    print(f"{path}: {inter}; {args.folds} folds of about {len(folds[0][1])} test ratings", flush=True)
    ranking_folds = [RankingFold(train, test) for train, test in folds]

    notes: Dict[str, Any] = {}
    if args.choose_defaults:
        cv_rows: List[str] = []
        choose_defaults(folds, args.seed, cv_rows, notes)
        load = ", ".join(f"{v:.2f}" for v in load_before) + " at the start, " + ", ".join(
            f"{v:.2f}" for v in os.getloadavg()) + " at the end"
        body = "\n".join([
            "## recommender defaults for implicit data: how they were chosen (training parts only)",
            "",
            f"`python benches/accuracy.py --choose-defaults --write` (outer folds {args.folds}, seed {args.seed}, "
            f"{inter}; load average {load}). For every outer fold of the ranking protocol of the `recommender` section, "
            "its training part "
            "alone is split again into 3 folds (seed + 1) and every setting of the grid "
            f"(weighting {GRID['weighting']}, alpha {GRID['alpha']}, k_neighbours {GRID['k_neighbours']}, "
            "similarity cosine) is scored by NDCG@10 with the same protocol (unary training part, held-out ratings "
            ">= 4 relevant, training items excluded). The outer test parts are never used. The defaults in "
            "`shoprec.models.knn.IMPLICIT_DEFAULTS` are the setting with the best mean.",
            "",
            *cv_rows,
        ])
        print(body)
        if args.write:
            sys.path.insert(0, HERE)
            from peers_topk import replace_section

            replace_section(os.path.join(HERE, "RESULTS.md"), "recommender_defaults", body)
            print("wrote benches/RESULTS.md")
        return
    ranking_rows: List[str] = []
    ranking_section(ranking_folds, ranking_rows, notes)
    rating_rows: List[str] = []
    if not args.skip_ratings:
        rating_section(folds, rating_rows, notes, with_surprise=not args.no_surprise)
    latency_rows: List[str] = []
    latency_section(ranking_folds[0], latency_rows, notes)

    verdicts = []
    peers = {k: v for k, v in notes.items() if k.startswith("rank implicit")}
    if peers:
        for metric in ("ndcg", "precision"):
            best_peer = max(peers, key=lambda key: peers[key][metric])
            for ours in ("rank shoprec ItemKNN() default", "rank shoprec UserKNN() default"):
                value, peer = notes[ours][metric], peers[best_peer][metric]
                verdicts.append(f"- {metric}@10: {ours[5:]} {value:.4f} vs the best implicit model "
                                f"({best_peer[5:]}) {peer:.4f}: {'met' if value >= peer else 'NOT met'}")
    for name in ("ItemKNN", "UserKNN"):
        rows_of = {k: v for k, v in notes.items() if k.startswith(f"rank shoprec {name}") and "ratings" not in k}
        best = max(rows_of, key=lambda key: rows_of[key]["ndcg"])
        verdicts.append(f"- best {name} setting on these test folds: {best[13:]} {rows_of[best]['ndcg']:.4f} / "
                        f"{rows_of[best]['precision']:.4f} (reported, not used to choose defaults)")
    for suffix in ("", ", fitted on the ratings"):
        popular = notes[f"rank shoprec Popular{suffix}"]["ndcg"]
        for ours in (f"rank shoprec ItemKNN() default{suffix}", f"rank shoprec UserKNN() default{suffix}"):
            verdicts.append(f"- ndcg@10: {ours[5:]} {notes[ours]['ndcg']:.4f} vs Popular{suffix} {popular:.4f}: "
                            f"{'above' if notes[ours]['ndcg'] > popular else 'NOT above'}")
    print("\n".join(verdicts))
    load_after = os.getloadavg()
    load = (f"load average (1, 5, 15 min) {', '.join(f'{v:.2f}' for v in load_before)} at the start, "
            f"{', '.join(f'{v:.2f}' for v in load_after)} at the end")
    print(load)
    if args.write:
        rel = os.path.relpath(path, os.path.join(HERE, ".."))
        flags = ""
        body = "\n".join([
            f"## recommender ({rel}, {args.folds}-fold cross-validation)",
            "",
            f"`python benches/accuracy.py --write{flags}` (folds {args.folds}, seed {args.seed}; {platform.machine()}, "
            f"{os.cpu_count()} cores; shoprec uses all cores, surprise is single-threaded, implicit uses its default "
            f"threads; peers installed with `python3 -m venv /work/venv-rank && /work/venv-rank/bin/pip install numpy "
            f"scipy pandas scikit-learn hypothesis pytest pytest-benchmark mypy implicit threadpoolctl "
            f"scikit-surprise`). {inter}.",
            "",
            f"Machine load during the run: {load} (a shared 2-core machine: times are noisy, the accuracy is not).",
            "",
            "Every library gets the same rows: `shoprec.evaluate.k_fold` folds; the mean over the folds, the standard "
            "deviation over folds in brackets.",
            "",
            "### Top-10 ranking, the ratings used as implicit data",
            "",
            "The training ratings become unary interactions (weight 1, `Interactions.explicit` False), the same "
            "users x items matrix for implicit; test ratings >= 4 are relevant, training items are excluded; users "
            "with a training interaction and a relevant test item are scored. `ItemKNN()` / `UserKNN()` are the "
            "defaults with no argument; the `(= implicit ...)` rows are shoprec's settings that reproduce implicit's "
            "models (49 neighbours, as implicit's K=50 lists include the item itself). The last rows fit shoprec on the "
            "explicit training ratings instead (its defaults for ratings) and rank the same users for the same relevant "
            "items.",
            "",
            "| model | NDCG@10 | precision@10 | recall@10 | coverage | fit (median) | recommend all scored users |",
            "|---|---|---|---|---|---|---|",
            *ranking_rows,
            "",
            *verdicts,
            "",
            "How the implicit-data defaults were chosen: the section `recommender defaults` below "
            "(cross-validation on the training parts only). `ItemKNN(50, pearson)` equals `Popular` here: on unary "
            "data every Pearson variance is zero, so there are no neighbours and every user gets the popular fallback "
            "(the issue's `ItemKNN()` below most-popular); on events or unary data the defaults no longer use Pearson.",
            "",
            "### Rating prediction: scikit-surprise's kNN rows and their shoprec counterparts",
            "",
            "Every shoprec row keeps all neighbours (`max_neighbours=None`) as surprise does; `centred=False` is "
            "KNNBasic, `msd` surprise's mean squared difference similarity, `cosine_corated` its `cosine`. "
            "Speed: surprise / shoprec, fit and predict, medians over folds. *Warm RMSE*: only the test pairs whose "
            "user and item both have training ratings; on the other pairs surprise predicts the global mean and "
            "shoprec applies its cold rule (`mu + b_u` for a cold item, `mu + b_i` for a cold user), which is "
            "where the two columns differ.",
            "",
            "| surprise | RMSE | MAE | warm RMSE | shoprec | RMSE | MAE | warm RMSE | shoprec fit | "
            "surprise / shoprec time (fit / predict) |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rating_rows,
            "",
            "### One `recommend()` call and all users at once (first fold)",
            "",
            "| model | p50 | p99 | recommend_many all users | same, 1 thread | implicit BM25 batch recommend | "
            "implicit / shoprec |",
            "|---|---|---|---|---|---|---|",
            *latency_rows,
        ])
        sys.path.insert(0, HERE)
        from peers_topk import replace_section

        replace_section(os.path.join(HERE, "RESULTS.md"), "recommender", body)
        print("wrote benches/RESULTS.md")


if __name__ == "__main__":
    main()
