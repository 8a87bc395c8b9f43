"""Text embeddings for the engine: a Hugging Face encoder, an on-disk cache, and Ray actors.

`encode_texts` is the cached entry point; `TextEncoder` encodes without a cache.
"""

from engine.encoder.config import EncoderConfig
from engine.encoder.encode import EncodeStats, encode_texts
from engine.encoder.model import TextEncoder

__all__ = ["EncoderConfig", "EncodeStats", "TextEncoder", "encode_texts"]
