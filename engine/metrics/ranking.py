"""Top-k ranking metrics with binary relevance.

Definitions follow the Microsoft Recommenders evaluation module so figures compare with its MovieLens
table: nDCG@k uses gains of 1 and a log2 discount, with the ideal DCG over min(|relevant|, k) items;
MAP@k divides the summed precision at each hit by min(|relevant|, k). All metrics are averaged over the
users that have at least one relevant item.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["RANKING_METRICS", "top_k", "ranking_metrics", "per_user_ranking_metrics", "catalog_coverage"]

RANKING_METRICS = ("ndcg", "precision", "recall", "map", "hit_rate")


def top_k(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """Return the column indices of the k highest scores per row, best first.

    scores: array of shape (n_users, n_items). exclude: optional matrix of the same shape whose
    non-zero entries (items seen in training) can never be recommended. Returns an int array of shape
    (n_users, k). Ties break toward the lower item index, so results are deterministic.
    """
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_users, n_items); got shape {scores.shape}")
    n_items = scores.shape[1]
    if not 0 < k <= n_items:
        raise ValueError(f"k must be between 1 and n_items={n_items}; got k={k}")

    masked = np.array(scores, dtype=np.float64, copy=True)
    masked[np.isnan(masked)] = -np.inf
    if exclude is not None:
        if exclude.shape != scores.shape:
            raise ValueError(f"exclude has shape {exclude.shape} but scores have shape {scores.shape}")
        rows, cols = exclude.nonzero()
        masked[rows, cols] = -np.inf

    candidates = np.argpartition(-masked, kth=k - 1, axis=1)[:, :k]
    candidate_scores = np.take_along_axis(masked, candidates, axis=1)
    order = np.lexsort((candidates, -candidate_scores), axis=1)
    return np.take_along_axis(candidates, order, axis=1)


def per_user_ranking_metrics(recommended: np.ndarray, relevant: sp.csr_matrix, k: int) -> dict[str, np.ndarray]:
    """Compute each metric per user.

    recommended: int array of shape (n_users, >= k), best first. relevant: binary matrix of shape
    (n_users, n_items). Returns arrays of shape (n_users,); users with no relevant item get NaN.
    """
    if recommended.shape[0] != relevant.shape[0]:
        raise ValueError(
            f"recommended has {recommended.shape[0]} rows but relevant has {relevant.shape[0]}; both need one row per user"
        )
    recommended = recommended[:, :k]
    relevant = sp.csr_matrix(relevant)
    hits = np.asarray(relevant[np.arange(recommended.shape[0])[:, None], recommended].todense()) > 0
    n_relevant = np.diff(relevant.indptr).astype(np.float64)

    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal_counts = np.minimum(n_relevant, k).astype(int)
    ideal_dcg = np.concatenate([[0.0], np.cumsum(discounts)])[ideal_counts]

    hit_counts = hits.sum(axis=1)
    precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    summed_precision = (precision_at_i * hits).sum(axis=1)

    with np.errstate(invalid="ignore", divide="ignore"):
        has_relevant = n_relevant > 0
        result = {
            "ndcg": np.where(has_relevant, dcg / ideal_dcg, np.nan),
            "precision": np.where(has_relevant, hit_counts / k, np.nan),
            "recall": np.where(has_relevant, hit_counts / n_relevant, np.nan),
            "map": np.where(has_relevant, summed_precision / np.minimum(n_relevant, k), np.nan),
            "hit_rate": np.where(has_relevant, (hit_counts > 0).astype(np.float64), np.nan),
        }
    return result


def ranking_metrics(
    scores: np.ndarray, relevant: sp.csr_matrix, k: int = 10, exclude: sp.csr_matrix | None = None
) -> dict[str, float]:
    """Return the mean of each top-k metric over users with at least one relevant item.

    Keys are ``ndcg@k``, ``precision@k``, ``recall@k``, ``map@k``, ``hit_rate@k`` and ``users``
    (the number of users averaged over).
    """
    recommended = top_k(scores, k, exclude)
    per_user = per_user_ranking_metrics(recommended, relevant, k)
    evaluated = ~np.isnan(per_user["ndcg"])
    result = {f"{name}@{k}": float(np.mean(values[evaluated])) if evaluated.any() else float("nan")
              for name, values in per_user.items()}
    result["users"] = int(evaluated.sum())
    return result


def catalog_coverage(recommended: np.ndarray, n_items: int) -> float:
    """Return the share of the catalog that appears in at least one user's top-k."""
    return float(np.unique(recommended).size / n_items)

