"""Choosing the number of segments: inertia and silhouette per candidate count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, List

import numpy as np

from .._validate import check_int
from ..errors import DTypeError, InvalidArgumentError
from .model import InterestSegments, _unpack_interactions
from .profiles import _attribute_matrix, _fit_profiler
from .quality import silhouette


# ----------------------------------------------------------------------------------------------
# Choosing the number of segments


@dataclass(frozen=True)
class SegmentCountScores:
    """Inertia and silhouette for each candidate number of segments, on the same profiles.

    Attributes
    ----------
    candidates : list of int
    inertia : list of float
        Always falls as segments are added: look for the elbow.
    silhouette : list of float
        Higher is better separated (on the same seeded sample for every candidate).
    best : int
        The candidate with the highest silhouette (the smallest one on a tie).
    """

    candidates: List[int]
    inertia: List[float]
    silhouette: List[float]
    best: int

    def to_pandas(self) -> Any:
        """The scores as a DataFrame indexed by the number of segments (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(
            {"inertia": self.inertia, "silhouette": self.silhouette},
            index=pd.Index(self.candidates, name="n_segments"),
        )


def choose_n_segments(
    interactions: Any,
    candidates: Iterable[int] = range(2, 21),
    *,
    features: str = "items",
    n_components: int = 32,
    item_attributes: Any = None,
    n_init: int = 4,
    max_iter: int = 300,
    sample_size: int = 2000,
    svd_sample: int = 20_000,
    seed: int = 0,
    num_threads: int = 0,
) -> SegmentCountScores:
    """Score several numbers of segments: k-means inertia and silhouette per candidate.

    The profiles (as :class:`InterestSegments` builds them, with the same parameters) are built
    once and clustered for every candidate; the silhouette uses one seeded sample of shoppers for
    all candidates, so the scores are comparable.

    Parameters
    ----------
    interactions : shoprec.Interactions
    candidates : iterable of int
        Numbers of segments to try, each at least 2 (the silhouette needs two) and at most the
        number of shoppers with a profile.
    features, n_components, item_attributes, n_init, max_iter, sample_size, svd_sample, seed, num_threads
        As for :class:`InterestSegments`.

    Returns
    -------
    SegmentCountScores
    """
    if candidates is None or isinstance(candidates, (str, bytes)) or not hasattr(candidates, "__iter__"):
        raise DTypeError(f"candidates must be an iterable of segment counts, got {type(candidates).__name__}")
    candidate_list = [check_int(c, "candidates", minimum=2) for c in candidates]
    if not candidate_list:
        raise InvalidArgumentError("candidates is empty")
    model = InterestSegments(
        max(candidate_list), features, n_components, n_init=n_init, max_iter=max_iter,
        sample_size=sample_size, svd_sample=svd_sample, seed=seed, num_threads=num_threads,
    )
    matrix, _, _, item_index = _unpack_interactions(interactions)
    if features == "attributes" and item_attributes is None:
        raise InvalidArgumentError("features='attributes' needs item_attributes")
    attributes = None
    if item_attributes is not None:
        attributes, _ = _attribute_matrix(item_attributes, item_index, matrix.shape[1])
    profiler = _fit_profiler(matrix, features, n_components, attributes, seed, svd_sample, model.num_threads)
    profiles, has_profile = profiler.profiles(matrix)
    profiles = profiles[has_profile]
    if len(profiles) > sample_size:
        sample = np.sort(np.random.default_rng(seed).choice(len(profiles), sample_size, replace=False))
    else:
        sample = np.arange(len(profiles))
    inertia, scores = [], []
    for n_segments in candidate_list:
        result = model._cluster(profiles, n_segments)
        inertia.append(float(result.inertia))
        scores.append(silhouette(profiles[sample], np.asarray(result.labels)[sample]))
    finite = [s if np.isfinite(s) else -np.inf for s in scores]
    best = candidate_list[int(np.argmax(finite))]
    return SegmentCountScores(candidate_list, inertia, scores, best)
