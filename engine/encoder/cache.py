"""On-disk embedding cache in SQLite, keyed by model key and the SHA-256 of the text."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingCache", "text_digest"]

logger = logging.getLogger(__name__)

DB_NAME = "embeddings.sqlite3"
LOOKUP_CHUNK = 500  # stays below SQLite's default limit of bound parameters per statement
BUSY_TIMEOUT_S = 60.0


def text_digest(text: str) -> bytes:
    """Return the 32-byte SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Embedding rows stored in `<folder>/embeddings.sqlite3` as float32 blobs.

    The database runs in WAL mode with a busy timeout, so several processes can read and write it
    at once. Each row is keyed by (model key, SHA-256 of the text), and a row that already exists
    is left unchanged, so concurrent writers of the same text do not conflict.
    """

    def __init__(self, folder: Path, model_key: str, dim: int):
        self.folder = Path(folder)
        self.model_key = model_key
        self.dim = dim
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_NAME
        self._connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS embeddings ("
            " model_key TEXT NOT NULL, text_sha256 BLOB NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,"
            " PRIMARY KEY (model_key, text_sha256)) WITHOUT ROWID"
        )

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> "EmbeddingCache":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def lookup(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Return the cached float32 vectors of shape (dim,) for those `texts` that are in the cache."""
        by_digest = {text_digest(text): text for text in texts}
        digests = list(by_digest)
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(digests), LOOKUP_CHUNK):
            chunk = digests[start : start + LOOKUP_CHUNK]
            placeholders = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                f"SELECT text_sha256, dim, vector FROM embeddings WHERE model_key = ? AND text_sha256 IN ({placeholders})",
                [self.model_key, *chunk],
            )
            for digest, dim, blob in rows:
                if dim != self.dim:
                    raise ValueError(
                        f"cache {str(self.path)!r} contains a {dim}-dimensional row for model key {self.model_key!r}, "
                        f"expected {self.dim}; delete the cache file to rebuild it"
                    )
                found[by_digest[digest]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def store(self, texts: Iterable[str], vectors: np.ndarray) -> None:
        """Insert one row per text; `vectors` has shape (n_texts, dim). Existing rows are kept."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"vectors must have shape (n, {self.dim}), got {vectors.shape}")
        rows = [
            (self.model_key, text_digest(text), self.dim, vector.tobytes())
            for text, vector in zip(texts, vectors, strict=True)
        ]
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.executemany(
                "INSERT OR IGNORE INTO embeddings (model_key, text_sha256, dim, vector) VALUES (?, ?, ?, ?)", rows
            )
        logger.debug("stored %d embeddings for %s in %s", len(rows), self.model_key, self.path)
