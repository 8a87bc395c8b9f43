"""Tests of the blend scales, the fixed and context blenders, their serialization and attribution."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

from engine.blend import ContextAlphaBlender, FixedAlphaBlender, attribute, blender_from_dict, to_blend_space, to_natural
from engine.metrics import ranking_metrics
from engine.protocol import TargetKind

RANKING, PROBABILITY, QUANTITY = TargetKind.RANKING, TargetKind.PROBABILITY, TargetKind.QUANTITY


# ---------------------------------------------------------------------------------------- scales
def test_ranking_zscore_known_values():
    # Mean 2.5, population std sqrt(((1.5^2 + 0.5^2) * 2) / 4) = sqrt(1.25).
    blended = to_blend_space(np.array([[1.0, 2.0, 3.0, 4.0]]), RANKING)

    expected = (np.array([1.0, 2.0, 3.0, 4.0]) - 2.5) / math.sqrt(1.25)
    np.testing.assert_allclose(blended[0], expected)


def test_ranking_zscore_is_per_user():
    # The second row is the first times 10 plus 7, so both rows get the same z-scores.
    scores = np.array([[1.0, 2.0, 3.0, 4.0], [17.0, 27.0, 37.0, 47.0]])
    blended = to_blend_space(scores, RANKING)

    np.testing.assert_allclose(blended[0], blended[1])


def test_ranking_zscore_excluded_items_are_nan():
    # Item 3 is excluded, so the statistics use [1, 2, 3]: mean 2, std sqrt(2/3).
    exclude = sp.csr_matrix(np.array([[0, 0, 0, 1]], dtype=np.float32))
    blended = to_blend_space(np.array([[1.0, 2.0, 3.0, 100.0]]), RANKING, exclude)

    std = math.sqrt(2 / 3)
    np.testing.assert_allclose(blended[0, :3], [-1 / std, 0.0, 1 / std])
    assert np.isnan(blended[0, 3])


def test_ranking_zscore_constant_row_is_zero():
    blended = to_blend_space(np.full((1, 3), 5.0), RANKING)

    np.testing.assert_array_equal(blended, np.zeros((1, 3)))


def test_ranking_scale_rejects_one_dimension():
    with pytest.raises(ValueError, match=r"\(n_users, n_items\)"):
        to_blend_space(np.ones(4), RANKING)


def test_probability_logit_known_values_and_round_trip():
    probabilities = np.array([0.5, 0.8, 0.1, 0.999])
    logits = to_blend_space(probabilities, PROBABILITY)

    # logit(0.5) = 0 and logit(0.8) = ln(0.8 / 0.2) = ln 4.
    assert logits[0] == pytest.approx(0.0)
    assert logits[1] == pytest.approx(math.log(4.0))
    np.testing.assert_allclose(to_natural(logits, PROBABILITY), probabilities, rtol=1e-12)


def test_probability_extremes_are_clipped_finite():
    logits = to_blend_space(np.array([0.0, 1.0]), PROBABILITY)

    assert np.all(np.isfinite(logits))
    np.testing.assert_allclose(to_natural(logits, PROBABILITY), [1e-6, 1 - 1e-6], rtol=1e-9)


def test_quantity_log1p_known_values_and_round_trip():
    # Quantities are blended as log(1 + q), so zero demand maps to 0 and e - 1 maps to 1.
    quantities = np.array([0.0, math.e - 1, 250.0])
    logs = to_blend_space(quantities, QUANTITY)

    np.testing.assert_allclose(logs[:2], [0.0, 1.0])
    np.testing.assert_allclose(to_natural(logs, QUANTITY), quantities, rtol=1e-12)


def test_quantity_rejects_negative_values():
    with pytest.raises(ValueError, match="-1.0"):
        to_blend_space(np.array([1.0, -1.0]), QUANTITY)


def test_ranking_to_natural_is_identity():
    values = np.array([[0.3, -1.2]])

    assert to_natural(values, RANKING) is values


# ------------------------------------------------------------------------------ fixed blender
def test_fixed_blender_finds_peak_on_grid():
    # With deep = 1 and classic = 0 the blend equals alpha, and the scorer peaks at 0.3.
    deep, classic = np.ones(10), np.zeros(10)
    blender = FixedAlphaBlender(grid_size=11).fit(deep, classic, lambda blended: -(blended.mean() - 0.3) ** 2, "max")

    assert blender.alpha_ == pytest.approx(0.3)
    assert len(blender.curve_) == 11
    assert [alpha for alpha, _ in blender.curve_] == pytest.approx(np.linspace(0, 1, 11).tolist())


def test_fixed_blender_direction_min():
    deep, classic = np.ones(10), np.zeros(10)
    blender = FixedAlphaBlender(grid_size=11).fit(deep, classic, lambda blended: abs(blended.mean() - 0.7), "min")

    assert blender.alpha_ == pytest.approx(0.7)


def test_fixed_blender_perfect_deep_gives_alpha_one():
    # Quantity target: the deep side equals log(1 + truth) and the classic side is noise, so the
    # squared error is 0 at alpha = 1 and grows as alpha decreases.
    rng = np.random.default_rng(1)
    truth = rng.uniform(1, 50, size=500)
    deep = to_blend_space(truth, QUANTITY)
    classic = rng.normal(size=500) * 3
    blender = FixedAlphaBlender(grid_size=11).fit(deep, classic, lambda blended: float(np.mean((blended - np.log1p(truth)) ** 2)), "min")

    assert blender.alpha_ == 1.0


def test_fixed_blender_perfect_classic_gives_alpha_zero():
    rng = np.random.default_rng(2)
    truth = rng.uniform(1, 50, size=500)
    classic = to_blend_space(truth, QUANTITY)
    deep = rng.normal(size=500) * 3
    blender = FixedAlphaBlender(grid_size=21).fit(deep, classic, lambda blended: float(np.mean((blended - np.log1p(truth)) ** 2)), "min")

    assert blender.alpha_ == 0.0


def test_fixed_blender_ties_go_to_smaller_alpha():
    blender = FixedAlphaBlender(grid_size=5).fit(np.ones(3), np.zeros(3), lambda blended: 1.0, "max")

    assert blender.alpha_ == 0.0


def test_fixed_blender_rejects_grid_of_one():
    with pytest.raises(ValueError, match="grid_size must be at least 2"):
        FixedAlphaBlender(grid_size=1).fit(np.ones(3), np.zeros(3), lambda blended: 0.0, "max")


def test_unfitted_blenders_raise():
    with pytest.raises(RuntimeError, match="not fitted"):
        FixedAlphaBlender().alpha()
    with pytest.raises(RuntimeError, match="not fitted"):
        ContextAlphaBlender(features=["x"]).alpha({"x": np.zeros(3)})


# ---------------------------------------------------------------------------- context blender
def gated_ranking_problem(seed: int, n_users: int = 400, n_items: int = 30):
    """Build a ranking problem where deep is right for users with high x and classic for low x.

    Returns (deep, classic, truth, context) with deep and classic already z-scored per user,
    truth a binary csr matrix with 3 relevant items per user and context {"x": (n_users, 1)}.
    """
    rng = np.random.default_rng(seed)
    truth = np.zeros((n_users, n_items), dtype=np.float32)
    for user in range(n_users):
        truth[user, rng.choice(n_items, size=3, replace=False)] = 1.0
    x = rng.uniform(0.0, 1.0, size=(n_users, 1))

    informed = truth + 0.3 * rng.normal(size=truth.shape)
    noise_deep = rng.normal(size=truth.shape)
    noise_classic = rng.normal(size=truth.shape)
    deep = np.where(x > 0.5, informed, noise_deep)
    classic = np.where(x > 0.5, noise_classic, informed)
    return to_blend_space(deep, RANKING), to_blend_space(classic, RANKING), sp.csr_matrix(truth), {"x": x}


def ndcg_at_5(blended: np.ndarray, truth: sp.csr_matrix) -> float:
    return ranking_metrics(blended, truth, k=5)["ndcg@5"]


@pytest.fixture(scope="module")
def fitted_blenders():
    deep, classic, truth, context = gated_ranking_problem(seed=0)
    fixed = FixedAlphaBlender(grid_size=11).fit(deep, classic, lambda blended: ndcg_at_5(blended, truth), "max")
    gate = ContextAlphaBlender(features=["x"], steps=300).fit(deep, classic, truth, context, RANKING, initial_alpha=fixed.alpha_)
    return fixed, gate


def test_context_blender_learns_gate_sign(fitted_blenders):
    _, gate = fitted_blenders

    assert gate.weights_["x"] > 0.5
    alphas = gate.alpha({"x": np.array([[0.05], [0.95]])}).ravel()
    assert alphas[0] < 0.3
    assert alphas[1] > 0.7


def test_context_blender_beats_best_fixed_alpha(fitted_blenders):
    fixed, gate = fitted_blenders
    # Score on a fresh sample of the same problem, not on the rows the blenders were fitted on.
    deep, classic, truth, context = gated_ranking_problem(seed=1)

    fixed_ndcg = ndcg_at_5(fixed.blend(deep, classic), truth)
    gate_ndcg = ndcg_at_5(gate.blend(deep, classic, context), truth)
    assert gate_ndcg > fixed_ndcg + 0.1


def test_context_blender_names_missing_feature(fitted_blenders):
    _, gate = fitted_blenders

    with pytest.raises(KeyError, match="'x'"):
        gate.alpha({"other": np.zeros(3)})


def test_context_blender_quantity_target():
    # Deep is log(1 + truth) where x > 0 and classic is where x <= 0, so the gate must rise with x.
    rng = np.random.default_rng(3)
    truth = rng.uniform(1, 50, size=600)
    x = rng.normal(size=600)
    right, wrong = np.log1p(truth), rng.normal(size=600) * 2
    deep = np.where(x > 0, right, wrong)
    classic = np.where(x > 0, wrong, right)
    gate = ContextAlphaBlender(features=["x"], steps=300).fit(deep, classic, truth, {"x": x}, QUANTITY)

    assert gate.weights_["x"] > 0.5


# ------------------------------------------------------------------------------ serialization
def test_blenders_round_trip_through_json(fitted_blenders):
    deep, classic, _, context = gated_ranking_problem(seed=2)
    for blender in fitted_blenders:
        restored = blender_from_dict(json.loads(json.dumps(blender.to_dict())))

        assert type(restored) is type(blender)
        np.testing.assert_array_equal(restored.blend(deep, classic, context), blender.blend(deep, classic, context))


def test_fixed_blender_round_trip_keeps_curve(fitted_blenders):
    fixed, _ = fitted_blenders
    restored = blender_from_dict(json.loads(json.dumps(fixed.to_dict())))

    assert restored.alpha_ == fixed.alpha_
    assert restored.curve_ == fixed.curve_


def test_blender_from_dict_rejects_unknown_kind():
    with pytest.raises(ValueError, match="'magic'"):
        blender_from_dict({"kind": "magic"})


# -------------------------------------------------------------------------------- attribution
def test_attribute_deep_driver():
    # alpha 0.5: deep part 0.5 * 2 = 1.0, classic part 0.5 * 0.5 = 0.25, deep share 1 / 1.25 = 0.8.
    reason = attribute(2.0, 0.5, 0.5)

    assert reason["deep_contribution"] == pytest.approx(1.0)
    assert reason["classic_contribution"] == pytest.approx(0.25)
    assert reason["deep_share"] == pytest.approx(0.8)
    assert reason["driver"] == "deep"
    assert reason["alpha"] == 0.5


def test_attribute_classic_driver():
    # Deep part 0.5 * 0.2 = 0.1, classic part 0.5 * -1 = -0.5, deep share 0.1 / 0.6 = 1/6.
    reason = attribute(0.2, -1.0, 0.5)

    assert reason["classic_contribution"] == pytest.approx(-0.5)
    assert reason["deep_share"] == pytest.approx(1 / 6)
    assert reason["driver"] == "classic"


def test_attribute_both_drive():
    # Equal parts 0.5 and 0.5 give a deep share of 0.5, below 0.6 on both sides.
    reason = attribute(1.0, 1.0, 0.5)

    assert reason["deep_share"] == pytest.approx(0.5)
    assert reason["driver"] == "both"


def test_attribute_zero_contributions_are_both():
    reason = attribute(0.0, 0.0, 0.3)

    assert reason["deep_share"] == 0.5
    assert reason["driver"] == "both"


def test_attribute_uses_reference():
    # Around reference 1: deep part 0.5 * (3 - 1) = 1, classic part 0.5 * (1 - 1) = 0.
    reason = attribute(3.0, 1.0, 0.5, reference=1.0)

    assert reason["classic_contribution"] == 0.0
    assert reason["deep_share"] == 1.0
    assert reason["driver"] == "deep"


def test_mix_with_one_side_missing():
    from engine.blend import mix

    deep = np.array([[1.0, 2.0, np.nan, np.nan]])
    classic = np.array([[3.0, np.nan, 4.0, np.nan]])
    blended = mix(0.25, deep, classic)

    assert blended[0, 0] == pytest.approx(0.25 * 1.0 + 0.75 * 3.0)
    assert blended[0, 1] == 2.0
    assert blended[0, 2] == 4.0
    assert np.isnan(blended[0, 3])


def test_attribute_with_classic_missing():
    reason = attribute(1.5, float("nan"), 0.3)

    assert reason["driver"] == "deep"
    assert reason["alpha"] == 1.0
    assert reason["deep_contribution"] == 1.5
    assert reason["classic_contribution"] == 0.0
