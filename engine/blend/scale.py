"""Put deep and classic outputs on one scale before mixing them.

Rankings are z-scored per user over that user's candidate items, probabilities become logits and
quantities become log1p(q), a log scale that keeps zero demand finite. Blended values stay in that space: a ranking only needs the order,
and `to_natural` maps probabilities and quantities back.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from engine.protocol import TargetKind

__all__ = ["to_blend_space", "to_natural", "EPSILON"]

EPSILON = 1e-6


def _zscore_rows(scores: np.ndarray, exclude: sp.csr_matrix | None) -> np.ndarray:
    values = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None:
        rows, cols = exclude.nonzero()
        values[rows, cols] = np.nan
    mean = np.nanmean(values, axis=1, keepdims=True)
    std = np.nanstd(values, axis=1, keepdims=True)
    std[~(std > 0)] = 1.0
    return (values - mean) / std


def to_blend_space(values: np.ndarray, target: TargetKind, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """Return `values` on the common scale of `target`; excluded ranking candidates become NaN."""
    values = np.asarray(values)
    if target is TargetKind.RANKING:
        if values.ndim != 2:
            raise ValueError(f"ranking outputs must have shape (n_users, n_items); got {values.shape}")
        return _zscore_rows(values, exclude)
    if target is TargetKind.PROBABILITY:
        p = np.clip(values.astype(np.float64), EPSILON, 1 - EPSILON)
        return np.log(p) - np.log1p(-p)
    if target is TargetKind.QUANTITY:
        if np.any(values < 0):
            raise ValueError(f"quantity outputs must be >= 0; got minimum {float(np.min(values))}")
        return np.log1p(values.astype(np.float64))
    raise ValueError(f"unknown target kind {target!r}; expected one of {[kind.value for kind in TargetKind]}")


def to_natural(blended: np.ndarray, target: TargetKind) -> np.ndarray:
    """Map blended values back to probabilities or quantities; ranking scores are returned as they are."""
    if target is TargetKind.PROBABILITY:
        return 1.0 / (1.0 + np.exp(-blended))
    if target is TargetKind.QUANTITY:
        return np.expm1(blended)
    return blended
