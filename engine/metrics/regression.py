"""Error metrics for quantity targets (demand) and probability targets."""

from __future__ import annotations

import numpy as np

__all__ = ["wape", "regression_metrics", "log_loss"]


def _checked(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("cannot score an empty set of predictions; check that the split has rows")
    if np.isnan(y_pred).any():
        raise ValueError(f"y_pred contains {int(np.isnan(y_pred).sum())} NaN values")
    return y_true, y_pred


def wape(y_true, y_pred) -> float:
    """Return the weighted absolute percentage error: sum |y - y_hat| / sum y."""
    y_true, y_pred = _checked(y_true, y_pred)
    total = np.abs(y_true).sum()
    if total == 0:
        raise ValueError("WAPE is undefined when every true value is 0")
    return float(np.abs(y_true - y_pred).sum() / total)


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """Return WAPE, MAE, RMSE and bias (mean of y_hat - y) of quantity predictions."""
    y_true, y_pred = _checked(y_true, y_pred)
    error = y_pred - y_true
    return {
        "wape": wape(y_true, y_pred),
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "bias": float(error.mean()),
    }


def log_loss(y_true, p_pred, eps: float = 1e-7) -> float:
    """Return the mean binary cross-entropy of probabilities p_pred for labels y_true in {0, 1}."""
    y_true, p_pred = _checked(y_true, p_pred)
    p = np.clip(p_pred, eps, 1 - eps)
    return float(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)).mean())
