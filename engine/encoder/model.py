"""Sentence embeddings from a Hugging Face BERT-style encoder: mean pooling, then L2 normalization."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.encoder.config import EncoderConfig, compute_model_id, read_hidden_size, resolve_model_path

if TYPE_CHECKING:
    import torch

__all__ = ["TextEncoder", "mean_pool", "resolve_device"]

logger = logging.getLogger(__name__)


def resolve_device(device: str) -> str:
    """Map "auto" to "cuda" when torch.cuda.is_available(), else to "cpu". Raise when "cuda" is set but missing."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was set but torch.cuda.is_available() is False; use device='auto' or 'cpu'")
    return device


def mean_pool(hidden: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
    """Average token states of shape (batch, tokens, dim) over real tokens, giving shape (batch, dim)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return summed / counts


class TextEncoder:
    """Encode texts into unit-length float32 vectors with a Hugging Face encoder.

    The tokenizer and model load on the first call that needs them. On CUDA the model runs in
    float16, and the output is always float32. This class does not cache embeddings; use
    `encode_texts` for the cached path.
    """

    def __init__(self, config: EncoderConfig | None = None):
        self.config = config if config is not None else EncoderConfig()
        self._tokenizer = None
        self._model = None
        self._device: str | None = None

    @property
    def dim(self) -> int:
        """Embedding dimension, read from the model's config.json."""
        return read_hidden_size(self.config.model)

    @property
    def model_id(self) -> str:
        """Stable id of the model: `<name>@<hash of config.json and the weight file>`."""
        return compute_model_id(self.config.model)

    @property
    def device(self) -> str:
        """Torch device the model runs on ("cpu" or "cuda")."""
        if self._device is None:
            self._device = resolve_device(self.config.device)
        return self._device

    def load(self) -> None:
        """Load the tokenizer and the model onto the device; a no-op once loaded."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model_path(self.config.model)
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
        model.eval()
        if self.device == "cuda":
            # NOTE: this float16 path has not been run on a GPU yet; only the CPU path is tested.
            model = model.to(device="cuda", dtype=torch.float16)
        self._model = model
        logger.info("loaded encoder %s on %s (dim=%d)", self.model_id, self.device, self.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return the embeddings of `texts` as a float32 array of shape (len(texts), dim) with unit rows.

        Texts are batched by `batch_size` after sorting by length, which reduces padding; the rows
        come back in input order. Inputs are assumed to be strings (`encode_texts` validates them).
        """
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch
        from tqdm.auto import tqdm

        self.load()
        order = np.argsort([-len(text) for text in texts], kind="stable")
        output = np.empty((len(texts), self.dim), dtype=np.float32)
        batch_size = self.config.batch_size
        starts = range(0, len(texts), batch_size)
        with torch.inference_mode():
            for start in tqdm(starts, desc="encode", unit="batch", disable=not self.config.show_progress):
                indices = order[start : start + batch_size]
                output[indices] = self._encode_batch([texts[i] for i in indices])
        return output

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        import torch

        tokens = self._tokenizer(
            batch, padding=True, truncation=True, max_length=self.config.max_length, return_tensors="pt"
        ).to(self.device)
        hidden = self._model(**tokens).last_hidden_state
        pooled = mean_pool(hidden.float(), tokens["attention_mask"])
        return torch.nn.functional.normalize(pooled, p=2, dim=1).cpu().numpy()
