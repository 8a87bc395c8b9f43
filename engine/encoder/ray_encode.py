"""Encode texts on Ray actors: each actor loads the model once and encodes chunks of texts."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence

import numpy as np

from engine.encoder.config import EncoderConfig

__all__ = ["EncoderActor", "encode_on_ray", "plan_chunks"]

logger = logging.getLogger(__name__)

MAX_BATCHES_PER_CHUNK = 16
CHUNKS_PER_ACTOR = 4
WAIT_WARNING_S = 120.0
_thread_warning_logged = False


class EncoderActor:
    """Ray actor body: keeps one loaded `TextEncoder` and encodes chunks of texts with it."""

    def __init__(self, config: EncoderConfig):
        self.threads = _limit_torch_threads()
        from engine.encoder.model import TextEncoder

        self.encoder = TextEncoder(config)
        self.encoder.load()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return embeddings of shape (len(texts), dim), float32 with unit rows."""
        return self.encoder.encode(texts)


def _limit_torch_threads() -> int:
    """Set torch's intra-op threads to this worker's CPU allocation; warn once when it was higher.

    A torch that uses every core in each of several actors on one node oversubscribes the CPUs.
    """
    global _thread_warning_logged
    import ray
    import torch

    allocated = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    threads = max(1, int(allocated))
    current = torch.get_num_threads()
    if current > threads and not _thread_warning_logged:
        logger.warning(
            "torch would use %d threads in a Ray worker allocated %s CPUs; setting torch threads to %d",
            current,
            allocated,
            threads,
        )
        _thread_warning_logged = True
    torch.set_num_threads(threads)
    return threads


def plan_chunks(n_texts: int, batch_size: int, n_actors: int) -> list[slice]:
    """Split `n_texts` into slices of whole batches, about CHUNKS_PER_ACTOR per actor.

    A chunk contains at least one batch and at most MAX_BATCHES_PER_CHUNK batches, so progress is
    reported often and no single remote call carries a large payload.
    """
    if n_texts == 0:
        return []
    target = math.ceil(n_texts / (n_actors * CHUNKS_PER_ACTOR))
    n_batches = min(max(1, math.ceil(target / batch_size)), MAX_BATCHES_PER_CHUNK)
    size = n_batches * batch_size
    return [slice(start, min(start + size, n_texts)) for start in range(0, n_texts, size)]


def _ensure_ray():
    import ray

    if not ray.is_initialized():
        logger.info("Ray is not initialized; starting a local Ray instance with ray.init()")
        ray.init()
    return ray


def _actor_options(ray, config: EncoderConfig) -> tuple[dict, EncoderConfig]:
    """Return the actor's resource request and the config it runs with (device fixed to cpu or cuda)."""
    cluster_gpus = ray.cluster_resources().get("GPU", 0.0)
    if config.device == "cuda" and cluster_gpus < 1:
        raise RuntimeError("device='cuda' was set but the Ray cluster has no GPU; use device='auto' or 'cpu'")
    use_gpu = config.device != "cpu" and cluster_gpus >= 1
    device = "cuda" if use_gpu else "cpu"
    options = {"num_cpus": 1, "num_gpus": 1 if use_gpu else 0}
    # NOTE: the GPU branch (num_gpus=1, float16 in the actor) has not been run on a machine with a GPU.
    return options, config.model_copy(update={"device": device, "show_progress": False})


def _count_actors(ray, requested: int, n_chunks: int, use_gpu: bool) -> int:
    """Cap the actor count at the chunk count and at the cluster's CPUs (or GPUs), so none waits forever."""
    resource = "GPU" if use_gpu else "CPU"
    capacity = max(1, int(ray.cluster_resources().get(resource, 1.0)))
    count = min(requested, n_chunks, capacity)
    if requested > capacity:
        logger.warning(
            "num_actors=%d exceeds the %d %ss of the Ray cluster; starting %d actors", requested, capacity, resource, count
        )
    return count


def encode_on_ray(texts: Sequence[str], config: EncoderConfig) -> Iterator[tuple[list[str], np.ndarray]]:
    """Encode `texts` on `config.num_actors` Ray actors; yield (chunk texts, embeddings) as chunks finish.

    Chunks finish in any order; each yielded array has shape (len(chunk texts), dim).
    Starts a local Ray when none is initialized.
    """
    if len(texts) == 0:
        return
    ray = _ensure_ray()
    options, actor_config = _actor_options(ray, config)

    # Sorting by length puts texts of similar length in one chunk, which reduces padding.
    ordered = sorted(texts, key=len, reverse=True)
    chunks = [ordered[part] for part in plan_chunks(len(ordered), config.batch_size, config.num_actors)]
    n_actors = _count_actors(ray, config.num_actors, len(chunks), options["num_gpus"] > 0)
    remote_class = ray.remote(**options)(EncoderActor)
    actors = [remote_class.remote(actor_config) for _ in range(n_actors)]
    logger.info(
        "encoding %d texts in %d chunks on %d Ray actors (%s)", len(texts), len(chunks), n_actors, options
    )
    try:
        pending = {actors[i % n_actors].encode.remote(chunk): chunk for i, chunk in enumerate(chunks)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_WARNING_S)
            if not done:
                logger.warning(
                    "no chunk finished in %.0f s (%d chunks pending); the actors may be waiting for free %s in the Ray cluster",
                    WAIT_WARNING_S,
                    len(pending),
                    "GPUs" if options["num_gpus"] else "CPUs",
                )
            for ref in done:
                yield pending.pop(ref), ray.get(ref)
    finally:
        for actor in actors:
            ray.kill(actor)
