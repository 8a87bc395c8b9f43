"""Which side drove a blended decision."""

from __future__ import annotations

__all__ = ["attribute", "DRIVER_SHARE"]

# A side whose share of the absolute contribution reaches this value is named the driver; below it
# on both sides, the decision is attributed to both.
DRIVER_SHARE = 0.6


def attribute(deep: float, classic: float, alpha: float, reference: float = 0.0) -> dict:
    """Split a blended value into the deep and classic contributions around `reference`.

    For rankings the values are per-user z-scores, so the reference 0 is the user's average
    candidate. Returns both contributions, the deep share of their absolute sum and the driver:
    "deep", "classic" or "both".
    """
    deep_part = alpha * (deep - reference)
    classic_part = (1.0 - alpha) * (classic - reference)
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
