"""Price decisions from a fitted pair of demand models and a blender, with the reason for each."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from engine.blend import attribute

from domains.pricing.features import series_keys
from domains.pricing.optimizer import Guardrails, PriceDecision, optimize_price

__all__ = ["RequestError", "latest_rows", "blended_demand", "decide_price", "price_for_request"]


class RequestError(ValueError):
    """A pricing request is malformed or names a product or segment the model does not know."""


REQUEST_FIELDS = frozenset({"product_id", "segment", "objective", "unit_cost", "guardrails"})


def latest_rows(panel: pd.DataFrame) -> pd.DataFrame:
    """Return the most recent row of each series (product, or product x segment)."""
    keys = series_keys(panel)
    return panel.sort_values("period").groupby(keys, as_index=False).tail(1).reset_index(drop=True)


def blended_demand(models: dict, blender, row: pd.DataFrame, embeddings: pd.DataFrame, log_weeks: float):
    """Return (demand_fn, parts_fn): expected units at prices, and each side's log1p demand at prices.

    The row is repeated at each candidate price with its log price recomputed. Every other feature
    (recent demand, calendar, promotions) keeps the row's value, so the curve estimates the demand
    of this series at price p in its latest week.
    """
    alpha = float(np.asarray(blender.alpha({"log_product_weeks": np.array([log_weeks])})).reshape(-1)[0])
    product_ids = row["product_id"].astype(str).tolist()
    embeddings = embeddings.loc[[product for product in product_ids if product in embeddings.index]]

    def parts(prices: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        prices = np.asarray(prices, dtype=float).reshape(-1)
        frame = pd.concat([row] * len(prices), ignore_index=True)
        frame["price"] = prices
        frame["log_price"] = np.log(prices)
        deep = models["deep"].predict_log_demand(frame, embeddings)
        classic = models["classic"].predict_log_demand(frame)
        return deep, classic, alpha

    def demand(prices: np.ndarray) -> np.ndarray:
        deep, classic, weight = parts(prices)
        return np.clip(np.expm1(weight * deep + (1 - weight) * classic), 0.0, None)

    return demand, parts


def decide_price(models: dict, blender, row: pd.DataFrame, embeddings: pd.DataFrame, n_weeks: int, guardrails: Guardrails,
                 *, objective: str, unit_cost: float | None, min_weeks: int) -> tuple[PriceDecision, dict, float]:
    """Optimize one series' price.

    Returns the decision, the deep/classic attribution at the chosen price and the expected units at
    the current price.
    """
    demand, parts = blended_demand(models, blender, row, embeddings, float(np.log1p(n_weeks)))
    current_price = float(row["price"].iloc[0])
    decision = optimize_price(demand, current_price, guardrails, unit_cost=unit_cost, objective=objective,
                              n_observations=int(n_weeks), min_observations=min_weeks)
    deep, classic, alpha = parts(np.array([decision.price]))
    # Each side's pull is measured from the series' recent demand. A series without history uses the
    # midpoint of the two forecasts instead, so the side with the larger weight is named the driver.
    recent = row["rolling_log_demand"].iloc[0]
    reference = float(recent) if pd.notna(recent) else 0.5 * (float(deep[0]) + float(classic[0]))
    reason = attribute(float(deep[0]), float(classic[0]), alpha, reference=reference)
    units_at_current = float(demand(np.array([current_price]))[0])
    return decision, reason, units_at_current


def _decision_dict(decision: PriceDecision, current_demand: float) -> dict[str, Any]:
    current_revenue = decision.current_price * current_demand
    return {
        "current_price": round(decision.current_price, 4),
        "price": round(decision.price, 4),
        "change": round(decision.change_fraction, 4),
        "objective": decision.objective,
        "expected_units_at_current": round(current_demand, 3),
        "expected_units": round(decision.expected_demand, 3),
        "expected_revenue_at_current": round(current_revenue, 2),
        "expected_revenue": round(decision.expected_revenue, 2),
        "expected_profit": None if decision.expected_profit is None else round(decision.expected_profit, 2),
        "elasticity": None if decision.elasticity is None else round(decision.elasticity, 3),
        "binding_constraint": decision.binding_constraint,
        "fallback": decision.fallback,
        "reason": decision.reason,
    }


def price_for_request(bundle, request: dict[str, Any]) -> dict[str, Any]:
    """Return the price decision for {"product_id": ..., ["segment", "objective", "unit_cost", "guardrails"]}."""
    if not isinstance(request, dict):
        raise RequestError(f"a request must be a JSON object; got {type(request).__name__}")
    unknown = sorted(set(request) - REQUEST_FIELDS)
    if unknown:
        raise RequestError(f"unknown request field(s) {unknown}; valid fields: {sorted(REQUEST_FIELDS)}")
    if "product_id" not in request:
        raise RequestError("the request needs `product_id`, for example product_id=85123A")
    config = bundle.domain.config
    state = bundle.state
    product_id = str(request["product_id"])
    latest = state["latest"]
    rows = latest[latest["product_id"].astype(str) == product_id]
    if rows.empty:
        raise RequestError(f"product_id {product_id!r} has no sales in the training data; price it by hand or retrain with its sales")
    if "segment" not in latest.columns and request.get("segment") is not None:
        raise RequestError("this model prices per product, not per segment: remove `segment` from the request")
    if "segment" in latest.columns:
        if "segment" not in request:
            raise RequestError(f"this model prices per segment: add `segment`, one of {sorted(rows['segment'].astype(str))[:10]}")
        rows = rows[rows["segment"].astype(str) == str(request["segment"])]
        if rows.empty:
            raise RequestError(f"segment {request['segment']!r} has no sales of product {product_id!r}")

    try:
        guardrails = Guardrails.model_validate({**config.guardrails.model_dump(), **(request.get("guardrails") or {})})
    except ValueError as error:
        raise RequestError(f"invalid guardrails: {error}") from error
    objective = request.get("objective", config.objective)
    if objective not in ("revenue", "profit"):
        raise RequestError(f"`objective` must be 'revenue' or 'profit'; got {objective!r}")
    unit_cost = request.get("unit_cost")
    if unit_cost is not None and (isinstance(unit_cost, bool) or not isinstance(unit_cost, (int, float))):
        raise RequestError(f"`unit_cost` must be a number; got {unit_cost!r}")
    if objective == "profit" and unit_cost is None:
        raise RequestError("objective 'profit' needs `unit_cost`")

    row = rows.head(1)
    n_weeks = int(state["weeks"].get(product_id, 0))
    decision, reason, units_at_current = decide_price(bundle.models, bundle.blender, row, state["embeddings"], n_weeks,
                                                      guardrails, objective=objective, unit_cost=unit_cost,
                                                      min_weeks=config.min_weeks)
    text = state["products"].set_index("product_id")["text"].get(product_id, "")
    return {
        "product_id": product_id,
        "segment": None if "segment" not in row.columns else str(row["segment"].iloc[0]),
        "text": str(text),
        "weeks_of_history": n_weeks,
        "latest_week": str(pd.Timestamp(row["period"].iloc[0]).date()),
        **_decision_dict(decision, units_at_current),
        "blend": {key: round(value, 4) if isinstance(value, float) else value for key, value in reason.items()},
        "blender": bundle.selected,
    }
