# Hand-written stubs for the Rust extension; `python -m mypy.stubtest shoprec._core` keeps
# them honest. The public, documented API is in the Python modules that call these.
from typing import Any, List, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt

__version__: str

# An include/exclude filter: ids for every row, or (indptr, indices) of a per-row mask.
_IdFilter = Union[npt.NDArray[np.int32], Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]]

def top_k(
    scores: Union[npt.NDArray[np.float32], npt.NDArray[np.float64]],
    k: int,
    include: Optional[_IdFilter] = None,
    exclude: Optional[_IdFilter] = None,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def pearson_neighbours(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float64],
    n_rows: int,
    n_cols: int,
    k: int,
    axis: str,
    similarity: str,
    min_support: int,
    shrinkage: float,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def pearson_neighbours_rows(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float64],
    n_rows: int,
    n_cols: int,
    rows: npt.NDArray[np.int32],
    k: int,
    axis: str,
    similarity: str,
    min_support: int,
    shrinkage: float,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def pearson_neighbours_update(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float64],
    n_rows: int,
    n_cols: int,
    old_indptr: npt.NDArray[np.int64],
    old_indices: npt.NDArray[np.int32],
    old_data: npt.NDArray[np.float32],
    old_k: int,
    old_to_new: npt.NDArray[np.int32],
    touched: npt.NDArray[np.int32],
    k: int,
    narrow_k: int,
    axis: str,
    similarity: str,
    min_support: int,
    shrinkage: float,
    num_threads: int = 0,
) -> Tuple[
    Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]],
    Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]],
]: ...
def pearson_neighbours_part(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float64],
    n_rows: int,
    n_cols: int,
    rows: npt.NDArray[np.int32],
    k: int,
    axis: str,
    similarity: str,
    min_support: int,
    shrinkage: float,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def merge_neighbour_parts(
    parts: Sequence[Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]],
    n: int,
    k: int,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
_Floats2 = Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]

def fit_biases(
    users: npt.NDArray[np.int32],
    items: npt.NDArray[np.int32],
    values: npt.NDArray[np.float64],
    n_users: int,
    n_items: int,
    mu: float,
    reg_users: float,
    reg_items: float,
    n_epochs: int,
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def kmeans(
    x: _Floats2,
    n_clusters: int,
    init: Optional[_Floats2] = None,
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    num_threads: int = 0,
) -> Tuple[_Floats2, npt.NDArray[np.int32], float, int]: ...
def kmeans_assign(x: _Floats2, centroids: _Floats2, num_threads: int = 0) -> npt.NDArray[np.int32]: ...
_Floats1 = Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]

def median_filter(
    x: _Floats1,
    window: int,
    mode: str = "nearest",
    cval: float = 0.0,
    groups: Optional[npt.NDArray[np.int64]] = None,
    num_threads: int = 0,
) -> _Floats1: ...
def hampel(
    x: _Floats1,
    window: int,
    n_sigmas: float = 3.0,
    groups: Optional[npt.NDArray[np.int64]] = None,
    num_threads: int = 0,
) -> Tuple[_Floats1, npt.NDArray[np.bool_]]: ...
def _panic_for_test(num_threads: int = 1) -> None: ...

# Integer ids to indices (shoprec._ids.IdMap): a hash table kept as a flat int64 array.
def id_table(ids: npt.NDArray[np.int64]) -> Optional[npt.NDArray[np.int64]]: ...
def id_lookup(table: npt.NDArray[np.int64], values: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]: ...

# CSR arrays as the kNN index holds them: (indptr int64, indices int32, data float32).
_Csr32 = Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]

@final
class CosineIndex:
    def __new__(cls, through: _Csr32, n_rows: int, n_cols: int, norms: npt.NDArray[np.float64]) -> CosineIndex: ...
    def top_k(
        self,
        sources: npt.NDArray[np.int32],
        weights: npt.NDArray[np.float64],
        k: int,
        skip: int = ...,
        include: Optional[npt.NDArray[np.int32]] = None,
        exclude: Optional[npt.NDArray[np.int32]] = None,
    ) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]: ...

@final
class KnnIndex:
    def __new__(
        cls,
        item_based: bool,
        n_users: int,
        n_items: int,
        history: _Csr32,
        neighbours: _Csr32,
        predict_neighbours: _Csr32,
        residuals: _Csr32,
        tiebreak: npt.NDArray[np.float32],
        order: npt.NDArray[np.int32],
        *,
        num_threads: int = ...,
    ) -> KnnIndex: ...
    def recommend(
        self,
        user: int,
        k: int,
        items: Optional[npt.NDArray[np.int32]] = None,
        exclude: Optional[npt.NDArray[np.int32]] = None,
        exclude_seen: bool = True,
    ) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
    def recommend_user(
        self,
        user: int,
        k: int,
        exclude: Optional[npt.NDArray[np.int32]] = None,
        detach_min_work: int = 0,
    ) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
    def recommend_aligned(
        self,
        user: int,
        k: int,
        positions: npt.NDArray[np.int32],
        items: Optional[npt.NDArray[np.int32]] = None,
        detach_min_work: int = 0,
    ) -> Tuple[npt.NDArray[np.float64], float]: ...
    def similar_items(
        self,
        item: int,
        k: int,
        exclude: Optional[npt.NDArray[np.int32]] = None,
        detach_min_work: int = 0,
    ) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
    def recommend_query(
        self,
        sources: npt.NDArray[np.int32],
        weights: npt.NDArray[np.float32],
        seen: npt.NDArray[np.int32],
        k: int,
        items: Optional[npt.NDArray[np.int32]] = None,
        exclude: Optional[npt.NDArray[np.int32]] = None,
    ) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
    def recommend_many(
        self,
        users: npt.NDArray[np.int32],
        k: int,
        items: Optional[npt.NDArray[np.int32]] = None,
        exclude: Optional[npt.NDArray[np.int32]] = None,
        exclude_seen: bool = True,
        num_threads: int = 0,
    ) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
    def explain(self, user: int, item: int) -> Tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
    def predict(
        self,
        xs: npt.NDArray[np.int32],
        ys: npt.NDArray[np.int32],
        k: int,
        min_k: int = 1,
        num_threads: int = 0,
    ) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]: ...
# Text: tokenizer and keyword-building kernels (shoprec.keywords is the public face).
@final
class Tokenizer:
    version: str
    def __new__(cls, user_words: List[str] = ...) -> "Tokenizer": ...
    def tokenize(self, text: str) -> List[str]: ...
    def tokenize_many(self, texts: List[str], num_threads: int = 0) -> List[List[str]]: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def user_words(self) -> List[str]: ...

def tokenize(text: str) -> List[str]: ...
def discover_phrases(
    tokenizer: Tokenizer,
    texts: List[str],
    min_count: int,
    min_cohesion: float,
    max_phrases: int,
    num_threads: int = 0,
) -> List[str]: ...
def build_corpus(
    tokenizer: Tokenizer, texts: List[str], max_terms: int, min_count: int, num_threads: int = 0
) -> Tuple[
    List[str],
    npt.NDArray[np.uint32],
    Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.uint32]],
]: ...
def cooccurrence(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    n_terms: int,
    max_terms_per_text: int,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float64]]: ...
def ppmi(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float64],
    n_terms: int,
    alpha: float,
    shift: float,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def randomized_svd(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_rows: int,
    n_cols: int,
    rank: int,
    oversample: int = 10,
    power_iterations: int = 2,
    seed: int = 0,
    num_threads: int = 0,
) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...

# Product search (shoprec.search is the public face). Products cross as
# (id, [text per text field], [value per filter field], popularity); filters as
# (field, "any" | "numbers" | "range" | "bool", payload).
_FilterValue = Union[None, bool, float, str, List[str]]
_Product = Tuple[str, List[str], List[_FilterValue], float]
# Search answers: (ids, text, expansion, popularity, total, facets, words, corrections,
# expansions_used, browsed); ids are int64 when every id is an int that fits, else a list.
_SearchOut = Tuple[
    Union[npt.NDArray[np.int64], List[Union[int, str]]],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float64],
    int,
    List[Tuple[str, List[Tuple[str, int]]]],
    List[str],
    List[Tuple[str, str]],
    List[str],
    bool,
]
_F32 = npt.NDArray[np.float32]

def blend(
    text: npt.NDArray[np.float32],
    expansion: npt.NDArray[np.float32],
    personal: Optional[npt.NDArray[np.float64]],
    popularity: npt.NDArray[np.float64],
    weights: Tuple[float, float, float],
    offset: int,
    k: int,
) -> Tuple[npt.NDArray[np.int64], _F32, _F32, _F32, _F32, _F32]: ...
_Fields = Tuple[List[Tuple[str, float]], List[Tuple[str, str]], List[str], Optional[str]]

@final
class SearchEngine:
    def __new__(
        cls,
        text_fields: List[Tuple[str, float]],
        filter_fields: List[Tuple[str, str]],
        user_words: List[str],
        stock_field: Optional[str] = None,
        path: Optional[str] = None,
        num_threads: int = 0,
    ) -> SearchEngine: ...
    @staticmethod
    def load(
        dir: str,
        text_fields: List[Tuple[str, float]],
        filter_fields: List[Tuple[str, str]],
        user_words: List[str],
        stock_field: Optional[str] = None,
        path: Optional[str] = None,
        num_threads: int = 0,
    ) -> SearchEngine: ...
    def save(self, dir: str) -> None: ...
    def forked(self) -> bool: ...
    def fields(self) -> _Fields: ...
    def __len__(self) -> int: ...
    def analyze(self, text: str) -> List[str]: ...
    def add(self, products: Sequence[_Product]) -> None: ...
    def update(self, products: Sequence[_Product]) -> None: ...
    def delete(self, ids: List[str]) -> int: ...
    def set_stock(self, ids: List[str], in_stock: bool) -> int: ...
    def products(self) -> List[_Product]: ...
    def search(
        self,
        text: str,
        expansions: List[Tuple[str, float]],
        typos: bool,
        filters: List[Tuple[str, str, Any]],
        facets: List[str],
        limit: int,
        browse_if_empty: bool,
        remember: int = ...,
    ) -> _SearchOut: ...
