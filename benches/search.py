"""Product search measurements (issue 9), side by side with what a shop would use instead:
``tantivy`` (Python bindings, text pre-split by jieba), ``bm25s`` and ``rank-bm25``.

    python benches/search.py [--quick] [--only known-item,typos,personal,latency]

Protocols (all seeded):

* known-item on Taobao titles: the query is "<first brand> <first product type>" of a title's
  tags (HPPX, HCCX); any title with the same query is a hit. Recall@10 and MRR@10.
* typos on MovieLens titles (year removed): one word of 5+ letters gets one random
  substitution, deletion, insertion or swap; any movie with the same title is a hit.
* personalisation on MovieLens: products are movies (title, genres, tags); each test user's
  last 20% ratings are held out; the query is the most frequent genre of their held-out
  ratings >= 4, and those held-out movies with that genre are relevant. NDCG@10 without and
  with personal ranking (ItemKNN on the first 80%), and with weights picked by grid search on
  another half of the users.
* latency on a generated 100,000-product catalogue (Chinese and English titles), one thread,
  with expansion (KeywordModel) and personal ranking (ItemKNN) on; throughput from 2 threads;
  index build rate including Chinese tokenisation.

Data from ``$SHOPREC_DATA`` (default ``../shared/data``); exits quietly when it is absent.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Set, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import shoprec  # noqa: E402
from keywords import read_bio  # noqa: E402
from shoprec import SearchIndex  # noqa: E402

DATA = Path(os.environ.get("SHOPREC_DATA", ROOT.parent / "shared" / "data"))
TAOBAO = DATA / "taobao-titles"
MOVIELENS = DATA / "ml-latest-small"

Searcher = Callable[[str], List[int]]


def recall_mrr(searchers: Dict[str, Searcher], queries: Sequence[Tuple[str, Set[int]]]) -> Dict[str, Tuple[float, float, float]]:
    """(recall@10, MRR@10, ms per query) of each searcher."""
    out = {}
    for name, search in searchers.items():
        hits, rr = 0, 0.0
        start = time.perf_counter()
        for query, relevant in queries:
            ranked = search(query)[:10]
            ranks = [r for r, doc in enumerate(ranked) if doc in relevant]
            if ranks:
                hits += 1
                rr += 1.0 / (ranks[0] + 1)
        elapsed = (time.perf_counter() - start) / len(queries) * 1000
        out[name] = (hits / len(queries), rr / len(queries), elapsed)
    return out


# ---------------------------------------------------------------------------- peers
def tantivy_searcher(texts: List[str], tokenize: Callable[[str], List[str]], fuzzy: bool = False) -> Searcher:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", stored=False, tokenizer_name="whitespace")
    builder.add_integer_field("id", stored=True)
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=64_000_000, num_threads=1)
    for i, text in enumerate(texts):
        writer.add_document(tantivy.Document(id=i, title=" ".join(tokenize(text))))
    writer.commit()
    index.reload()
    searcher = index.searcher()

    def search(query: str) -> List[int]:
        clauses = []
        for word in dict.fromkeys(tokenize(query)):
            edits = (1 if len(word) < 9 else 2) if fuzzy and word.isalpha() and word.isascii() and len(word) >= 5 else 0
            if edits:
                q = tantivy.Query.fuzzy_term_query(schema, "title", word, distance=edits, transposition_cost_one=True)
                clauses.append((tantivy.Occur.Should, tantivy.Query.boolean_query([
                    (tantivy.Occur.Should, tantivy.Query.term_query(schema, "title", word)), (tantivy.Occur.Should, q)])))
            else:
                clauses.append((tantivy.Occur.Should, tantivy.Query.term_query(schema, "title", word)))
        if not clauses:
            return []
        hits = searcher.search(tantivy.Query.boolean_query(clauses), 10).hits
        return [searcher.doc(addr)["id"][0] for _, addr in hits]

    return search


def bm25s_searcher(texts: List[str], tokenize: Callable[[str], List[str]]) -> Searcher:
    import bm25s

    corpus = [tokenize(t) for t in texts]
    vocab = {w for doc in corpus for w in doc}
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)

    def search(query: str) -> List[int]:
        tokens = [w for w in tokenize(query) if w in vocab]
        if not tokens:
            return []
        docs, _ = retriever.retrieve([tokens], k=min(10, len(texts)), show_progress=False, n_threads=1)
        return [int(d) for d in docs[0]]

    return search


def rank_bm25_searcher(texts: List[str], tokenize: Callable[[str], List[str]]) -> Searcher:
    from rank_bm25 import BM25Okapi

    bm25 = BM25Okapi([tokenize(t) or ["\x00"] for t in texts])

    def search(query: str) -> List[int]:
        scores = bm25.get_scores(tokenize(query))
        top = np.argsort(-scores, kind="stable")[:10]
        return [int(i) for i in top if scores[i] > 0]

    return search


def shoprec_searcher(texts: List[str], **search_options) -> Searcher:
    index = SearchIndex.build([{"id": i, "title": t} for i, t in enumerate(texts)], text=("title",), filters=())

    def search(query: str) -> List[int]:
        return [i for i, _ in index.search(query, 10, expand=False, **search_options)]

    return search


def jieba_words(text: str) -> List[str]:
    import jieba

    return [w.lower() for w in jieba.lcut(text) if w.strip() and re.search(r"\w", w)]


def jieba_and_bigrams(text: str) -> List[str]:
    han = re.findall(r"[\u4e00-\u9fff]+", text)
    return jieba_words(text) + [run[i:i + 2] for run in han for i in range(len(run) - 1)]


def latin_words(text: str) -> List[str]:
    return re.findall(r"\w+", text.lower())


def trigrams(text: str) -> List[str]:
    out = []
    for word in latin_words(text):
        padded = f"#{word}#"
        out.extend(padded[i:i + 3] for i in range(max(1, len(padded) - 2)))
    return out


def print_table(title: str, rows: Dict[str, Tuple[float, float, float]]) -> None:
    print(f"\n### {title}\n")
    print("| system | recall@10 | MRR@10 | ms / query |")
    print("|---|---|---|---|")
    for name, (recall, mrr, ms) in rows.items():
        print(f"| {name} | {recall:.3f} | {mrr:.3f} | {ms:.2f} |")


# ---------------------------------------------------------------------- known item
def known_item(n_queries: int) -> None:
    titles: Dict[str, Tuple[str, str]] = {}
    for name in ("train.txt", "dev.txt", "test.txt"):
        for title, entities in read_bio(TAOBAO / name):
            brands = [t for k, t in entities if k == "HPPX"]
            types = [t for k, t in entities if k == "HCCX"]
            if title.strip():
                titles.setdefault(title, (brands[0], types[0]) if brands and types else ("", ""))
    texts = list(titles)
    by_query: Dict[str, Set[int]] = defaultdict(set)
    for i, (brand, kind) in enumerate(titles.values()):
        if brand:
            by_query[f"{brand} {kind}"].add(i)
    rng = np.random.default_rng(0)
    candidates = [i for i, t in enumerate(texts) if titles[t][0]]
    chosen = rng.choice(candidates, size=min(n_queries, len(candidates)), replace=False)
    queries = []
    for i in chosen:
        q = "{} {}".format(*titles[texts[i]])
        queries.append((q, by_query[q]))
    print(f"\n{len(texts)} Taobao titles indexed, {len(candidates)} with a brand and a product type; {len(queries)} queries")
    searchers = {
        "shoprec.SearchIndex": shoprec_searcher(texts),
        "tantivy (jieba words)": tantivy_searcher(texts, jieba_words),
        "bm25s (jieba words + bigrams)": bm25s_searcher(texts, jieba_and_bigrams),
        "rank-bm25 (jieba words)": rank_bm25_searcher(texts, jieba_words),
    }
    print_table("Known-item search, Taobao titles", recall_mrr(searchers, queries))


# --------------------------------------------------------------------------- typos
def movie_titles() -> Dict[int, str]:
    import pandas as pd

    movies = pd.read_csv(MOVIELENS / "movies.csv")
    return {int(m): re.sub(r"\s*\(\d{4}(-\d{4})?\)\s*$", "", t).strip() for m, t in zip(movies.movieId, movies.title)}


def add_typo(word: str, rng: np.random.Generator) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    i = int(rng.integers(len(word)))
    op = int(rng.integers(4))
    if op == 0:
        return word[:i] + rng.choice([c for c in letters if c != word[i].lower()]) + word[i + 1:]
    if op == 1:
        return word[:i] + word[i + 1:]
    if op == 2:
        return word[:i] + rng.choice(list(letters)) + word[i:]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def typos(n_queries: int) -> None:
    titles = list(movie_titles().values())
    same: Dict[str, Set[int]] = defaultdict(set)
    for i, t in enumerate(titles):
        same[t.lower()].add(i)
    rng = np.random.default_rng(0)
    queries = []
    for i in rng.permutation(len(titles)):
        words = titles[i].split()
        long = [j for j, w in enumerate(words) if w.isalpha() and w.isascii() and len(w) >= 5]
        if not long:
            continue
        j = long[int(rng.integers(len(long)))]
        typo = add_typo(words[j], rng)
        if typo.lower() == words[j].lower():
            continue
        queries.append((" ".join(words[:j] + [typo] + words[j + 1:]), same[titles[i].lower()]))
        if len(queries) == n_queries:
            break
    print(f"\n{len(titles)} MovieLens titles (year removed), {len(queries)} queries with one typo")
    searchers = {
        "shoprec.SearchIndex": shoprec_searcher(titles),
        "shoprec.SearchIndex, typos=False": shoprec_searcher(titles, typos=False),
        "tantivy fuzzy (5+: 1 edit, 9+: 2)": tantivy_searcher(titles, latin_words, fuzzy=True),
        "tantivy, no fuzzy": tantivy_searcher(titles, latin_words),
        "bm25s (character trigrams)": bm25s_searcher(titles, trigrams),
        "rank-bm25 (words)": rank_bm25_searcher(titles, latin_words),
    }
    print_table("Typo queries, MovieLens titles", recall_mrr(searchers, queries))
    print("\n(shoprec with typos=False retries with typos when nothing matches, so it differs from "
          "typos=True only where the typo spells another catalogue word.)")


# ------------------------------------------------------------------ personalisation
def ndcg_at_10(ranked: List[int], relevant: Set[int]) -> float:
    dcg = sum(1.0 / math.log2(r + 2) for r, doc in enumerate(ranked[:10]) if doc in relevant)
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(10, len(relevant))))
    return dcg / ideal if ideal else 0.0


def personal(n_users: int) -> None:
    import pandas as pd

    ratings = pd.read_csv(MOVIELENS / "ratings.csv").sort_values(["userId", "timestamp"], kind="stable")
    movies = pd.read_csv(MOVIELENS / "movies.csv")
    tags = pd.read_csv(MOVIELENS / "tags.csv")
    titles = movie_titles()
    genres = {int(m): [] if g == "(no genres listed)" else g.split("|") for m, g in zip(movies.movieId, movies.genres)}
    movie_tags = tags.groupby("movieId")["tag"].apply(lambda s: " ".join(map(str, s))).to_dict()
    position = ratings.groupby("userId").cumcount()
    size = ratings.groupby("userId")["movieId"].transform("size")
    test_mask = position >= (size * 0.8).astype(int)
    train, test = ratings[~test_mask], ratings[test_mask]
    model = shoprec.ItemKNN().fit(shoprec.Interactions.from_arrays(train.userId.tolist(), train.movieId.tolist(), train.rating.tolist()))
    popularity = train.movieId.value_counts().to_dict()
    products = [{"id": m, "title": titles[m], "genres": " ".join(genres[m]), "tags": movie_tags.get(m, "")} for m in titles]
    index = SearchIndex.build(products, text={"title": 2.0, "genres": 1.0, "tags": 1.0}, filters=(),
                              recommender=model, popularity=popularity)
    queries = []
    for user, rows in test[test.rating >= 4].groupby("userId"):
        counts = Counter(g for m in rows.movieId for g in genres[int(m)])
        if not counts:
            continue
        genre = counts.most_common(1)[0][0]
        relevant = {int(m) for m in rows.movieId if genre in genres[int(m)]}
        queries.append((int(user), genre, relevant))
    rng = np.random.default_rng(0)
    rng.shuffle(queries)
    queries = queries[: 2 * n_users]
    tune_set, eval_set = queries[::2], queries[1::2]

    def score(qs, personal_on: bool) -> float:
        return float(np.mean([ndcg_at_10([i for i, _ in index.search(g, 10, user=u if personal_on else None, expand=False)], rel)
                              for u, g, rel in qs]))

    default = index.weights
    without = score(eval_set, False)
    with_default = score(eval_set, True)
    best = None
    for p in (0.1, 0.35, 1.0, 3.0, 10.0):
        for pop in (0.0, 0.15, 0.5):
            index.weights = default.replace(personal=p, popularity=pop)
            s = score(tune_set, True)
            if best is None or s > best[0]:
                best = (s, p, pop)
    index.weights = default.replace(personal=best[1], popularity=best[2])
    tuned = score(eval_set, True)
    index.weights = default.replace(personal=0.0, popularity=best[2])
    tuned_no_personal = score(eval_set, False)
    index.weights = default
    print(f"\n### Personal ranking, MovieLens ({len(eval_set)} evaluation users, {len(tune_set)} tuning users)\n")
    print("| ranking | NDCG@10 |")
    print("|---|---|")
    print(f"| text + popularity (default weights, no user) | {without:.4f} |")
    print(f"| + personal, default weights (personal {default.personal}, popularity {default.popularity}) | {with_default:.4f} |")
    print(f"| text + popularity, tuned popularity weight {best[2]} (no user) | {tuned_no_personal:.4f} |")
    print(f"| + personal, tuned on other users (personal {best[1]}, popularity {best[2]}) | {tuned:.4f} |")
    print(f"\nLift from personal ranking: {with_default - without:+.4f} (default weights), {tuned - tuned_no_personal:+.4f} (tuned)")


# -------------------------------------------------------------------------- latency
def generated_catalogue(n: int, rng: np.random.Generator) -> List[Dict[str, object]]:
    en_brands = ["acme", "zoom", "nova", "orbit", "lumen", "vertex", "pioneer", "summit", "apex", "harbor"]
    en_types = ["shoes", "laptop", "jacket", "kettle", "headphones", "backpack", "monitor", "dress", "blender", "watch"]
    en_attrs = ["red", "blue", "wireless", "waterproof", "leather", "summer", "portable", "gaming", "cotton", "steel",
                "lightweight", "classic", "premium", "compact", "outdoor", "vintage", "smart", "slim", "warm", "quiet"]
    zh_brands = ["联想", "华为", "小米", "李宁", "安踏", "美的", "格力", "海尔", "百思图", "森马"]
    zh_types = ["笔记本电脑", "游戏本", "连衣裙", "运动鞋", "电水壶", "耳机", "双肩包", "显示器", "羽绒服", "手表"]
    zh_attrs = ["红色", "蓝色", "无线", "防水", "真皮", "夏季", "便携", "韩版", "纯棉", "不锈钢", "轻薄", "经典", "保暖", "复古", "智能"]
    out = []
    for i in range(n):
        if i % 2:
            words = [rng.choice(zh_brands), *rng.choice(zh_attrs, size=3, replace=False), rng.choice(zh_types), f"{rng.integers(100, 999)}型"]
            title = "".join(words)
        else:
            words = [rng.choice(en_brands), *rng.choice(en_attrs, size=3, replace=False), rng.choice(en_types), f"x{rng.integers(100, 999)}"]
            title = " ".join(words)
        out.append({"id": i, "title": title, "category": words[-2], "price": float(rng.integers(10, 1000)),
                    "in_stock": bool(rng.random() < 0.9), "sales": int(rng.integers(0, 1000))})
    return out


def throughput(run, pairs) -> Tuple[float, float, float]:
    """Calls per second of ``run`` over ``pairs``: one thread; two threads of an executor (the
    protocol); two plain threads, each looping over every second pair."""
    start = time.perf_counter()
    for pair in pairs:
        run(pair)
    one = len(pairs) / (time.perf_counter() - start)
    with ThreadPoolExecutor(2) as pool:
        start = time.perf_counter()
        list(pool.map(run, pairs))
        two = len(pairs) / (time.perf_counter() - start)
    threads = [threading.Thread(target=lambda part=pairs[i::2]: [run(p) for p in part]) for i in range(2)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return one, two, len(pairs) / (time.perf_counter() - start)


def latency(n_products: int, n_queries: int) -> None:
    rng = np.random.default_rng(0)
    products = generated_catalogue(n_products, rng)
    titles = [p["title"] for p in products]
    start = time.perf_counter()
    keywords = shoprec.KeywordModel.build(titles[:20_000], dim=32, min_count=3)
    print(f"\nKeyword model on 20,000 of the titles: {time.perf_counter() - start:.1f} s")
    users = rng.integers(0, 5_000, size=100_000)
    items = rng.integers(0, n_products, size=100_000)
    model = shoprec.ItemKNN().fit(shoprec.Interactions.from_arrays(users.tolist(), items.tolist()))
    start = time.perf_counter()
    index = SearchIndex.build(products, keyword_model=keywords, recommender=model, popularity="sales", num_threads=0)
    build = time.perf_counter() - start
    start = time.perf_counter()
    SearchIndex.build(products, popularity="sales", num_threads=1)
    build_one = time.perf_counter() - start
    queries = []
    for _ in range(n_queries):
        p = products[int(rng.integers(n_products))]["title"]
        words = p.split() if " " in p else [p[:2], p[-6:-4]]
        queries.append(" ".join(rng.choice(words, size=min(2, len(words)), replace=False)))
    users_q = [int(u) for u in rng.integers(0, 5_000, size=n_queries)]

    def run(q_u):
        q, u = q_u
        return index.search(q, 20, user=u, filters={"in_stock": True})

    for pair in zip(queries[:50], users_q[:50]):
        run(pair)
    times = []
    asked, first_time = set(queries[:50]), []
    for pair in zip(queries, users_q):
        t = time.perf_counter()
        run(pair)
        times.append((time.perf_counter() - t) * 1000)
        first_time.append(pair[0] not in asked)
        asked.add(pair[0])
    # Beside the protocol: the queries asked for the first time in the run, which neither the
    # keyword model's expansions nor the index's remembered answers can have.
    fresh_times = [t for t, fresh in zip(times, first_time) if fresh]
    plain_times = []
    for q in queries:
        t = time.perf_counter()
        index.search(q, 20, expand=False)
        plain_times.append((time.perf_counter() - t) * 1000)
    pairs = list(zip(queries, users_q))
    one, two, two_plain = throughput(run, pairs)
    # Beside the protocol's executor: two plain threads, each searching its half in a loop
    # (the executor hands every search to a worker and its result back, which for searches of
    # tens of microseconds is a large part of the time); and the same passes with the index
    # remembering no answers (every search runs the engine; the expansions stay remembered),
    # as the rounds before the cache measured.
    index.RESULT_CACHE_MB = 0
    one_engine, two_engine, two_engine_plain = throughput(run, pairs)
    index.RESULT_CACHE_MB = SearchIndex.RESULT_CACHE_MB
    tantivy = tantivy_searcher(titles, jieba_words)
    tantivy_times = []
    for q in queries:
        t = time.perf_counter()
        tantivy(q)
        tantivy_times.append((time.perf_counter() - t) * 1000)
    print(f"\n### Latency, generated catalogue of {n_products:,} products ({n_queries} queries, 2 words each)\n")
    print("| measurement | value |")
    print("|---|---|")
    print(f"| build, num_threads=0 (2 cores), with jieba tokenisation | {n_products / build:,.0f} products/s |")
    print(f"| build, num_threads=1 | {n_products / build_one:,.0f} products/s |")
    print(f"| search, expansion + personal + in-stock filter, p50 / p99 | {np.percentile(times, 50):.2f} / {np.percentile(times, 99):.2f} ms |")
    print(f"| same, the {len(fresh_times)} queries asked for the first time in the run, p50 / p99 | "
          f"{np.percentile(fresh_times, 50):.2f} / {np.percentile(fresh_times, 99):.2f} ms |")
    print(f"| search, text only (expand=False, no user), p50 / p99 | {np.percentile(plain_times, 50):.2f} / {np.percentile(plain_times, 99):.2f} ms |")
    print(f"| tantivy (Python, jieba-split), p50 / p99 | {np.percentile(tantivy_times, 50):.2f} / {np.percentile(tantivy_times, 99):.2f} ms |")
    print(f"| throughput 1 thread / 2 threads | {one:,.0f} / {two:,.0f} queries/s ({two / one:.2f}x) |")
    print(f"| same, 2 plain threads (each loops over its half) | {one:,.0f} / {two_plain:,.0f} queries/s "
          f"({two_plain / one:.2f}x) |")
    print(f"| same, RESULT_CACHE_MB = 0 (the engine runs for every search) | "
          f"{one_engine:,.0f} / {two_engine:,.0f} queries/s ({two_engine / one_engine:.2f}x) |")
    print(f"| same, RESULT_CACHE_MB = 0, 2 plain threads | {one_engine:,.0f} / {two_engine_plain:,.0f} queries/s "
          f"({two_engine_plain / one_engine:.2f}x) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer queries and a 20,000-product catalogue")
    parser.add_argument("--only", default="known-item,typos,personal,latency")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"no data at {DATA}; set SHOPREC_DATA")
        return
    parts = set(args.only.split(","))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if "known-item" in parts:
        known_item(300 if args.quick else 1000)
    if "typos" in parts:
        typos(300 if args.quick else 1000)
    if "personal" in parts:
        personal(100 if args.quick else 300)
    if "latency" in parts:
        latency(20_000 if args.quick else 100_000, 300 if args.quick else 1000)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
