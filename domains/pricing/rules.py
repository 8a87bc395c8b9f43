"""Readable price rules: a shallow decision tree on log demand, printed as nested if/else text."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["explain_price_rules"]


def explain_price_rules(
    sales: pd.DataFrame,
    *,
    features: Sequence[str] = ("price",),
    max_depth: int = 3,
    min_samples_leaf: int = 50,
) -> str:
    """Fit a depth-limited tree of log1p(quantity) on `features` and return its rules as text.

    Each leaf line gives the mean weekly units of its rows (expm1 of the mean log demand), for
    example "price <= 4.99 ... units ~ 120". Raises ValueError on missing columns or too few rows.
    """
    from sklearn.tree import DecisionTreeRegressor, export_text

    missing = [column for column in (*features, "quantity") if column not in sales.columns]
    if missing:
        raise ValueError(f"explain_price_rules: missing column(s) {missing}; found {list(sales.columns)}")
    if len(sales) < 2 * min_samples_leaf:
        raise ValueError(
            f"explain_price_rules: {len(sales)} rows, need at least {2 * min_samples_leaf} "
            f"(2 x min_samples_leaf={min_samples_leaf}) for one split"
        )
    inputs = sales[list(features)].astype(float)
    target = np.log1p(sales["quantity"].to_numpy(dtype=float))
    tree = DecisionTreeRegressor(max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=0)
    tree.fit(inputs, target)
    text = export_text(tree, feature_names=list(features), decimals=4)
    lines = []
    for line in text.splitlines():
        if "value: [" in line:
            log_value = float(line.split("value: [")[1].rstrip("]"))
            line = line.split("value: [")[0] + f"units ~ {np.expm1(log_value):.4g}"
        lines.append(line)
    return "\n".join(lines)
