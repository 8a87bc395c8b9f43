"""Locations of the data directory and of the engine's caches."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "CACHE_DIR_ENV", "resolve_data_dir", "require_dataset", "default_cache_dir", "read_csv_file"]

DATA_DIR_ENV = "DECISION_ENGINE_DATA_DIR"
CACHE_DIR_ENV = "DECISION_ENGINE_CACHE_DIR"


def resolve_data_dir(configured: str | Path | None = None) -> Path | None:
    """Return the data directory from config, else from $DECISION_ENGINE_DATA_DIR, else None."""
    value = configured or os.environ.get(DATA_DIR_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"data directory {str(path)!r} does not exist; set {DATA_DIR_ENV} or `data_dir` in the config "
            "to the folder that holds the dataset folders (for example movielens-100k/)"
        )
    return path


def require_dataset(folder: str, configured: str | Path | None = None) -> Path:
    """Return `<data dir>/<folder>`, or raise with what to set when it is missing."""
    data_dir = resolve_data_dir(configured)
    if data_dir is None:
        raise FileNotFoundError(
            f"dataset {folder!r} needs a data directory: set {DATA_DIR_ENV} (or `data_dir` in the config) "
            f"to the folder that contains {folder}/"
        )
    path = data_dir / folder
    if not path.is_dir():
        raise FileNotFoundError(f"dataset folder {str(path)!r} not found; check {DATA_DIR_ENV}={str(data_dir)!r}")
    return path


def default_cache_dir() -> Path:
    """Return $DECISION_ENGINE_CACHE_DIR, else ~/.cache/decision-engine."""
    value = os.environ.get(CACHE_DIR_ENV)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "decision-engine"


def read_csv_file(path: str | Path, role: str, **options):
    """Read a CSV file with pandas; an empty or unparseable file raises ValueError naming it and its `role`."""
    import pandas as pd

    try:
        return pd.read_csv(path, **options)
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"{role} file {str(path)!r} is empty; it needs a header row and at least one data row") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"{role} file {str(path)!r} is not a valid CSV file ({error}); save it as comma-separated UTF-8") from error
