"""Real-time updates against a full refit on MovieLens latest-small (issue 11).

The model is fitted on every rating but the latest ``n`` (by timestamp); then the latest ``n``
arrive: ``model.update(new)`` (building the new events' Interactions included) is timed
against ``fit`` on all the ratings (the Interactions of all ratings prebuilt, not timed: the
refit is favoured). Every update is checked to equal the refit (same neighbours, same top-10
for every user) before its time is reported. Times are the median of ``--repeats`` runs.

    PYTHONPATH=python python benches/realtime.py [--sizes 10 100 1000 3000] [--repeats 3] [--models ItemKNN ...]

Skips cleanly (exit 0) when the data is absent. Data: /work/shared/data/ml-latest-small
(or SHOPREC_DATA).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

from shoprec import Baseline, Interactions, ItemKNN, Popular, UserKNN


def data_path() -> str:
    root = os.environ.get("SHOPREC_DATA", "/work/shared/data")
    return os.path.join(root, "ml-latest-small", "ratings.csv")


def median_time(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def same(a, b, users):
    sa, sb = a._fitted(), b._fitted()
    for name in ("neighbours", "predict_neighbours"):
        if hasattr(sb, name):
            for x, y in zip(getattr(sa, name), getattr(sb, name)):
                if not np.array_equal(x, y):
                    return False
    for name in ("popularity", "order", "b_user", "b_item", "user_means", "item_means"):
        if hasattr(sb, name) and not np.array_equal(getattr(sa, name), getattr(sb, name)):
            return False
    ra, rb = a.recommend_many(users, 10), b.recommend_many(users, 10)
    return all(np.array_equal(x.items, y.items) and np.array_equal(x.scores, y.scores) for x, y in zip(ra, rb))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 3000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=None, help="only the models whose name starts so")
    args = parser.parse_args()
    path = data_path()
    if not os.path.exists(path):
        print(f"skipped: {path} not found")
        return 0
    import pandas as pd

    df = pd.read_csv(path).sort_values("timestamp", kind="stable").reset_index(drop=True)

    def interactions(frame, kind):
        # "unary": every rating as an implicit event of weight 1 (ItemKNN's implicit defaults).
        rating = "rating" if kind == "ratings" else None
        return Interactions.from_pandas(frame, "userId", "movieId", rating=rating, timestamp="timestamp")

    wholes = {kind: interactions(df, kind) for kind in ("ratings", "unary")}
    whole = wholes["ratings"]
    print(f"{len(df)} ratings, {whole.n_users} users, {whole.n_items} items; load {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    models = [
        ("ItemKNN()", lambda t: ItemKNN(num_threads=t), "ratings"),
        ("ItemKNN(max_neighbours=100)", lambda t: ItemKNN(max_neighbours=100, num_threads=t), "ratings"),
        ("ItemKNN() on unary data (TF-IDF, alpha 0.5)", lambda t: ItemKNN(num_threads=t), "unary"),
        ("UserKNN()", lambda t: UserKNN(num_threads=t), "ratings"),
        ("Baseline()", lambda t: Baseline(), "ratings"),
        ("Popular()", lambda t: Popular(), "ratings"),
    ]
    if args.models:
        models = [m for m in models if any(m[0].startswith(prefix) for prefix in args.models)]
    rows = []
    for name, make, kind in models:
        whole = wholes[kind]
        for threads in (0, 1):
            if name in ("Baseline()", "Popular()") and threads == 1:
                continue  # no threaded work
            refit_time, refit = median_time(lambda: make(threads).fit(whole), args.repeats)
            for n in args.sizes:
                old_df, new_df = df.iloc[:-n], df.iloc[-n:]
                model = make(threads).fit(interactions(old_df, kind))

                def update():
                    return model.update(interactions(new_df, kind))

                update_time, updated = median_time(update, args.repeats)
                equal = same(updated, refit, whole.user_ids)
                rows.append((name, threads, n, update_time, refit_time, equal))
                print(f"{name:27s} threads={threads or 'all'} batch={n:5d}: update {update_time * 1e3:8.1f} ms "
                      f"({update_time / n * 1e6:8.1f} us/event), refit {refit_time * 1e3:8.1f} ms, "
                      f"{refit_time / update_time:6.1f}x, equal to refit: {equal}", flush=True)
    print()
    print("| model | batch | update (all cores) | refit (all cores) | speed-up | update (1 thread) | refit (1 thread) "
          "| speed-up (1 thread) | per event (all cores) | equal to refit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, _, _ in models:
        for n in args.sizes:
            many = [r for r in rows if r[0] == name and r[2] == n and r[1] == 0][0]
            one = [r for r in rows if r[0] == name and r[2] == n and r[1] == 1]
            one_cols = (f"{one[0][3] * 1e3:.1f} ms | {one[0][4] * 1e3:.0f} ms | {one[0][4] / one[0][3]:.1f}x"
                        if one else "- | - | -")
            equal = many[5] and (not one or one[0][5])
            print(f"| {name} | {n} | {many[3] * 1e3:.1f} ms | {many[4] * 1e3:.0f} ms | {many[4] / many[3]:.1f}x | "
                  f"{one_cols} | {many[3] / n * 1e6:.0f} us | {'yes' if equal else 'NO'} |")
    return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
