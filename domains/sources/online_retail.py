"""Reading and cleaning of the UCI Online Retail transaction log, shared by the recommend and pricing domains.

The committed copy (`data/online_retail.csv.gz`) contains all 541,909 invoice lines of a UK gift-ware
retailer from 2010-12-01 to 2011-12-09, with the columns InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice (GBP per unit), CustomerID and Country.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from engine.drops import DropReport

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_PATH",
    "RAW_COLUMNS",
    "CLEAN_COLUMNS",
    "NON_PRODUCT_CODES",
    "GIFT_VOUCHER_PREFIX",
    "is_non_product_code",
    "read_online_retail",
    "clean_online_retail",
    "load_online_retail",
    "product_catalog",
]

DEFAULT_PATH: Path = Path(__file__).parent / "data" / "online_retail.csv.gz"

RAW_COLUMNS: tuple[str, ...] = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)

CLEAN_COLUMNS: tuple[str, ...] = (
    "invoice",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "timestamp",
    "customer_id",
    "country",
)

# Stock codes of lines that are fees, postage, adjustments or charity, not goods. Product codes in the
# log are 5 digits plus optional letters (85123A). The other codes are these, the gift vouchers
# (GIFT_0001_10 ... GIFT_0001_50) and the DCGS... codes. DCGS lines name real goods (party bags,
# dog collars) sold through another channel, so they are kept as products.
NON_PRODUCT_CODES: frozenset[str] = frozenset(
    {
        "POST",  # postage
        "DOT",  # dotcom postage
        "M",  # manual entry
        "C2",  # carriage
        "D",  # discount
        "S",  # samples
        "BANK CHARGES",
        "AMAZONFEE",
        "CRUK",  # charity commission
        "PADS",  # "pads to match all cushions", priced at 0.001
        "B",  # adjust bad debt
    }
)
GIFT_VOUCHER_PREFIX = "GIFT_"

# Drop reasons, in the order `clean_online_retail` applies them.
REASON_MISSING_DESCRIPTION = "missing description"
REASON_CANCELLATION = "cancellation invoice"
REASON_QUANTITY = "non-positive quantity"
REASON_PRICE = "non-positive unit price"
REASON_NON_PRODUCT = "non-product stock code"
REASON_MISSING_CUSTOMER = "missing customer id"
REASON_DUPLICATE = "exact duplicate line"


def is_non_product_code(codes: pd.Series) -> pd.Series:
    """Return a boolean mask of stock codes that are fees, postage, adjustments or gift vouchers.

    Codes are compared after stripping and upper-casing, so `gift_0001_10` and ` post` match.
    """
    normalized = codes.astype(str).str.strip().str.upper()
    return normalized.isin(NON_PRODUCT_CODES) | normalized.str.startswith(GIFT_VOUCHER_PREFIX)


def read_online_retail(path: Path | str | None = None) -> pd.DataFrame:
    """Read the raw log with InvoiceNo, StockCode and CustomerID as strings (CustomerID keeps its ".0")."""
    path = Path(path) if path is not None else DEFAULT_PATH
    if not path.is_file():
        raise FileNotFoundError(
            f"Online Retail file {str(path)!r} not found; pass the path of the CSV (plain or .gz) "
            f"or omit it to read the committed copy at {str(DEFAULT_PATH)!r}"
        )
    raw = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    logger.info("read %d rows from %s", len(raw), path)
    return raw


def clean_online_retail(raw: pd.DataFrame, *, require_customer: bool) -> tuple[pd.DataFrame, DropReport]:
    """Drop unusable invoice lines and return the clean lines with a count of the drops per reason.

    Rows are dropped, in this order, for: missing description, cancellation invoice (InvoiceNo
    starting with "C"), quantity <= 0, unit price <= 0, non-product stock code, missing customer id
    (only when `require_customer`), and exact duplicate of an earlier clean line.

    Returns a frame with the columns of `CLEAN_COLUMNS`: invoice, stock_code (stripped, upper-case),
    description (stripped), quantity (int64 units), unit_price (float64 GBP per unit), timestamp
    (datetime64[ns]), customer_id (str such as "17850", missing only without `require_customer`)
    and country. The index is a fresh RangeIndex.
    """
    missing = [column for column in RAW_COLUMNS if column not in raw.columns]
    if missing:
        raise ValueError(
            f"Online Retail data is missing the columns {missing}; expected the columns {list(RAW_COLUMNS)} "
            "of the UCI file (InvoiceNo, StockCode, ... as in its header)"
        )
    report = DropReport(source="online_retail", rows_in=len(raw))
    df = _typed_copy(raw)

    df = report.drop(df, df["description"].isna() | (df["description"] == ""), REASON_MISSING_DESCRIPTION)
    df = report.drop(df, df["invoice"].str.upper().str.startswith("C"), REASON_CANCELLATION)
    df = report.drop(df, df["quantity"] <= 0, REASON_QUANTITY)
    df = report.drop(df, df["unit_price"] <= 0, REASON_PRICE)
    df = report.drop(df, is_non_product_code(df["stock_code"]), REASON_NON_PRODUCT)
    if require_customer:
        df = report.drop(df, df["customer_id"].isna(), REASON_MISSING_CUSTOMER)
    df = report.drop(df, df.duplicated(keep="first"), REASON_DUPLICATE)

    df = df.reset_index(drop=True)
    logger.info("online_retail: %d of %d rows kept", len(df), report.rows_in)
    return df, report


def load_online_retail(
    path: Path | str | None = None, *, require_customer: bool
) -> tuple[pd.DataFrame, DropReport]:
    """Read and clean the log; see `clean_online_retail` for the columns and drop reasons."""
    return clean_online_retail(read_online_retail(path), require_customer=require_customer)


def product_catalog(clean: pd.DataFrame) -> pd.DataFrame:
    """Return one row per stock code with its most frequent description (ties: alphabetically first).

    `clean` is the output of `clean_online_retail`. The result has the columns stock_code and
    description, sorted by stock_code.
    """
    for column in ("stock_code", "description"):
        if column not in clean.columns:
            raise ValueError(
                f"product_catalog needs the column {column!r}; pass the output of clean_online_retail"
            )
    counts = clean.groupby(["stock_code", "description"]).size().rename("lines").reset_index()
    counts = counts.sort_values(["stock_code", "lines", "description"], ascending=[True, False, True])
    catalog = counts.drop_duplicates("stock_code", keep="first")[["stock_code", "description"]]
    return catalog.reset_index(drop=True)


def _typed_copy(raw: pd.DataFrame) -> pd.DataFrame:
    """Rename the raw columns and convert them to the clean dtypes; raise on unconvertible values."""
    df = pd.DataFrame(index=raw.index)
    df["invoice"] = _as_text(raw["InvoiceNo"])
    df["stock_code"] = _as_text(raw["StockCode"]).str.upper()
    df["description"] = _as_text(raw["Description"])
    df["quantity"] = _as_number(raw["Quantity"], "Quantity")
    df["unit_price"] = _as_number(raw["UnitPrice"], "UnitPrice").astype("float64")
    df["timestamp"] = _as_timestamp(raw["InvoiceDate"])
    df["customer_id"] = _as_customer_id(raw["CustomerID"])
    df["country"] = _as_text(raw["Country"])

    missing_quantity = df["quantity"].isna()
    if missing_quantity.any():
        raise ValueError(
            f"Quantity is missing on {int(missing_quantity.sum())} rows (first InvoiceNo: "
            f"{df.loc[missing_quantity, 'invoice'].head(3).tolist()}); fill or remove those rows"
        )
    df["quantity"] = df["quantity"].astype("int64")
    return df


def _as_text(values: pd.Series) -> pd.Series:
    """Convert to stripped strings, keeping missing values missing."""
    text = values.astype("str").str.strip()
    return text.where(values.notna())


def _as_number(values: pd.Series, column: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        raise ValueError(
            f"column {column!r} has {int(bad.sum())} non-numeric values (first: {values[bad].head(3).tolist()}); "
            "it must contain numbers"
        )
    return numbers


def _as_timestamp(values: pd.Series) -> pd.Series:
    timestamps = pd.to_datetime(values, errors="coerce")
    bad = timestamps.isna()
    if bad.any():
        raise ValueError(
            f"column 'InvoiceDate' has {int(bad.sum())} missing or unparseable dates "
            f"(first: {values[bad].head(3).tolist()}); use the format 'YYYY-MM-DD HH:MM:SS'"
        )
    return timestamps.astype("datetime64[ns]")


def _as_customer_id(values: pd.Series) -> pd.Series:
    """Convert 17850.0 or "17850.0" to "17850"; missing ids stay missing."""
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("Float64")
        if ((numbers % 1) != 0).any():
            raise ValueError(f"CustomerID has non-integer values (first: {values[(numbers % 1) != 0].head(3).tolist()})")
        ids = numbers.astype("Int64").astype(str)
    else:
        ids = values.astype(str).str.strip().str.replace(r"\.0+$", "", regex=True)
    missing = values.isna() | (ids == "")
    return ids.where(~missing)
