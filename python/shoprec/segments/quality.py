"""Cluster quality: the silhouette of a labelling (blocked, never an n x n matrix)."""

from __future__ import annotations


import numpy as np
import scipy.sparse as sp



# ----------------------------------------------------------------------------------------------
# Silhouette


def silhouette(points: np.ndarray, labels: np.ndarray, *, block: int = 512) -> float:
    """The mean silhouette (Rousseeuw 1987) of ``points`` under ``labels``, Euclidean distance.

    Points alone in their cluster score 0 (as scikit-learn does). NaN when fewer than two
    clusters are present. Distances are computed block by block (memory O(block * n)).
    """
    labels = np.asarray(labels)
    clusters, codes = np.unique(labels, return_inverse=True)
    n_clusters = len(clusters)
    if n_clusters < 2 or len(points) < 2:
        return float("nan")
    sizes = np.bincount(codes, minlength=n_clusters).astype(np.float64)
    squared = np.einsum("ij,ij->i", points, points)
    onehot = sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), n_clusters))
    scores = np.empty(len(points))
    for start in range(0, len(points), block):
        stop = min(start + block, len(points))
        d2 = squared[start:stop, None] + squared[None, :] - 2.0 * points[start:stop] @ points.T
        distances = np.sqrt(np.maximum(d2, 0.0))
        distances[np.arange(stop - start), np.arange(start, stop)] = 0.0
        sums = np.asarray((onehot.T @ distances.T).T)  # block x clusters
        own = codes[start:stop]
        own_size = sizes[own]
        a = np.where(own_size > 1, sums[np.arange(stop - start), own] / np.maximum(own_size - 1, 1), 0.0)
        means = sums / sizes[None, :]
        means[np.arange(stop - start), own] = np.inf
        b = means.min(axis=1)
        denominator = np.maximum(a, b)
        s = np.where(denominator > 0, (b - a) / np.where(denominator > 0, denominator, 1.0), 0.0)
        scores[start:stop] = np.where(own_size > 1, s, 0.0)
    return float(scores.mean())


def _sample_silhouette(points: np.ndarray, labels: np.ndarray, sample_size: int, seed: int) -> float:
    if len(points) > sample_size:
        chosen = np.sort(np.random.default_rng(seed).choice(len(points), sample_size, replace=False))
        points, labels = points[chosen], labels[chosen]
    return silhouette(points, labels)
