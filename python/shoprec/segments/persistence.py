"""Saving and loading :class:`~shoprec.segments.InterestSegments` in shoprec's one-file format.

Every array read back is checked against the others (shapes, index ranges, the profile arrays
fitting the centroids), so a truncated or foreign file raises :class:`~shoprec.ModelFileError`
instead of loading and failing at the first call.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import numpy as np
import scipy.sparse as sp

from .._ids import IdMap
from .._validate import check_stored_csr
from ..errors import ModelFileError
from ..interactions import Interactions
from .profiles import NEW_SHOPPERS, _Profiler


def segments_to_state(self: Any) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """The parameters and arrays of fitted :class:`InterestSegments` (``self``; not imported
    here, the model module imports this one) for shoprec's one-file model format."""
    self._check_fitted()
    params = dict(
        n_segments=self.n_segments, features=self.features, n_components=self.n_components,
        n_init=self.n_init, max_iter=self.max_iter, sample_size=self.sample_size,
        svd_sample=self.svd_sample, seed=self.seed,
        num_threads=self.num_threads, inertia=self.inertia, n_iter=self.n_iter,
        silhouette=None if math.isnan(self.silhouette) else self.silhouette,
    )
    arrays: Dict[str, np.ndarray] = dict(
        user_ids=self.user_ids, item_ids=self.item_ids, labels=self.labels, centroids=self.centroids,
    )
    for name, matrix in (("item_reach", self._item_reach), ("item_weight", self._item_weight)):
        arrays[f"{name}_indptr"] = matrix.indptr.astype(np.int64)
        arrays[f"{name}_indices"] = matrix.indices.astype(np.int32)
        arrays[f"{name}_data"] = matrix.data
    profiler = self._profiler
    if profiler.features == "items":
        arrays["item_idf"], arrays["components"] = profiler.item_idf, profiler.components
    if profiler.attributes is not None:
        arrays["attributes_indptr"] = profiler.attributes.indptr.astype(np.int64)
        arrays["attributes_indices"] = profiler.attributes.indices.astype(np.int32)
        arrays["attribute_idf"] = profiler.attribute_idf
    if self.attribute_names is not None:
        arrays["attribute_names"] = np.asarray([str(a) for a in self.attribute_names], dtype=object)
        arrays["attribute_mass"] = self._attribute_mass
        arrays["attribute_reach"] = self._attribute_reach
    if self._attributes is not None and profiler.attributes is None:
        arrays["describe_attributes_indptr"] = self._attributes.indptr.astype(np.int64)
        arrays["describe_attributes_indices"] = self._attributes.indices.astype(np.int32)
    training = self._training
    if training is not None:
        params["training_explicit"] = training.explicit
        arrays["training_users"], arrays["training_items"] = training.users, training.items
        arrays["training_values"] = training.values
        if training.timestamps is not None:
            arrays["training_timestamps"] = training.timestamps
    return params, arrays


def segments_from_state(
    cls: Any, params: Dict[str, Any], arrays: Dict[str, np.ndarray]
) -> Any:
    """Segments back from :func:`segments_to_state`'s output, every stored array checked."""
    try:
        model = cls(
            params["n_segments"], params["features"], params["n_components"], n_init=params["n_init"],
            max_iter=params["max_iter"], sample_size=params["sample_size"],
            svd_sample=params["svd_sample"], seed=params["seed"],
            num_threads=params["num_threads"],
        )
        n_users, n_items = len(arrays["user_ids"]), len(arrays["item_ids"])
        n_rows = model.n_segments + 1

        def csr(name: str, data: Optional[np.ndarray], n_cols: int) -> sp.csr_matrix:
            indptr, indices = arrays[f"{name}_indptr"], arrays[f"{name}_indices"]
            values = np.ones(len(indices)) if data is None else data
            check_stored_csr(name, (indptr, indices, values), (len(indptr) - 1, n_cols))
            matrix = sp.csr_matrix((values, indices, indptr), shape=(len(indptr) - 1, n_cols))
            matrix.check_format(full_check=True)
            return matrix

        attributes = None
        attribute_names = arrays.get("attribute_names")
        if "attributes_indptr" in arrays:
            attributes = csr("attributes", None, len(attribute_names))
        describe_attributes = attributes
        if "describe_attributes_indptr" in arrays and attribute_names is not None:
            describe_attributes = csr("describe_attributes", None, len(attribute_names))
        training = None
        if "training_users" in arrays:
            t_users, t_items = arrays["training_users"], arrays["training_items"]
            if len(t_users) and (t_users.min() < 0 or t_users.max() >= n_users or t_items.min() < 0
                                 or t_items.max() >= n_items):
                raise ModelFileError("training interactions out of range of the ids")
            training = Interactions(
                IdMap(arrays["user_ids"]), IdMap(arrays["item_ids"]), t_users, t_items,
                arrays["training_values"], arrays.get("training_timestamps"), bool(params["training_explicit"]),
            )
        profiler = _Profiler(
            params["features"], item_idf=arrays.get("item_idf"), components=arrays.get("components"),
            attributes=attributes, attribute_idf=arrays.get("attribute_idf"),
        )
        _check_profiler(profiler, n_items, np.asarray(arrays["centroids"]), model.n_segments)
        labels = np.array(arrays["labels"], dtype=np.int32)
        if len(labels) != n_users or labels.min() < NEW_SHOPPERS or labels.max() >= model.n_segments:
            raise ModelFileError("segment labels do not match the shoppers or the segment count")
        item_reach = csr("item_reach", arrays["item_reach_data"], n_items)
        item_weight = csr("item_weight", arrays["item_weight_data"], n_items)
        if item_reach.shape[0] != n_rows or item_weight.shape[0] != n_rows:
            raise ModelFileError("per-segment item counts do not match the segment count")
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"not a valid InterestSegments file: {exc}") from None
    model._set_state(
        profiler=profiler,
        user_ids=arrays["user_ids"],
        item_ids=arrays["item_ids"],
        item_index=IdMap(arrays["item_ids"]).indices,
        labels=labels,
        centroids=np.array(arrays["centroids"], dtype=np.float64),
        inertia=float(params["inertia"]),
        n_iter=int(params["n_iter"]),
        silhouette=float("nan") if params["silhouette"] is None else float(params["silhouette"]),
        attribute_names=attribute_names,
        item_reach=item_reach,
        item_weight=item_weight,
        attribute_mass=arrays.get("attribute_mass"),
        attribute_reach=arrays.get("attribute_reach"),
        training=training,
        attributes=describe_attributes,
    )
    return model


def _check_profiler(profiler: _Profiler, n_items: int, centroids: np.ndarray, n_segments: int) -> None:
    """The stored profile arrays fit together (else a file loads and fails at the first
    ``assign`` with a TypeError: found by fuzzing the one-file reader)."""
    if profiler.features == "items":
        components, idf = profiler.components, profiler.item_idf
        ok = (isinstance(components, np.ndarray) and components.ndim == 2 and components.shape[1] == n_items
              and isinstance(idf, np.ndarray) and idf.shape == (n_items,))
        dim = components.shape[0] if ok else -1
    elif profiler.features == "attributes":
        attributes, idf = profiler.attributes, profiler.attribute_idf
        ok = (attributes is not None and attributes.shape[0] == n_items
              and isinstance(idf, np.ndarray) and idf.shape == (attributes.shape[1],))
        dim = attributes.shape[1] if ok else -1
    else:
        ok, dim = False, -1
    if not ok or centroids.shape != (n_segments, dim):
        raise ModelFileError(f"the stored {profiler.features!r} profile arrays do not fit together")
