"""Keyword-model measurements on real data (issues 5 and 13): relevance on held-out Taobao
titles against co-occurrence-count baselines, int8/fp32 file size and agreement, single-query
latency and throughput on generated shopper-style search queries, build time.

    python benches/keywords.py [--quick] [--repeats N]

Data from ``$SHOPREC_DATA`` (default ``../shared/data``); exits quietly when it is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Set, Tuple

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from shoprec import _core, tokenize  # noqa: E402
from shoprec.keywords import KeywordModel  # noqa: E402
from shoprec.keywords.session import LazySession  # noqa: E402

DATA = Path(os.environ.get("SHOPREC_DATA", ROOT.parent / "shared" / "data"))
TAOBAO = DATA / "taobao-titles"


def read_bio(path: Path) -> List[Tuple[str, List[Tuple[str, str]]]]:
    """Titles of a BIO file (one character and its tag per line, blank line between titles) as
    ``(title, [(entity type, entity text), ...])``."""
    titles, chars, tags = [], [], []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\r\n")
        if not line.strip():
            if chars:
                titles.append((chars, tags))
                chars, tags = [], []
            continue
        char, _, tag = line.rpartition(" ")
        chars.append(char or " ")
        tags.append(tag)
    if chars:
        titles.append((chars, tags))
    out = []
    for chars, tags in titles:
        entities, current = [], None
        for char, tag in zip(chars, tags):
            if tag.startswith("B-"):
                if current:
                    entities.append(tuple(current))
                current = [tag[2:], char]
            elif tag.startswith("I-") and current and current[0] == tag[2:]:
                current[1] += char
            else:
                if current:
                    entities.append(tuple(current))
                current = None
        if current:
            entities.append(tuple(current))
        out.append(("".join(chars), entities))
    return out


def relevance_queries(held_out) -> Dict[str, Set[str]]:
    """Every product type (HCCX) of the held-out titles whose titles name at least 3 other
    brands or product types (HPPX, HCCX): those other entities are its relevant set."""
    related: Dict[str, Set[str]] = defaultdict(set)
    for _, entities in held_out:
        named = [text for kind, text in entities if kind in ("HPPX", "HCCX")]
        for kind, text in entities:
            if kind == "HCCX":
                related[text] |= {other for other in named if other != text}
    return {query: rel for query, rel in related.items() if len(rel) >= 3}


def precision_at(ranked: List[str], relevant: Set[str], k: int) -> float:
    return sum(term in relevant for term in ranked[:k]) / k


def count_baseline(train_texts: List[str]):
    """The count baseline as issue 13 specifies it: every term of the training titles
    (tokens from ``shoprec.tokenize``) ranked by the sum, over the query's terms, of the
    number of training titles naming both; the query's own terms are left out."""
    vocab, _, (indptr, indices, _) = _core.build_corpus(_core.Tokenizer(), train_texts, 10**9, 1)
    index = {t: i for i, t in enumerate(vocab)}
    c_indptr, c_indices, c_data = _core.cooccurrence(indptr, indices, len(vocab), 256)
    counts = sp.csr_matrix((c_data, c_indices, c_indptr), shape=(len(vocab),) * 2)

    def rank(query: str, k: int) -> List[str]:
        own = sorted({index[t] for t in tokenize(query) if t in index})
        if not own:
            return []
        summed = np.asarray(counts[own].sum(axis=0)).ravel()
        summed[own] = 0
        order = np.argsort(-summed, kind="stable")[:k]
        return [vocab[j] for j in order if summed[j] > 0]

    return rank


def relevance(model: KeywordModel, train_texts: List[str], queries: Dict[str, Set[str]], k: int = 10):
    """Mean precision@k over the same queries (a query without a known term scores 0) of
    ``model.expand``, of the count baseline over every training term (:func:`count_baseline`)
    and of the older, restricted baseline (the model's own keywords, the model's tokenizer).
    A keyword is relevant when it is one of the relevant entities or one of their tokens
    (``shoprec.tokenize``)."""
    tokenizer = model._tokenizer
    full = count_baseline(train_texts)
    # Restricted baseline (issue 5's RESULTS): rank only the model's keywords.
    full_vocab, _, (indptr, indices, _) = _core.build_corpus(tokenizer, train_texts, 10**9, 1)
    full_index = {t: i for i, t in enumerate(full_vocab)}
    c_indptr, c_indices, c_data = _core.cooccurrence(indptr, indices, len(full_vocab), 256)
    counts = sp.csr_matrix((c_data, c_indices, c_indptr), shape=(len(full_vocab),) * 2)
    keyword_cols = np.array([full_index.get(kw, -1) for kw in model.keywords])
    model_p, full_p, restricted_p = [], [], []

    def restricted(query: str) -> List[str]:
        own = {full_index[t] for t in tokenizer.tokenize(query) if t in full_index}
        if not own:
            return []
        summed = np.asarray(counts[sorted(own)].sum(axis=0)).ravel()
        scores = np.where(keyword_cols >= 0, summed[np.maximum(keyword_cols, 0)], -1.0)
        order = np.argsort(-scores, kind="stable")
        return [model.keywords[j] for j in order[: k + len(own) + 5]
                if scores[j] > 0 and keyword_cols[j] not in own][:k]

    for query, related in queries.items():
        relevant = set(related)
        for entity in related:
            relevant.update(tokenize(entity))
        model_p.append(precision_at([kw for kw, _ in model.expand(query, k)], relevant, k))
        full_p.append(precision_at(full(query, k), relevant, k))
        restricted_p.append(precision_at(restricted(query), relevant, k))
    return float(np.mean(model_p)), float(np.mean(full_p)), float(np.mean(restricted_p))


def search_queries(titles: List[str], n: int = 1000, seed: int = 13) -> List[str]:
    """Shopper-style search queries generated from product titles (held-out ones, so that some
    words are unseen by the model), with a fixed seed:

    1. draw a title uniformly (with replacement) and tokenize it with ``shoprec.tokenize``;
    2. take 1, 2 or 3 consecutive tokens (probabilities 0.3, 0.45, 0.25) at a uniform start;
    3. with probability 0.5, append one Latin/digit token of the same title not yet taken
       (a brand, unit or model number: 小米充电宝 20000mah);
    4. Latin tokens lose their joiners (- . + _ /) with probability 0.5 (type-c -> typec);
    5. join the tokens without spaces with probability 0.7 (笔记本充电器typec), else with spaces.
    """
    rng = np.random.default_rng(seed)
    out: List[str] = []
    while len(out) < n:
        tokens = tokenize(titles[int(rng.integers(len(titles)))])
        if not tokens:
            continue
        size = int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
        start = int(rng.integers(max(len(tokens) - size, 0) + 1))
        picked = tokens[start:start + size]
        latin = [t for t in tokens if t.isascii() and t not in picked]
        if latin and rng.random() < 0.5:
            picked.append(latin[int(rng.integers(len(latin)))])
        picked = [t.translate(str.maketrans("", "", "-.+_/")) if t.isascii() and rng.random() < 0.5 else t
                  for t in picked]
        out.append(("" if rng.random() < 0.7 else " ").join(picked))
    return out


def describe_queries(model: KeywordModel, queries: List[str]) -> str:
    unseen = sum(any(t not in model._term_ids for t in model._tokenizer.tokenize(q)) for q in queries)
    mixed = sum(any(c.isascii() and c.isalnum() for c in q) and any(not c.isascii() for c in q) for q in queries)
    chars = np.mean([len(q) for q in queries])
    return (f"{len(queries)} queries, {unseen / len(queries):.0%} with a term the model does not know, "
            f"{mixed / len(queries):.0%} mixed Chinese/Latin-digit, {chars:.1f} characters on average")


def timed_build(texts, **kwargs):
    start = time.perf_counter()
    model = KeywordModel.build(texts, **kwargs)
    return model, time.perf_counter() - start


def saved_size(model: KeywordModel) -> int:
    return len(model.onnx_bytes)


def agreement(int8: KeywordModel, fp32: KeywordModel, queries: List[str]) -> Tuple[float, int]:
    """Share of queries whose int8 top-10 is contained in the fp32 top-20."""
    contained, asked = 0, 0
    for query in queries:
        top10 = [kw for kw, _ in int8.expand(query, 10)]
        if not top10:
            continue
        asked += 1
        contained += set(top10) <= {kw for kw, _ in fp32.expand(query, 20)}
    return contained / max(asked, 1), asked


def latencies(models: Dict[str, KeywordModel], queries: List[str], repeats: int) -> Dict[str, Dict[str, float]]:
    """Per model, p50 and p99 (ms) of ``expand`` (wall clock and the calling thread's CPU time,
    which a busy machine inflates less) and of the bare ``session.run`` on the same term ids.
    The models take turns pass by pass (``repeats`` passes over the queries each), so a
    slower moment of the machine falls on all of them. The answer cache is emptied before
    every timed call, so every call computes its answer (the passes repeat the queries)."""
    feeds = {}
    for name, model in models.items():
        pairs = []
        for q in queries:
            ids, _ = model._term_ids_of(q)
            if ids:
                pairs.append((q, {"token_ids": np.asarray(ids, np.int64), "k": np.array([20], np.int64)}))
        feeds[name] = pairs
        for q in queries[:50]:
            model.expand(q)
    times: Dict[str, Tuple[List[float], List[float], List[float]]] = {name: ([], [], []) for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            session = model._session.get()
            expand_ms, cpu_ms, run_ms = times[name]
            for q, feed in feeds[name]:
                model._expand_cache.clear()
                c0 = time.thread_time_ns()
                t0 = time.perf_counter()
                model.expand(q, 10)
                t1 = time.perf_counter()
                c1 = time.thread_time_ns()
                session.run(None, feed)
                t2 = time.perf_counter()
                expand_ms.append((t1 - t0) * 1e3)
                cpu_ms.append((c1 - c0) / 1e6)
                run_ms.append((t2 - t1) * 1e3)
    return {name: {"expand_p50": float(np.percentile(e, 50)), "expand_p99": float(np.percentile(e, 99)),
                   "expand_cpu_p50": float(np.percentile(c, 50)), "expand_cpu_p99": float(np.percentile(c, 99)),
                   "run_p50": float(np.percentile(r, 50)), "run_p99": float(np.percentile(r, 99))}
            for name, (e, c, r) in times.items()}


def fully_optimized(model: KeywordModel) -> KeywordModel:
    """The same model run at onnxruntime's default optimization level (every fusion, the int8
    product fused into one DynamicQuantizeMatMul): what shoprec ran before it chose the basic
    level, the peer of the latency and throughput rows."""
    model._session = LazySession(model.onnx_bytes, model.num_threads, optimization="all")
    model._expand_cache.clear()
    return model


def throughput(model: KeywordModel, queries: List[str], n_threads: int, seconds: float) -> float:
    """Queries per second from ``n_threads`` Python threads sharing the model's one session,
    every answer computed (``_expand``: ``expand`` without its answer cache, which would answer
    the repeated queries from a dict)."""
    done = [0] * n_threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        j = i
        while time.perf_counter() < stop:
            model._expand(queries[j % len(queries)], 10)
            done[i] += 1
            j += n_threads

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="relevance only")
    parser.add_argument("--repeats", type=int, default=3, help="latency passes over the queries")
    args = parser.parse_args()
    if not TAOBAO.exists():
        print(f"no data at {DATA}; skipping")
        return
    train = read_bio(TAOBAO / "train.txt")
    held = read_bio(TAOBAO / "dev.txt") + read_bio(TAOBAO / "test.txt")
    train_texts = [t for t, _ in train]
    model, t_train = timed_build(train_texts, precision="int8")
    print(f"int8 model from {len(train_texts)} train titles, build {t_train:.2f} s: {model}")
    queries = relevance_queries(held)
    p_model, p_full, p_restricted = relevance(model, train_texts, queries)
    print(f"  {len(queries)} held-out product types: precision@10 model {p_model:.4f}, count baseline over every "
          f"training term {p_full:.4f} (model {p_model / p_full - 1:+.1%}), restricted count baseline {p_restricted:.4f}")
    for query in ("笔记本充电器typec", "小米充电宝20000毫安", "iphone13手机壳"):
        print(f"  expand({query!r}):", [kw for kw, _ in model.expand(query, 10)])
    if args.quick:
        return
    fp32, t_fp32 = timed_build(train_texts, precision="fp32")
    print(f"fp32 model, build {t_fp32:.2f} s; model.onnx int8 {saved_size(model) / 1e6:.2f} MB, "
          f"fp32 {saved_size(fp32) / 1e6:.2f} MB, ratio {saved_size(model) / saved_size(fp32):.1%}")
    search = search_queries([t for t, _ in held])
    print("  search queries (search_queries, seed 13, held-out titles):", describe_queries(model, search))
    print("  e.g.", search[:8])
    share, asked = agreement(model, fp32, search)
    print(f"  int8 top-10 within fp32 top-20: {share:.2%} of {asked} queries")
    # Peer in the same run: the same model without the model-number cap (one TopK).
    uncapped = KeywordModel.build(train_texts, precision="int8", model_number_share=1.0)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp + "/m")
        uncapped.save(tmp + "/u")
        runs = [("model", "/m", False), ("same, no model-number cap", "/u", False),
                ("same model at onnxruntime's full optimization level (before)", "/m", True)]
        models = {}
        for name, path, full in runs:
            for n_threads in (1, 2):
                loaded = KeywordModel.load(tmp + path, num_threads=n_threads)
                models[f"{name}, {n_threads} intra-op thread(s)"] = fully_optimized(loaded) if full else loaded
        for name, lat in latencies(models, search, repeats=args.repeats).items():
            print(f"  {name}: expand p50 {lat['expand_p50']:.3f} ms, "
                  f"p99 {lat['expand_p99']:.3f} ms (thread CPU p50 {lat['expand_cpu_p50']:.3f} ms, "
                  f"p99 {lat['expand_cpu_p99']:.3f} ms); session.run p50 {lat['run_p50']:.3f} ms, p99 {lat['run_p99']:.3f} ms")
        # Throughput: the two optimization levels take turns, twice.
        for turn in (1, 2):
            for full in (False, True):
                loaded = KeywordModel.load(tmp + "/m", num_threads=1)
                label = "full optimization level (before)" if full else "basic optimization level"
                for n in (1, 2):
                    rate = throughput(fully_optimized(loaded) if full else loaded, search, n, 3.0)
                    print(f"  turn {turn}, {n} Python thread(s) sharing one 1-thread session, {label}: {rate:,.0f} queries/s")
    titles = (TAOBAO / "titles_derived.txt").read_text(encoding="utf-8").splitlines()
    big, t_big = timed_build(titles, precision="int8")
    print(f"Taobao titles_derived ({len(titles)} titles): build {t_big:.2f} s (int8); {big}")


if __name__ == "__main__":
    main()
