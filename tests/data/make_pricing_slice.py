"""Regenerate pricing_retail_slice.csv.gz: all 2011 lines of the 30 best-selling stock codes.

The source is the UCI Online Retail log shipped in domains/sources/data (CC BY 4.0, see ATTRIBUTION.md
there). The slice keeps the raw columns and quirks (cancellations, missing customers), so the
pricing domain's cleaning runs on it unchanged.

    python tests/data/make_pricing_slice.py
"""

from pathlib import Path

import pandas as pd

from domains.sources.online_retail import DEFAULT_PATH

N_PRODUCTS = 30
OUT = Path(__file__).resolve().parent / "pricing_retail_slice.csv.gz"


def main() -> None:
    raw = pd.read_csv(DEFAULT_PATH, dtype=str)
    raw = raw[raw["InvoiceDate"] >= "2011-01-01"]
    quantity = pd.to_numeric(raw["Quantity"], errors="coerce")
    top = quantity[quantity > 0].groupby(raw["StockCode"]).sum().nlargest(N_PRODUCTS).index
    raw[raw["StockCode"].isin(top)].to_csv(OUT, index=False, compression="gzip")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
