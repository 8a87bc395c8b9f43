"""Price optimizer on synthetic markets whose demand curves, and so optimal prices, are known."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.pricing.optimizer import Guardrails, InfeasibleGuardrailsError, optimize_price


def constant_elasticity(scale: float, elasticity: float):
    return lambda prices: scale * np.asarray(prices, dtype=float) ** elasticity


def linear_demand(intercept: float, slope: float):
    return lambda prices: np.clip(intercept - slope * np.asarray(prices, dtype=float), 0.0, None)


def oracle_value(demand_fn, low: float, high: float, objective: str, unit_cost: float | None) -> float:
    """Best objective on a grid of 200,001 prices over [low, high]."""
    prices = np.linspace(low, high, 200_001)
    margin = prices - (unit_cost if objective == "profit" else 0.0)
    return float((margin * demand_fn(prices)).max())


def random_markets(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for index in range(count):
        current = float(rng.uniform(1.0, 50.0))
        unit_cost = float(current * rng.uniform(0.2, 0.8))
        if index % 2 == 0:
            demand_fn = constant_elasticity(float(rng.uniform(10, 1000)), float(rng.uniform(-4.0, -0.3)))
        else:
            # Linear demand that is positive at the current price, with the revenue peak near it.
            peak = current * rng.uniform(0.6, 1.6)
            slope = float(rng.uniform(0.5, 20.0))
            demand_fn = linear_demand(2 * peak * slope, slope)
        guardrails = Guardrails(
            max_change_fraction=float(rng.uniform(0.05, 0.6)),
            min_price=float(current * rng.uniform(0.3, 0.9)) if rng.random() < 0.5 else None,
            max_price=float(current * rng.uniform(1.1, 2.0)) if rng.random() < 0.5 else None,
        )
        yield demand_fn, current, unit_cost, guardrails


@pytest.mark.parametrize("objective", ["revenue", "profit"])
def test_optimizer_reaches_oracle_value(objective):
    for demand_fn, current, unit_cost, guardrails in random_markets(seed=7, count=60):
        decision = optimize_price(demand_fn, current, guardrails, unit_cost=unit_cost, objective=objective)
        low, _, high, _ = guardrails.bounds(current, unit_cost)
        best = oracle_value(demand_fn, low, high, objective, unit_cost)
        margin = decision.price - (unit_cost if objective == "profit" else 0.0)
        achieved = margin * float(demand_fn(np.array([decision.price]))[0])
        if best > 0:
            assert achieved >= 0.98 * best, (demand_fn, current, guardrails, decision)


def test_linear_revenue_optimum_known_answer():
    # q = 100 - 10 p has revenue p (100 - 10 p), maximal at p = 5 with revenue 250.
    decision = optimize_price(linear_demand(100, 10), 4.5, Guardrails(max_change_fraction=0.5))
    assert decision.price == pytest.approx(5.0, rel=1e-4)
    assert decision.expected_revenue == pytest.approx(250.0, rel=1e-6)
    assert decision.binding_constraint is None
    assert decision.elasticity == pytest.approx(-1.0, abs=1e-3)  # revenue peak: elasticity -1


def test_linear_profit_optimum_known_answer():
    # Profit (p - 2)(100 - 10 p) is maximal at p = (10 + 2) / 2 = 6.
    decision = optimize_price(linear_demand(100, 10), 5.0, Guardrails(max_change_fraction=0.5),
                              unit_cost=2.0, objective="profit")
    assert decision.price == pytest.approx(6.0, rel=1e-4)
    assert decision.expected_profit == pytest.approx(4.0 * 40.0, rel=1e-6)


def test_elastic_demand_hits_max_change_bound():
    # Elasticity -3: revenue p^-2 falls with price, so the lowest allowed price (current - 10%) wins.
    decision = optimize_price(constant_elasticity(100, -3.0), 10.0, Guardrails(max_change_fraction=0.1))
    assert decision.price == pytest.approx(9.0, rel=1e-9)
    assert decision.binding_constraint == "max_change"
    assert "max_change" in decision.reason


def test_inelastic_demand_hits_max_price_bound():
    decision = optimize_price(constant_elasticity(100, -0.5), 10.0,
                              Guardrails(max_change_fraction=0.5, max_price=12.0))
    assert decision.price == pytest.approx(12.0, rel=1e-9)
    assert decision.binding_constraint == "max_price"


def test_constant_elasticity_recovered_at_optimum():
    for elasticity in (-0.4, -1.7, -3.2):
        decision = optimize_price(constant_elasticity(50, elasticity), 3.0, Guardrails(max_change_fraction=0.3))
        assert decision.elasticity == pytest.approx(elasticity, abs=1e-6)


def test_profit_with_constant_elasticity_matches_markup_rule():
    # Profit-optimal price with elasticity e < -1 is cost * e / (1 + e): 4 * (-2) / (-1) = 8.
    decision = optimize_price(constant_elasticity(1000, -2.0), 8.5, Guardrails(max_change_fraction=0.3),
                              unit_cost=4.0, objective="profit")
    assert decision.price == pytest.approx(8.0, rel=1e-4)
    assert decision.binding_constraint is None


def test_margin_floor_binds():
    # Revenue wants the lowest price (elasticity -3) but the 50% margin on cost 4 needs p >= 8.
    decision = optimize_price(constant_elasticity(100, -3.0), 9.0,
                              Guardrails(max_change_fraction=0.5, min_margin_fraction=0.5), unit_cost=4.0)
    assert decision.price == pytest.approx(8.0, rel=1e-9)
    assert decision.binding_constraint == "min_margin"


def test_few_observations_keep_current_price():
    decision = optimize_price(constant_elasticity(100, -3.0), 10.0, Guardrails(), n_observations=1)
    assert decision.fallback is True
    assert decision.price == 10.0
    assert "1 observations" in decision.reason


def test_fallback_clips_current_price_into_guardrails():
    decision = optimize_price(constant_elasticity(100, -3.0), 10.0, Guardrails(max_price=9.5), n_observations=0)
    assert decision.fallback is True
    assert decision.price == 9.5


@pytest.mark.parametrize(
    "make_guardrails, unit_cost, message",
    [
        (lambda: Guardrails(min_price=12.0, max_price=11.0), None, "min_price 12.0 is above max_price"),
        (lambda: Guardrails(min_price=20.0, max_change_fraction=0.1), None, "admit no price"),
        (lambda: Guardrails(min_margin_fraction=0.5, max_price=7.0, max_change_fraction=0.5), 4.0, "min_margin"),
        (lambda: Guardrails(min_margin_fraction=0.2), None, "needs the product's unit_cost"),
        (lambda: Guardrails(max_change_fraction=None), None, "no upper price limit"),
    ],
)
def test_infeasible_guardrails_raise(make_guardrails, unit_cost, message):
    with pytest.raises(ValueError, match=message):
        guardrails = make_guardrails()
        optimize_price(constant_elasticity(100, -2.0), 10.0, guardrails, unit_cost=unit_cost)


def test_margin_floor_above_max_price_is_infeasible_error():
    with pytest.raises(InfeasibleGuardrailsError):
        optimize_price(constant_elasticity(100, -2.0), 10.0,
                       Guardrails(min_margin_fraction=0.5, max_price=7.0, max_change_fraction=0.5), unit_cost=4.0)


@pytest.mark.parametrize("bad_price", [0.0, -1.0, float("nan")])
def test_invalid_current_price_raises(bad_price):
    with pytest.raises(ValueError, match="current_price must be a positive number"):
        optimize_price(constant_elasticity(100, -2.0), bad_price, Guardrails())


def test_negative_model_demand_raises():
    with pytest.raises(ValueError, match="negative demand"):
        optimize_price(lambda prices: 5.0 - prices, 10.0, Guardrails())


def test_profit_without_cost_raises():
    with pytest.raises(ValueError, match="needs unit_cost"):
        optimize_price(constant_elasticity(100, -2.0), 10.0, Guardrails(), objective="profit")


@settings(max_examples=150, deadline=None)
@given(
    current=st.floats(0.5, 500.0),
    elasticity=st.floats(-5.0, -0.1),
    linear=st.booleans(),
    peak_ratio=st.floats(0.3, 3.0),
    max_change=st.one_of(st.none(), st.floats(0.01, 0.95)),
    min_ratio=st.one_of(st.none(), st.floats(0.2, 1.5)),
    max_ratio=st.one_of(st.none(), st.floats(0.5, 3.0)),
    margin=st.one_of(st.none(), st.floats(0.0, 0.9)),
    cost_ratio=st.floats(0.05, 1.2),
    objective=st.sampled_from(["revenue", "profit"]),
)
def test_chosen_price_never_violates_guardrails(
    current, elasticity, linear, peak_ratio, max_change, min_ratio, max_ratio, margin, cost_ratio, objective
):
    unit_cost = current * cost_ratio
    min_price = None if min_ratio is None else current * min_ratio
    max_price = None if max_ratio is None else current * max_ratio
    if min_price is not None and max_price is not None and min_price > max_price:
        min_price, max_price = max_price, min_price
    guardrails = Guardrails(min_price=min_price, max_price=max_price, max_change_fraction=max_change,
                            min_margin_fraction=margin)
    demand_fn = (linear_demand(2 * peak_ratio * current, 1.0) if linear
                 else constant_elasticity(100.0, elasticity))
    try:
        decision = optimize_price(demand_fn, current, guardrails, unit_cost=unit_cost, objective=objective)
    except InfeasibleGuardrailsError:
        return
    tolerance = 1e-9 * current
    price = decision.price
    if min_price is not None:
        assert price >= min_price - tolerance
    if max_price is not None:
        assert price <= max_price + tolerance
    if max_change is not None:
        assert abs(price / current - 1) <= max_change + 1e-9
    if margin is not None:
        assert (price - unit_cost) / price >= margin - 1e-9
