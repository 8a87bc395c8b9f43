"""Log-log elasticity regression: a synthetic known answer and the Dominick's orange juice reference value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from domains.pricing.data import load_orange_juice
from domains.pricing.elasticity import estimate_elasticity


def constant_elasticity_sales(elasticity: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for product, scale in (("a", 50.0), ("b", 400.0), ("c", 3000.0)):
        prices = rng.uniform(1.0, 5.0, size=300)
        quantity = scale * prices**elasticity * np.exp(rng.normal(0.0, 0.2, size=300))
        rows.append(pd.DataFrame({"product_id": product, "price": prices, "quantity": quantity}))
    return pd.concat(rows, ignore_index=True)


def test_synthetic_elasticity_recovered():
    estimate = estimate_elasticity(constant_elasticity_sales(-2.5))
    assert estimate.elasticity == pytest.approx(-2.5, abs=0.05)
    assert estimate.ci_low < -2.5 < estimate.ci_high
    assert estimate.n_obs == 900


def test_fixed_effects_matter_for_recovery():
    # Product fixed effects absorb the 60x spread in demand scale, so the slope's standard error shrinks.
    sales = constant_elasticity_sales(-1.2, seed=3)
    with_effects = estimate_elasticity(sales)
    without_effects = estimate_elasticity(sales, fixed_effects=())
    assert with_effects.std_error < 0.5 * without_effects.std_error


def test_zero_quantity_rejected():
    sales = constant_elasticity_sales(-2.0)
    sales.loc[3, "quantity"] = 0.0
    with pytest.raises(ValueError, match="1 rows have price <= 0 or quantity <= 0"):
        estimate_elasticity(sales)


def test_single_price_rejected():
    sales = constant_elasticity_sales(-2.0)
    sales["price"] = 2.0
    with pytest.raises(ValueError, match="single value"):
        estimate_elasticity(sales)


def test_missing_fixed_effect_column():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['store'\]"):
        estimate_elasticity(constant_elasticity_sales(-2.0), fixed_effects=("product_id", "store"))


@pytest.mark.dataset
def test_orange_juice_elasticity_matches_taddy(oj_dir):
    # Taddy, Business Data Science, ch. 2: log(sales) ~ brand + log(price) on Tropicana, Minute Maid
    # and Dominick's 64 oz (brands 1, 5, 10) gives an elasticity of -3.14.
    sales = load_orange_juice(oj_dir).sales
    three_brands = sales[sales["product_id"].isin(["1", "5", "10"])]
    estimate = estimate_elasticity(three_brands)
    print(f"\nOJ {estimate}")
    assert estimate.n_obs == 28_947
    assert estimate.elasticity == pytest.approx(-3.14, abs=0.2)
    assert estimate.ci_low < estimate.elasticity < estimate.ci_high
    assert estimate.ci_high - estimate.ci_low < 0.2


@pytest.mark.dataset
def test_taddy_csv_gives_same_elasticity(oj_dir):
    raw = pd.read_csv(oj_dir / "oj_taddy_bds.csv")
    sales = raw.rename(columns={"brand": "product_id", "sales": "quantity"})
    estimate = estimate_elasticity(sales)
    print(f"\noj_taddy_bds.csv {estimate}")
    assert estimate.elasticity == pytest.approx(-3.14, abs=0.2)


def test_within_estimator_matches_dummy_regression(monkeypatch):
    """Many products take the demeaning path; slope, s.e. and interval equal the dummy-variable OLS."""
    from domains.pricing import elasticity as module

    rng = np.random.default_rng(0)
    group = np.repeat(np.arange(80), 30)
    price = np.exp(rng.normal(0.0, 0.3, group.size))
    quantity = np.exp(3.0 + rng.normal(0.0, 1.0, 80)[group] - 2.0 * np.log(price) + rng.normal(0.0, 0.5, group.size))
    sales = pd.DataFrame({"product_id": group.astype(str), "price": price, "quantity": quantity})

    within = module.estimate_elasticity(sales)
    monkeypatch.setattr(module, "WITHIN_LEVELS", 10**9)
    dummies = module.estimate_elasticity(sales)

    assert "within" in within.formula
    assert "within" not in dummies.formula
    assert within.elasticity == pytest.approx(dummies.elasticity, abs=1e-10)
    assert within.std_error == pytest.approx(dummies.std_error, rel=1e-8)
    assert within.ci_low == pytest.approx(dummies.ci_low, rel=1e-8)
    assert within.ci_high == pytest.approx(dummies.ci_high, rel=1e-8)
    assert within.elasticity == pytest.approx(-2.0, abs=0.1)
