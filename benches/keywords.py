"""Keyword-model measurements on real data (issue 5): build time, int8/fp32 file size and
agreement, single-query latency, two-thread throughput, and relevance on held-out Taobao titles
against a co-occurrence-count baseline.

    python benches/keywords.py [--quick]

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

from shoprec import _core  # noqa: E402
from shoprec.keywords import KeywordModel  # noqa: E402

DATA = Path(os.environ.get("SHOPREC_DATA", ROOT.parent / "shared" / "data"))
TAOBAO = DATA / "taobao-titles"
MOVIELENS = DATA / "ml-latest-small"


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


def relevance(model: KeywordModel, train_texts: List[str], queries: Dict[str, Set[str]], k: int = 10):
    """Mean precision@k of ``model.expand`` and of the count baseline, over the same queries
    (a query the model does not know scores 0 for both). A keyword is relevant when it is one
    of the relevant entities or one of their tokens."""
    tokenizer = model._tokenizer
    vocab = model.vocab
    # Baseline: rank the same candidate keywords by raw co-occurrence count in training titles.
    full_vocab, _, (indptr, indices, _) = _core.build_corpus(tokenizer, train_texts, 10**9, 1)
    full_index = {t: i for i, t in enumerate(full_vocab)}
    c_indptr, c_indices, c_data = _core.cooccurrence(indptr, indices, len(full_vocab), 256)
    counts = sp.csr_matrix((c_data, c_indices, c_indptr), shape=(len(full_vocab),) * 2)
    keyword_cols = np.array([full_index.get(kw, -1) for kw in model.keywords])
    model_p, base_p, fallback_p = [], [], []

    def count_ranking(own: Set[int]) -> List[str]:
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
            relevant.update(tokenizer.tokenize(entity))
        expanded = [kw for kw, _ in model.expand(query, k)]
        model_p.append(precision_at(expanded, relevant, k))
        # The baseline as the issue defines it: the query's own terms, even those seen once.
        own = {full_index[t] for t in tokenizer.tokenize(query) if t in full_index}
        base_p.append(precision_at(count_ranking(own), relevant, k))
        # The same baseline given the model's sub-word fallback for unknown terms.
        ids, _ = model._term_ids_of(query)
        fallback_p.append(precision_at(count_ranking({full_index[vocab[i]] for i in ids}), relevant, k))
    return float(np.mean(model_p)), float(np.mean(base_p)), float(np.mean(fallback_p))


def movielens_texts() -> List[str]:
    """One English text per movie: its title, genres and every user tag."""
    import csv

    tags: Dict[str, List[str]] = defaultdict(list)
    with open(MOVIELENS / "tags.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            tags[row["movieId"]].append(row["tag"])
    texts = []
    with open(MOVIELENS / "movies.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            genres = row["genres"].replace("|", " ")
            texts.append(" ".join([row["title"], genres] + tags.get(row["movieId"], [])))
    return texts


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


def latency(model: KeywordModel, queries: List[str], repeats: int) -> Tuple[float, float, float, float]:
    """p50 and p99 (ms) of ``expand`` and of the bare ``session.run`` on the same term ids."""
    session = model._session.get()
    feeds = []
    for q in queries:
        ids, _ = model._term_ids_of(q)
        if ids:
            feeds.append({"token_ids": np.asarray(ids, np.int64), "k": np.array([20], np.int64)})
    for q in queries[:50]:
        model.expand(q)
    expand_ms, run_ms = [], []
    for _ in range(repeats):
        for q, feed in zip(queries, feeds):
            t0 = time.perf_counter()
            model.expand(q, 10)
            t1 = time.perf_counter()
            session.run(None, feed)
            t2 = time.perf_counter()
            expand_ms.append((t1 - t0) * 1e3)
            run_ms.append((t2 - t1) * 1e3)
    return (float(np.percentile(expand_ms, 50)), float(np.percentile(expand_ms, 99)),
            float(np.percentile(run_ms, 50)), float(np.percentile(run_ms, 99)))


def throughput(model: KeywordModel, queries: List[str], n_threads: int, seconds: float) -> float:
    """Queries per second from ``n_threads`` Python threads sharing the model's one session."""
    done = [0] * n_threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        j = i
        while time.perf_counter() < stop:
            model.expand(queries[j % len(queries)], 10)
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
    args = parser.parse_args()
    if not TAOBAO.exists():
        print(f"no data at {DATA}; skipping")
        return
    rng = np.random.default_rng(0)
    if not args.quick:
        titles = (TAOBAO / "titles_derived.txt").read_text(encoding="utf-8").splitlines()
        fp32, t_fp32 = timed_build(titles, precision="fp32")
        int8, t_int8 = timed_build(titles, precision="int8")
        print(f"Taobao titles_derived ({len(titles)} titles): build {t_int8:.2f} s (int8), {t_fp32:.2f} s (fp32); {int8}")
        ratio = saved_size(int8) / saved_size(fp32)
        print(f"  model.onnx int8 {saved_size(int8) / 1e6:.2f} MB, fp32 {saved_size(fp32) / 1e6:.2f} MB, ratio {ratio:.1%}")
        queries = [titles[i][:12] for i in rng.choice(len(titles), 1000, replace=False)]
        queries += [int8.vocab[i] for i in rng.choice(len(int8.vocab), 1000, replace=False)]
        share, asked = agreement(int8, fp32, queries)
        print(f"  int8 top-10 within fp32 top-20: {share:.2%} of {asked} queries")
        if MOVIELENS.exists():
            movies = movielens_texts()
            ml, t_ml = timed_build(movies, precision="int8")
            print(f"MovieLens titles+genres+tags ({len(movies)} movies): build {t_ml:.2f} s; {ml}")
            print("  expand('toy story'):", [kw for kw, _ in ml.expand("toy story", 8)])
            print("  expand('dystopia'):", [kw for kw, _ in ml.expand("dystopia", 8)])
            corpus = titles + movies
        else:
            corpus = titles
        # 20,000 terms x 128 dimensions: every term of both catalogs, min_count 1.
        big, t_big = timed_build(corpus, precision="int8", min_count=1, max_terms=20_000, max_keywords=20_000)
        print(f"latency model ({len(corpus)} texts, min_count=1): build {t_big:.2f} s; {big}")
        with tempfile.TemporaryDirectory() as tmp:
            big.save(tmp + "/m")
            big = KeywordModel.load(tmp + "/m", num_threads=1)
        lat_queries = [corpus[i][:16] for i in rng.choice(len(corpus), 500, replace=False)]
        e50, e99, r50, r99 = latency(big, lat_queries, repeats=4)
        print(f"  1 intra-op thread: expand p50 {e50:.3f} ms, p99 {e99:.3f} ms; session.run p50 {r50:.3f} ms, p99 {r99:.3f} ms")
        for n in (1, 2):
            print(f"  {n} Python thread(s) sharing one session: {throughput(big, lat_queries, n, 3.0):,.0f} queries/s")
    train = read_bio(TAOBAO / "train.txt")
    held = read_bio(TAOBAO / "dev.txt") + read_bio(TAOBAO / "test.txt")
    train_texts = [t for t, _ in train]
    queries = relevance_queries(held)
    model, t_train = timed_build(train_texts, precision="int8")
    print(f"relevance model from {len(train_texts)} train titles, build {t_train:.2f} s: {model}")
    p_model, p_base, p_fallback = relevance(model, train_texts, queries)
    print(f"  {len(queries)} held-out product types: precision@10 model {p_model:.4f}, count baseline "
          f"{p_base:.4f}, count baseline with the model's sub-word fallback {p_fallback:.4f}")


if __name__ == "__main__":
    main()
