"""Start or join Ray for a run."""

from __future__ import annotations

import logging
import os

from engine.config import RayConfig

logger = logging.getLogger(__name__)

__all__ = ["init_ray"]


def init_ray(config: RayConfig) -> bool:
    """Join the configured cluster, or start a local Ray; return True when this call started Ray.

    A Ray that is already initialized in this process (a notebook, a test session) is reused as it is.
    """
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if config.address:
        logger.info("joining Ray cluster at %s", config.address)
        ray.init(address=config.address, log_to_driver=False)
    else:
        logger.info("starting a local Ray (num_cpus=%s)", config.num_cpus or "all")
        ray.init(num_cpus=config.num_cpus, include_dashboard=False, log_to_driver=False)
    return True
