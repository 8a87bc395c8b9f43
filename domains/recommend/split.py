"""Train/valid/test splits of interactions and the integer indexing of users and items.

Two protocols are supported:

- "stratified": per user, a random `ratio` of the user's rows goes to train and the rest to test,
  then `valid_ratio` of each user's train rows becomes valid. This follows the per-user random
  split (`python_stratified_split`) of Microsoft Recommenders, which reports its ML-100K benchmark
  table on a 75/25 split of this kind.
- "temporal": global time cutoffs, so the last `holdout_days` days (up to the latest timestamp)
  are test, the `holdout_days` before them are valid, and everything earlier is train.

Valid and test then keep only users with train rows, drop (user, item) pairs already in train
(seen items are not recommended again) and keep one row per (user, item). Items without train
rows stay, because the catalog and the item text cover them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from domains.recommend.data import RecData
from engine.drops import DropReport

logger = logging.getLogger(__name__)

__all__ = ["Split", "stratified_split", "temporal_split", "make_split", "InteractionIndex"]

Protocol = Literal["stratified", "temporal"]


@dataclass
class Split:
    """Interaction rows of train, valid and test, and the valid/test rows the protocol removed."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    protocol: str
    drops: DropReport


def stratified_split(df: pd.DataFrame, ratio: float = 0.75, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split each user's rows at random: round(ratio * n) rows to the first part, the rest to the second.

    `round` rounds halves to even, as Python's `round` and `np.round` do (the rounding that
    Microsoft Recommenders uses), so a user with 10 rows and ratio 0.75 gets 8 (7.5 -> 8) and a
    user with 2 rows gets 2 (1.5 -> 2). A user with one row stays in the first part because
    round(0.75) = 1. The rows are shuffled once with `seed`, so the split is reproducible. Both
    parts keep the input's row order and index. `ratio` must be in (0, 1].
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio!r}; for a 75/25 split pass ratio=0.75")
    _require_columns(df, ("user_id",), "stratified_split")
    if not df.index.is_unique:
        raise ValueError("stratified_split needs a unique index; call df.reset_index(drop=True) first")

    shuffled = df.sample(frac=1.0, random_state=seed)
    users = shuffled["user_id"]
    position = users.groupby(users, sort=False).cumcount()
    user_rows = users.groupby(users, sort=False).transform("size")
    first_size = np.round(ratio * user_rows.to_numpy())
    in_first = pd.Series(position.to_numpy() < first_size, index=shuffled.index).reindex(df.index)
    return df.loc[in_first.to_numpy()], df.loc[~in_first.to_numpy()]


def temporal_split(
    df: pd.DataFrame,
    *,
    holdout_days: float | None = None,
    cutoff: pd.Timestamp | str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows by time into a past and a future part; both keep the input's row order and index.

    Pass exactly one of:

    - `holdout_days`: the future is the last `holdout_days` days, the half-open window
      (max(timestamp) - holdout_days, max(timestamp)].
    - `cutoff`: the future is every row with timestamp >= cutoff.
    """
    if (holdout_days is None) == (cutoff is None):
        raise ValueError("pass exactly one of holdout_days (for example 30) or cutoff (a timestamp)")
    _require_columns(df, ("timestamp",), "temporal_split")
    if cutoff is not None:
        future = df["timestamp"] >= pd.Timestamp(cutoff)
        return df.loc[~future], df.loc[future]

    _check_holdout_days(holdout_days, df)
    future = df["timestamp"] > df["timestamp"].max() - pd.Timedelta(days=holdout_days)
    return df.loc[~future], df.loc[future]


def make_split(
    data: RecData,
    protocol: Protocol,
    *,
    seed: int = 42,
    ratio: float = 0.75,
    valid_ratio: float = 0.1,
    holdout_days: float = 30,
) -> Split:
    """Split `data.interactions` into train, valid and test by `protocol` (see the module docstring).

    stratified: `ratio` of each user's rows to train+valid and the rest to test, then `valid_ratio`
    of each user's train+valid rows to valid. temporal: the last `holdout_days` days are test and
    the `holdout_days` before them valid. In valid and test, rows of users without train rows,
    (user, item) pairs seen in train, and repeats of a (user, item) pair are removed and counted in
    `Split.drops`, whose rows_out equals len(train) + len(valid) + len(test).
    """
    interactions = data.interactions
    if protocol == "stratified":
        if not 0.0 <= valid_ratio < 1.0:
            raise ValueError(f"valid_ratio must be in [0, 1), got {valid_ratio!r}")
        train_valid, test = stratified_split(interactions, ratio=ratio, seed=seed)
        train, valid = stratified_split(train_valid, ratio=1.0 - valid_ratio, seed=seed)
    elif protocol == "temporal":
        _check_holdout_days(holdout_days, interactions)
        train, valid, test = _temporal_parts(interactions, holdout_days)
    else:
        raise ValueError(f"unknown split protocol {protocol!r}; use 'stratified' or 'temporal'")

    drops = DropReport(source=f"{data.name} {protocol} split", rows_in=len(interactions))
    valid = _filter_holdout(valid, train, "valid", drops)
    test = _filter_holdout(test, train, "test", drops)
    if train.empty:
        raise ValueError(f"the {protocol} split left train empty; use a smaller holdout or a larger ratio")
    logger.info(
        "%s %s split: train %d, valid %d, test %d rows", data.name, protocol, len(train), len(valid), len(test)
    )
    return Split(
        train=train.reset_index(drop=True),
        valid=valid.reset_index(drop=True),
        test=test.reset_index(drop=True),
        protocol=protocol,
        drops=drops,
    )


def _temporal_parts(df: pd.DataFrame, holdout_days: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Cut train, valid and test at max - 2 * holdout_days and max - holdout_days (windows closed on the right)."""
    window = pd.Timedelta(days=holdout_days)
    test_start = df["timestamp"].max() - window
    valid_start = test_start - window
    in_test = df["timestamp"] > test_start
    in_valid = (df["timestamp"] > valid_start) & ~in_test
    in_train = ~(in_test | in_valid)
    return df.loc[in_train], df.loc[in_valid], df.loc[in_test]


def _check_holdout_days(holdout_days: float, df: pd.DataFrame) -> None:
    if not holdout_days > 0:
        raise ValueError(f"holdout_days must be > 0, got {holdout_days!r}")
    if df.empty:
        raise ValueError("the temporal split got no rows, so it cannot place a cutoff from holdout_days")


def _filter_holdout(part: pd.DataFrame, train: pd.DataFrame, name: str, drops: DropReport) -> pd.DataFrame:
    """Remove rows of unknown users, pairs seen in train and repeated pairs from a valid or test part."""
    # isin on unique values: pandas 3 string columns convert the isin argument value by value.
    train_users = train["user_id"].unique()
    part = drops.drop(part, ~part["user_id"].isin(train_users), f"{name}: user not in train")

    train_pairs = pd.MultiIndex.from_frame(train[["user_id", "item_id"]])
    part_pairs = pd.MultiIndex.from_frame(part[["user_id", "item_id"]])
    seen = pd.Series(part_pairs.isin(train_pairs), index=part.index)
    part = drops.drop(part, seen, f"{name}: item already in the user's train rows")

    repeated = part.duplicated(subset=["user_id", "item_id"], keep="first")
    return drops.drop(part, repeated, f"{name}: repeated (user, item) pair")


class InteractionIndex:
    """Contiguous integer ids for users (those in train) and items (the whole catalog).

    `users` and `items` are pd.Index objects, and position i in them is integer id i.
    """

    def __init__(self, users: pd.Index, items: pd.Index) -> None:
        for label, index in (("users", users), ("items", items)):
            if not index.is_unique:
                duplicates = index[index.duplicated()].unique()[:5].tolist()
                raise ValueError(f"{label} ids must be unique; duplicates: {duplicates}")
        self.users = pd.Index(users, name="user_id")
        self.items = pd.Index(items, name="item_id")

    @classmethod
    def from_data(cls, data: RecData, train: pd.DataFrame) -> InteractionIndex:
        """Index the users of `train` (sorted) and all catalog items (in catalog order)."""
        users = pd.Index(sorted(train["user_id"].unique()))
        return cls(users, pd.Index(data.items["item_id"]))

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def user_index(self, ids: Iterable[str] | str) -> np.ndarray:
        """Return the integer ids of user ids; raise KeyError naming any user the model never saw."""
        return self._lookup(self.users, ids, "user")

    def item_index(self, ids: Iterable[str] | str) -> np.ndarray:
        """Return the integer ids of item ids; raise KeyError naming any item not in the catalog."""
        return self._lookup(self.items, ids, "item")

    def to_csr(self, df: pd.DataFrame, *, binary: bool = True) -> sp.csr_matrix:
        """Build a float32 CSR matrix of shape (n_users, n_items) from interaction rows.

        With `binary`, each (user, item) cell with at least one row is 1.0. Otherwise the cell is
        the sum of the rows' weights. Unknown users or items raise KeyError.
        """
        _require_columns(df, ("user_id", "item_id"), "to_csr")
        rows = self.user_index(df["user_id"])
        cols = self.item_index(df["item_id"])
        if binary:
            values = np.ones(len(df), dtype=np.float32)
        else:
            _require_columns(df, ("weight",), "to_csr(binary=False)")
            values = df["weight"].to_numpy(dtype=np.float32)
        matrix = sp.csr_matrix((values, (rows, cols)), shape=(self.n_users, self.n_items), dtype=np.float32)
        matrix.sum_duplicates()
        if binary:
            matrix.data[:] = 1.0
        return matrix

    @staticmethod
    def _lookup(index: pd.Index, ids: Iterable[str] | str, kind: str) -> np.ndarray:
        values = pd.Index([ids] if isinstance(ids, str) else ids).astype(str)
        positions = index.get_indexer(values)
        unknown = positions < 0
        if unknown.any():
            examples = values[unknown].unique()[:5].tolist()
            if kind == "user":
                reason = "the model never saw them in the training data; fit on data that contains them"
            else:
                reason = "they are not in the item catalog; add them to the items table"
            raise KeyError(
                f"unknown {kind} ids {examples} ({int(unknown.sum())} rows): {reason} or filter them out before scoring"
            )
        return positions.astype(np.int64)


def _require_columns(df: pd.DataFrame, columns: tuple[str, ...], caller: str) -> None:
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise ValueError(f"{caller} needs the columns {missing}; found {list(df.columns)}")
