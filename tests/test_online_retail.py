"""Cleaning of the UCI Online Retail log: known answers on a hand-made frame and counts on the committed file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from domains.sources.online_retail import (
    CLEAN_COLUMNS,
    DEFAULT_PATH,
    clean_online_retail,
    is_non_product_code,
    load_online_retail,
    product_catalog,
)

GOOD = {
    "InvoiceNo": "536365",
    "StockCode": "85123A",
    "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
    "Quantity": 6,
    "InvoiceDate": "2010-12-01 08:26:00",
    "UnitPrice": 2.55,
    "CustomerID": "17850.0",
    "Country": "United Kingdom",
}


def _row(**changes) -> dict:
    return {**GOOD, **changes}


@pytest.fixture()
def raw_with_defects() -> pd.DataFrame:
    """Ten lines: two good ones and one line per defect (gift vouchers add a second non-product line)."""
    rows = [
        _row(),  # kept
        _row(Description=np.nan),  # missing description
        _row(InvoiceNo="C536379", Quantity=-1),  # cancellation (also negative: counted as cancellation)
        _row(InvoiceNo="536400", Quantity=0),  # non-positive quantity
        _row(InvoiceNo="536401", UnitPrice=0.0),  # non-positive unit price
        _row(InvoiceNo="536402", StockCode="POST", Description="POSTAGE"),  # non-product
        _row(InvoiceNo="536403", StockCode="gift_0001_10", Description="Gift Voucher"),  # non-product
        _row(InvoiceNo="536404", CustomerID=np.nan),  # missing customer id
        _row(),  # exact duplicate of the first line
        _row(InvoiceNo="536405", StockCode=" 84406b ", Description="  CREAM CUPID HEARTS COAT HANGER "),  # kept
    ]
    return pd.DataFrame(rows)


def test_clean_counts_each_defect(raw_with_defects):
    clean, report = clean_online_retail(raw_with_defects, require_customer=True)

    assert report.rows_in == 10
    assert report.dropped == {
        "missing description": 1,
        "cancellation invoice": 1,
        "non-positive quantity": 1,
        "non-positive unit price": 1,
        "non-product stock code": 2,
        "missing customer id": 1,
        "exact duplicate line": 1,
    }
    assert report.rows_out == 2
    assert len(clean) == 2
    assert list(clean["invoice"]) == ["536365", "536405"]


def test_clean_without_customer_keeps_anonymous(raw_with_defects):
    clean, report = clean_online_retail(raw_with_defects, require_customer=False)

    assert "missing customer id" not in report.dropped
    assert report.rows_out == 3
    assert list(clean["invoice"]) == ["536365", "536404", "536405"]
    assert clean["customer_id"].isna().tolist() == [False, True, False]


def test_clean_normalizes_values(raw_with_defects):
    clean, _ = clean_online_retail(raw_with_defects, require_customer=True)

    assert list(clean.columns) == list(CLEAN_COLUMNS)
    assert clean["stock_code"].tolist() == ["85123A", "84406B"]
    assert clean["description"].iloc[1] == "CREAM CUPID HEARTS COAT HANGER"
    assert clean["customer_id"].tolist() == ["17850", "17850"]
    assert clean["quantity"].dtype == np.int64
    assert clean["unit_price"].dtype == np.float64
    assert clean["timestamp"].dtype == "datetime64[ns]"
    assert clean["timestamp"].iloc[0] == pd.Timestamp("2010-12-01 08:26:00")


def test_clean_accepts_float_customer_ids(raw_with_defects):
    raw = raw_with_defects.copy()
    raw["CustomerID"] = pd.to_numeric(raw["CustomerID"])

    clean, _ = clean_online_retail(raw, require_customer=True)

    assert clean["customer_id"].tolist() == ["17850", "17850"]


def test_clean_missing_column_error(raw_with_defects):
    raw = raw_with_defects.drop(columns=["UnitPrice", "Country"])

    with pytest.raises(ValueError, match=r"missing the columns \['UnitPrice', 'Country'\]") as error:
        clean_online_retail(raw, require_customer=True)
    assert "InvoiceNo" in str(error.value)


def test_clean_non_numeric_quantity_error(raw_with_defects):
    raw = raw_with_defects.copy()
    raw["Quantity"] = raw["Quantity"].astype(object)
    raw.loc[0, "Quantity"] = "six"

    with pytest.raises(ValueError, match=r"'Quantity' has 1 non-numeric values \(first: \['six'\]\)"):
        clean_online_retail(raw, require_customer=True)


def test_non_product_codes():
    codes = pd.Series(["POST", "dot", "BANK CHARGES", "GIFT_0001_20", "85123A", "22423", "DCGSSBOY"])

    assert is_non_product_code(codes).tolist() == [True, True, True, True, False, False, False]


def test_product_catalog_most_frequent_description():
    clean = pd.DataFrame(
        {
            "stock_code": ["A1", "A1", "A1", "B2", "B2"],
            "description": ["RED MUG", "RED MUG ", "RED MUG", "BLUE", "AZURE"],
        }
    )
    clean["description"] = clean["description"].str.strip()

    catalog = product_catalog(clean)

    assert catalog["stock_code"].tolist() == ["A1", "B2"]
    # A tie (BLUE and AZURE once each) goes to the alphabetically first description.
    assert catalog["description"].tolist() == ["RED MUG", "AZURE"]


@pytest.fixture(scope="module")
def committed_log():
    return load_online_retail(require_customer=True)


def test_committed_file_counts(committed_log):
    clean, report = committed_log

    assert DEFAULT_PATH.is_file()
    assert report.rows_in == 541_909
    assert report.rows_out == len(clean)
    assert report.dropped == {
        "missing description": 1_454,
        "cancellation invoice": 9_288,
        "non-positive quantity": 474,
        "non-positive unit price": 589,
        "non-product stock code": 2_346,
        "missing customer id": 131_421,
        "exact duplicate line": 5_187,
    }
    assert len(clean) == 391_150


def test_committed_file_is_clean(committed_log):
    clean, _ = committed_log

    assert not clean["invoice"].str.startswith("C").any()
    assert (clean["quantity"] > 0).all()
    assert (clean["unit_price"] > 0).all()
    assert clean["customer_id"].notna().all()
    assert not clean["customer_id"].str.endswith(".0").any()
    assert not is_non_product_code(clean["stock_code"]).any()
    assert not clean.duplicated().any()
    assert clean["customer_id"].nunique() == 4_334
    assert clean["stock_code"].nunique() == 3_659
