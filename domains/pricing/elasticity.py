"""Own-price elasticity from a log-log OLS regression with fixed effects (statsmodels)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["ElasticityEstimate", "estimate_elasticity"]


@dataclass(frozen=True)
class ElasticityEstimate:
    """Own-price elasticity (d log quantity / d log price) with its confidence interval."""

    elasticity: float
    ci_low: float
    ci_high: float
    std_error: float
    n_obs: int
    formula: str
    confidence: float = 0.95

    def __str__(self) -> str:
        level = round(100 * self.confidence)
        return (
            f"elasticity {self.elasticity:.3f} ({level}% CI {self.ci_low:.3f} to {self.ci_high:.3f}, "
            f"s.e. {self.std_error:.3f}, n={self.n_obs}) from {self.formula}"
        )


def estimate_elasticity(
    sales: pd.DataFrame,
    *,
    fixed_effects: Sequence[str] = ("product_id",),
    controls: Sequence[str] = (),
    price_column: str = "price",
    quantity_column: str = "quantity",
    confidence: float = 0.95,
    cov_type: str = "nonrobust",
) -> ElasticityEstimate:
    """Fit ``log(quantity) ~ C(fixed effects) + controls + log(price)`` by OLS; return the log-price slope.

    ``sales`` needs positive prices and quantities (log of zero is undefined). ``cov_type`` is passed
    to statsmodels ("HC1" gives heteroskedasticity-robust intervals). Raises ValueError naming the
    columns or rows that make the regression impossible.
    """
    import statsmodels.formula.api as smf

    columns = [price_column, quantity_column, *fixed_effects, *controls]
    missing = [column for column in columns if column not in sales.columns]
    if missing:
        raise ValueError(f"elasticity: missing column(s) {missing}; found {list(sales.columns)}")
    frame = sales[columns].dropna()
    if len(frame) < len(sales):
        logger.info("elasticity: ignored %d rows with missing values", len(sales) - len(frame))
    bad = (frame[price_column] <= 0) | (frame[quantity_column] <= 0)
    if bad.any():
        raise ValueError(
            f"elasticity: {int(bad.sum())} rows have {price_column} <= 0 or {quantity_column} <= 0, so the log is "
            "undefined; drop them first (validate_sales drops non-positive prices)"
        )
    if frame[price_column].nunique() < 2:
        raise ValueError(f"elasticity: {price_column} takes a single value, so its effect cannot be estimated")

    data = pd.DataFrame(
        {
            "log_q": np.log(frame[quantity_column].to_numpy(dtype=float)),
            "log_p": np.log(frame[price_column].to_numpy(dtype=float)),
        },
        index=frame.index,
    )
    terms = []
    for index, column in enumerate(fixed_effects):
        data[f"fe{index}"] = frame[column].astype(str)
        terms.append(f"C(fe{index})")
    for index, column in enumerate(controls):
        data[f"x{index}"] = frame[column].astype(float)
        terms.append(f"x{index}")
    formula = " + ".join(["log_q ~ log_p", *terms])
    result = smf.ols(formula, data=data).fit(cov_type=cov_type)
    low, high = result.conf_int(alpha=1 - confidence).loc["log_p"]
    readable = f"log({quantity_column}) ~ " + " + ".join(
        [*(f"C({c})" for c in fixed_effects), *controls, f"log({price_column})"]
    )
    return ElasticityEstimate(
        elasticity=float(result.params["log_p"]),
        ci_low=float(low),
        ci_high=float(high),
        std_error=float(result.bse["log_p"]),
        n_obs=int(result.nobs),
        formula=readable,
        confidence=confidence,
    )
