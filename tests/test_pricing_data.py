"""Sales contract checks, weekly aggregation, the temporal split and the dataset adapters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from domains.pricing.data import aggregate_weekly, load_online_retail_sales, load_orange_juice, validate_sales
from domains.pricing.features import add_history_features, temporal_split


def sales_lines(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "product_id": ["a", "a", "a", "b", "b", "c"],
            "timestamp": pd.to_datetime(
                ["2024-01-01", "2024-01-07", "2024-01-08", "2024-01-02", "2024-01-03", "2024-01-02"]
            ),
            "price": [2.0, 4.0, 3.0, 10.0, 0.0, -1.0],
            "quantity": [1.0, 3.0, 5.0, -2.0, 4.0, 1.0],
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def test_validate_counts_bad_rows():
    clean, report = validate_sales(sales_lines())
    assert len(clean) == 3
    assert report.rows_in == 6
    assert report.dropped["price <= 0"] == 2
    assert report.dropped["negative quantity (return)"] == 1
    assert report.rows_out == 3


def test_validate_counts_missing_values():
    frame = sales_lines(price=[2.0, np.nan, 3.0, 10.0, 5.0, 1.0], quantity=[1.0, 3.0, np.nan, 2.0, 4.0, 1.0])
    frame.loc[5, "product_id"] = None
    clean, report = validate_sales(frame)
    assert report.dropped["missing price"] == 1
    assert report.dropped["missing quantity"] == 1
    assert report.dropped["missing product_id"] == 1
    assert len(clean) == 3


def test_validate_missing_column_names_it():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['quantity'\]"):
        validate_sales(sales_lines().drop(columns=["quantity"]))


def test_validate_missing_time_column():
    with pytest.raises(ValueError, match="add 'timestamp'"):
        validate_sales(sales_lines().drop(columns=["timestamp"]))


def test_validate_empty_table():
    with pytest.raises(ValueError, match="empty"):
        validate_sales(sales_lines().iloc[:0])


def test_validate_text_prices_rejected():
    with pytest.raises(ValueError, match="'price' has dtype"):
        validate_sales(sales_lines(price=["2", "4", "3", "10", "0", "-1"]))


def test_validate_all_rows_bad():
    with pytest.raises(ValueError, match="no valid rows"):
        validate_sales(sales_lines(price=[0.0] * 6))


def test_aggregate_weekly_weighted_price():
    clean, _ = validate_sales(sales_lines())
    weekly = aggregate_weekly(clean).set_index(["product_id", "period"])
    # 2024-01-01 (Monday) and 2024-01-07 (Sunday) are one Monday-to-Sunday week.
    first_week = weekly.loc[("a", pd.Timestamp("2024-01-01"))]
    assert first_week["quantity"] == 4.0
    assert first_week["price"] == pytest.approx((2 * 1 + 4 * 3) / 4)
    assert first_week["n_lines"] == 2
    second_week = weekly.loc[("a", pd.Timestamp("2024-01-08"))]
    assert second_week["quantity"] == 5.0
    assert second_week["price"] == 3.0
    assert len(weekly) == 2


def test_aggregate_zero_quantity_week_uses_mean_price():
    frame = pd.DataFrame({"product_id": ["a", "a"], "period": pd.to_datetime(["2024-01-01"] * 2),
                          "price": [2.0, 4.0], "quantity": [0.0, 0.0]})
    clean, _ = validate_sales(frame)
    weekly = aggregate_weekly(clean)
    assert weekly["price"].tolist() == [3.0]


def test_history_features_use_only_past():
    frame = pd.DataFrame({"product_id": ["a"] * 3, "period": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-22"]),
                          "price": [1.0, 2.0, 4.0], "quantity": [0.0, np.e - 1, 9.0]})
    history = add_history_features(frame)
    assert np.isnan(history["lag_log_demand"].iloc[0])
    assert history["lag_log_demand"].iloc[1] == pytest.approx(0.0)
    assert history["lag_log_demand"].iloc[2] == pytest.approx(1.0)
    assert history["rolling_log_demand"].iloc[2] == pytest.approx(0.5)
    assert history["weeks_since_last"].tolist() == [0.0, 1.0, 2.0]
    assert history["lag_log_price"].iloc[2] == pytest.approx(np.log(2.0))


def test_temporal_split_by_last_periods():
    periods = pd.date_range("2024-01-01", periods=10, freq="W-MON")
    panel = pd.DataFrame({"product_id": "a", "period": periods, "price": 1.0, "quantity": 1.0})
    train, valid, test = temporal_split(panel, valid_periods=2, test_periods=3)
    assert len(train) == 5
    assert valid["period"].tolist() == list(periods[5:7])
    assert test["period"].tolist() == list(periods[7:])


def test_temporal_split_too_few_periods():
    panel = pd.DataFrame({"product_id": "a", "period": pd.date_range("2024-01-01", periods=4, freq="W-MON"),
                          "price": 1.0, "quantity": 1.0})
    with pytest.raises(ValueError, match="4 distinct periods, need at least 6"):
        temporal_split(panel, valid_periods=2, test_periods=3)


@pytest.mark.dataset
def test_orange_juice_adapter(oj_dir):
    data = load_orange_juice(oj_dir)
    sales = data.sales
    assert len(sales) == 106_139
    assert data.report.rows_dropped == 0
    first = sales.iloc[0]
    # First file row: store 2, brand 1, week 40, logmove 9.018695488, price1 0.06046875 per ounce.
    assert (first["product_id"], first["segment"], first["week"]) == ("1", "2", 40)
    assert first["price"] == pytest.approx(3.87)
    assert first["quantity"] == pytest.approx(8256.0, rel=1e-6)
    assert first["period"] == pd.Timestamp("1990-06-14")
    assert data.products.set_index("product_id").loc["11", "text"] == "Dominicks 128 oz"
    assert set(sales["product_id"]) == {str(brand) for brand in range(1, 12)}


def test_online_retail_adapter_weekly_totals():
    data = load_online_retail_sales(min_weeks=8)
    sales, products = data.sales, data.products
    assert (sales["price"] > 0).all()
    assert (sales["quantity"] > 0).all()
    assert not sales.duplicated(["product_id", "period"]).any()
    assert set(sales["product_id"]) <= set(products["product_id"])
    assert data.report.dropped  # cleaning of the raw log dropped cancellations and returns
    few = products[~products["enough_history"]]
    assert (few["n_weeks"] < 8).all()
    assert (products.loc[products["enough_history"], "n_weeks"] >= 8).all()
    # Weekly rows sum back to the clean lines: units are neither lost nor double counted.
    from domains.sources.online_retail import load_online_retail

    clean, _ = load_online_retail(require_customer=False)
    assert sales["quantity"].sum() == pytest.approx(clean["quantity"].sum())
