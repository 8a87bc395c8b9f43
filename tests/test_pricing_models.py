"""Demand models on a synthetic weekly panel with known constant elasticity: monotonicity, round-trips, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from domains.pricing.classic import GBDTDemandModel
from domains.pricing.deep import DeepDemandModel, embedding_frame
from domains.pricing.features import add_history_features
from domains.pricing.optimizer import Guardrails, model_demand_function, optimize_price

TRUE_ELASTICITY = -2.0
N_PRODUCTS = 24
N_WEEKS = 60


def synthetic_panel(seed: int = 0) -> pd.DataFrame:
    """Weekly units ~ Poisson(scale * (price / reference)^-2), prices moving +-30% around each reference."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2023-01-02", periods=N_WEEKS, freq="W-MON")
    frames = []
    for index in range(N_PRODUCTS):
        reference = rng.uniform(2.0, 20.0)
        scale = rng.uniform(200.0, 2000.0)
        prices = reference * np.exp(rng.uniform(-0.3, 0.3, size=N_WEEKS))
        expected = scale * (prices / reference) ** TRUE_ELASTICITY
        frames.append(pd.DataFrame({"product_id": f"p{index}", "period": periods, "price": prices,
                                    "quantity": rng.poisson(expected).astype(float)}))
    return add_history_features(pd.concat(frames, ignore_index=True))


def synthetic_embeddings(product_ids, seed: int = 1) -> pd.DataFrame:
    # Unit vectors stand in for text embeddings: the models take the matrix as input, whatever encoded it.
    vectors = np.random.default_rng(seed).normal(size=(len(product_ids), 384))
    return embedding_frame(product_ids, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel()


@pytest.fixture(scope="module")
def classic(panel):
    return GBDTDemandModel(n_estimators=150).fit(panel)


@pytest.fixture(scope="module")
def deep(panel):
    products = sorted(panel["product_id"].unique())
    return DeepDemandModel(epochs=60, batch_size=256).fit(panel, synthetic_embeddings(products))


def price_sweep(row: pd.DataFrame, prices: np.ndarray) -> pd.DataFrame:
    frame = pd.concat([row] * len(prices), ignore_index=True)
    frame["price"] = prices
    frame["log_price"] = np.log(prices)
    return frame


@pytest.mark.parametrize("model_name", ["classic", "deep"])
def test_demand_never_rises_with_price(model_name, panel, request):
    model = request.getfixturevalue(model_name)
    prices_factor = np.exp(np.linspace(-1.0, 1.0, 41))
    # First weeks of a series (no earlier prices) are included: their reference price must not follow the price.
    rows = pd.concat([panel.sample(30, random_state=0), panel[panel["has_history"] == 0].head(5)])
    for _, row in rows.iterrows():
        sweep = price_sweep(row.to_frame().T.infer_objects(), row["price"] * prices_factor)
        predicted = model.predict_log_demand(sweep)
        assert np.all(np.diff(predicted) <= 1e-9), (model_name, row["product_id"], predicted)


def test_classic_prediction_tracks_demand(panel, classic):
    predicted = classic.predict_log_demand(panel)
    correlation = np.corrcoef(predicted, panel["log_demand"])[0, 1]
    assert correlation > 0.9


def test_deep_recovers_elasticity(panel, deep):
    # Around the reference price the learned curve should have the generating elasticity, -2.
    estimates = []
    for product, rows in panel.groupby("product_id"):
        row = rows.iloc[[-1]]
        demand_fn = model_demand_function(deep, row)
        decision = optimize_price(demand_fn, float(row["price"].iloc[0]), Guardrails(max_change_fraction=0.1),
                                  n_candidates=21)
        estimates.append(decision.elasticity)
    assert np.median(estimates) == pytest.approx(TRUE_ELASTICITY, abs=0.3)


def test_optimizer_on_fitted_model_lowers_elastic_price(panel, deep):
    # With elasticity -2, revenue falls as price rises, so the optimum is the lowest allowed price.
    row = panel[panel["product_id"] == "p0"].iloc[[-1]]
    current = float(row["price"].iloc[0])
    decision = optimize_price(model_demand_function(deep, row), current, Guardrails(max_change_fraction=0.15))
    assert decision.price == pytest.approx(0.85 * current, rel=1e-6)
    assert decision.binding_constraint == "max_change"


@pytest.mark.parametrize("model_name", ["classic", "deep"])
def test_save_load_round_trip(model_name, panel, request, tmp_path):
    model = request.getfixturevalue(model_name)
    path = model.save(tmp_path / f"{model_name}.pkl")
    loaded = type(model).load(path)
    np.testing.assert_array_equal(loaded.predict_log_demand(panel), model.predict_log_demand(panel))


def test_load_rejects_other_model(deep, tmp_path):
    path = deep.save(tmp_path / "deep.pkl")
    with pytest.raises(TypeError, match="not a GBDTDemandModel"):
        GBDTDemandModel.load(path)


def test_deep_unknown_product_needs_embedding(panel, deep):
    row = panel.iloc[[0]].copy()
    row["product_id"] = "new-product"
    with pytest.raises(KeyError, match="new-product"):
        deep.predict_log_demand(row)
    new_embedding = synthetic_embeddings(["new-product"], seed=5)
    predicted = deep.predict_log_demand(row, product_embeddings=new_embedding)
    assert np.isfinite(predicted).all()


def test_classic_unknown_product_uses_global_mean(panel, classic):
    row = panel.iloc[[5]].copy()
    row["product_id"] = "new-product"
    predicted = classic.predict_log_demand(row)
    assert np.isfinite(predicted).all()


def test_unfitted_model_raises(panel):
    with pytest.raises(RuntimeError, match="not fitted"):
        GBDTDemandModel().predict_log_demand(panel)
    with pytest.raises(RuntimeError, match="not fitted"):
        DeepDemandModel().predict_log_demand(panel)


def test_bad_embedding_shape_raises():
    with pytest.raises(ValueError, match=r"shape \(n_products, dim\) = \(2, dim\)"):
        embedding_frame(["a", "b"], np.zeros((3, 384)))


def test_nan_embeddings_rejected(panel):
    products = sorted(panel["product_id"].unique())
    embeddings = synthetic_embeddings(products)
    embeddings.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DeepDemandModel(epochs=1).fit(panel, embeddings)


def test_empty_training_frame_raises(panel):
    with pytest.raises(ValueError, match="empty"):
        GBDTDemandModel().fit(panel.iloc[:0])
