"""Shared fixtures: one local Ray per test session, and datasets from the data directory."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

from engine.paths import DATA_DIR_ENV, require_dataset


@pytest.fixture(scope="session")
def ray_local():
    """Start a real local Ray once per test session and shut it down at the end."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def dataset_or_skip(folder: str):
    """Return the dataset folder; skip without a data directory, but fail under CI=true."""
    try:
        return require_dataset(folder)
    except FileNotFoundError as error:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"{error} ({DATA_DIR_ENV} is not set to a folder with {folder}/)")


@pytest.fixture(scope="session")
def movielens_dir():
    return dataset_or_skip("movielens-100k")


@pytest.fixture(scope="session")
def oj_dir():
    return dataset_or_skip("dominicks-orange-juice")
