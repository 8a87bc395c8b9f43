"""Regenerate the small recommendation fixture from the committed Online Retail log.

Run from the repository root: `python tests/data/make_retail_slice.py`. It writes
retail_slice_interactions.csv.gz (user_id, item_id, timestamp, weight) and retail_slice_items.csv
(item_id, text). The slice contains the purchase events from 2011-09-01 on of 300 customers, drawn with
a fixed seed among those with at least 5 such events. It keeps only the 400 products these customers
bought most often in that period, which leaves 10,594 events of 298 customers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from domains.recommend.data import load_online_retail_interactions

FOLDER = Path(__file__).parent
START = pd.Timestamp("2011-09-01")
N_CUSTOMERS = 300
N_ITEMS = 400
MIN_EVENTS = 5
SEED = 7


def main() -> None:
    data = load_online_retail_interactions()
    events = data.interactions[data.interactions["timestamp"] >= START]
    counts = events["user_id"].value_counts()
    eligible = np.sort(counts.index[counts >= MIN_EVENTS].to_numpy())
    customers = np.random.default_rng(SEED).choice(eligible, size=N_CUSTOMERS, replace=False)
    events = events[events["user_id"].isin(customers)]

    popular = events["item_id"].value_counts().sort_index().sort_values(ascending=False, kind="stable").index[:N_ITEMS]
    events = events[events["item_id"].isin(popular)].sort_values(["timestamp", "user_id", "item_id"])
    items = data.items[data.items["item_id"].isin(popular)].sort_values("item_id")

    events.to_csv(FOLDER / "retail_slice_interactions.csv.gz", index=False, date_format="%Y-%m-%d %H:%M:%S")
    items.to_csv(FOLDER / "retail_slice_items.csv", index=False)
    print(f"{len(events)} events, {events['user_id'].nunique()} users, {len(items)} items")


if __name__ == "__main__":
    main()
