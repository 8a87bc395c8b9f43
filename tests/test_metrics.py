"""Known-answer tests of the ranking and regression metrics, with the arithmetic done by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from engine.metrics import catalog_coverage, log_loss, ranking_metrics, regression_metrics, top_k, wape
from engine.metrics.ranking import per_user_ranking_metrics

LOG2_3 = math.log2(3)


def relevance(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    """Build a binary (n_users, n_items) relevance matrix from per-user lists of relevant items."""
    dense = np.zeros((len(rows), n_items), dtype=np.float32)
    for user, items in enumerate(rows):
        dense[user, items] = 1.0
    return sp.csr_matrix(dense)


def test_ranking_metrics_one_user_known_values():
    # Top-3 of the scores is [0, 1, 2]; the relevant items are {1, 3}, so the hits are [0, 1, 0].
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])
    result = ranking_metrics(scores, relevance([[1, 3]], 5), k=3)

    # DCG = 1 / log2(3); ideal DCG over min(2, 3) = 2 items = 1 + 1 / log2(3).
    assert result["ndcg@3"] == pytest.approx((1 / LOG2_3) / (1 + 1 / LOG2_3))
    assert result["ndcg@3"] == pytest.approx(0.386853, abs=1e-6)
    # 1 hit out of k = 3 recommended, out of 2 relevant.
    assert result["precision@3"] == pytest.approx(1 / 3)
    assert result["recall@3"] == pytest.approx(1 / 2)
    # Precision at the hit (rank 2) is 1/2, divided by min(2 relevant, k=3) = 2.
    assert result["map@3"] == pytest.approx(0.25)
    assert result["hit_rate@3"] == 1.0
    assert result["users"] == 1


def test_ranking_metrics_average_over_users_with_relevant_items():
    scores = np.array(
        [
            [0.9, 0.8, 0.7, 0.6, 0.5],  # top-3 [0, 1, 2], relevant {1, 3}: values of the test above
            [0.1, 0.2, 0.3, 0.4, 0.5],  # top-3 [4, 3, 2], relevant {4}: hit at rank 1
            [0.5, 0.4, 0.3, 0.2, 0.1],  # no relevant item, so this user is left out of the means
        ]
    )
    result = ranking_metrics(scores, relevance([[1, 3], [4], []], 5), k=3)

    ndcg_first = (1 / LOG2_3) / (1 + 1 / LOG2_3)
    # Second user: nDCG 1, precision 1/3, recall 1, MAP 1/1 = 1, hit 1.
    assert result["users"] == 2
    assert result["ndcg@3"] == pytest.approx((ndcg_first + 1.0) / 2)
    assert result["precision@3"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert result["recall@3"] == pytest.approx((0.5 + 1.0) / 2)
    assert result["map@3"] == pytest.approx((0.25 + 1.0) / 2)
    assert result["hit_rate@3"] == 1.0


def test_ranking_metrics_more_relevant_than_k():
    # Relevant {0, 1, 2, 3}, top-2 [0, 1]: both hit.
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])
    result = ranking_metrics(scores, relevance([[0, 1, 2, 3]], 5), k=2)

    # Ideal DCG covers min(4, 2) = 2 items, equal to the DCG, so nDCG is 1.
    assert result["ndcg@2"] == pytest.approx(1.0)
    assert result["precision@2"] == pytest.approx(1.0)
    assert result["recall@2"] == pytest.approx(2 / 4)
    # (precision@1 + precision@2) / min(4, 2) = (1 + 1) / 2.
    assert result["map@2"] == pytest.approx(1.0)


def test_ranking_metrics_miss_gives_zero():
    scores = np.array([[0.9, 0.8, 0.1]])
    result = ranking_metrics(scores, relevance([[2]], 3), k=2)

    for name in ("ndcg@2", "precision@2", "recall@2", "map@2", "hit_rate@2"):
        assert result[name] == 0.0, name


def test_excluded_items_are_never_recommended():
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])
    seen = sp.csr_matrix(np.array([[1, 1, 0, 0, 0]], dtype=np.float32))

    recommended = top_k(scores, 2, exclude=seen)
    assert recommended.tolist() == [[2, 3]]

    # With items 0 and 1 excluded the top-2 is [2, 3] and the relevant item 3 is at rank 2:
    # nDCG = (1 / log2(3)) / 1, MAP = (1/2) / min(1, 2).
    result = ranking_metrics(scores, relevance([[3]], 5), k=2, exclude=seen)
    assert result["ndcg@2"] == pytest.approx(1 / LOG2_3)
    assert result["map@2"] == pytest.approx(0.5)


def test_excluded_relevant_item_counts_as_miss():
    # The only relevant item is excluded (seen in training), so no list can hit it.
    scores = np.array([[0.9, 0.8, 0.7]])
    seen = sp.csr_matrix(np.array([[1, 0, 0]], dtype=np.float32))
    result = ranking_metrics(scores, relevance([[0]], 3), k=2, exclude=seen)

    assert result["hit_rate@2"] == 0.0
    assert result["users"] == 1


def test_top_k_ties_break_to_lower_index():
    assert top_k(np.ones((1, 4)), 2).tolist() == [[0, 1]]
    assert top_k(np.array([[0.5, 0.9, 0.5, 0.9]]), 3).tolist() == [[1, 3, 0]]
    assert top_k(np.array([[0.5, 0.9, 0.5, 0.9]]), 4).tolist() == [[1, 3, 0, 2]]


def test_top_k_is_deterministic_on_many_ties():
    scores = np.round(np.random.default_rng(0).random((50, 200)), 1)  # 11 distinct values, many ties
    first = top_k(scores, 20)

    assert np.array_equal(first, top_k(scores.copy(), 20))
    # Within each row the order is by score descending, then by item index ascending.
    for row, items in zip(scores, first):
        keys = [(-row[item], item) for item in items]
        assert keys == sorted(keys)


def test_top_k_treats_nan_as_lowest():
    assert top_k(np.array([[np.nan, 0.1, 0.2]]), 2).tolist() == [[2, 1]]


def test_catalog_coverage_known_value():
    # Items 0, 1 and 2 appear in some list: 3 of 5.
    assert catalog_coverage(np.array([[0, 1], [1, 2]]), 5) == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("scores", "k", "exclude", "message"),
    [
        (np.ones(5), 2, None, "2-D"),
        (np.ones((2, 5)), 0, None, "k must be between 1 and n_items=5"),
        (np.ones((2, 5)), 6, None, "k must be between 1 and n_items=5"),
        (np.ones((2, 5)), 2, sp.csr_matrix((2, 4)), "exclude has shape"),
    ],
)
def test_top_k_rejects_bad_shapes(scores, k, exclude, message):
    with pytest.raises(ValueError, match=message):
        top_k(scores, k, exclude)


def test_per_user_metrics_reject_row_mismatch():
    with pytest.raises(ValueError, match="recommended has 2 rows but relevant has 3"):
        per_user_ranking_metrics(np.zeros((2, 3), dtype=int), relevance([[0], [1], [2]], 4), 3)


def test_wape_known_value():
    # |10-12| + |20-18| + |30-33| = 7, divided by 10 + 20 + 30 = 60.
    assert wape([10, 20, 30], [12, 18, 33]) == pytest.approx(7 / 60)


def test_regression_metrics_known_values():
    result = regression_metrics([10, 20, 30], [12, 18, 33])

    # Errors y_hat - y are [2, -2, 3].
    assert result["wape"] == pytest.approx(7 / 60)
    assert result["mae"] == pytest.approx(7 / 3)
    assert result["rmse"] == pytest.approx(math.sqrt((4 + 4 + 9) / 3))
    assert result["bias"] == pytest.approx(1.0)


def test_log_loss_known_value():
    # -(ln 0.8 + ln(1 - 0.4)) / 2
    assert log_loss([1, 0], [0.8, 0.4]) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([1.0, 2.0], [1.0], "shape"),
        ([], [], "empty"),
        ([1.0, 2.0], [1.0, float("nan")], "NaN"),
        ([0.0, 0.0], [1.0, 1.0], "every true value is 0"),
    ],
)
def test_wape_rejects_bad_input(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        wape(y_true, y_pred)
