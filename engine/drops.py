"""Counting of rows that data cleaning drops, so no row disappears silently."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["DropReport"]


@dataclass
class DropReport:
    """Rows in, rows out and the number of rows dropped for each reason, in the order applied."""

    source: str
    rows_in: int = 0
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def rows_out(self) -> int:
        return self.rows_in - self.rows_dropped

    def drop(self, df: pd.DataFrame, mask: pd.Series, reason: str) -> pd.DataFrame:
        """Remove the rows where `mask` is True, count them under `reason` and return the rest."""
        mask = mask.fillna(False).astype(bool)
        count = int(mask.sum())
        self.dropped[reason] = self.dropped.get(reason, 0) + count
        if count:
            logger.info("%s: dropped %d rows (%s)", self.source, count, reason)
        return df.loc[~mask]

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped": dict(self.dropped),
        }

    def to_markdown(self) -> str:
        lines = [f"Data cleaning of {self.source}: {self.rows_in:,} rows in, {self.rows_out:,} rows out.", ""]
        lines += ["| reason | rows dropped |", "|---|---:|"]
        lines += [f"| {reason} | {count:,} |" for reason, count in self.dropped.items()]
        return "\n".join(lines)
