"""Cached text encoding: look up the on-disk cache, encode only the missing texts, keep input order."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, overload

import numpy as np

from engine.encoder.cache import EmbeddingCache
from engine.encoder.config import EncoderConfig, compute_model_id, read_hidden_size

__all__ = ["EncodeStats", "cache_key", "encode_texts", "validate_texts"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodeStats:
    """Counts of one `encode_texts` call. Cached and encoded counts are of unique texts."""

    n_texts: int
    n_unique: int
    n_cached: int
    n_encoded: int
    seconds: float


def validate_texts(texts: Sequence[str]) -> list[str]:
    """Return `texts` as a list, raising ValueError at the first item that is not a str (NaN included)."""
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not a single string; wrap it in a list")
    items = list(texts)
    for position, item in enumerate(items):
        if isinstance(item, str):
            continue
        if isinstance(item, float) and math.isnan(item):
            raise ValueError(
                f"texts[{position}] is NaN; drop or fill missing texts (for example with '') before encoding"
            )
        raise ValueError(
            f"texts[{position}] is {item!r} of type {type(item).__name__}, expected str; "
            "convert or drop non-string values before encoding"
        )
    return items


def cache_key(config: EncoderConfig) -> str:
    """Return the cache namespace: the model id plus max_length, because truncation changes vectors."""
    return f"{compute_model_id(config.model)}|max_length={config.max_length}"


@lru_cache(maxsize=2)
def _local_encoder(model: str, batch_size: int, max_length: int, device: str, show_progress: bool):
    from engine.encoder.model import TextEncoder

    config = EncoderConfig(
        model=model, batch_size=batch_size, max_length=max_length, device=device, show_progress=show_progress
    )
    return TextEncoder(config)


def _encode_missing(missing: list[str], config: EncoderConfig, cache: EmbeddingCache, use_ray: bool) -> dict[str, np.ndarray]:
    """Encode `missing` texts, store each finished part in the cache, and return text -> vector."""
    vectors: dict[str, np.ndarray] = {}
    if use_ray:
        from tqdm.auto import tqdm

        from engine.encoder.ray_encode import encode_on_ray

        with tqdm(total=len(missing), desc="encode", unit="text", disable=not config.show_progress) as progress:
            for chunk, embeddings in encode_on_ray(missing, config):
                cache.store(chunk, embeddings)
                vectors.update(zip(chunk, embeddings))
                progress.update(len(chunk))
    else:
        encoder = _local_encoder(
            config.model, config.batch_size, config.max_length, config.device, config.show_progress
        )
        embeddings = encoder.encode(missing)
        cache.store(missing, embeddings)
        vectors.update(zip(missing, embeddings))
    return vectors


@overload
def encode_texts(
    texts: Sequence[str], config: EncoderConfig | None = ..., *, use_ray: bool = ..., return_stats: Literal[False] = ...
) -> np.ndarray: ...
@overload
def encode_texts(
    texts: Sequence[str], config: EncoderConfig | None = ..., *, use_ray: bool = ..., return_stats: Literal[True]
) -> tuple[np.ndarray, EncodeStats]: ...


def encode_texts(
    texts: Sequence[str],
    config: EncoderConfig | None = None,
    *,
    use_ray: bool = True,
    return_stats: bool = False,
) -> np.ndarray | tuple[np.ndarray, EncodeStats]:
    """Return embeddings of shape (len(texts), dim), float32, unit rows, in input order.

    The driver looks up the on-disk cache, encodes each missing unique text once (on Ray actors
    when `use_ray`, else in this process), stores the new rows, and assembles the result.
    With `return_stats=True` the call returns `(embeddings, EncodeStats)`.
    Raises ValueError when an item is not a string or is NaN.
    """
    started = time.perf_counter()
    config = config if config is not None else EncoderConfig()
    items = validate_texts(texts)
    dim = read_hidden_size(config.model)
    unique = list(dict.fromkeys(items))

    with EmbeddingCache(config.resolved_cache_dir(), cache_key(config), dim) as cache:
        vectors = cache.lookup(unique)
        missing = [text for text in unique if text not in vectors]
        logger.info(
            "embedding cache %s: %d of %d unique texts cached, %d to encode",
            cache.model_key,
            len(vectors),
            len(unique),
            len(missing),
        )
        if missing:
            vectors.update(_encode_missing(missing, config, cache, use_ray))

    output = np.empty((len(items), dim), dtype=np.float32)
    for row, text in enumerate(items):
        output[row] = vectors[text]
    stats = EncodeStats(
        n_texts=len(items),
        n_unique=len(unique),
        n_cached=len(unique) - len(missing),
        n_encoded=len(missing),
        seconds=time.perf_counter() - started,
    )
    logger.info("encoded %d texts (%d from cache) in %.2f s", stats.n_encoded, stats.n_cached, stats.seconds)
    return (output, stats) if return_stats else output
