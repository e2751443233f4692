"""Shopper interest segments: groups of shoppers with similar tastes, and what sets each apart.

:class:`InterestSegments` builds one profile vector per shopper from their interactions and
clusters the profiles with the Rust k-means kernel (:func:`shoprec.kernels.kmeans`). A merchant
reads a segment with :meth:`InterestSegments.describe` (its size, and the items and attributes
that are much more common in it than in the whole shop), places a new or anonymous shopper with
:meth:`InterestSegments.assign` without a refit, and gets the segment's best sellers with
:meth:`InterestSegments.popular_items` (the cold-start fallback "popular with shoppers like you").
:func:`choose_n_segments` scores several segment counts on the same profiles.

Shoppers without interactions, and anonymous shoppers with an empty history, belong to the
"new shoppers" segment :data:`NEW_SHOPPERS` (``-1``); it is never one of the k-means clusters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

from .. import _core, kernels
from .._ids import filter_ids
from ..io import PicklesByValue, load_as, register, save
from .._validate import check_choice, check_int, check_num_threads
from ..errors import DTypeError, InvalidArgumentError, NotFittedError, ShapeMismatchError
from ..interactions import Interactions
from .profiles import NEW_SHOPPERS, _attribute_matrix, _fit_profiler, _Profiler, _spread_rows
from .persistence import segments_from_state, segments_to_state
from .quality import _sample_silhouette


# ----------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class SegmentDescription:
    """What sets one segment apart, for a merchant to name it.

    Attributes
    ----------
    segment : int
        The segment number (:data:`NEW_SHOPPERS` for the new shoppers).
    size : int
        Shoppers in the segment.
    share : float
        ``size`` over all shoppers of the fitted interactions.
    top_items : list of (item id, lift, reach)
        Items most over-represented in the segment: ``reach`` is the fraction of the segment's
        shoppers who interacted with the item, ``lift`` that fraction over the same fraction in
        the whole shop. Only items reached by at least ``min_shoppers`` of the segment count.
    top_attributes : list of (attribute, lift, share)
        With item attributes: ``share`` is the attribute's part of the segment's attribute
        histogram (weighted by the interactions), ``lift`` that share over the whole shop's.
    """

    segment: int
    size: int
    share: float
    top_items: List[Tuple[Any, float, float]]
    top_attributes: List[Tuple[str, float, float]]

    def __str__(self) -> str:
        name = "new shoppers" if self.segment == NEW_SHOPPERS else f"segment {self.segment}"
        lines = [f"{name}: {self.size} shoppers ({100 * self.share:.1f}%)"]
        if self.top_attributes:
            lines.append(
                "  attributes: " + ", ".join(f"{a} (x{lift:.2f})" for a, lift, _ in self.top_attributes)
            )
        if self.top_items:
            lines.append("  items: " + ", ".join(f"{i!r} (x{lift:.2f})" for i, lift, _ in self.top_items))
        return "\n".join(lines)


@register("InterestSegments")
class InterestSegments(PicklesByValue):
    """Groups of shoppers with similar interests.

    Each shopper gets a profile vector, and k-means (k-means++ seeding, the best of ``n_init``
    runs, :func:`shoprec.kernels.kmeans`) groups the profiles:

    - ``features="items"``: a low-rank embedding of what the shopper interacted with. The
      user x item matrix of interaction values (ratings or event weights) has its columns
      weighted by the smoothed inverse document frequency of the item (over shoppers, so
      blockbusters say less about taste), is reduced to ``n_components`` dimensions by a
      seeded randomized truncated SVD (profile = row @ V.T, i.e. U * S; V learned from at most
      ``svd_sample`` shoppers), and each profile is scaled to unit length (taste, not volume,
      decides the segment).
    - ``features="attributes"``: a histogram over item attributes (category, brand, genre,
      price band): the sum of the shopper's interaction values over the attributes of their
      items, TF-IDF weighted (smoothed IDF over shoppers), scaled to unit length.
      ``n_components`` is not used.

    Shoppers without interactions (and, with attributes, shoppers none of whose items has an
    attribute) are not clustered: they form the :data:`NEW_SHOPPERS` segment (``-1``).

    Parameters
    ----------
    n_segments : int
        The number of segments (k-means clusters), at least 1 and at most the number of
        shoppers with a profile.
    features : {"items", "attributes"}
        What a profile is made of (above).
    n_components : int
        The dimension of the item embedding (clamped to the matrix's smaller side).
    n_init : int
        k-means runs from different k-means++ seeds; the lowest inertia wins.
    max_iter : int
        The k-means iteration cap per run.
    sample_size : int
        The silhouette is computed on a seeded sample of this many shoppers (it costs
        O(sample_size^2)).
    svd_sample : int
        With ``features="items"``, the item components (the SVD's V) are learned from a seeded
        sample of at most this many shoppers with interactions; every shopper is then
        projected on them. A large shop's directions of taste are shared by many shoppers, so
        a sample finds them at a fraction of the cost; raise it to learn from everyone.
    seed : int
        Seeds the SVD, k-means and the silhouette sample: the same data and seed give the same
        segments, whatever ``num_threads``.
    num_threads : int
        Threads for the SVD, k-means and the assignment kernels (Rust); 0 means every core.

    Attributes
    ----------
    user_ids : ndarray
        The shoppers of the fitted interactions, in index order.
    labels : ndarray of int32
        The segment of each shopper in ``user_ids`` (``-1`` for the new shoppers): the nearest
        centre, ties to the lower segment, as :meth:`assign` places a history.
    centroids : ndarray of float64, shape (n_segments, dim)
        The segment centres in profile space.
    inertia : float
        The k-means objective: the sum of squared distances of profiles to their centre.
    silhouette : float
        The mean silhouette on the sample (NaN with a single segment).
    sizes : ndarray of int64
        Shoppers per segment, ``sizes[s]`` for segment ``s``; ``n_new_shoppers`` apart.
    """

    def __init__(
        self,
        n_segments: int = 8,
        features: str = "items",
        n_components: int = 32,
        *,
        n_init: int = 4,
        max_iter: int = 300,
        sample_size: int = 2000,
        svd_sample: int = 20_000,
        seed: int = 0,
        num_threads: int = 0,
    ) -> None:
        self.n_segments = check_int(n_segments, "n_segments", minimum=1)
        self.features = check_choice(features, "features", ("items", "attributes"))
        self.n_components = check_int(n_components, "n_components", minimum=1)
        self.n_init = check_int(n_init, "n_init", minimum=1)
        self.max_iter = check_int(max_iter, "max_iter", minimum=1)
        self.sample_size = check_int(sample_size, "sample_size", minimum=2)
        self.svd_sample = check_int(svd_sample, "svd_sample", minimum=1)
        self.seed = check_int(seed, "seed", minimum=0)
        self.num_threads = check_num_threads(num_threads)
        self._fitted = False

    def __repr__(self) -> str:
        state = f", {len(self.user_ids)} shoppers" if self._fitted else ", not fitted"
        return f"InterestSegments(n_segments={self.n_segments}, features={self.features!r}{state})"

    # ------------------------------------------------------------------ fit
    def fit(self, interactions: Any, item_attributes: Any = None) -> "InterestSegments":
        """Build the profiles and cluster them.

        Parameters
        ----------
        interactions : shoprec.Interactions
            The shoppers' interactions (its values weight the profiles).
        item_attributes : mapping, pandas Series or DataFrame, optional
            Item id to attributes (see the class docstring); required with
            ``features="attributes"``, and with ``features="items"`` used only by
            :meth:`describe` to name the attributes that set a segment apart. Attribute values
            are categories: band prices first (``pandas.cut``).

        Returns
        -------
        self
        """
        matrix, user_ids, item_ids, item_index = _unpack_interactions(interactions)
        if self.features == "attributes" and item_attributes is None:
            raise InvalidArgumentError("features='attributes' needs item_attributes")
        attributes, attribute_names = (None, None)
        if item_attributes is not None:
            attributes, attribute_names = _attribute_matrix(item_attributes, item_index, matrix.shape[1])
        profiler = _fit_profiler(
            matrix, self.features, self.n_components, attributes, self.seed, self.svd_sample, self.num_threads
        )
        profiles, has_profile = profiler.profiles(matrix)
        result = self._cluster(profiles[has_profile], self.n_segments)
        centroids = np.asarray(result.centroids, dtype=np.float64)
        labels = np.full(matrix.shape[0], NEW_SHOPPERS, dtype=np.int32)
        # The nearest centre, ties to the lower segment: exactly the rule assign() applies, so a
        # shopper's own history always lands where fit put them (k-means may break a tie
        # between equal centres, e.g. over identical profiles, the other way).
        labels[has_profile] = _nearest_centroid(profiles[has_profile], centroids, self.num_threads)
        self._set_state(
            profiler=profiler,
            user_ids=user_ids,
            item_ids=item_ids,
            item_index=item_index,
            labels=labels,
            centroids=centroids,
            inertia=float(result.inertia),
            n_iter=int(result.n_iter),
            silhouette=_sample_silhouette(profiles[has_profile], labels[has_profile], self.sample_size, self.seed),
            attribute_names=attribute_names,
            training=interactions if isinstance(interactions, Interactions) else None,
            attributes=attributes,
            **_segment_statistics(matrix, labels, self.n_segments, attributes),
        )
        return self

    # ------------------------------------------------------------------ update
    def update(self, new_events: Any, *, combine: Optional[str] = None, cap: Optional[float] = None,
               refresh_centres: bool = False) -> "InterestSegments":
        """New segments that also include ``new_events`` (this object is not modified).

        ``new_events`` is an :class:`shoprec.Interactions` of the new events, built like the
        fitted interactions; ``combine`` and ``cap`` merge a repeated pair as
        :meth:`shoprec.Interactions.merge`. New shoppers get a profile and their nearest centre;
        shoppers with new events are placed again (their profile changed); the per-segment
        item counts are recomputed. The profile space (item IDF and SVD components, or the
        attribute weights) is the fitted one: new items have no direction in it until a refit
        (they count in the segments' popularity, not in the profiles).

        With ``refresh_centres`` the centres are refreshed too: Lloyd iterations (the
        k-means kernel, ``max_iter``) start from the current centres on every shopper's
        profile, and every shopper takes the nearest refreshed centre; ``inertia``,
        ``n_iter`` and ``silhouette`` follow. Without it (the default) the centres are kept,
        so a shopper without new events keeps their segment.

        Raises
        ------
        InvalidArgumentError
            Segments fitted on something else than an ``Interactions``, or loaded from a
            file saved before updates existed (refit them); any error of ``merge``.
        """
        self._check_fitted()
        from ..interactions import _merge

        if self._training is None:
            raise InvalidArgumentError(
                "these segments do not hold their training interactions (fitted on something else than "
                "shoprec.Interactions, or loaded from an older file): refit them to update"
            )
        if not isinstance(refresh_centres, (bool, np.bool_)):
            raise DTypeError(f"refresh_centres must be True or False, got {type(refresh_centres).__name__}")
        merged, _, old_items, _ = _merge(self._training, new_events, combine, cap)
        return self._updated(merged, old_items, bool(refresh_centres))

    def _updated(self, merged: Interactions, old_items: np.ndarray, refresh_centres: bool) -> "InterestSegments":
        """The segments on ``merged`` (a merge of the training interactions); ``old_items``
        maps the old item indices to the merged ones."""
        matrix = sp.csr_matrix(merged.to_csr(), dtype=np.float64)
        n_items = matrix.shape[1]
        old = self._profiler
        if old.features == "items":
            assert old.item_idf is not None and old.components is not None
            idf = np.ones(n_items)
            idf[old_items] = old.item_idf
            components = np.zeros((old.components.shape[0], n_items))
            components[:, old_items] = old.components
            profiler = _Profiler("items", item_idf=idf, components=components)
            attributes = _spread_rows(self._attributes, old_items, n_items)
        else:
            attributes = _spread_rows(old.attributes, old_items, n_items)
            profiler = _Profiler("attributes", attributes=attributes, attribute_idf=old.attribute_idf)
        profiles, has_profile = profiler.profiles(matrix)
        centroids, n_iter = self.centroids, self.n_iter
        if refresh_centres:
            if int(has_profile.sum()) < self.n_segments:
                raise InvalidArgumentError(f"n_segments={self.n_segments} is more than the shoppers with a profile")
            result = kernels.kmeans(profiles[has_profile], self.n_segments, init=centroids, n_init=1,
                                    max_iter=self.max_iter, seed=self.seed, num_threads=self.num_threads)
            centroids, n_iter = np.asarray(result.centroids, dtype=np.float64), int(result.n_iter)
        labels = np.full(matrix.shape[0], NEW_SHOPPERS, dtype=np.int32)
        placed = profiles[has_profile]
        labels[has_profile] = _nearest_centroid(placed, centroids, self.num_threads)
        residual = placed - centroids[labels[has_profile]]
        segments = InterestSegments(
            self.n_segments, self.features, self.n_components, n_init=self.n_init, max_iter=self.max_iter,
            sample_size=self.sample_size, svd_sample=self.svd_sample, seed=self.seed, num_threads=self.num_threads,
        )
        segments._set_state(
            profiler=profiler,
            user_ids=np.asarray(merged.user_ids),
            item_ids=np.asarray(merged.item_ids),
            item_index=merged.item_map.indices,
            labels=labels,
            centroids=np.array(centroids, dtype=np.float64),
            inertia=float(np.einsum("ij,ij->", residual, residual)),
            n_iter=n_iter,
            silhouette=_sample_silhouette(placed, labels[has_profile], self.sample_size, self.seed),
            attribute_names=self.attribute_names if attributes is not None else None,
            training=merged,
            attributes=attributes,
            **_segment_statistics(matrix, labels, self.n_segments, attributes),
        )
        return segments

    def _cluster(self, profiles: np.ndarray, n_segments: int) -> Any:
        if len(profiles) < n_segments:
            raise InvalidArgumentError(
                f"n_segments={n_segments} is more than the {len(profiles)} shoppers with a profile"
            )
        return kernels.kmeans(
            profiles, n_segments, init="k-means++", n_init=self.n_init, max_iter=self.max_iter,
            seed=self.seed, num_threads=self.num_threads,
        )

    def _set_state(self, **state: Any) -> None:
        self._profiler: _Profiler = state["profiler"]
        self.user_ids: np.ndarray = state["user_ids"]
        self.item_ids: np.ndarray = state["item_ids"]
        self._item_index = state["item_index"]
        self._user_lookup: Optional[Dict[Hashable, int]] = None
        self.labels: np.ndarray = state["labels"]
        self.centroids: np.ndarray = state["centroids"]
        self.inertia: float = state["inertia"]
        self.n_iter: int = state["n_iter"]
        self.silhouette: float = state["silhouette"]
        self.attribute_names: Optional[np.ndarray] = state["attribute_names"]
        # Rows 0..n_segments-1 are the segments, the last row the new shoppers (who have none).
        self._item_reach: sp.csr_matrix = state["item_reach"]
        self._item_weight: sp.csr_matrix = state["item_weight"]
        self._attribute_mass: Optional[np.ndarray] = state["attribute_mass"]
        self._attribute_reach: Optional[np.ndarray] = state["attribute_reach"]
        # The training interactions (for update) and the item x attribute matrix (for the
        # statistics of an update); None when unknown.
        self._training: Optional[Interactions] = state.get("training")
        self._attributes: Optional[sp.csr_matrix] = state.get("attributes", self._profiler.attributes)
        self.sizes = np.bincount(self.labels[self.labels >= 0], minlength=self.n_segments).astype(np.int64)
        self.n_new_shoppers = int(np.sum(self.labels == NEW_SHOPPERS))
        for array in (self.labels, self.centroids, self.sizes):
            array.setflags(write=False)
        self._fitted = True

    def _picklable_by_value(self) -> bool:
        return self._fitted

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise NotFittedError("InterestSegments is not fitted: call fit(interactions) first")

    def _check_segment(self, segment: Any) -> int:
        segment = check_int(segment, "segment", minimum=NEW_SHOPPERS)
        if segment >= self.n_segments:
            raise InvalidArgumentError(f"segment must be below {self.n_segments} (or -1), got {segment}")
        return segment

    # ------------------------------------------------------------------ use
    def segment_of(self, user: Hashable) -> int:
        """The segment of a shopper of the fitted interactions; :data:`NEW_SHOPPERS` for a
        shopper without interactions or one the model has never seen."""
        self._check_fitted()
        if self._user_lookup is None:
            self._user_lookup = {u: i for i, u in enumerate(self.user_ids.tolist())}
        if isinstance(user, (bool, np.bool_)):  # True is not the shopper 1
            return NEW_SHOPPERS
        try:
            position = self._user_lookup.get(user, -1)
        except TypeError:
            raise DTypeError(f"user must be a hashable id, got {type(user).__name__}") from None
        return NEW_SHOPPERS if position < 0 else int(self.labels[position])

    def assign(self, user_or_history: Any, weights: Any = None) -> int:
        """Place a shopper in a segment without a refit.

        Parameters
        ----------
        user_or_history : hashable id, or list / tuple / ndarray / pandas Series of item ids
            A single id is a shopper of the fitted interactions (as :meth:`segment_of`). A
            sequence is the history of a new or anonymous shopper: the items they interacted
            with. Items the model has never seen are ignored.
        weights : array_like, optional
            The interaction value of each history item (a rating or event weight, on the scale
            of the fitted interactions); 1 each by default. A repeated item adds up.

        Returns
        -------
        int
            The segment of the nearest centre, or :data:`NEW_SHOPPERS` for an unknown shopper
            or a history with no known item.

        Notes
        -----
        A fitted shopper's own history (their items and values) is assigned exactly as
        :meth:`fit` labelled them: the profile is the same function of the same row.
        """
        self._check_fitted()
        if _is_history(user_or_history):
            return int(self.assign_many([user_or_history], None if weights is None else [weights])[0])
        if weights is not None:
            raise InvalidArgumentError("weights go with a history (a sequence of items), not a user id")
        return self.segment_of(user_or_history)

    def assign_many(self, histories: Sequence[Any], weights: Optional[Sequence[Any]] = None) -> np.ndarray:
        """:meth:`assign` for many histories at once (one k-means prediction for all).

        Returns
        -------
        ndarray of int32
            One segment per history.
        """
        self._check_fitted()
        if weights is not None and len(weights) != len(histories):
            raise ShapeMismatchError(f"{len(histories)} histories but {len(weights)} weight lists")
        rows, cols, vals = [], [], []
        for row, history in enumerate(histories):
            items = self._item_index(np.asarray(history, dtype=object).reshape(-1), "history")
            values = np.ones(len(items)) if weights is None else np.asarray(weights[row], dtype=np.float64).reshape(-1)
            if len(values) != len(items):
                raise ShapeMismatchError(f"history {row} has {len(items)} items but {len(values)} weights")
            if not np.all(np.isfinite(values)):
                raise InvalidArgumentError(f"weights of history {row} contain NaN or infinite values")
            known = items >= 0
            rows.append(np.full(int(known.sum()), row))
            cols.append(items[known])
            vals.append(values[known])
        matrix = sp.csr_matrix(
            (np.concatenate(vals) if vals else np.zeros(0), (np.concatenate(rows) if rows else np.zeros(0, int),
             np.concatenate(cols) if cols else np.zeros(0, int))),
            shape=(len(histories), len(self.item_ids)),
        )
        profiles, has_profile = self._profiler.profiles(matrix)
        labels = np.full(len(histories), NEW_SHOPPERS, dtype=np.int32)
        if has_profile.any():
            labels[has_profile] = _nearest_centroid(profiles[has_profile], self.centroids, self.num_threads)
        return labels

    def describe(self, segment: int, k: int = 10, *, min_shoppers: Optional[int] = None) -> SegmentDescription:
        """Size, and the top ``k`` items and attributes that set a segment apart (by lift).

        Parameters
        ----------
        segment : int
            A segment number, or :data:`NEW_SHOPPERS` (which has no items: its shoppers have
            no interactions).
        k : int
            How many items and attributes to list.
        min_shoppers : int, optional
            The least number of the segment's shoppers an item must reach to be listed, so that
            one shopper's oddity is not a segment's trait (the same floor applies to the shoppers
            having an attribute); by default 10% of the segment and at least 3 (or the segment's
            size, when smaller).

        Returns
        -------
        SegmentDescription
        """
        self._check_fitted()
        segment = self._check_segment(segment)
        k = check_int(k, "k", minimum=1)
        row = self.n_segments if segment == NEW_SHOPPERS else segment
        size = self.n_new_shoppers if segment == NEW_SHOPPERS else int(self.sizes[segment])
        n_users = len(self.labels)
        if min_shoppers is None:
            min_shoppers = min(max(3, math.ceil(0.1 * size)), max(size, 1))
        min_shoppers = check_int(min_shoppers, "min_shoppers", minimum=1)
        top_items: List[Tuple[Any, float, float]] = []
        if size > 0:
            reach_all = np.asarray(self._item_reach.sum(axis=0)).ravel()
            reach = self._item_reach[row].toarray().ravel()
            lift = np.zeros_like(reach)
            seen = reach_all > 0
            lift[seen] = (reach[seen] / size) / (reach_all[seen] / n_users)
            lift[reach < min_shoppers] = -np.inf
            ids, _ = kernels.top_k(lift, k)
            top_items = [
                (_python_id(self.item_ids[i]), float(lift[i]), float(reach[i] / size))
                for i in ids if i >= 0 and np.isfinite(lift[i])
            ]
        top_attributes: List[Tuple[str, float, float]] = []
        if self._attribute_mass is not None and size > 0:
            mass = self._attribute_mass[row]
            total = self._attribute_mass.sum(axis=0)
            if mass.sum() > 0:
                share = mass / mass.sum()
                share_all = total / total.sum()
                lift = np.where(share_all > 0, share / np.where(share_all > 0, share_all, 1.0), 0.0)
                supported = (mass > 0) & (self._attribute_reach[row] >= min_shoppers)
                ids, _ = kernels.top_k(np.where(supported, lift, -np.inf), k)
                top_attributes = [
                    (str(self.attribute_names[a]), float(lift[a]), float(share[a])) for a in ids if a >= 0 and supported[a]
                ]
        return SegmentDescription(segment, size, size / n_users, top_items, top_attributes)

    def popular_items(self, segment: int, k: int = 10, *, exclude: Any = None) -> List[Tuple[Any, float]]:
        """The ``k`` items most shoppers of a segment interacted with: "popular with shoppers
        like you", the cold-start fallback of the recommenders.

        Parameters
        ----------
        segment : int
            A segment number; :data:`NEW_SHOPPERS` gets the whole shop's most popular items.
        k : int
            How many items.
        exclude : iterable of item ids, optional
            Items to leave out (already bought, out of stock). Unknown ids are ignored.

        Returns
        -------
        list of (item id, number of the segment's shoppers who interacted with it)
            Most popular first; ties go to the larger summed interaction value, then the lower
            item index. Fewer than ``k`` only when the segment reached fewer items.
        """
        self._check_fitted()
        segment = self._check_segment(segment)
        k = check_int(k, "k", minimum=1)
        reach, score = self.item_popularity(segment)
        excluded = None
        if exclude is not None:
            excluded = self._item_index(np.asarray(list(filter_ids(exclude, "exclude")), dtype=object), "exclude")
            excluded = excluded[excluded >= 0]
        ids, _ = kernels.top_k(score, k, exclude=excluded)
        return [(_python_id(self.item_ids[i]), float(reach[i])) for i in ids if i >= 0 and np.isfinite(score[i])]

    def item_positions(self, items: Any, name: str = "items") -> np.ndarray:
        """The position of each item id in :attr:`item_ids` (int32), -1 for unknown ids."""
        self._check_fitted()
        return self._item_index(np.asarray(items, dtype=object).reshape(-1), name)

    def item_values(self, segment: int) -> np.ndarray:
        """The summed interaction values of every item in one segment (the whole shop's for
        :data:`NEW_SHOPPERS`), in :attr:`item_ids` order."""
        self._check_fitted()
        segment = self._check_segment(segment)
        if segment == NEW_SHOPPERS:
            return np.asarray(self._item_weight.sum(axis=0)).ravel()
        return self._item_weight[segment].toarray().ravel()

    def item_popularity(self, segment: int) -> Tuple[np.ndarray, np.ndarray]:
        """(reach, ranking key) of every item in one segment, in ``item_ids`` order.

        Reach is the number of the segment's shoppers who interacted with the item (the whole
        shop's for :data:`NEW_SHOPPERS`); the key adds the summed interaction value scaled into
        [0, 0.5), so it only breaks ties of reach. Items the segment never reached get -inf.
        """
        if segment == NEW_SHOPPERS:
            reach = np.asarray(self._item_reach.sum(axis=0)).ravel()
            weight = np.asarray(self._item_weight.sum(axis=0)).ravel()
        else:
            reach = self._item_reach[segment].toarray().ravel()
            weight = self._item_weight[segment].toarray().ravel()
        # Reach counts shoppers (an integer); the weight, scaled into [0, 0.5), only breaks ties.
        top_weight = np.abs(weight).max() if len(weight) else 0.0
        score = reach + (0.5 * weight / (top_weight * 1.0000001) if top_weight > 0 else 0.0)
        return reach, np.where(reach > 0, score, -np.inf)

    def popular_for(self, user_or_history: Any, k: int = 10, *, weights: Any = None, exclude: Any = None) -> List[Tuple[Any, float]]:
        """"Popular with shoppers like you": :meth:`popular_items` of the segment that
        :meth:`assign` gives this shopper or history (the whole shop's best sellers for a new
        shopper). This is the hook a recommender's cold-start fallback calls."""
        return self.popular_items(self.assign(user_or_history, weights), k, exclude=exclude)

    def item_tastes(self, items: Any) -> np.ndarray:
        """The segment whose taste each item fits best: the segment in which the largest
        fraction of shoppers interacted with it (ties to the lower segment), or
        :data:`NEW_SHOPPERS` for an item no clustered shopper touched or the model never saw."""
        self._check_fitted()
        index = self._item_index(np.asarray(items, dtype=object).reshape(-1), "items")
        tastes = np.full(len(index), NEW_SHOPPERS, dtype=np.int32)
        known = index >= 0
        if known.any():
            reach = self._item_reach[: self.n_segments][:, index[known]].toarray()
            share = reach / np.maximum(self.sizes, 1)[:, None]
            best = np.argmax(share, axis=0)
            tastes[np.flatnonzero(known)] = np.where(share.max(axis=0) > 0, best, NEW_SHOPPERS)
        return tastes

    def diversify(self, items: Sequence[Any], k: Optional[int] = None) -> List[Any]:
        """Reorder a ranked list so that it walks across the segments' tastes.

        Items are grouped by :meth:`item_tastes`; the result takes the best remaining item of
        each taste in turn (tastes in the order their best item ranks), so a list that a
        single taste dominates still shows the others early. Within a taste the input order is
        kept, and no item is added or dropped (beyond cutting to ``k``).

        Parameters
        ----------
        items : sequence of item ids
            A ranked list, best first (e.g. ``recommend(...)``'s items).
        k : int, optional
            How many to return; all by default.

        Returns
        -------
        list of item ids
        """
        items = list(items)
        if k is not None:
            k = check_int(k, "k", minimum=1)
        if not items:
            return []
        tastes = self.item_tastes(np.asarray(items, dtype=object))
        queues: Dict[int, List[int]] = {}
        for position, taste in enumerate(tastes.tolist()):
            queues.setdefault(taste, []).append(position)  # dicts keep first-appearance order
        order: List[int] = []
        rounds = max(len(q) for q in queues.values())
        for depth in range(rounds):
            order.extend(q[depth] for q in queues.values() if depth < len(q))
        chosen = order if k is None else order[:k]
        return [items[position] for position in chosen]

    # ------------------------------------------------------------------ save and load
    def save(self, path: Any) -> None:
        """Save the fitted segments to one file in shoprec's model format (atomic); load it
        back with :func:`shoprec.load` or :meth:`InterestSegments.load`."""
        self._check_fitted()
        save(path, self)

    @staticmethod
    def load(path: Any) -> "InterestSegments":
        """Load segments saved with :meth:`save`."""
        return load_as(InterestSegments, path)

    def _to_state(self) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        return segments_to_state(self)

    @classmethod
    def _from_state(cls, params: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> "InterestSegments":
        return segments_from_state(cls, params, arrays)


def _is_history(value: Any) -> bool:
    """A sequence of items (list, tuple, array, pandas Series) rather than one user id."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return True
    return hasattr(value, "__array__") and not np.isscalar(value) and not isinstance(value, (str, bytes))


def _python_id(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _nearest_centroid(points: np.ndarray, centroids: np.ndarray, num_threads: int) -> np.ndarray:
    """The nearest centroid of each profile (float64 rows), ties to the lower segment: the Rust
    k-means assignment (:meth:`shoprec.kernels.KMeansResult.predict`'s kernel)."""
    return _core.kmeans_assign(
        np.ascontiguousarray(points, dtype=np.float64), np.ascontiguousarray(centroids, dtype=np.float64), num_threads
    )


def _segment_statistics(
    matrix: sp.csr_matrix, labels: np.ndarray, n_segments: int, attributes: Optional[sp.csr_matrix]
) -> Dict[str, Any]:
    """Per-segment item reach (shoppers), summed item values, and attribute mass.

    Row ``n_segments`` stands for the new shoppers (all zeros for items: they have none).
    """
    rows = np.where(labels >= 0, labels, n_segments)
    membership = sp.csr_matrix(
        (np.ones(len(labels)), (rows, np.arange(len(labels)))), shape=(n_segments + 1, len(labels))
    )
    binary = matrix.copy()
    binary.data = (binary.data != 0).astype(np.float64)
    attribute_mass = attribute_reach = None
    if attributes is not None:
        histogram = sp.csr_matrix(matrix @ attributes)
        attribute_mass = np.asarray((membership @ histogram).todense())
        histogram.data = (histogram.data != 0).astype(np.float64)
        attribute_reach = np.asarray((membership @ histogram).todense())
    return dict(
        item_reach=sp.csr_matrix(membership @ binary),
        item_weight=sp.csr_matrix(membership @ matrix),
        attribute_mass=attribute_mass,
        attribute_reach=attribute_reach,
    )


def _unpack_interactions(interactions: Any) -> Tuple[sp.csr_matrix, np.ndarray, np.ndarray, Any]:
    """The user x item matrix, the user and item ids, and ``item_index(ids, name)`` giving the
    index of each item id (-1 when unknown)."""
    if not all(hasattr(interactions, attr) for attr in ("to_csr", "user_ids", "item_ids", "item_map")):
        raise DTypeError(f"interactions must be a shoprec.Interactions, got {type(interactions).__name__}")
    matrix = sp.csr_matrix(interactions.to_csr(), dtype=np.float64)
    if matrix.shape[0] == 0 or matrix.nnz == 0:
        raise InvalidArgumentError("interactions is empty")
    item_map = interactions.item_map
    return matrix, np.asarray(interactions.user_ids), np.asarray(interactions.item_ids), item_map.indices

