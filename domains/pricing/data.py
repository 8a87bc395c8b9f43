"""Sales data contract of the pricing domain, its validation, weekly aggregation and dataset adapters.

A sales table has one row per sale line or per product x period, with the columns

- ``product_id`` (str), ``price`` (float > 0, price actually charged per unit), ``quantity`` (float >= 0, units),
- ``timestamp`` (datetime) or ``period`` (start of the week as a datetime),
- optional ``segment`` (str, for example the store) and optional ``unit_cost`` (float >= 0, per unit).

A products table has ``product_id`` and ``text`` (the description handed to the text encoder).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.drops import DropReport
from engine.paths import read_csv_file

logger = logging.getLogger(__name__)

__all__ = [
    "SalesData",
    "validate_sales",
    "aggregate_weekly",
    "load_online_retail_sales",
    "load_orange_juice",
    "load_sales_csv",
    "DOMINICKS_WEEK_1_START",
]

REQUIRED_COLUMNS = ("product_id", "price", "quantity")
TIME_COLUMNS = ("timestamp", "period")

DOMINICKS_WEEK_1_START = pd.Timestamp("1989-09-14")
"""Start (a Thursday) of Dominick's week 1; week n starts 7 * (n - 1) days later (Kilts Center week table)."""

OJ_CARTON_OUNCES = 64


@dataclass
class SalesData:
    """A weekly sales panel with its products table and the rows dropped while building it."""

    sales: pd.DataFrame
    products: pd.DataFrame
    report: DropReport


def validate_sales(df: pd.DataFrame, *, source: str = "sales") -> tuple[pd.DataFrame, DropReport]:
    """Check a sales table against the contract and drop rows that cannot be priced.

    Raises ValueError for an empty table, missing columns or non-numeric price/quantity, because
    then no row can be used. Drops and counts (in the returned DropReport) rows with a missing
    product id, time, price or quantity, a price <= 0, a negative quantity (returns) and a negative
    unit cost. Returns the cleaned copy with ``product_id`` (and ``segment``) as str.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"sales must be a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise ValueError(f"{source}: the sales table is empty; pass at least one row with {', '.join(REQUIRED_COLUMNS)}")
    missing = [column for column in REQUIRED_COLUMNS if column not in df.columns]
    if missing:
        raise ValueError(
            f"{source}: missing column(s) {missing}; a sales table needs {list(REQUIRED_COLUMNS)} "
            f"plus 'timestamp' or 'period' (found {list(df.columns)})"
        )
    time_column = next((column for column in TIME_COLUMNS if column in df.columns), None)
    if time_column is None:
        raise ValueError(f"{source}: missing a time column; add 'timestamp' (datetime of the sale) or 'period' (week start)")
    for column in ("price", "quantity", *(["unit_cost"] if "unit_cost" in df.columns else [])):
        if not pd.api.types.is_numeric_dtype(df[column]):
            raise ValueError(
                f"{source}: column {column!r} has dtype {df[column].dtype}, expected numbers; "
                f"convert it with pd.to_numeric (first values: {df[column].head(3).tolist()})"
            )

    report = DropReport(source=source, rows_in=len(df))
    clean = df.copy()
    clean = report.drop(clean, clean["product_id"].isna(), "missing product_id")
    clean = report.drop(clean, clean[time_column].isna(), f"missing {time_column}")
    clean = report.drop(clean, clean["price"].isna(), "missing price")
    clean = report.drop(clean, clean["quantity"].isna(), "missing quantity")
    clean = report.drop(clean, clean["price"] <= 0, "price <= 0")
    clean = report.drop(clean, clean["quantity"] < 0, "negative quantity (return)")
    if "unit_cost" in clean.columns:
        clean = report.drop(clean, clean["unit_cost"] < 0, "negative unit_cost")
    if clean.empty:
        raise ValueError(f"{source}: no valid rows left after cleaning ({report.dropped}); check prices and quantities")

    clean["product_id"] = clean["product_id"].astype(str)
    if "segment" in clean.columns:
        clean["segment"] = clean["segment"].astype(str)
    clean["price"] = clean["price"].astype(float)
    clean["quantity"] = clean["quantity"].astype(float)
    return clean, report


def aggregate_weekly(clean: pd.DataFrame, *, week_anchor: str = "W-SUN") -> pd.DataFrame:
    """Aggregate validated sales lines to product (x segment) x week.

    ``quantity`` is the weekly sum, ``price`` the quantity-weighted mean price actually charged
    (the plain mean where the week's quantity is 0), ``n_lines`` the number of input rows.
    A ``timestamp`` column is mapped to the start of its week, where ``week_anchor`` is the pandas
    period frequency (Monday-to-Sunday weeks by default). A ``period`` column is used as given.
    Returns columns product_id, [segment], period, price, quantity, n_lines, [unit_cost].
    """
    frame = clean.copy()
    if "period" not in frame.columns:
        frame["period"] = pd.to_datetime(frame["timestamp"]).dt.to_period(week_anchor).dt.start_time
    keys = ["product_id", *(["segment"] if "segment" in frame.columns else []), "period"]
    frame["revenue"] = frame["price"] * frame["quantity"]
    aggregations = {
        "quantity": ("quantity", "sum"),
        "revenue": ("revenue", "sum"),
        "mean_price": ("price", "mean"),
        "n_lines": ("price", "size"),
    }
    if "unit_cost" in frame.columns:
        aggregations["unit_cost"] = ("unit_cost", "mean")
    weekly = frame.groupby(keys, sort=True, observed=True).agg(**aggregations).reset_index()
    sold = weekly["quantity"] > 0
    weekly["price"] = np.where(sold, weekly["revenue"] / weekly["quantity"].where(sold, 1.0), weekly["mean_price"])
    return weekly.drop(columns=["revenue", "mean_price"])


def _flag_history(sales: pd.DataFrame, products: pd.DataFrame, min_weeks: int) -> pd.DataFrame:
    weeks = sales.groupby("product_id")["period"].nunique().rename("n_weeks")
    products = products.merge(weeks, left_on="product_id", right_index=True, how="left")
    products["n_weeks"] = products["n_weeks"].fillna(0).astype(int)
    products["enough_history"] = products["n_weeks"] >= min_weeks
    return products


def load_online_retail_sales(path: str | Path | None = None, *, min_weeks: int = 8) -> SalesData:
    """Load UCI Online Retail as a weekly panel per stock code, all countries together.

    Cleaning (cancellations, returns, non-product codes, duplicates) is done by
    ``domains.sources.online_retail.load_online_retail``; its DropReport is extended here with the
    contract checks. Products sold in fewer than ``min_weeks`` weeks have ``enough_history`` False
    in the products table (columns product_id, text, n_weeks, enough_history).

    NOTE: the log has no rows for weeks without a sale, so the panel holds only weeks with quantity > 0
    and demand models fitted on it predict units in weeks where the product sells.
    """
    from domains.sources.online_retail import load_online_retail, product_catalog

    clean, report = load_online_retail(path, require_customer=False)
    lines = pd.DataFrame(
        {
            "product_id": clean["stock_code"].astype(str),
            "timestamp": clean["timestamp"],
            "price": clean["unit_price"].astype(float),
            "quantity": clean["quantity"].astype(float),
        }
    )
    lines, contract_report = validate_sales(lines, source="online retail sales")
    for reason, count in contract_report.dropped.items():
        report.dropped[reason] = report.dropped.get(reason, 0) + count
    sales = aggregate_weekly(lines)

    catalog = product_catalog(clean)
    products = pd.DataFrame({"product_id": catalog["stock_code"].astype(str), "text": catalog["description"].astype(str)})
    products = _flag_history(sales, products, min_weeks)
    logger.info(
        "online retail: %d product-weeks, %d products (%d with >= %d weeks)",
        len(sales), len(products), int(products["enough_history"].sum()), min_weeks,
    )
    return SalesData(sales=sales, products=products, report=report)


def load_orange_juice(folder: str | Path, *, min_weeks: int = 8) -> SalesData:
    """Load the Dominick's orange juice panel (``oj_yx.csv.gz``) as store x brand x week sales.

    ``price`` is the brand's price per 64-oz carton equivalent (64 x the per-ounce price), so the
    96-oz and 128-oz items are comparable; ``quantity`` is exp(logmove) units; ``segment`` is the store;
    ``period`` is the week start date (week 1 starts on 1989-09-14). Extra columns: week (Dominick's
    week number), log_quantity, deal and feat (0/1 promotion flags). Product text is the brand name
    from ``oj_brands.csv``.
    """
    folder = Path(folder)
    panel_path = folder / "oj_yx.csv.gz"
    brands_path = folder / "oj_brands.csv"
    for path in (panel_path, brands_path):
        if not path.is_file():
            raise FileNotFoundError(f"orange juice file {str(path)!r} not found; pass the dominicks-orange-juice folder")
    raw = pd.read_csv(panel_path)
    brands = pd.read_csv(brands_path)

    price_columns = raw[[f"price{brand}" for brand in range(1, 12)]].to_numpy()
    own_price = price_columns[np.arange(len(raw)), raw["brand"].to_numpy() - 1] * OJ_CARTON_OUNCES
    sales = pd.DataFrame(
        {
            "product_id": raw["brand"].astype(str),
            "segment": raw["store"].astype(str),
            "period": DOMINICKS_WEEK_1_START + pd.to_timedelta(7 * (raw["week"] - 1), unit="D"),
            "week": raw["week"].astype(int),
            "price": own_price,
            "quantity": np.exp(raw["logmove"]),
            "log_quantity": raw["logmove"].astype(float),
            "deal": raw["deal"].astype(float),
            "feat": raw["feat"].astype(float),
        }
    )
    sales, report = validate_sales(sales, source="dominicks orange juice")
    products = pd.DataFrame({"product_id": brands["brand"].astype(str), "text": brands["description"].astype(str)})
    products = _flag_history(sales, products, min_weeks)
    return SalesData(sales=sales.reset_index(drop=True), products=products, report=report)


def load_sales_csv(sales_path: str | Path, products_path: str | Path, *, min_weeks: int = 8) -> SalesData:
    """Load a user's own sales lines and products from CSV files and aggregate them weekly.

    The sales file has product_id, timestamp, price, quantity and optionally segment and unit_cost;
    the products file has product_id and text. Rows that cannot be priced are dropped and counted
    (see `validate_sales`); sales of products missing from the products file raise ValueError.
    """
    sales_path, products_path = Path(sales_path), Path(products_path)
    for path in (sales_path, products_path):
        if not path.is_file():
            raise FileNotFoundError(f"pricing CSV file {str(path)!r} not found; check params.sales_path and params.products_path")
    lines = read_csv_file(sales_path, "sales", dtype={"product_id": str, "segment": str})
    products = read_csv_file(products_path, "products", dtype={"product_id": str, "text": str})
    missing = [column for column in ("product_id", "text") if column not in products.columns]
    if missing:
        raise ValueError(f"products file {str(products_path)!r} is missing column(s) {missing}; expected product_id and text")
    if "timestamp" in lines.columns:
        lines["timestamp"] = pd.to_datetime(lines["timestamp"], errors="coerce")
    lines, report = validate_sales(lines, source=str(sales_path.name))
    unknown = sorted(set(lines["product_id"]) - set(products["product_id"].astype(str)))
    if unknown:
        raise ValueError(
            f"{len(unknown)} product ids in the sales file are not in the products file, for example {unknown[:5]}; "
            "add them to the products file with their text"
        )
    sales = aggregate_weekly(lines)
    products = products[["product_id", "text"]].assign(text=products["text"].fillna("").astype(str))
    return SalesData(sales=sales, products=_flag_history(sales, products, min_weeks), report=report)
