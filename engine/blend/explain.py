"""Attribution of a blended decision to its deep and classic sides."""

from __future__ import annotations

import math

__all__ = ["attribute", "DRIVER_SHARE"]

# A side whose share of the absolute contribution reaches this value is named the driver. When
# neither side reaches it, the decision is attributed to both.
DRIVER_SHARE = 0.6


def attribute(deep: float, classic: float, alpha: float, reference: float = 0.0) -> dict:
    """Split a blended value into the deep and classic contributions around `reference`.

    For rankings the values are per-user z-scores, so the reference 0 is the user's average
    candidate. A NaN side has no output, so the other side gets alpha 1. Returns both contributions, the deep share of their absolute sum and the driver:
    "deep", "classic" or "both".
    """
    if math.isnan(classic) and not math.isnan(deep):
        alpha = 1.0  # the classic model has no output here, so the deep model decides alone
    elif math.isnan(deep) and not math.isnan(classic):
        alpha = 0.0
    deep_part = alpha * (deep - reference) if alpha > 0 else 0.0
    classic_part = (1.0 - alpha) * (classic - reference) if alpha < 1 else 0.0
    total = abs(deep_part) + abs(classic_part)
    deep_share = abs(deep_part) / total if total > 0 else 0.5
    if deep_share >= DRIVER_SHARE:
        driver = "deep"
    elif 1.0 - deep_share >= DRIVER_SHARE:
        driver = "classic"
    else:
        driver = "both"
    return {
        "alpha": float(alpha),
        "deep_contribution": float(deep_part),
        "classic_contribution": float(classic_part),
        "deep_share": float(deep_share),
        "driver": driver,
    }
