"""Demand features of a weekly sales panel, and the temporal train/valid/test split.

The target is ``log_demand = log1p(quantity)`` so weeks with zero units stay usable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "TARGET",
    "PRICE_FEATURES",
    "add_history_features",
    "ProductStats",
    "build_features",
    "temporal_split",
    "series_keys",
    "series_ids",
]

TARGET = "log_demand"

PRICE_FEATURES = ("log_price", "rel_log_price", "price_change")
"""Features that increase with the current own price; demand models keep demand non-increasing in them."""

HISTORY_FEATURES = (
    "lag_log_demand",
    "rolling_log_demand",
    "expanding_log_demand",
    "past_ref_log_price",
    "prior_weeks",
    "weeks_since_last",
    "has_history",
)
CALENDAR_FEATURES = ("week_of_year", "month", "week_sin", "week_cos")
LINEAR_UNSAFE_FEATURES = ("week_of_year", "month")
"""Calendar features that are unbounded in effect for linear layers; the deep model leaves them out."""
STAT_FEATURES = ("product_mean_log_demand", "series_mean_log_demand", "product_log_weeks", "ref_log_price")


def is_member(values: pd.Series, index: pd.Index) -> pd.Series:
    """Return values.isin(index) through a Python set, much faster than isin on Arrow-backed strings."""
    lookup = set(index.tolist())
    return pd.Series([value in lookup for value in values.tolist()], index=values.index, dtype=bool)


def series_keys(frame: pd.DataFrame) -> list[str]:
    """Return the columns that identify one time series: product_id, plus segment when present."""
    return ["product_id", "segment"] if "segment" in frame.columns else ["product_id"]


def series_ids(frame: pd.DataFrame) -> pd.Series:
    """Return one str id per row for its time series: "product_id" or "product_id|segment"."""
    ids = frame["product_id"].astype(str)
    if "segment" in frame.columns:
        ids = ids + "|" + frame["segment"].astype(str)
    return ids


def add_history_features(panel: pd.DataFrame, *, window: int = 4) -> pd.DataFrame:
    """Add past-only features per series (product x segment), on the full panel before splitting.

    For each row: ``lag_log_demand`` and ``lag_log_price`` of the previous observed week of the
    same series, ``rolling_log_demand`` (mean over the previous ``window`` observed weeks),
    ``weeks_since_last`` (1 for consecutive weeks) and ``has_history`` (0 for a series' first row,
    whose lag values are NaN). Only earlier rows enter, so splitting afterwards leaks no target.
    """
    keys = series_keys(panel)
    frame = panel.sort_values([*keys, "period"]).copy()
    frame[TARGET] = np.log1p(frame["quantity"].to_numpy(dtype=float))
    frame["log_price"] = np.log(frame["price"].to_numpy(dtype=float))
    grouped = frame.groupby(keys, sort=False, observed=True)
    frame["lag_log_demand"] = grouped[TARGET].shift(1)
    frame["lag_log_price"] = grouped["log_price"].shift(1)
    frame["rolling_log_demand"] = grouped[TARGET].transform(lambda s: s.shift(1).rolling(window, min_periods=1).mean())
    frame["expanding_log_demand"] = grouped[TARGET].transform(lambda s: s.shift(1).expanding().mean())
    frame["past_ref_log_price"] = grouped["log_price"].transform(lambda s: s.shift(1).expanding().median())
    frame["prior_weeks"] = grouped.cumcount().astype(float)
    previous_period = grouped["period"].shift(1)
    frame["weeks_since_last"] = ((frame["period"] - previous_period).dt.days / 7.0).fillna(0.0)
    frame["has_history"] = frame["lag_log_demand"].notna().astype(float)
    return frame.sort_index()


@dataclass
class ProductStats:
    """Per-product and per-series statistics learned from training rows only."""

    product_mean_: pd.Series = field(default_factory=pd.Series)
    series_mean_: pd.Series = field(default_factory=pd.Series)
    product_log_weeks_: pd.Series = field(default_factory=pd.Series)
    ref_log_price_: pd.Series = field(default_factory=pd.Series)
    global_mean_: float = 0.0
    global_ref_log_price_: float = 0.0

    @classmethod
    def fit(cls, train: pd.DataFrame) -> "ProductStats":
        """Learn mean log demand, reference (median) log price and weeks of history from `train`."""
        if train.empty:
            raise ValueError("ProductStats.fit: the training frame is empty; check the split cutoffs")
        log_demand = np.log1p(train["quantity"].astype(float))
        log_price = np.log(train["price"].astype(float))
        by_product = train["product_id"].astype(str)
        series_id = series_ids(train)
        return cls(
            product_mean_=log_demand.groupby(by_product).mean(),
            series_mean_=log_demand.groupby(series_id).mean(),
            product_log_weeks_=np.log1p(train.groupby(by_product)["period"].nunique()),
            ref_log_price_=log_price.groupby(by_product).median(),
            global_mean_=float(log_demand.mean()),
            global_ref_log_price_=float(log_price.median()),
        )


def build_features(
    frame: pd.DataFrame,
    stats: ProductStats,
    *,
    extra_features: Sequence[str] = (),
) -> pd.DataFrame:
    """Return the model features of rows that already carry the history features.

    Columns: PRICE_FEATURES, past-only history of the series, calendar (week_of_year 1-53, month
    1-12) and the numeric ``extra_features`` (for example deal, feat). Rows without history get the
    training mean log demand from ``stats``.
    """
    missing = [c for c in ("product_id", "period", "log_price", *HISTORY_FEATURES, *extra_features) if c not in frame]
    if missing:
        raise ValueError(f"build_features: missing column(s) {missing}; call add_history_features on the panel first")
    product = frame["product_id"].astype(str)
    series_id = series_ids(frame)

    features = pd.DataFrame(index=frame.index)
    features["log_price"] = frame["log_price"].astype(float)
    # The reference price is the median of the series' earlier prices, so a product's first weeks
    # look the same in training and at prediction time. A series' first row falls back to values that
    # do not depend on its own price, which keeps the reference constant as the price varies.
    fallback_ref = product.map(stats.ref_log_price_).astype(float).fillna(stats.global_ref_log_price_)
    features["ref_log_price"] = frame["past_ref_log_price"].astype(float).fillna(fallback_ref)
    features["rel_log_price"] = features["log_price"] - features["ref_log_price"]
    features["price_change"] = (frame["log_price"] - frame["lag_log_price"]).fillna(0.0)

    unknown = ~is_member(product, stats.product_mean_.index)
    if unknown.any():
        logger.debug("build_features: %d rows of %d products without training history", int(unknown.sum()),
                    product[unknown].nunique())
    past_mean = frame["expanding_log_demand"].astype(float).fillna(stats.global_mean_)
    features["expanding_log_demand"] = past_mean
    features["lag_log_demand"] = frame["lag_log_demand"].astype(float).fillna(past_mean)
    features["rolling_log_demand"] = frame["rolling_log_demand"].astype(float).fillna(past_mean)
    features["log_prior_weeks"] = np.log1p(frame["prior_weeks"].astype(float))
    features["weeks_since_last"] = frame["weeks_since_last"].astype(float).clip(upper=52.0)
    features["has_history"] = frame["has_history"].astype(float)

    period = pd.to_datetime(frame["period"])
    features["week_of_year"] = period.dt.isocalendar().week.astype(float).to_numpy()
    features["month"] = period.dt.month.astype(float)
    # Position in the year on a circle, which is bounded. Linear parts of a model then cannot extrapolate
    # far in weeks of the year that training never saw, as happens with one year of Online Retail data.
    angle = 2 * np.pi * features["week_of_year"] / 52.0
    features["week_sin"] = np.sin(angle)
    features["week_cos"] = np.cos(angle)
    for column in extra_features:
        features[column] = frame[column].astype(float)
    return features


def temporal_split(
    panel: pd.DataFrame, *, valid_periods: int, test_periods: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split by time: the last `test_periods` distinct periods are test, the `valid_periods` before are valid.

    Raises ValueError when fewer than valid_periods + test_periods + 1 distinct periods exist.
    """
    periods = np.sort(panel["period"].unique())
    needed = valid_periods + test_periods + 1
    if len(periods) < needed:
        raise ValueError(
            f"temporal_split: {len(periods)} distinct periods, need at least {needed} "
            f"for {valid_periods} valid and {test_periods} test periods plus training data"
        )
    test_start = periods[len(periods) - test_periods]
    valid_start = periods[len(periods) - test_periods - valid_periods]
    train = panel[panel["period"] < valid_start]
    valid = panel[(panel["period"] >= valid_start) & (panel["period"] < test_start)]
    test = panel[panel["period"] >= test_start]
    return train, valid, test
