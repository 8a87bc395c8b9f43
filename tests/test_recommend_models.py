"""Known-answer tests for the classic CF and two-tower recommenders on small synthetic data.

Two disjoint user groups each interact only with their own block of items, so a group-A user who
has seen part of block A must be recommended the rest of block A before anything from block B.
"""

from __future__ import annotations

import cloudpickle
import numpy as np
import pytest
import scipy.sparse as sp

from domains.recommend.classic import CFRecommender
from domains.recommend.deep import TwoTowerRecommender

BLOCK = 6  # items per block: block A = items 0..5, block B = items 6..11
USERS_PER_GROUP = 12
N_ITEMS = 2 * BLOCK + 1  # item 12 never appears in train (cold item)
COLD_ITEM = 2 * BLOCK
CF_KINDS = [
    {"kind": "ease", "regularization": 1.0},
    {"kind": "als", "factors": 4, "regularization": 0.1, "iterations": 10, "num_threads": 1},
    {"kind": "bm25", "K": 20, "num_threads": 1},
    {"kind": "cosine", "K": 20, "num_threads": 1},
]
DEEP_PARAMS = {"dim": 8, "hidden_dim": 16, "epochs": 40, "batch_size": 8, "lr": 1e-2, "min_id_count": 2}


def block_matrix() -> sp.csr_matrix:
    """Users 0..11 saw 4-5 items of block A, users 12..23 the same pattern in block B."""
    rng = np.random.default_rng(0)
    rows, cols = [], []
    for user in range(2 * USERS_PER_GROUP):
        offset = 0 if user < USERS_PER_GROUP else BLOCK
        items = rng.choice(BLOCK, size=rng.integers(4, BLOCK), replace=False) + offset
        rows += [user] * len(items)
        cols += list(items)
    values = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((values, (rows, cols)), shape=(2 * USERS_PER_GROUP, N_ITEMS))


def block_embeddings() -> np.ndarray:
    """Text embeddings: block A near axis 0, block B near axis 1, the cold item exactly on axis 0."""
    rng = np.random.default_rng(1)
    embeddings = 0.05 * rng.standard_normal((N_ITEMS, 16)).astype(np.float32)
    embeddings[:BLOCK, 0] += 1.0
    embeddings[BLOCK : 2 * BLOCK, 1] += 1.0
    embeddings[COLD_ITEM] = 0.0
    embeddings[COLD_ITEM, 0] = 1.0
    return embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)


def history(items: list[int]) -> sp.csr_matrix:
    values = np.ones(len(items), dtype=np.float32)
    return sp.csr_matrix((values, (np.zeros(len(items), dtype=int), items)), shape=(1, N_ITEMS))


def top_unseen(scores: np.ndarray, seen: list[int], k: int) -> set[int]:
    masked = scores.astype(np.float64).copy()
    masked[seen] = -np.inf
    return set(np.argsort(-masked)[:k].tolist())


@pytest.fixture(scope="module")
def train() -> sp.csr_matrix:
    return block_matrix()


@pytest.fixture(scope="module")
def embeddings() -> np.ndarray:
    return block_embeddings()


@pytest.fixture(scope="module", params=CF_KINDS, ids=[params["kind"] for params in CF_KINDS])
def cf_model(request, train) -> CFRecommender:
    return CFRecommender(**request.param).fit(train)


@pytest.fixture(scope="module")
def deep_model(train, embeddings) -> TwoTowerRecommender:
    return TwoTowerRecommender(**DEEP_PARAMS).fit(train, embeddings)


@pytest.fixture(params=["cf", "deep"])
def any_model(request, cf_model, deep_model):
    return cf_model if request.param == "cf" else deep_model


# ---------------------------------------------------------------------------- known-answer cases
@pytest.mark.parametrize("seen", [[0, 1, 2], [3, 4]])
def test_rest_of_block_ranks_first(any_model, seen):
    scores = any_model.score(history(seen))[0]
    rest_of_block = set(range(BLOCK)) - set(seen)

    # The cold item is left out: its text matches block A, so the deep model may rank it high too.
    assert top_unseen(scores, seen + [COLD_ITEM], len(rest_of_block)) == rest_of_block
    best_other_block = scores[BLOCK : 2 * BLOCK].max()
    assert scores[sorted(rest_of_block)].min() > best_other_block


def test_group_b_user_gets_block_b(any_model):
    seen = [6, 7, 8]
    scores = any_model.score(history(seen))[0]

    assert scores[[9, 10, 11]].min() > scores[:BLOCK].max()


def test_deep_ranks_cold_item_by_text(deep_model):
    seen = list(range(BLOCK))
    scores = deep_model.score(history(seen))[0]

    assert deep_model.item_counts_[COLD_ITEM] == 0
    assert scores[COLD_ITEM] > scores[BLOCK : 2 * BLOCK].max()


def test_explain_names_same_block_item(any_model):
    row = history([0, 7])

    explanation = any_model.explain(row, item=1, top=2)

    assert explanation[0][0] == 0
    assert explanation[0][1] > explanation[1][1]
    assert {item for item, _ in explanation} == {0, 7}


def test_cf_explain_sums_to_score(cf_model):
    row = history([0, 2, 7])

    explanation = cf_model.explain(row, item=1, top=10)
    score = cf_model.score(row)[0, 1]

    assert sum(value for _, value in explanation) == pytest.approx(score, rel=1e-4, abs=1e-5)


def test_ease_weights_match_closed_form():
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=np.float32))
    gram = (matrix.T @ matrix).toarray() + 2.0 * np.eye(3)
    precision = np.linalg.inv(gram)
    expected = -precision / np.diag(precision)
    np.fill_diagonal(expected, 0.0)

    model = CFRecommender(kind="ease", regularization=2.0).fit(matrix)

    np.testing.assert_allclose(model.item_weights_, expected, rtol=1e-5)
    np.testing.assert_allclose(model.score(matrix), matrix.toarray() @ expected, rtol=1e-5)


# ----------------------------------------------------------------------------- consistency
def test_batch_equals_row_by_row(any_model, train):
    batch = any_model.score(train)
    rows = np.vstack([any_model.score(train[i : i + 1]) for i in range(train.shape[0])])

    assert batch.shape == (train.shape[0], N_ITEMS)
    assert batch.dtype == np.float32
    np.testing.assert_allclose(batch, rows, rtol=1e-5, atol=1e-6)


def test_save_load_round_trip(any_model, train, tmp_path):
    any_model.save(tmp_path / "model")
    loaded = type(any_model).load(tmp_path / "model")

    np.testing.assert_array_equal(loaded.score(train), any_model.score(train))
    assert loaded.get_params() == any_model.get_params()


def test_cloudpickle_round_trip(any_model, train):
    restored = cloudpickle.loads(cloudpickle.dumps(any_model))

    np.testing.assert_array_equal(restored.score(train), any_model.score(train))


def test_deep_fit_is_deterministic(train, embeddings):
    first = TwoTowerRecommender(**DEEP_PARAMS).fit(train, embeddings).score(train)
    second = TwoTowerRecommender(**DEEP_PARAMS).fit(train, embeddings).score(train)

    np.testing.assert_array_equal(first, second)


def test_als_fold_in_matches_training_factors(train):
    from implicit.cpu.als import AlternatingLeastSquares

    model = CFRecommender(kind="als", factors=4, regularization=0.1, alpha=3.0, num_threads=1).fit(train)
    reference = AlternatingLeastSquares(
        factors=4, regularization=0.1, alpha=1.0, iterations=15, use_cg=False, random_state=42, num_threads=1
    )
    reference.fit((train * 3.0).tocsr(), show_progress=False)

    np.testing.assert_allclose(model.item_factors_, reference.item_factors, rtol=1e-5)
    # Fold-in solves against the final item factors, while implicit's user factors come from the
    # last user half-step (against the previous item factors), so the two agree only approximately.
    expected = np.asarray(reference.user_factors) @ np.asarray(reference.item_factors).T
    np.testing.assert_allclose(model.score(train), expected, atol=0.05)


# ----------------------------------------------------------------------------- bad input
def test_deep_rejects_missing_embeddings(train):
    with pytest.raises(ValueError, match="item_embeddings"):
        TwoTowerRecommender(**DEEP_PARAMS).fit(train, None)


def test_deep_rejects_wrong_embedding_shape(train):
    with pytest.raises(ValueError, match=r"shape \(n_items=13"):
        TwoTowerRecommender(**DEEP_PARAMS).fit(train, np.zeros((N_ITEMS - 1, 16), dtype=np.float32))


def test_deep_rejects_nan_embeddings(train, embeddings):
    broken = embeddings.copy()
    broken[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TwoTowerRecommender(**DEEP_PARAMS).fit(train, broken)


@pytest.mark.parametrize("model_class", [CFRecommender, TwoTowerRecommender])
def test_empty_train_rejected(model_class, embeddings):
    empty = sp.csr_matrix((3, N_ITEMS), dtype=np.float32)
    with pytest.raises(ValueError, match="empty"):
        model_class().fit(empty, embeddings)


@pytest.mark.parametrize("model_class", [CFRecommender, TwoTowerRecommender])
def test_nan_train_rejected(model_class, train, embeddings):
    broken = train.copy()
    broken.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model_class().fit(broken, embeddings)


def test_negative_train_rejected(train):
    broken = train.copy()
    broken.data[0] = -1.0
    with pytest.raises(ValueError, match="negative"):
        CFRecommender().fit(broken)


def test_dense_train_rejected(train):
    with pytest.raises(ValueError, match="scipy.sparse"):
        CFRecommender().fit(train.toarray())


def test_history_with_wrong_width_rejected(any_model):
    with pytest.raises(ValueError, match="item columns"):
        any_model.score(sp.csr_matrix((1, N_ITEMS + 2), dtype=np.float32))


def test_explain_unknown_item_rejected(any_model):
    with pytest.raises(KeyError, match="out of range"):
        any_model.explain(history([0]), item=N_ITEMS)


def test_unfitted_score_rejected():
    with pytest.raises(RuntimeError, match="not fitted"):
        CFRecommender().score(history([0]))


def test_unknown_cf_kind_rejected(train):
    with pytest.raises(ValueError, match="unknown CF kind 'svd'"):
        CFRecommender(kind="svd").fit(train)
