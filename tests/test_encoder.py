"""Tests of the text encoder: known answers against bare transformers, the cache, Ray, bad input."""

from __future__ import annotations

import multiprocessing
import shutil

import numpy as np
import pydantic
import pytest

from engine.encoder import EncoderConfig, TextEncoder, encode_texts
from engine.encoder.cache import EmbeddingCache
from engine.encoder.config import DEFAULT_MODEL, resolve_model_path
from engine.encoder.encode import cache_key
from engine.encoder.ray_encode import plan_chunks

SENTENCES = [
    "A red wooden heart hanging decoration.",
    "The cat sat on the mat.",
    "Stainless steel garlic press with a soft grip handle",
]
PRODUCTS = [
    "WHITE HANGING HEART T-LIGHT HOLDER",
    "REGENCY CAKESTAND 3 TIER",
    "JUMBO BAG RED RETROSPOT",
    "PARTY BUNTING",
    "LUNCH BAG RED RETROSPOT",
    "ASSORTED COLOUR BIRD ORNAMENT",
    "SET OF 3 CAKE TINS PANTRY DESIGN",
    "PACK OF 72 RETROSPOT CAKE CASES",
    "NATURAL SLATE HEART CHALKBOARD",
    "HEART OF WICKER SMALL",
    "JAM MAKING SET WITH JARS",
    "RED WOOLLY HOTTIE WHITE HEART.",
    "",
]


def local_config(tmp_path, **overrides) -> EncoderConfig:
    settings = {"cache_dir": tmp_path / "cache", "show_progress": False, "device": "cpu"}
    settings.update(overrides)
    return EncoderConfig(**settings)


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder(EncoderConfig(show_progress=False, device="cpu"))


def bare_transformers_embeddings(texts: list[str], max_length: int = 128) -> np.ndarray:
    """Compute mean-pooled, L2-normalized embeddings with transformers alone, as a reference."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = resolve_model_path(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    rows = []
    with torch.no_grad():
        for text in texts:
            tokens = tokenizer([text], truncation=True, max_length=max_length, return_tensors="pt")
            states = model(**tokens).last_hidden_state[0]
            mean = states.mean(dim=0)  # a single unpadded text: every token is real
            rows.append((mean / mean.norm()).numpy())
    return np.stack(rows)


def test_encoder_matches_bare_transformers(encoder):
    expected = bare_transformers_embeddings(SENTENCES)
    actual = encoder.encode(SENTENCES)
    cosines = (actual * expected).sum(axis=1)
    assert actual.shape == (3, 384)
    assert actual.dtype == np.float32
    assert np.all(cosines > 0.999), cosines


def test_encoder_rows_have_unit_norm(encoder):
    norms = np.linalg.norm(encoder.encode(PRODUCTS), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_encoder_semantic_neighbour(encoder):
    anchor, paraphrase, unrelated = encoder.encode(
        ["red wooden heart decoration", "wooden heart ornament in red", "stainless steel garlic press"]
    )
    assert anchor @ paraphrase > anchor @ unrelated + 0.2


def test_encoder_batching_keeps_order(encoder):
    batched = TextEncoder(EncoderConfig(batch_size=3, show_progress=False, device="cpu")).encode(PRODUCTS)
    one_by_one = np.stack([encoder.encode([text])[0] for text in PRODUCTS])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_encoder_properties(encoder):
    assert encoder.dim == 384
    assert encoder.model_id.startswith(f"{DEFAULT_MODEL}@")
    assert len(encoder.model_id.split("@")[1]) == 12


def test_empty_input_gives_zero_rows(encoder, tmp_path):
    assert encoder.encode([]).shape == (0, 384)
    embeddings, stats = encode_texts([], local_config(tmp_path), use_ray=False, return_stats=True)
    assert embeddings.shape == (0, 384)
    assert embeddings.dtype == np.float32
    assert stats.n_encoded == 0


def test_encode_texts_duplicates_and_order(encoder, tmp_path):
    texts = ["PARTY BUNTING", "", "JUMBO BAG RED RETROSPOT", "PARTY BUNTING", "", "PARTY BUNTING"]
    embeddings, stats = encode_texts(texts, local_config(tmp_path), use_ray=False, return_stats=True)
    reference = encoder.encode(["PARTY BUNTING", "", "JUMBO BAG RED RETROSPOT"])

    assert embeddings.shape == (6, 384)
    assert stats.n_texts == 6
    assert stats.n_unique == 3
    assert stats.n_encoded == 3
    np.testing.assert_allclose(embeddings[[0, 3, 5]], np.repeat(reference[[0]], 3, axis=0), atol=1e-5)
    np.testing.assert_allclose(embeddings[[1, 4]], np.repeat(reference[[1]], 2, axis=0), atol=1e-5)
    np.testing.assert_allclose(embeddings[2], reference[2], atol=1e-5)


def test_second_call_served_from_cache(tmp_path):
    config = local_config(tmp_path)
    first, first_stats = encode_texts(PRODUCTS, config, use_ray=False, return_stats=True)
    second, second_stats = encode_texts(PRODUCTS[::-1], config, use_ray=False, return_stats=True)

    assert first_stats.n_encoded == len(PRODUCTS)
    assert second_stats.n_encoded == 0
    assert second_stats.n_cached == len(PRODUCTS)
    np.testing.assert_array_equal(second, first[::-1])


def test_partial_cache_encodes_only_new(tmp_path):
    config = local_config(tmp_path)
    encode_texts(PRODUCTS[:5], config, use_ray=False)
    _, stats = encode_texts(PRODUCTS, config, use_ray=False, return_stats=True)
    assert stats.n_cached == 5
    assert stats.n_encoded == len(PRODUCTS) - 5


def test_cache_key_depends_on_model(tmp_path):
    # A copy of the model with one extra config entry is a different model to the cache.
    source = resolve_model_path(DEFAULT_MODEL)
    copy = tmp_path / "minilm-copy"
    copy.mkdir()
    for item in source.iterdir():
        if item.is_file() and item.name != "config.json":
            (copy / item.name).symlink_to(item)
    config_text = (source / "config.json").read_text().rstrip().rstrip("}")
    (copy / "config.json").write_text(config_text + ',\n  "note": "copy for a cache-key test"\n}\n')

    default = local_config(tmp_path)
    copied = local_config(tmp_path, model=str(copy))
    assert cache_key(default) != cache_key(copied)

    encode_texts(PRODUCTS[:4], default, use_ray=False)
    embeddings, stats = encode_texts(PRODUCTS[:4], copied, use_ray=False, return_stats=True)
    assert stats.n_encoded == 4
    assert np.linalg.norm(embeddings, axis=1) == pytest.approx(1.0, abs=1e-5)


def test_cache_key_depends_on_max_length(tmp_path):
    long_text = " ".join(["red heart decoration with ribbon"] * 10) + " and a steel garlic press"
    full, _ = encode_texts([long_text], local_config(tmp_path), use_ray=False, return_stats=True)
    short, stats = encode_texts([long_text], local_config(tmp_path, max_length=8), use_ray=False, return_stats=True)

    assert cache_key(local_config(tmp_path)) != cache_key(local_config(tmp_path, max_length=8))
    assert stats.n_encoded == 1
    assert float(full[0] @ short[0]) < 0.99


def test_ray_path_equals_local_path(ray_local, tmp_path):
    texts = PRODUCTS + [f"{text} GIFT" for text in PRODUCTS]
    local = encode_texts(texts, local_config(tmp_path / "local"), use_ray=False)
    # More actors than the fixture's 2 CPUs: the call caps the count instead of waiting forever.
    on_ray, stats = encode_texts(
        texts, local_config(tmp_path / "ray", batch_size=4, num_actors=3), use_ray=True, return_stats=True
    )
    assert stats.n_encoded == len(texts)
    np.testing.assert_allclose(on_ray, local, atol=1e-5)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["fine", float("nan")], r"texts\[1\] is NaN"),
        (["fine", "also fine", None], r"texts\[2\] is None"),
        ([3], r"texts\[0\] is 3 of type int"),
        ([b"bytes"], r"texts\[0\] is b'bytes' of type bytes"),
        ("a single string", "not a single string"),
    ],
)
def test_bad_input_raises(tmp_path, texts, message):
    with pytest.raises(ValueError, match=message):
        encode_texts(texts, local_config(tmp_path), use_ray=False)


@pytest.mark.parametrize(
    "settings",
    [{"batch_size": 0}, {"max_length": -1}, {"num_actors": 0}, {"device": "tpu"}, {"batch": 64}],
)
def test_config_rejects_invalid_settings(settings):
    with pytest.raises(pydantic.ValidationError):
        EncoderConfig(**settings)


def test_unknown_model_raises(tmp_path):
    missing = tmp_path / "no-such-model"
    missing.mkdir()
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        encode_texts(["x"], local_config(tmp_path, model=str(missing)), use_ray=False)


@pytest.mark.parametrize(("n_texts", "batch_size", "n_actors"), [(0, 4, 1), (1, 64, 4), (20, 4, 2), (5000, 64, 3)])
def test_plan_chunks_covers_all_texts(n_texts, batch_size, n_actors):
    chunks = plan_chunks(n_texts, batch_size, n_actors)
    covered = [i for part in chunks for i in range(n_texts)[part]]
    assert covered == list(range(n_texts))
    assert all(part.stop - part.start <= 16 * batch_size for part in chunks)


def _store_rows(folder, seed: int) -> None:
    vectors = np.random.default_rng(seed).normal(size=(200, 8)).astype(np.float32)
    with EmbeddingCache(folder, "writer-test", 8) as cache:
        for start in range(0, 200, 20):
            cache.store([f"text {i}" for i in range(start, start + 20)], vectors[start : start + 20])


def test_cache_two_processes_write(tmp_path):
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_store_rows, args=(tmp_path, seed)) for seed in (1, 2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
    assert [writer.exitcode for writer in writers] == [0, 0]

    with EmbeddingCache(tmp_path, "writer-test", 8) as cache:
        found = cache.lookup([f"text {i}" for i in range(200)])
    assert len(found) == 200
    assert all(vector.shape == (8,) for vector in found.values())


def test_cache_rejects_wrong_dimension(tmp_path):
    with EmbeddingCache(tmp_path, "dim-test", 4) as cache:
        cache.store(["a"], np.ones((1, 4), dtype=np.float32))
    with EmbeddingCache(tmp_path, "dim-test", 3) as cache:
        with pytest.raises(ValueError, match="4-dimensional row"):
            cache.lookup(["a"])
