"""The recommendation data contract (`RecData`) and the adapters that build it from datasets and CSV files.

Interactions have one row per event with the columns user_id (str), item_id (str), timestamp
(datetime64[ns]) and weight (float64 > 0: a rating or 1.0 for an implicit event). Items have one
row per catalog item with the columns item_id (str, unique) and text (str, for a text encoder).
The catalog may contain items without interactions, but every interacted item must be in it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from domains.sources import online_retail
from engine.drops import DropReport
from engine.paths import read_csv_file

logger = logging.getLogger(__name__)

__all__ = [
    "INTERACTION_COLUMNS",
    "ITEM_COLUMNS",
    "RecData",
    "validate_interactions",
    "validate_items",
    "check_items_cover_interactions",
    "load_movielens_100k",
    "load_online_retail_interactions",
    "load_interactions_csv",
]

INTERACTION_COLUMNS: tuple[str, ...] = ("user_id", "item_id", "timestamp", "weight")
ITEM_COLUMNS: tuple[str, ...] = ("item_id", "text")

_EXAMPLES = 5  # how many offending ids or values an error message shows


@dataclass
class RecData:
    """A recommendation dataset: events, the item catalog and the rows its loader dropped.

    Construction validates both frames (see `validate_interactions`, `validate_items`) and checks
    that every interacted item is in the catalog, so a `RecData` always satisfies the contract.
    """

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame
    drops: DropReport

    def __post_init__(self) -> None:
        self.interactions = validate_interactions(self.interactions)
        self.items = validate_items(self.items)
        check_items_cover_interactions(self.interactions, self.items)

    @property
    def n_users(self) -> int:
        return int(self.interactions["user_id"].nunique())

    @property
    def n_items(self) -> int:
        """Number of catalog items, including items without interactions."""
        return len(self.items)


def validate_interactions(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with the columns user_id, item_id, timestamp, weight in contract dtypes.

    user_id and item_id are converted to str. timestamp may be datetime, numbers (unix seconds) or
    date strings. weight is optional (default 1.0), and a column named `rating` is used as weight
    when no `weight` column exists. Other columns are dropped. Raises ValueError on an empty frame,
    a missing column, missing ids, unparseable timestamps, or a missing, non-numeric or
    non-positive weight.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"interactions must be a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise ValueError("interactions are empty; pass at least one row with user_id, item_id and timestamp")
    required = ("user_id", "item_id", "timestamp")
    missing = [column for column in required if column not in df.columns]
    if missing:
        raise ValueError(
            f"interactions are missing the columns {missing}; found {list(df.columns)}. "
            "Rename your columns to user_id, item_id, timestamp and optionally weight (or rating)"
        )

    out = pd.DataFrame(index=df.index)
    out["user_id"] = _ids_as_str(df["user_id"], "user_id", "interactions")
    out["item_id"] = _ids_as_str(df["item_id"], "item_id", "interactions")
    out["timestamp"] = _timestamps(df["timestamp"], out["user_id"])
    out["weight"] = _weights(df, out["user_id"])
    return out.reset_index(drop=True)


def validate_items(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with the columns item_id (str, unique) and text (str).

    Raises ValueError on an empty frame, a missing column, missing or duplicate item ids, or
    missing text. Items without a description need an explicit empty string.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise ValueError("items are empty; pass the catalog with one row per item (columns item_id, text)")
    missing = [column for column in ITEM_COLUMNS if column not in df.columns]
    if missing:
        raise ValueError(
            f"items are missing the columns {missing}; found {list(df.columns)}. "
            "Pass the catalog with the columns item_id and text (title or description)"
        )

    out = pd.DataFrame(index=df.index)
    out["item_id"] = _ids_as_str(df["item_id"], "item_id", "items")
    duplicated = out["item_id"].duplicated()
    if duplicated.any():
        examples = out.loc[duplicated, "item_id"].unique()[:_EXAMPLES].tolist()
        raise ValueError(
            f"items has {int(duplicated.sum())} duplicate item_id rows (first: {examples}); "
            "keep one row per item, for example with df.drop_duplicates('item_id')"
        )
    missing_text = df["text"].isna()
    if missing_text.any():
        examples = out.loc[missing_text, "item_id"].head(_EXAMPLES).tolist()
        raise ValueError(
            f"items has missing text on {int(missing_text.sum())} rows (first item ids: {examples}); "
            "fill it with a title or description, or with an empty string if there is none"
        )
    out["text"] = df["text"].astype(str)
    return out.reset_index(drop=True)


def check_items_cover_interactions(interactions: pd.DataFrame, items: pd.DataFrame) -> None:
    """Raise ValueError naming examples when an interacted item_id is not in the catalog."""
    unknown = ~interactions["item_id"].isin(items["item_id"])
    if unknown.any():
        examples = interactions.loc[unknown, "item_id"].unique()[:_EXAMPLES].tolist()
        raise ValueError(
            f"{int(unknown.sum())} interactions refer to items not in the catalog (first item ids: {examples}); "
            "add those items to the items table (text may be an empty string) or remove the interactions"
        )


def load_movielens_100k(folder: Path | str) -> RecData:
    """Load MovieLens 100K from the unzipped ml-100k folder (u.data, u.item, u.genre).

    weight is the 1-5 star rating, timestamp comes from unix seconds, and item text is the
    title, " | ", then the genre names joined by ", " (for example
    "Toy Story (1995) | Animation, Children's, Comedy"). u.item and u.genre are Latin-1 encoded.
    """
    folder = Path(folder)
    for name in ("u.data", "u.item", "u.genre"):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"MovieLens 100K file {str(folder / name)!r} not found; pass the folder that contains "
                "u.data, u.item and u.genre (the unzipped ml-100k archive)"
            )

    ratings = pd.read_csv(
        folder / "u.data",
        sep="\t",
        header=None,
        names=["user_id", "item_id", "rating", "unix_seconds"],
        dtype={"user_id": str, "item_id": str},
    )
    interactions = pd.DataFrame(
        {
            "user_id": ratings["user_id"],
            "item_id": ratings["item_id"],
            "timestamp": pd.to_datetime(ratings["unix_seconds"], unit="s"),
            "weight": ratings["rating"].astype("float64"),
        }
    )

    genres = pd.read_csv(folder / "u.genre", sep="|", header=None, names=["genre", "index"], encoding="latin-1")
    genres = genres.dropna().sort_values("index")["genre"].tolist()
    movies = pd.read_csv(
        folder / "u.item",
        sep="|",
        header=None,
        names=["item_id", "title", "release_date", "video_release_date", "imdb_url", *genres],
        dtype={"item_id": str},
        encoding="latin-1",
    )
    items = pd.DataFrame({"item_id": movies["item_id"], "text": _movie_text(movies, genres)})

    drops = DropReport(source="movielens-100k", rows_in=len(interactions))
    return RecData(name="movielens-100k", interactions=interactions, items=items, drops=drops)


def load_online_retail_interactions(path: Path | str | None = None) -> RecData:
    """Build implicit purchase events from the Online Retail log (default: the committed copy).

    Lines are cleaned by `domains.sources.online_retail` with a required customer id, then reduced
    to one event per (customer, product, invoice) with weight 1.0, so buying a product counts once
    per invoice whatever the quantity. The catalog contains every product with a clean line, including
    products only sold to customers without an id, and uses each product's most frequent
    description as text. `drops` counts the cleaning drops and the merged repeat lines.
    """
    raw = online_retail.read_online_retail(path)
    all_lines, _ = online_retail.clean_online_retail(raw, require_customer=False)
    lines, drops = online_retail.clean_online_retail(raw, require_customer=True)
    drops.source = "online_retail interactions"

    repeated = lines.duplicated(subset=["customer_id", "stock_code", "invoice"], keep="first")
    events = drops.drop(lines, repeated, "repeated product within an invoice")

    interactions = pd.DataFrame(
        {
            "user_id": events["customer_id"],
            "item_id": events["stock_code"],
            "timestamp": events["timestamp"],
            "weight": 1.0,
        }
    )
    catalog = online_retail.product_catalog(all_lines)
    items = pd.DataFrame({"item_id": catalog["stock_code"], "text": catalog["description"]})
    return RecData(name="online-retail", interactions=interactions, items=items, drops=drops)


def load_interactions_csv(interactions_path: Path | str, items_path: Path | str) -> RecData:
    """Load your own data from two CSV files with headers and validate them against the contract.

    The interactions file needs the columns user_id, item_id, timestamp (unix seconds or dates)
    and optionally weight or rating. The items file needs item_id and text. Ids are read as
    strings, so "007" stays "007". No rows are dropped: invalid rows raise ValueError.
    """
    interactions_path = Path(interactions_path)
    items_path = Path(items_path)
    for path in (interactions_path, items_path):
        if not path.is_file():
            raise FileNotFoundError(f"CSV file {str(path)!r} not found; check the path")

    id_dtypes = {"user_id": str, "item_id": str}
    interactions = read_csv_file(interactions_path, "interactions", dtype=id_dtypes)
    items = read_csv_file(items_path, "items", dtype={"item_id": str}, keep_default_na=False, na_values=[])
    drops = DropReport(source=interactions_path.name, rows_in=len(interactions))
    return RecData(name=interactions_path.stem, interactions=interactions, items=items, drops=drops)


def _movie_text(movies: pd.DataFrame, genres: list[str]) -> pd.Series:
    flags = movies[genres].astype(bool)
    genre_names = flags.apply(lambda row: ", ".join(g for g, flag in row.items() if flag), axis=1)
    titles = movies["title"].astype(str).str.strip()
    return titles.where(genre_names == "", titles + " | " + genre_names)


def _ids_as_str(values: pd.Series, column: str, table: str) -> pd.Series:
    missing = values.isna() | (values.astype(str).str.strip() == "")
    if missing.any():
        rows = values.index[missing][:_EXAMPLES].tolist()
        raise ValueError(
            f"{table} has missing {column} on {int(missing.sum())} rows (first row labels: {rows}); "
            "remove those rows or fill in the ids"
        )
    if pd.api.types.is_float_dtype(values) and (values % 1 == 0).all():
        # Ids read as floats (17850.0) are meant as integers, so they become "17850".
        values = values.astype("int64")
    return values.astype(str).str.strip()


def _timestamps(values: pd.Series, user_ids: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        timestamps = values
        if getattr(values.dt, "tz", None) is not None:
            timestamps = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_numeric_dtype(values):
        timestamps = pd.to_datetime(values, unit="s", errors="coerce")
    else:
        timestamps = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = timestamps.isna()
    if bad.any():
        raise ValueError(
            f"interactions have {int(bad.sum())} missing or unparseable timestamps "
            f"(first values: {values[bad].head(_EXAMPLES).tolist()}, users: {user_ids[bad].head(_EXAMPLES).tolist()}); "
            "use datetimes, unix seconds or ISO dates such as '2011-12-09 12:50:00'"
        )
    return timestamps.astype("datetime64[ns]")


def _weights(df: pd.DataFrame, user_ids: pd.Series) -> pd.Series:
    if "weight" in df.columns:
        column = "weight"
    elif "rating" in df.columns:
        column = "rating"
    else:
        return pd.Series(1.0, index=df.index, dtype="float64")

    values = df[column]
    missing = values.isna()
    if missing.any():
        raise ValueError(
            f"interactions have a missing {column} on {int(missing.sum())} rows "
            f"(first users: {user_ids[missing].head(_EXAMPLES).tolist()}); fill or remove those rows"
        )
    weights = pd.to_numeric(values, errors="coerce")
    non_numeric = weights.isna()
    if non_numeric.any():
        raise ValueError(
            f"interactions column {column!r} has {int(non_numeric.sum())} non-numeric values "
            f"(first: {values[non_numeric].head(_EXAMPLES).tolist()}); it must contain numbers"
        )
    non_positive = weights <= 0
    if non_positive.any():
        raise ValueError(
            f"interactions column {column!r} has {int(non_positive.sum())} values <= 0 "
            f"(first: {weights[non_positive].head(_EXAMPLES).tolist()}); weights must be > 0, so drop "
            "negative feedback rows or shift the scale"
        )
    return weights.astype("float64")
