"""Price optimization within guardrails: pick the candidate price with the highest expected revenue or profit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

logger = logging.getLogger(__name__)

__all__ = ["Guardrails", "PriceDecision", "InfeasibleGuardrailsError", "optimize_price", "model_demand_function"]

DemandFunction = Callable[[np.ndarray], np.ndarray]
"""Maps prices, array of shape (n,), to expected units sold at each price, shape (n,)."""

BOUND_TOLERANCE = 1e-9
ELASTICITY_STEP = 1e-3
"""Relative price step of the central difference that estimates d log demand / d log price."""


class InfeasibleGuardrailsError(ValueError):
    """The guardrails admit no price for this product."""


class Guardrails(BaseModel):
    """Limits on the new price. Prices are in the currency of the sales data, per unit."""

    model_config = ConfigDict(extra="forbid")

    min_price: float | None = Field(None, gt=0, description="lowest allowed price")
    max_price: float | None = Field(None, gt=0, description="highest allowed price")
    max_change_fraction: float | None = Field(
        0.2, gt=0, description="largest allowed move relative to the current price (0.2 = +-20%)"
    )
    min_margin_fraction: float | None = Field(
        None, ge=0, lt=1, description="lowest allowed (price - unit_cost) / price; needs unit_cost"
    )

    @model_validator(mode="after")
    def _check_order(self) -> "Guardrails":
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}; swap or widen them")
        return self

    def bounds(self, current_price: float, unit_cost: float | None) -> tuple[float, str, float, str]:
        """Return (low, name of the lower bound, high, name of the upper bound) of the feasible price interval.

        Raises InfeasibleGuardrailsError when the interval is empty, and ValueError when a margin
        floor is set without a unit cost.
        """
        lower = [(0.0, "none")]
        upper = [(np.inf, "none")]
        if self.min_price is not None:
            lower.append((self.min_price, "min_price"))
        if self.max_price is not None:
            upper.append((self.max_price, "max_price"))
        if self.max_change_fraction is not None:
            lower.append((current_price * max(0.0, 1 - self.max_change_fraction), "max_change"))
            upper.append((current_price * (1 + self.max_change_fraction), "max_change"))
        if self.min_margin_fraction is not None:
            if unit_cost is None:
                raise ValueError(
                    f"min_margin_fraction={self.min_margin_fraction} needs the product's unit_cost; pass unit_cost "
                    "or remove the margin guardrail"
                )
            lower.append((unit_cost / (1 - self.min_margin_fraction), "min_margin"))
        low, low_name = max(lower, key=lambda bound: bound[0])
        high, high_name = min(upper, key=lambda bound: bound[0])
        if not np.isfinite(high):
            raise InfeasibleGuardrailsError(
                "no upper price limit: set max_price or max_change_fraction so the search interval is bounded"
            )
        if low > high:
            raise InfeasibleGuardrailsError(
                f"guardrails admit no price for current price {current_price:g}: lower bound {low:g} ({low_name}) "
                f"is above upper bound {high:g} ({high_name}); widen max_change_fraction or the price limits"
            )
        if low <= 0:
            raise InfeasibleGuardrailsError(
                "no positive lower price limit: set min_price or a max_change_fraction below 1"
            )
        return low, low_name, high, high_name


@dataclass(frozen=True)
class PriceDecision:
    """The chosen price, what is expected at it, and why."""

    price: float
    current_price: float
    objective: str
    expected_demand: float
    expected_revenue: float
    expected_profit: float | None
    elasticity: float | None
    binding_constraint: str | None
    fallback: bool
    reason: str
    candidates: pd.DataFrame | None = None

    @property
    def change_fraction(self) -> float:
        """Relative price change, (price - current_price) / current_price."""
        return self.price / self.current_price - 1


def _evaluate(demand_fn: DemandFunction, prices: np.ndarray) -> np.ndarray:
    demand = np.asarray(demand_fn(prices), dtype=float).reshape(-1)
    if demand.shape != prices.shape:
        raise ValueError(f"demand_fn returned shape {demand.shape} for {prices.shape} prices; return one value per price")
    if not np.isfinite(demand).all() or (demand < 0).any():
        bad = prices[~np.isfinite(demand) | (demand < 0)][:3]
        raise ValueError(f"demand_fn returned NaN, infinite or negative demand at prices {bad.tolist()}; check the model")
    return demand


def _objective_values(prices, demand, objective, unit_cost):
    margin = prices - (unit_cost if objective == "profit" else 0.0)
    return margin * demand


def _log_elasticity(demand_fn: DemandFunction, price: float) -> float | None:
    prices = np.array([price * (1 - ELASTICITY_STEP), price * (1 + ELASTICITY_STEP)])
    demand = _evaluate(demand_fn, prices)
    if (demand <= 0).any():
        return None
    return float((np.log(demand[1]) - np.log(demand[0])) / (np.log(prices[1]) - np.log(prices[0])))


def optimize_price(
    demand_fn: DemandFunction,
    current_price: float,
    guardrails: Guardrails,
    *,
    unit_cost: float | None = None,
    objective: Literal["revenue", "profit"] = "revenue",
    n_candidates: int = 201,
    n_observations: int | None = None,
    min_observations: int = 8,
    keep_candidates: bool = False,
) -> PriceDecision:
    """Choose the price within the guardrails that maximizes expected revenue (or profit with a unit cost).

    Candidates are `n_candidates` prices spaced evenly in log price over the feasible interval, plus
    the current price when feasible. A bounded scalar search between the best candidate's neighbours
    then refines it. `binding_constraint` names the guardrail at which the chosen price sits when the
    objective still rises beyond it (the unconstrained optimum lies outside). When `n_observations` is
    below `min_observations`, the current price is kept (clipped into the guardrails) and `fallback`
    is True, because the demand model has too little data on this product to move its price.
    """
    if not np.isfinite(current_price) or current_price <= 0:
        raise ValueError(f"current_price must be a positive number, got {current_price!r}")
    if objective not in ("revenue", "profit"):
        raise ValueError(f"objective must be 'revenue' or 'profit', got {objective!r}")
    if unit_cost is not None and (not np.isfinite(unit_cost) or unit_cost < 0):
        raise ValueError(f"unit_cost must be a number >= 0, got {unit_cost!r}")
    if objective == "profit" and unit_cost is None:
        raise ValueError("objective='profit' needs unit_cost; pass it or use objective='revenue'")
    if n_candidates < 3:
        raise ValueError(f"n_candidates must be at least 3, got {n_candidates}")
    low, low_name, high, high_name = guardrails.bounds(current_price, unit_cost)

    if n_observations is not None and n_observations < min_observations:
        price = float(np.clip(current_price, low, high))
        demand = float(_evaluate(demand_fn, np.array([price]))[0])
        moved = "" if price == current_price else f", moved into the guardrails ({low:g} to {high:g})"
        return _decision(
            price, current_price, objective, demand, unit_cost, None, None, True,
            f"kept the current price{moved}: {n_observations} observations, fewer than the {min_observations} "
            "needed to trust the demand model",
        )

    prices = np.exp(np.linspace(np.log(low), np.log(high), n_candidates))
    if low < current_price < high:
        prices = np.sort(np.append(prices, current_price))
    demand = _evaluate(demand_fn, prices)
    values = _objective_values(prices, demand, objective, unit_cost)
    best = int(np.argmax(values))
    price, value = _refine(demand_fn, prices, best, float(values[best]), objective, unit_cost)
    best_demand = float(_evaluate(demand_fn, np.array([price]))[0])

    binding = _binding_constraint(demand_fn, price, value, low, low_name, high, high_name, objective, unit_cost)
    elasticity = _log_elasticity(demand_fn, price)
    candidates = pd.DataFrame({"price": prices, "demand": demand, objective: values}) if keep_candidates else None
    reason = _reason(price, current_price, value, demand_fn, objective, unit_cost, binding, elasticity)
    return _decision(price, current_price, objective, best_demand, unit_cost, elasticity, binding, False, reason,
                     candidates)


def _refine(demand_fn, prices, best, best_value, objective, unit_cost) -> tuple[float, float]:
    """Search log price between the neighbours of grid point `best`; keep the grid point unless it improves."""
    from scipy.optimize import minimize_scalar

    left = np.log(prices[max(best - 1, 0)])
    right = np.log(prices[min(best + 1, len(prices) - 1)])
    if right - left <= 0:
        return float(prices[best]), best_value

    def negative_objective(log_price: float) -> float:
        price = np.array([np.exp(log_price)])
        return -float(_objective_values(price, _evaluate(demand_fn, price), objective, unit_cost)[0])

    result = minimize_scalar(negative_objective, bounds=(left, right), method="bounded", options={"xatol": 1e-6})
    if result.success and -result.fun > best_value:
        return float(np.clip(np.exp(result.x), prices[0], prices[-1])), float(-result.fun)
    return float(prices[best]), best_value


def _binding_constraint(demand_fn, price, value, low, low_name, high, high_name, objective, unit_cost) -> str | None:
    """Name the bound at `price` when a slightly wider interval would give a higher objective."""
    for bound, name, outward in ((low, low_name, 1 - ELASTICITY_STEP), (high, high_name, 1 + ELASTICITY_STEP)):
        if abs(price - bound) <= BOUND_TOLERANCE * bound + 1e-12 * (1 + bound):
            beyond = np.array([bound * outward])
            beyond_value = float(_objective_values(beyond, _evaluate(demand_fn, beyond), objective, unit_cost)[0])
            if beyond_value > value:
                return name
    return None


def _reason(price, current_price, value, demand_fn, objective, unit_cost, binding, elasticity) -> str:
    current = np.array([current_price])
    current_value = float(_objective_values(current, _evaluate(demand_fn, current), objective, unit_cost)[0])
    change = price / current_price - 1
    if abs(change) < 1e-9:
        direction = "kept"
    elif change > 0:
        direction = "raised"
    else:
        direction = "lowered"
    text = f"{direction} price {current_price:.4g} -> {price:.4g} ({change:+.1%})"
    if current_value > 0:
        text += f": expected {objective} {value / current_value - 1:+.1%} vs the current price"
    if elasticity is not None:
        text += f", elasticity {elasticity:.2f} at the new price"
    if binding is not None:
        side = "above" if price >= current_price else "below"
        text += f"; limited by the {binding} guardrail (the unconstrained optimum lies {side} it)"
    return text


def _decision(price, current_price, objective, demand, unit_cost, elasticity, binding, fallback, reason,
              candidates=None) -> PriceDecision:
    profit = None if unit_cost is None else (price - unit_cost) * demand
    return PriceDecision(
        price=float(price),
        current_price=float(current_price),
        objective=objective,
        expected_demand=float(demand),
        expected_revenue=float(price * demand),
        expected_profit=None if profit is None else float(profit),
        elasticity=elasticity,
        binding_constraint=binding,
        fallback=fallback,
        reason=reason,
        candidates=candidates,
    )


def model_demand_function(model, row: pd.DataFrame, **predict_kwargs) -> DemandFunction:
    """Wrap a fitted demand model and one panel row (with history features) as prices -> expected units.

    The row is repeated at each price with its log price and price change recomputed; other
    features (history, calendar, promotions) stay as in `row`. Expected units are expm1(log demand).
    """
    if len(row) != 1:
        raise ValueError(f"model_demand_function needs exactly one row, got {len(row)}")

    def demand(prices: np.ndarray) -> np.ndarray:
        prices = np.asarray(prices, dtype=float).reshape(-1)
        frame = pd.concat([row] * len(prices), ignore_index=True)
        frame["price"] = prices
        frame["log_price"] = np.log(prices)
        return np.clip(np.expm1(model.predict_log_demand(frame, **predict_kwargs)), 0.0, None)

    return demand
