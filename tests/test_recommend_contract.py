"""The domain contract on the recommend plug-in, with a small Online Retail slice as a CSV dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contract import DomainContract

DATA = Path(__file__).resolve().parent / "data"
INTERACTIONS = DATA / "retail_slice_interactions.csv.gz"
ITEMS = DATA / "retail_slice_items.csv"


def small_recommend_params() -> dict:
    """Return recommend params for the fixture slice: 21-day valid and test windows, tiny models."""
    return {
        "dataset": "csv",
        "interactions_path": str(INTERACTIONS),
        "items_path": str(ITEMS),
        "protocol": "temporal",
        "holdout_days": 21,
        "k": 5,
        "deep": {"epochs": 2, "dim": 32, "hidden_dim": 64, "batch_size": 64, "num_threads": 1},
        "classic": {"kind": "ease"},
    }


class TestRecommendContract(DomainContract):
    domain_name = "recommend"

    @pytest.fixture(scope="class")
    @classmethod
    def params(cls):
        return small_recommend_params()

    def make_request(self, data):
        return {"user_id": str(data.index.users[0]), "k": 5}

    def bad_requests(self, data):
        known_user = str(data.index.users[0])
        return [
            {"user_id": "no-such-user"},
            {"history": ["NO-SUCH-ITEM"]},
            {"history": []},
            {"user_id": known_user, "k": 0},
            {"user_id": known_user, "k": "five"},
            {},
        ]

    def check_decision(self, decision, request, bundle):
        items = decision["items"]
        index = bundle.state["index"]
        user_row = bundle.state["history"][index.users.get_loc(request["user_id"])]
        seen = set(index.items[user_row.indices])

        assert len(items) == request["k"]
        ids = [item["item_id"] for item in items]
        assert len(set(ids)) == len(ids)
        assert seen.isdisjoint(ids)
        scores = [item["score"] for item in items]
        assert scores == sorted(scores, reverse=True)
        for item in items:
            assert item["because_you_bought"], item["item_id"]
            assert {entry["item_id"] for entry in item["because_you_bought"]} <= seen

    def test_decide_for_new_user_history(self, saved_bundle):
        catalog = saved_bundle.state["items"]["item_id"].tolist()
        history = catalog[:2]
        decision = saved_bundle.domain.decide(saved_bundle, {"history": history, "k": 3})

        assert decision["history_source"] == "request history"
        assert decision["history_size"] == 2
        assert len(decision["items"]) == 3
        assert set(history).isdisjoint(item["item_id"] for item in decision["items"])

    def test_unknown_user_error_names_user(self, saved_bundle):
        with pytest.raises(ValueError, match="no-such-user"):
            saved_bundle.domain.decide(saved_bundle, {"user_id": "no-such-user"})

    def test_valid_split_excludes_training_items(self, data, outputs):
        # On the validation split the excluded cells are exactly the users' training rows, and no
        # relevant cell is excluded.
        result = outputs["valid"]
        rows = data.index.user_index(result.user_ids)
        train = data.matrix("train")[rows]

        assert (result.exclude != train).nnz == 0
        assert result.truth.multiply(result.exclude).nnz == 0
        assert np.all(np.diff(result.truth.indptr) > 0)
