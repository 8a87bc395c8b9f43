"""Splits and integer indexing: known per-user counts, time boundaries, removed rows and CSR matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from domains.recommend.data import RecData, load_movielens_100k, load_online_retail_interactions
from domains.recommend.split import InteractionIndex, make_split, stratified_split, temporal_split
from engine.drops import DropReport

# Users with 1, 2, 4, 6 and 10 rows, and the train size round(0.75 * n) with halves rounded to even.
ROWS_PER_USER = {"u1": 1, "u2": 2, "u4": 4, "u6": 6, "u10": 10}
EXPECTED_FIRST = {"u1": 1, "u2": 2, "u4": 3, "u6": 4, "u10": 8}  # 0.75, 1.5, 3, 4.5, 7.5


def _frame_per_user(rows_per_user: dict[str, int]) -> pd.DataFrame:
    rows = [
        {"user_id": user, "item_id": f"i{k}", "timestamp": pd.Timestamp("2024-01-01") + pd.Timedelta(days=k)}
        for user, n in rows_per_user.items()
        for k in range(n)
    ]
    frame = pd.DataFrame(rows)
    frame["weight"] = 1.0
    return frame


def _day(d: int) -> pd.Timestamp:
    return pd.Timestamp("2024-01-01") + pd.Timedelta(days=d - 1)


def test_stratified_split_per_user_counts():
    df = _frame_per_user(ROWS_PER_USER)

    first, second = stratified_split(df, ratio=0.75, seed=42)

    assert first.groupby("user_id").size().to_dict() == EXPECTED_FIRST
    expected_second = {user: ROWS_PER_USER[user] - n for user, n in EXPECTED_FIRST.items() if ROWS_PER_USER[user] > n}
    assert second.groupby("user_id").size().to_dict() == expected_second


def test_stratified_split_disjoint_and_complete():
    df = _frame_per_user(ROWS_PER_USER)

    first, second = stratified_split(df, ratio=0.75, seed=42)

    assert first.index.intersection(second.index).empty
    assert sorted(first.index.union(second.index)) == list(df.index)
    assert first.index.is_monotonic_increasing


def test_stratified_split_seeded():
    df = _frame_per_user({"u": 40})

    first_a, _ = stratified_split(df, seed=42)
    first_b, _ = stratified_split(df, seed=42)
    first_c, _ = stratified_split(df, seed=7)

    assert first_a.index.tolist() == first_b.index.tolist()
    assert first_a.index.tolist() != first_c.index.tolist()


def test_stratified_split_ratio_error():
    with pytest.raises(ValueError, match="ratio must be in"):
        stratified_split(_frame_per_user({"u": 4}), ratio=1.5)


def test_temporal_split_holdout_boundaries():
    df = pd.DataFrame({"user_id": "u", "item_id": "i", "timestamp": [_day(d) for d in range(1, 11)]})

    past, future = temporal_split(df, holdout_days=3)

    # The window is (day 10 - 3 days, day 10], so day 7 itself stays in the past.
    assert future["timestamp"].tolist() == [_day(8), _day(9), _day(10)]
    assert past["timestamp"].max() == _day(7)
    assert len(past) == 7


def test_temporal_split_cutoff_boundaries():
    df = pd.DataFrame({"user_id": "u", "item_id": "i", "timestamp": [_day(d) for d in range(1, 11)]})

    past, future = temporal_split(df, cutoff=_day(4))

    assert past["timestamp"].tolist() == [_day(1), _day(2), _day(3)]
    assert future["timestamp"].min() == _day(4)


def test_temporal_split_argument_error():
    df = pd.DataFrame({"user_id": ["u"], "item_id": ["i"], "timestamp": [_day(1)]})

    with pytest.raises(ValueError, match="exactly one of holdout_days"):
        temporal_split(df)


def _toy_data() -> RecData:
    """16 events over 10 days with holdout_days=2: train is days 1-6, valid days 7-8, test days 9-10."""
    events = [
        ("u1", "A", 1), ("u1", "B", 2), ("u2", "A", 3), ("u2", "C", 6),  # train
        ("u1", "A", 7),  # valid: seen in train
        ("u1", "C", 7),  # valid: kept
        ("u1", "C", 8),  # valid: repeated pair
        ("u3", "A", 8),  # valid: user not in train
        ("u2", "C", 9),  # test: seen in train
        ("u2", "D", 9),  # test: kept
        ("u2", "E", 10),  # test: kept, item E has no train rows
        ("u4", "B", 10),  # test: user not in train
        ("u1", "D", 10),  # test: kept
        ("u1", "D", 10),  # test: repeated pair
        ("u5", "A", 10),  # test: user not in train
        ("u5", "B", 10),  # test: user not in train
    ]
    interactions = pd.DataFrame(events, columns=["user_id", "item_id", "day"])
    interactions["timestamp"] = interactions["day"].map(_day)
    items = pd.DataFrame({"item_id": list("ABCDEF"), "text": ["a", "b", "c", "d", "e", "f"]})
    return RecData("toy", interactions.drop(columns="day"), items, DropReport(source="toy", rows_in=len(events)))


def test_make_split_temporal_known_answer():
    split = make_split(_toy_data(), "temporal", holdout_days=2)

    assert len(split.train) == 4
    assert list(zip(split.valid["user_id"], split.valid["item_id"])) == [("u1", "C")]
    assert list(zip(split.test["user_id"], split.test["item_id"])) == [("u2", "D"), ("u2", "E"), ("u1", "D")]
    assert split.drops.dropped == {
        "valid: user not in train": 1,
        "valid: item already in the user's train rows": 1,
        "valid: repeated (user, item) pair": 1,
        "test: user not in train": 3,
        "test: item already in the user's train rows": 1,
        "test: repeated (user, item) pair": 1,
    }
    assert split.drops.rows_in == 16
    assert split.drops.rows_out == len(split.train) + len(split.valid) + len(split.test)


def test_make_split_stratified_counts():
    interactions = _frame_per_user({"u8": 8, "u1": 1})
    items = pd.DataFrame({"item_id": [f"i{k}" for k in range(8)], "text": ""})
    data = RecData("toy", interactions, items, DropReport(source="toy", rows_in=9))

    split = make_split(data, "stratified", ratio=0.75, valid_ratio=0.1)

    # u8: test 8 - round(6) = 2, then valid 6 - round(0.9 * 6 = 5.4) = 1. u1 stays in train.
    assert split.train.groupby("user_id").size().to_dict() == {"u1": 1, "u8": 5}
    assert split.valid["user_id"].tolist() == ["u8"]
    assert split.test["user_id"].tolist() == ["u8", "u8"]
    assert split.drops.rows_dropped == 0


def test_make_split_unknown_protocol_error():
    with pytest.raises(ValueError, match="unknown split protocol 'random'"):
        make_split(_toy_data(), "random")


def test_index_to_csr_known_matrix():
    index = InteractionIndex(pd.Index(["u1", "u2"]), pd.Index(["A", "B", "C"]))
    df = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["A", "A", "C"], "weight": [2.0, 3.0, 1.0]})

    binary = index.to_csr(df)
    weighted = index.to_csr(df, binary=False)

    assert binary.shape == (2, 3)
    assert binary.dtype == np.float32
    np.testing.assert_array_equal(binary.toarray(), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(weighted.toarray(), [[5, 0, 0], [0, 0, 1]])


def test_index_from_data_covers_catalog():
    data = _toy_data()
    split = make_split(data, "temporal", holdout_days=2)

    index = InteractionIndex.from_data(data, split.train)

    assert index.users.tolist() == ["u1", "u2"]
    assert index.items.tolist() == list("ABCDEF")
    assert index.item_index(["F", "A"]).tolist() == [5, 0]
    assert index.user_index("u2").tolist() == [1]


def test_index_unknown_user_error():
    index = InteractionIndex(pd.Index(["u1", "u2"]), pd.Index(["A", "B"]))

    with pytest.raises(KeyError, match=r"unknown user ids \['zz'\] \(2 rows\): the model never saw them"):
        index.user_index(["u1", "zz", "zz"])


def test_index_unknown_item_error():
    index = InteractionIndex(pd.Index(["u1"]), pd.Index(["A", "B"]))

    with pytest.raises(KeyError, match=r"unknown item ids \['Q'\].*item catalog"):
        index.to_csr(pd.DataFrame({"user_id": ["u1"], "item_id": ["Q"]}))


@pytest.mark.dataset
def test_movielens_stratified_split_sizes(movielens_dir):
    data = load_movielens_100k(movielens_dir)

    train, test = stratified_split(data.interactions, ratio=0.75, seed=42)
    split = make_split(data, "stratified", seed=42, ratio=0.75, valid_ratio=0.1)

    assert (len(train), len(test)) == (74_992, 25_008)
    assert (len(split.train), len(split.valid), len(split.test)) == (67_476, 7_516, 25_008)
    assert split.drops.rows_dropped == 0
    rows = data.interactions.groupby("user_id").size()
    assert (test.groupby("user_id").size() == rows - np.round(0.75 * rows)).all()
    index = InteractionIndex.from_data(data, split.train)
    assert index.to_csr(split.train).shape == (943, 1_682)


def test_online_retail_temporal_split_sizes():
    data = load_online_retail_interactions()

    split = make_split(data, "temporal", holdout_days=30)

    assert (len(split.train), len(split.valid), len(split.test)) == (273_870, 22_514, 27_313)
    assert split.train["user_id"].nunique() == 3_728
    assert split.train["item_id"].nunique() == 3_541
    assert split.test["user_id"].nunique() == 1_217
    assert split.test["timestamp"].min() > pd.Timestamp("2011-11-09 12:50:00")
    assert split.valid["timestamp"].max() <= pd.Timestamp("2011-11-09 12:50:00")
    assert split.drops.dropped["test: user not in train"] == 11_891
    assert split.drops.dropped["test: item already in the user's train rows"] == 21_233
