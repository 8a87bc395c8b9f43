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
    readable = f"log({quantity_column}) ~ " + " + ".join(
        [*(f"C({c})" for c in fixed_effects), *controls, f"log({price_column})"]
    )
    if len(fixed_effects) == 1 and cov_type == "nonrobust" and frame[fixed_effects[0]].nunique() > WITHIN_LEVELS:
        return _within_estimate(data, frame, fixed_effects[0], controls, confidence, readable)

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
    return ElasticityEstimate(
        elasticity=float(result.params["log_p"]),
        ci_low=float(low),
        ci_high=float(high),
        std_error=float(result.bse["log_p"]),
        n_obs=int(result.nobs),
        formula=readable,
        confidence=confidence,
    )


# Above this many levels of a single fixed effect, dummy columns would make a dense design matrix of
# n_rows x n_levels (gigabytes for thousands of products), so the slope is estimated within groups.
WITHIN_LEVELS = 50


def _within_estimate(data: pd.DataFrame, frame: pd.DataFrame, group_column: str, controls: Sequence[str],
                     confidence: float, readable: str) -> ElasticityEstimate:
    """Estimate the fixed-effects slope by demeaning within groups (Frisch-Waugh-Lovell).

    The slope equals the dummy-variable OLS slope. The standard error is rescaled from the
    demeaned regression's n - k residual degrees of freedom to the n - k - G of the model with
    G group intercepts. The interval uses Student's t with n - k - G degrees of freedom.
    """
    import statsmodels.api as sm
    from scipy import stats

    groups = frame[group_column].astype(str).to_numpy()
    columns = ["log_p", *(f"x{index}" for index in range(len(controls)))]
    demeaned = data[["log_q", *columns]].groupby(groups).transform(lambda values: values - values.mean())
    result = sm.OLS(demeaned["log_q"].to_numpy(), demeaned[columns].to_numpy()).fit()

    n_obs, n_slopes, n_groups = len(demeaned), len(columns), len(np.unique(groups))
    df_resid = n_obs - n_slopes - n_groups
    if df_resid <= 0:
        raise ValueError(f"elasticity: {n_obs} rows are too few for {n_groups} {group_column} groups and {n_slopes} slopes")
    std_error = float(result.bse[0]) * np.sqrt((n_obs - n_slopes) / df_resid)
    slope = float(result.params[0])
    margin = stats.t.ppf(0.5 + confidence / 2, df_resid) * std_error
    return ElasticityEstimate(
        elasticity=slope,
        ci_low=slope - margin,
        ci_high=slope + margin,
        std_error=std_error,
        n_obs=n_obs,
        formula=readable + " (within estimator)",
        confidence=confidence,
    )
