"""Quality targets on real data, through the whole runner: the blend must beat its parts.

These runs take about a minute each on 2 CPU cores, so they are marked slow and need the data
directory (DECISION_ENGINE_DATA_DIR) with movielens-100k/ and dominicks-orange-juice/.
"""

from __future__ import annotations

import pytest

from engine.config import load_config
from engine.runner import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def movielens_result(ray_local, movielens_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("movielens-run")
    config = load_config("configs/recommend-movielens.yaml", output_dir=str(folder), data_dir=str(movielens_dir.parent),
                         **{"encoder.cache_dir": str(folder / "cache")})
    return run(config)


def test_movielens_blend_reaches_ndcg_target(movielens_result):
    served = movielens_result.rows[movielens_result.selected]

    assert served["ndcg@10"] >= 0.45


def test_movielens_blend_beats_both_parts(movielens_result):
    served = movielens_result.rows[movielens_result.selected]

    for part in ("deep only", "classic only"):
        assert served["ndcg@10"] > movielens_result.rows[part]["ndcg@10"], part
        assert served["recall@10"] > movielens_result.rows[part]["recall@10"], part


def test_movielens_blend_finds_cold_items_cf_misses(movielens_result):
    served = movielens_result.rows[movielens_result.selected]

    assert movielens_result.rows["classic only"]["zero_interaction_hits"] == 0
    assert served["cold_hits_beyond_classic"] > 0
    assert served["zero_interaction_hits"] > 0


def test_orange_juice_blend_beats_parts_and_naive(ray_local, oj_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("oj-run")
    config = load_config("configs/pricing-oj.yaml", output_dir=str(folder), data_dir=str(oj_dir.parent),
                         **{"encoder.cache_dir": str(folder / "cache"), "params.max_decisions": 10})
    result = run(config)
    served = result.rows[result.selected]

    for baseline in ("deep only", "classic only", "naive last week"):
        assert served["wape"] < result.rows[baseline]["wape"], baseline
