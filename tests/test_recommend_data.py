"""The recommendation data contract: validation errors, the CSV adapter, MovieLens 100K and Online Retail."""

from __future__ import annotations

import pandas as pd
import pytest

from domains.recommend.data import (
    RecData,
    load_interactions_csv,
    load_movielens_100k,
    load_online_retail_interactions,
    validate_interactions,
    validate_items,
)
from engine.drops import DropReport


def _events(**columns) -> pd.DataFrame:
    base = {
        "user_id": [1, 1, 2],
        "item_id": [10, 11, 10],
        "timestamp": [881250949, 891717742, 878887116],
    }
    base.update(columns)
    return pd.DataFrame(base)


def _items(ids=("10", "11"), texts=("Red mug", "Blue mug")) -> pd.DataFrame:
    return pd.DataFrame({"item_id": list(ids), "text": list(texts)})


def test_interactions_coerced_to_contract():
    out = validate_interactions(_events(extra=["a", "b", "c"]))

    assert list(out.columns) == ["user_id", "item_id", "timestamp", "weight"]
    assert out["user_id"].tolist() == ["1", "1", "2"]
    assert out["item_id"].tolist() == ["10", "11", "10"]
    assert out["timestamp"].dtype == "datetime64[ns]"
    assert out["timestamp"].iloc[0] == pd.Timestamp("1997-12-04 15:55:49")
    assert out["weight"].dtype == "float64"
    assert out["weight"].tolist() == [1.0, 1.0, 1.0]


def test_interactions_rating_used_as_weight():
    out = validate_interactions(_events(rating=[5, 3, 4]))

    assert out["weight"].tolist() == [5.0, 3.0, 4.0]


def test_interactions_float_ids_lose_decimal():
    out = validate_interactions(_events(user_id=[17850.0, 17850.0, 13047.0]))

    assert out["user_id"].tolist() == ["17850", "17850", "13047"]


def test_interactions_date_strings_parsed():
    out = validate_interactions(_events(timestamp=["2011-12-09 12:50:00", "2011-12-09", "2010-12-01T08:26:00"]))

    assert out["timestamp"].tolist() == [
        pd.Timestamp("2011-12-09 12:50:00"),
        pd.Timestamp("2011-12-09"),
        pd.Timestamp("2010-12-01 08:26:00"),
    ]


def test_interactions_missing_column_error():
    with pytest.raises(ValueError, match=r"missing the columns \['timestamp'\].*Rename your columns"):
        validate_interactions(_events().drop(columns=["timestamp"]))


def test_interactions_empty_error():
    with pytest.raises(ValueError, match="interactions are empty"):
        validate_interactions(_events().iloc[0:0])


def test_interactions_nan_rating_error():
    events = _events(rating=[5.0, float("nan"), float("nan")])

    with pytest.raises(ValueError, match=r"missing rating on 2 rows \(first users: \['1', '2'\]\)"):
        validate_interactions(events)


def test_interactions_non_numeric_weight_error():
    with pytest.raises(ValueError, match=r"'weight' has 1 non-numeric values \(first: \['high'\]\)"):
        validate_interactions(_events(weight=[1.0, "high", 2.0]))


def test_interactions_non_positive_weight_error():
    with pytest.raises(ValueError, match=r"'weight' has 1 values <= 0 \(first: \[-1.0\]\)"):
        validate_interactions(_events(weight=[1.0, -1.0, 2.0]))


def test_interactions_bad_timestamp_error():
    events = _events(timestamp=["2011-12-09", "yesterday", "2011-12-10"])

    with pytest.raises(ValueError, match=r"1 missing or unparseable timestamps \(first values: \['yesterday'\]"):
        validate_interactions(events)


def test_interactions_missing_user_error():
    with pytest.raises(ValueError, match="missing user_id on 1 rows"):
        validate_interactions(_events(user_id=["1", None, "2"]))


def test_items_duplicate_id_error():
    with pytest.raises(ValueError, match=r"1 duplicate item_id rows \(first: \['10'\]\)"):
        validate_items(_items(ids=("10", "10"), texts=("a", "b")))


def test_items_missing_text_error():
    with pytest.raises(ValueError, match=r"missing text on 1 rows \(first item ids: \['11'\]\)"):
        validate_items(_items(texts=("Red mug", None)))


def test_recdata_unknown_item_error():
    events = _events(item_id=[10, 99, 98])

    with pytest.raises(ValueError, match=r"2 interactions refer to items not in the catalog \(first item ids: \['99', '98'\]\)"):
        RecData(name="toy", interactions=events, items=_items(), drops=DropReport(source="toy"))


def test_recdata_keeps_items_without_events():
    items = _items(ids=("10", "11", "12"), texts=("Red mug", "Blue mug", "Green mug"))

    data = RecData(name="toy", interactions=_events(), items=items, drops=DropReport(source="toy", rows_in=3))

    assert data.n_items == 3
    assert data.n_users == 2


def test_csv_adapter_round_trip(tmp_path):
    events_path = tmp_path / "events.csv"
    items_path = tmp_path / "items.csv"
    events_path.write_text("user_id,item_id,timestamp,rating\n007,A1,2024-01-02,4\n007,B2,2024-01-03,2\n42,A1,2024-01-05,5\n")
    items_path.write_text('item_id,text\nA1,"Mug, red"\nB2,\nC3,Teapot\n')

    data = load_interactions_csv(events_path, items_path)

    assert data.name == "events"
    assert data.interactions["user_id"].tolist() == ["007", "007", "42"]
    assert data.interactions["weight"].tolist() == [4.0, 2.0, 5.0]
    assert data.interactions["timestamp"].iloc[2] == pd.Timestamp("2024-01-05")
    assert data.items["text"].tolist() == ["Mug, red", "", "Teapot"]
    assert data.drops.rows_in == 3
    assert data.drops.rows_out == 3


def test_csv_adapter_missing_file_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="events.csv"):
        load_interactions_csv(tmp_path / "events.csv", tmp_path / "items.csv")


@pytest.mark.dataset
def test_movielens_100k_loads(movielens_dir):
    data = load_movielens_100k(movielens_dir)

    assert len(data.interactions) == 100_000
    assert data.n_users == 943
    assert data.n_items == 1_682
    assert data.interactions["item_id"].nunique() == 1_682
    assert data.interactions["weight"].value_counts().sort_index().tolist() == [6_110, 11_370, 27_145, 34_174, 21_201]
    assert data.interactions["timestamp"].min() == pd.Timestamp("1997-09-20 03:05:10")
    assert data.drops.rows_out == 100_000


@pytest.mark.dataset
def test_movielens_100k_item_text(movielens_dir):
    items = load_movielens_100k(movielens_dir).items.set_index("item_id")["text"]

    assert items["1"] == "Toy Story (1995) | Animation, Children's, Comedy"
    # u.item is Latin-1, so the accented title must decode to "é".
    assert items["543"] == "Misérables, Les (1995) | Drama, Musical"


def test_online_retail_interactions_counts():
    data = load_online_retail_interactions()

    assert data.name == "online-retail"
    assert len(data.interactions) == 386_326
    assert data.n_users == 4_334
    assert data.interactions["item_id"].nunique() == 3_659
    # The catalog also contains the 139 products only bought by customers without an id.
    assert data.n_items == 3_798
    assert (data.interactions["weight"] == 1.0).all()
    assert data.drops.rows_in == 541_909
    assert data.drops.dropped["repeated product within an invoice"] == 4_824
    assert data.drops.rows_out == len(data.interactions)
    assert data.items.set_index("item_id").loc["85123A", "text"] == "WHITE HANGING HEART T-LIGHT HOLDER"


def test_csv_adapter_empty_file_error(tmp_path):
    events_path = tmp_path / "events.csv"
    items_path = tmp_path / "items.csv"
    events_path.write_text("")
    items_path.write_text("item_id,text\ni1,red mug\n")

    with pytest.raises(ValueError, match="events.csv' is empty"):
        load_interactions_csv(events_path, items_path)


def test_csv_adapter_nan_rating_error(tmp_path):
    events_path = tmp_path / "events.csv"
    items_path = tmp_path / "items.csv"
    events_path.write_text("user_id,item_id,timestamp,rating\nu1,i1,2011-01-01,5\nu2,i1,2011-01-02,\n")
    items_path.write_text("item_id,text\ni1,red mug\n")

    with pytest.raises(ValueError, match=r"missing rating on 1 rows.*'u2'"):
        load_interactions_csv(events_path, items_path)
