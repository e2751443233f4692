"""The bad-input matrix (tests/test_bad_input.py), part 2: what a call may return for a bad
value (the acceptance functions), and the entry points of the models, segments, kernels,
interactions, cleaning, keyword models and evaluation: rows of (entry point, argument named in
errors, role of the argument in ``VALUES``, call(fx, value), accept)."""

from __future__ import annotations

import math

import numpy as np

from bad_input_values import KW_TEXTS, _fortran

# ----------------------------------------------------------------------------- acceptance
# What a call may *return* for a given value (anything else must be a clean error). Each
# function gets (value name, value, result, fixtures) and says whether the result is right.


def _recs(result):
    return isinstance(result, __import__("shoprec").Recommendations)


def accept_user(vname, value, result, fx, model="itemknn", call=None):
    """Unknown or odd users: the popular fallback marked unknown_user. The string form of a
    known int id (and float/np.int8 of it) matches the int id: the same answer as the int."""
    if not _recs(result):
        return False
    if vname in ("str_of_known_int", "float_of_known", "np.int8"):
        return result.reason is None and result == call(fx.known_user)
    return result.reason == "unknown_user" and len(result) > 0


def accept_k(vname, value, result, fx, n_max=None, **_):
    """A huge k is clamped: at most the catalogue; np.int8 is an int."""
    if vname in ("huge", "2**31", "2**63", "2**64", "np.uint64_huge"):
        return result is not None and (n_max is None or len(result) <= n_max)
    return vname == "np.int8" and result is not None and len(result) <= 3


def accept_filter(role, popular=False):
    def accept(vname, value, result, fx, call=None, **_):
        if not _recs(result):
            return False
        if vname == "None":
            return True
        items = result.items.tolist()
        if vname in ("generator", "single_str", "set", "tuple", "dict", "mixed", "with_none", "with_nan"):
            if role == "exclude":
                return fx.known_item not in items and len(result) > 0
            if role == "items":
                return items == [fx.known_item] or (items == [] and call is not None)
            if role == "history":  # the generator history must count: same as the list
                return result == call([fx.known_item])
        if vname in ("empty_list", "empty_array", "unknown", "int_array", "int", "1MB", "float16"):
            # No known id: items= gives nothing, exclude= excludes nothing, history= falls back.
            if role == "items":
                return len(result) == 0
            if role == "exclude":
                return len(result) > 0
            return result.reason == "empty_history" or (popular and result.reason is None)
        return False
    return accept


def accept_users(vname, value, result, fx, **_):
    if vname == "empty":
        return isinstance(result, (list, np.ndarray)) and len(result) == 0
    if vname in ("generator", "with_none", "with_nan"):  # None and NaN are unknown ids: the fallback
        return isinstance(result, (list, np.ndarray)) and len(result) == 2 and (
            not isinstance(result, list) or result[1].reason == "unknown_user")
    if vname in ("int8", "huge", "negative", "mixed", "float16"):
        n = {"int8": 2, "float16": 2, "huge": 1, "negative": 1, "mixed": 3}[vname]
        return len(result) == n
    return False


def accept_array_like(reference):
    """Strided / Fortran / small-int / float16 / bool arrays: the same answer as on the
    C-contiguous float64 copy (``reference(x)``), NaN/inf where the kernel documents them."""
    def accept(vname, value, result, fx, call=None, **_):
        if vname in ("strided", "fortran", "int8", "float16", "bool", "0d", "generator", "nan", "inf", "empty"):
            try:
                expected = reference(np.asarray(list(value) if vname == "generator" else value, dtype=np.float64))
            except Exception:
                return False
            return _same(result, expected)
        return False
    return accept


def _same(a, b):
    if isinstance(a, tuple) or isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.allclose(a.astype(float), b.astype(float), equal_nan=True)


def accept_text(vname, value, result, fx, **_):
    return isinstance(value, str) and isinstance(result, list)


def accept_any_ok(*names):
    def accept(vname, value, result, fx, **_):
        return vname in names
    return accept


# ----------------------------------------------------------------------------- the table
# (entry point, argument named in errors, role, call(fx, v), accept)


def _model_entries():
    rows = []
    for name in ("itemknn", "userknn", "baseline", "popular"):
        def m(fx, name=name):
            return fx.models[name]
        rows += [
            (f"{name}.fit", "interactions", "interactions", lambda fx, v, m=m: type(m(fx))().fit(v),
             lambda vn, v, r, fx: vn == "one_user" and r.is_fitted),
            (f"{name}.recommend[user]", "user", "user",
             lambda fx, v, m=m: m(fx).recommend(v, 5),
             lambda vn, v, r, fx, m=m: accept_user(vn, v, r, fx, call=lambda u: m(fx).recommend(u, 5))),
            (f"{name}.recommend[k]", "k", "k", lambda fx, v, m=m: m(fx).recommend(fx.known_user, v),
             lambda vn, v, r, fx: accept_k(vn, v, r, fx, n_max=40)),
            (f"{name}.recommend[items]", "items", "ids", lambda fx, v, m=m: m(fx).recommend(fx.known_user, 5, items=v),
             accept_filter("items")),
            (f"{name}.recommend[exclude]", "exclude", "ids",
             lambda fx, v, m=m: m(fx).recommend(fx.known_user, 40, exclude=v, exclude_seen=False),
             accept_filter("exclude")),
            (f"{name}.recommend_many[users]", "users", "users", lambda fx, v, m=m: m(fx).recommend_many(v, 3),
             accept_users),
            (f"{name}.recommend_many[k]", "k", "k", lambda fx, v, m=m: m(fx).recommend_many([fx.known_user], v)[0],
             lambda vn, v, r, fx: accept_k(vn, v, r, fx, n_max=40)),
            (f"{name}.recommend_many[exclude]", "exclude", "ids",
             lambda fx, v, m=m: m(fx).recommend_many([fx.known_user], 40, exclude=v, exclude_seen=False)[0],
             accept_filter("exclude")),
            (f"{name}.predict[user]", "user", "user", lambda fx, v, m=m: m(fx).predict(v, fx.known_item),
             lambda vn, v, r, fx: isinstance(r, float) and math.isfinite(r)),
            (f"{name}.predict[item]", "item", "item", lambda fx, v, m=m: m(fx).predict(fx.known_user, v),
             lambda vn, v, r, fx: isinstance(r, float) and math.isfinite(r)),
            (f"{name}.predict_many[users]", "users", "users",
             lambda fx, v, m=m: m(fx).predict_many(v, [fx.known_item] * _len_or(v, 1)),
             lambda vn, v, r, fx: isinstance(r, np.ndarray) and bool(np.all(np.isfinite(r))) and accept_users(vn, v, r, fx)),
        ]
        if name in ("itemknn", "userknn", "popular"):
            rows += [
                (f"{name}.recommend_for_history[history]", "history", "ids",
                 lambda fx, v, m=m: m(fx).recommend_for_history(v, 40, exclude_seen=False, exclude=["i39"]),
                 lambda vn, v, r, fx, m=m, name=name: accept_filter("history", name == "popular")(
                     vn, v, r, fx, call=lambda h: m(fx).recommend_for_history(h, 40, exclude_seen=False, exclude=["i39"]))),
                (f"{name}.recommend_for_history[exclude]", "exclude", "ids",
                 lambda fx, v, m=m: m(fx).recommend_for_history(["i1"], 40, exclude=v), accept_filter("exclude")),
                (f"{name}.recommend_for_history[k]", "k", "k", lambda fx, v, m=m: m(fx).recommend_for_history(["i1"], v),
                 lambda vn, v, r, fx: accept_k(vn, v, r, fx, n_max=40)),
                (f"{name}.recommend_for_history[weights]", "weights", "array",
                 lambda fx, v, m=m: m(fx).recommend_for_history(["i1", "i2", "i3"], 5, weights=v),
                 lambda vn, v, r, fx: vn in ("None", "int8", "float16", "bool", "generator", "strided") and _recs(r)),
            ]
        if name in ("itemknn", "userknn"):
            rows += [
                (f"{name}.similar_items[item]", "item", "item", lambda fx, v, m=m: m(fx).similar_items(v), None),
                (f"{name}.similar_items[k]", "k", "k", lambda fx, v, m=m: m(fx).similar_items(fx.known_item, v),
                 lambda vn, v, r, fx: accept_k(vn, v, r, fx, n_max=40)),
                (f"{name}.similar_users[user]", "user", "user", lambda fx, v, m=m: m(fx).similar_users(v),
                 lambda vn, v, r, fx, m=m: vn in ("str_of_known_int", "float_of_known", "np.int8")
                 and r == m(fx).similar_users(fx.known_user)),
                (f"{name}.explain[user]", "user", "user", lambda fx, v, m=m: m(fx).explain(v, fx.known_item),
                 lambda vn, v, r, fx, m=m: vn in ("str_of_known_int", "float_of_known", "np.int8")
                 and r == m(fx).explain(fx.known_user, fx.known_item)),
                (f"{name}.explain[item]", "item", "item", lambda fx, v, m=m: m(fx).explain(fx.known_user, v), None),
            ]
    rows += [
        ("itemknn_s.recommend[user]", "user", "user", lambda fx, v: fx.models["itemknn_s"].recommend(v, 5),
         lambda vn, v, r, fx: _recs(r) and r.reason == "unknown_user"),
        ("itemknn.recommend[strict]", "user", "user",
         lambda fx, v: fx.models["itemknn"].recommend(v, 5, strict=True),
         lambda vn, v, r, fx: vn in ("str_of_known_int", "float_of_known", "np.int8") and _recs(r) and r.reason is None),
        ("itemknn.recommend_many[strict]", "users", "users",
         lambda fx, v: fx.models["itemknn"].recommend_many(v, 5, strict=True),
         lambda vn, v, r, fx: vn in ("empty", "int8", "float16") and isinstance(r, list)),
    ]
    return rows


def vn_gen(value):
    return hasattr(value, "__next__")


def _len_or(value, default):
    try:
        return len(value)
    except TypeError:
        return default


def _segments_entries():
    seg = lambda fx: fx.segments  # noqa: E731
    return [
        ("InterestSegments.fit", ("interactions", "n_segments"), "interactions",
         lambda fx, v: type(fx.segments)(2, n_components=4).fit(v), None),
        ("InterestSegments.assign[user]", "user", "user", lambda fx, v: seg(fx).assign(v),
         lambda vn, v, r, fx: isinstance(r, int) and (r == -1 or vn in ("str_of_known_int", "float_of_known", "np.int8"))),
        ("InterestSegments.assign[history]", ("history", "user"), "ids", lambda fx, v: seg(fx).assign(v),
         lambda vn, v, r, fx: isinstance(r, int)),
        ("InterestSegments.describe[segment]", "segment", "k", lambda fx, v: seg(fx).describe(v),
         lambda vn, v, r, fx: vn in ("zero", "negative", "np.int8")),  # -1 is NEW_SHOPPERS
        ("InterestSegments.describe[k]", "k", "k", lambda fx, v: seg(fx).describe(0, v),
         lambda vn, v, r, fx: vn in ("huge", "2**31", "2**63", "2**64", "np.uint64_huge", "np.int8")),
        ("InterestSegments.popular_for[k]", "k", "k", lambda fx, v: seg(fx).popular_for(fx.known_user, v),
         lambda vn, v, r, fx: accept_k(vn, v, r, fx, n_max=40)),
        ("InterestSegments.popular_for[exclude]", "exclude", "ids",
         lambda fx, v: seg(fx).popular_for(fx.known_user, 40, exclude=v),
         lambda vn, v, r, fx: isinstance(r, list) and (vn == "None" or (fx.known_item not in [i for i, _ in r]
                                                                          if vn in ("generator", "set", "tuple", "dict", "single_str") else True))),
        ("InterestSegments.popular_for[user]", "user", "user", lambda fx, v: seg(fx).popular_for(v, 5),
         lambda vn, v, r, fx: isinstance(r, list) and len(r) > 0),
        ("choose_n_segments[candidates]", ("candidates", "n_segments"), "users",
         lambda fx, v: fx.shoprec.choose_n_segments(fx.inter, v, n_components=4, n_init=1),
         lambda vn, v, r, fx: vn in ("int8", "generator") and r is not None),
        ("choose_n_segments[interactions]", ("interactions", "n_segments", "candidates"), "interactions",
         lambda fx, v: fx.shoprec.choose_n_segments(v, [2, 3], n_components=4, n_init=1), None),
        ("rerank.diversify_recommendations[recommendations]", "recommendations", "ids",
         lambda fx, v: fx.shoprec.rerank.diversify_recommendations(v, seg(fx)),
         lambda vn, v, r, fx: vn in ("empty_list", "empty_array") and _recs(r) and len(r) == 0),
        ("rerank.diversify_recommendations[k]", "k", "k",
         lambda fx, v: fx.shoprec.rerank.diversify_recommendations(fx.models["popular"].recommend(fx.known_user, 10),
                                                                   seg(fx), v),
         lambda vn, v, r, fx: vn in ("huge", "2**31", "2**63", "2**64", "np.uint64_huge", "np.int8", "None")
         and len(r) <= 10),
    ]


def _kernel_entries():
    def topk_ref(k):
        def ref(x):
            x = np.atleast_1d(x)
            rows = x.reshape(1, -1) if x.ndim == 1 else x
            ids = np.full((rows.shape[0], k), -1)
            for r, row in enumerate(rows):
                cand = [i for i in np.lexsort((np.arange(len(row)), -row)) if not np.isnan(row[i])][:k]
                ids[r, : len(cand)] = cand
            return ids[0] if x.ndim == 1 else ids
        return ref

    def medfilt_ref(x):
        # NaN is ignored within a window (documented), inf is a large value; "nearest" padding.
        x = np.atleast_1d(x)
        padded = np.r_[x[:1], x, x[-1:]] if len(x) else x
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.array([np.nanmedian(padded[i:i + 3]) for i in range(len(x))])

    def pearson_input(v):
        import scipy.sparse as sp
        return v if v is None or sp.issparse(v) else sp.csr_matrix(np.atleast_2d(v))

    return [
        ("kernels.top_k[scores]", "scores", "array", lambda fx, v: fx.shoprec.kernels.top_k(v, 2)[0],
         accept_array_like(topk_ref(2))),
        # Huge k through kernels.top_k and median_filter windows: fixed on branch rust-groundwork.
        ("kernels.top_k[k]", "k", "k", lambda fx, v: fx.shoprec.kernels.top_k(np.arange(5.0), v)[0],
         lambda vn, v, r, fx: vn == "np.int8" and list(r) == [4, 3, 2]),
        ("kernels.top_k[exclude]", "exclude", "ids", lambda fx, v: fx.shoprec.kernels.top_k(np.arange(5.0), 5, exclude=v)[0],
         lambda vn, v, r, fx: vn in ("None", "empty_list", "empty_array")
         or (vn in ("int_array", "float16") and not {1, 2} & set(r.tolist()))
         or (vn == "int" and 7 not in r.tolist()) or (vn == "bool_array" and list(r[:4]) == [4, 3, 2, 1])),
        ("kernels.median_filter[x]", "x", "array", lambda fx, v: fx.shoprec.kernels.median_filter(v, 3),
         accept_array_like(medfilt_ref)),
        ("kernels.median_filter[window]", "window", "k", lambda fx, v: fx.shoprec.kernels.median_filter(np.arange(5.0), v),
         lambda vn, v, r, fx: vn == "np.int8" and len(r) == 5),
        ("kernels.hampel[x]", "x", "array", lambda fx, v: fx.shoprec.kernels.hampel(v, 3),
         lambda vn, v, r, fx: vn in ("strided", "int8", "float16", "bool", "0d", "generator", "empty", "nan", "inf")
         and isinstance(r, tuple) and len(r[0]) == len(np.atleast_1d(list(v) if vn == "generator" else v))),
        ("kernels.hampel[n_sigmas]", "n_sigmas", "number", lambda fx, v: fx.shoprec.kernels.hampel(np.arange(5.0), 3, n_sigmas=v),
         lambda vn, v, r, fx: vn in ("huge", "bool")),
        ("kernels.kmeans[x]", "x", "array", lambda fx, v: fx.shoprec.kernels.kmeans(np.atleast_2d(v) if isinstance(v, np.ndarray) and v.ndim == 1 else v, 1).labels,
         lambda vn, v, r, fx: vn in ("strided", "fortran", "int8", "float16", "bool", "0d") and bool(np.all(np.asarray(r) == 0))),
        ("kernels.kmeans[n_clusters]", "n_clusters", "k", lambda fx, v: fx.shoprec.kernels.kmeans(_fortran(), v),
         accept_any_ok("np.int8")),
        ("kernels.pearson_neighbours[matrix]", "matrix", "array",
         lambda fx, v: fx.shoprec.kernels.pearson_neighbours(v, 2), accept_any_ok("sparse")),
        ("kernels.pearson_neighbours[k]", "k", "k", lambda fx, v: fx.shoprec.kernels.pearson_neighbours(
            __import__("scipy.sparse").sparse.csr_matrix(_fortran()), v),
         lambda vn, v, r, fx: vn in ("huge", "2**31", "2**63", "np.uint64_huge", "np.int8") and r.shape == (6, 6)),
        ("tokenize", "text", "text", lambda fx, v: fx.shoprec.tokenize(v), accept_text),
    ]


def _interactions_entries():
    inter = lambda fx: fx.shoprec.Interactions  # noqa: E731
    return [
        ("Interactions.from_arrays[users]", ("users", "items"), "users",
         lambda fx, v: inter(fx).from_arrays(v, ["a"] * _len_or(v, 1 if not vn_gen(v) else 2)),
         lambda vn, v, r, fx: vn in ("int8", "huge", "negative", "mixed", "float16", "generator") and len(r) >= 1),
        ("Interactions.from_arrays[items]", "items", "ids",
         lambda fx, v: inter(fx).from_arrays([1] * _len_or(v, 1), v),
         lambda vn, v, r, fx: vn in ("tuple", "int_array", "float16", "1MB", "unknown", "set", "dict", "generator", "mixed")
         and len(r) >= 1),
        ("Interactions.from_arrays[ratings]", ("ratings", "users"), "array",
         lambda fx, v: inter(fx).from_arrays(list(range(_len_or(v, 3) if not isinstance(v, (str,)) else 3)), ["a"] * (_len_or(v, 3)), v),
         lambda vn, v, r, fx: vn in ("strided", "int8", "float16", "bool", "0d", "None", "generator") and len(r) >= 1),
        ("Interactions.from_arrays[timestamps]", "timestamps", "array",
         lambda fx, v: inter(fx).from_arrays([1, 2, 3], ["a", "b", "c"], timestamps=v),
         lambda vn, v, r, fx: vn in ("int8", "bool", "None") and len(r) == 3),
        ("Interactions.from_arrays[cap]", "cap", "number",
         lambda fx, v: inter(fx).from_arrays([1, 1], ["a", "a"], combine="sum", cap=v),
         lambda vn, v, r, fx: (vn == "huge" and r.values.tolist() == [2.0]) or (vn == "None" and r.values.tolist() == [2.0])),
        ("Interactions.from_arrays[weights]", ("weights", "combine"), "number",
         lambda fx, v: inter(fx).from_arrays([1, 1], ["a", "a"], events=["view", "view"], weights={"view": v},
                                         combine="sum"),
         None),
        ("Interactions.from_pandas", ("df", "ratings", "users"), "frame", lambda fx, v: inter(fx).from_pandas(v, rating="rating", timestamp="timestamp"),
         lambda vn, v, r, fx: vn == "mixed_ids" and r.n_users >= 1),
        ("Interactions.from_csv", "path", "path", lambda fx, v: inter(fx).from_csv(v), accept_any_ok("text_file")),
        ("Interactions.select", "rows", "rows", lambda fx, v: fx.inter.select(v),
         lambda vn, v, r, fx: vn == "generator" and len(r) == 2),
    ]


def _clean_entries():
    c = lambda fx: fx.shoprec.clean  # noqa: E731
    return [
        ("clean.dedupe_events", "interactions", "frame", lambda fx, v: c(fx).dedupe_events(v)[0],
         lambda vn, v, r, fx: vn in ("mixed_ids", "nan_rating", "inf_rating", "object_rating", "missing_ids")),
        ("clean.dedupe_events[window]", "window", "number", lambda fx, v: c(fx).dedupe_events(fx.frame, v)[0],
         lambda vn, v, r, fx: vn in ("str", "None")),  # None: no time window (documented)
        ("clean.drop_outlier_users", "interactions", "frame", lambda fx, v: c(fx).drop_outlier_users(v)[0],
         lambda vn, v, r, fx: vn in ("mixed_ids", "nan_rating", "inf_rating", "object_rating", "missing_ids")),
        ("clean.drop_outlier_users[threshold]", "threshold", "number",
         lambda fx, v: c(fx).drop_outlier_users(fx.frame, threshold=v)[0], lambda vn, v, r, fx: vn in ("huge",)),
        ("clean.clip_ratings", "interactions", "frame", lambda fx, v: c(fx).clip_ratings(v, 1, 5)[0],
         lambda vn, v, r, fx: vn in ("mixed_ids", "empty", "dup_columns", "missing_ids")),
        ("clean.clip_ratings[low]", "low", "number", lambda fx, v: c(fx).clip_ratings(fx.frame, v, 5)[0],
         lambda vn, v, r, fx: vn in ("negative", "bool")),
        ("clean.check_rating_scale", "interactions", "frame", lambda fx, v: c(fx).check_rating_scale(v, 1, 5),
         lambda vn, v, r, fx: vn in ("mixed_ids", "empty", "nan_rating", "inf_rating", "dup_columns", "missing_ids")),
        ("clean.check_rating_scale[step]", "step", "number", lambda fx, v: c(fx).check_rating_scale(fx.frame, 1, 5, step=v),
         lambda vn, v, r, fx: vn in ("None", "huge", "bool")),
        ("clean.balance", "interactions", "frame", lambda fx, v: c(fx).balance(v, max_per_user=3)[0],
         lambda vn, v, r, fx: vn in ("mixed_ids", "nan_rating", "inf_rating", "object_rating", "missing_ids")),
        ("clean.balance[max_per_user]", "max_per_user", "k", lambda fx, v: c(fx).balance(fx.frame, max_per_user=v)[0],
         lambda vn, v, r, fx: vn in ("None", "huge", "2**31", "2**63", "2**64", "np.int8", "np.uint64_huge")),
        ("clean.augment", "interactions", "frame", lambda fx, v: c(fx).augment(v, 0.1)[0],
         lambda vn, v, r, fx: vn in ("mixed_ids", "empty", "dup_columns", "missing_ids")),
        ("clean.augment[noise]", "noise", "number", lambda fx, v: c(fx).augment(fx.frame, v)[0],
         lambda vn, v, r, fx: vn in ("huge",)),
        ("clean.smooth_series", "series", "array", lambda fx, v: c(fx).smooth_series(v, 3)[0],
         lambda vn, v, r, fx: vn in ("strided", "int8", "float16", "bool", "0d", "generator", "empty", "nan", "inf")),
        ("clean.smooth_series[window]", "window", "k", lambda fx, v: c(fx).smooth_series(np.arange(5.0), v)[0],
         lambda vn, v, r, fx: vn == "np.int8"),
        ("clean.fix_outliers", "series", "array", lambda fx, v: c(fx).fix_outliers(v, 3)[0],
         lambda vn, v, r, fx: vn in ("strided", "int8", "float16", "bool", "0d", "generator", "empty", "nan", "inf")),
        ("clean.robust_z_scores", "values", "array", lambda fx, v: c(fx).robust_z_scores(v),
         lambda vn, v, r, fx: vn in ("strided", "int8", "float16", "bool", "0d", "generator", "empty")),
    ]


def _keyword_entries():
    K = lambda fx: fx.shoprec.KeywordModel  # noqa: E731
    return [
        ("KeywordModel.build[texts]", "texts", "texts", lambda fx, v: K(fx).build(v, dim=4),
         lambda vn, v, r, fx: vn in ("generator", "with_surrogate", "1MB", "emoji_only") and r is not None),
        ("KeywordModel.build[dim]", "dim", "k", lambda fx, v: K(fx).build(KW_TEXTS, dim=v), accept_any_ok("np.int8")),
        ("KeywordModel.expand[query]", "query", "text", lambda fx, v: fx.keywords.expand(v), accept_text),
        ("KeywordModel.expand[k]", "k", "k", lambda fx, v: fx.keywords.expand("laptop", v),
         lambda vn, v, r, fx: accept_k(vn, v, r, fx)),
        ("KeywordModel.expand_many[queries]", "queries", "texts", lambda fx, v: fx.keywords.expand_many(v),
         lambda vn, v, r, fx: vn in ("empty", "generator", "all_empty", "with_surrogate", "1MB", "emoji_only")),
        ("KeywordModel.load", "directory", "path", lambda fx, v: K(fx).load(v), None),
        ("shoprec.load", "path", "path", lambda fx, v: fx.shoprec.load(v), None),
    ]


def _evaluate_entries():
    e = lambda fx: fx.shoprec.evaluate  # noqa: E731
    m = lambda fx: fx.models["itemknn"]  # noqa: E731
    return [
        ("evaluate.random_split[test_size]", "test_size", "number", lambda fx, v: e(fx).random_split(fx.inter, v), None),
        ("evaluate.random_split[interactions]", "interactions", "interactions",
         lambda fx, v: e(fx).random_split(v, 0.5), lambda vn, v, r, fx: vn == "one_user"),
        ("evaluate.leave_last_n[n]", "n", "k", lambda fx, v: e(fx).leave_last_n(fx.inter, v),
         lambda vn, v, r, fx: vn in ("huge", "2**31", "2**63", "2**64", "np.uint64_huge", "np.int8")
         and len(r[0]) + len(r[1]) == len(fx.inter)),
        ("evaluate.time_split[cutoff]", "cutoff", "cutoff", lambda fx, v: e(fx).time_split(fx.inter, v),
         lambda vn, v, r, fx: vn in ("timestamp", "datetime64", "datetime", "inf")
         and len(r[0]) + len(r[1]) == len(fx.inter)
         and (vn == "inf" or (0 < len(r[0]) < len(fx.inter)))),
        ("evaluate.k_fold[n_splits]", "n_splits", "k", lambda fx, v: list(e(fx).k_fold(fx.inter, v)),
         lambda vn, v, r, fx: vn == "np.int8"),
        ("evaluate.ranking_metrics[k]", "k", "k", lambda fx, v: e(fx).ranking_metrics(m(fx), fx.inter.select(np.arange(50)), v),
         lambda vn, v, r, fx: vn in ("huge", "2**31", "2**63", "2**64", "np.uint64_huge", "np.int8")
         and all(0 <= r[key] <= 1 for key in r if key != "users")),
        ("evaluate.ranking_metrics[test]", "test", "interactions", lambda fx, v: e(fx).ranking_metrics(m(fx), v),
         accept_any_ok("one_user")),  # its own Interactions: evaluated by ids (see test_own_test_set)
        ("evaluate.ranking_metrics[model]", "model", "interactions",
         lambda fx, v: e(fx).ranking_metrics(v, fx.inter.select(np.arange(50))), None),
        ("evaluate.rating_metrics[test]", "test", "interactions", lambda fx, v: e(fx).rating_metrics(m(fx), v),
         accept_any_ok("one_user")),
        ("evaluate.ranking_metrics_from_lists[recommended]", "recommended", "lists",
         lambda fx, v: e(fx).ranking_metrics_from_lists(v, [["a"]] * _len_or(v, 1), 3),
         lambda vn, v, r, fx: vn in ("duplicates", "empty", "generator") and all(0 <= r[key] <= 1 for key in r if key != "users")),
        ("evaluate.ranking_metrics_from_lists[relevant]", "relevant", "lists",
         lambda fx, v: e(fx).ranking_metrics_from_lists([["a", "b"]] * _len_or(v, 1), v, 3),
         lambda vn, v, r, fx: vn in ("duplicates", "empty", "generator") and all(0 <= r[key] <= 1 for key in r if key != "users")),
        ("evaluate.ranking_metrics_from_lists[k]", "k", "k",
         lambda fx, v: e(fx).ranking_metrics_from_lists([["a"]], [["a"]], v),
         lambda vn, v, r, fx: vn in ("huge", "2**31", "2**63", "2**64", "np.uint64_huge", "np.int8")),
        ("tune.grid_search[param_grid]", "param_grid", "grid",
         lambda fx, v: fx.shoprec.tune.grid_search(fx.shoprec.ItemKNN, v, fx.inter, cv=2),
         lambda vn, v, r, fx: vn == "generator" and r.best_params["k_neighbours"] in (5, 10)),
        ("tune.grid_search[metric]", "metric", "text",
         lambda fx, v: fx.shoprec.tune.grid_search(fx.shoprec.ItemKNN, {"k_neighbours": [5]}, fx.inter, cv=2, metric=v), None),
        ("tune.grid_search[cv]", "cv", "k",
         lambda fx, v: fx.shoprec.tune.grid_search(fx.shoprec.ItemKNN, {"k_neighbours": [5]}, fx.inter, cv=v),
         accept_any_ok("np.int8")),
    ]
