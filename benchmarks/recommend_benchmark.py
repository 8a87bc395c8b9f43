"""Benchmark the recommend domain: deep, classic, both blends and plain implicit ALS, on one split.

Runs the main job for a config (fit, blend, evaluate on test). Then it fits `implicit` ALS with its
default settings on the training matrix the final models saw (train + validation), and scores it on
the same test users with the same metric code. Prints one table and writes JSON.

    python benchmarks/recommend_benchmark.py --config configs/recommend-movielens.yaml
    python benchmarks/recommend_benchmark.py --config configs/recommend.yaml
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class DefaultALS:
    """implicit's AlternatingLeastSquares with default settings, scoring known users only."""

    def fit(self, train, item_embeddings=None):
        from implicit.als import AlternatingLeastSquares

        self.model_ = AlternatingLeastSquares(random_state=42)
        self.model_.fit(train, show_progress=False)
        return self

    def user_scores(self, user_rows: np.ndarray) -> np.ndarray:
        user_factors = np.asarray(self.model_.user_factors)[user_rows]
        return user_factors @ np.asarray(self.model_.item_factors).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/recommend-movielens.yaml"))
    parser.add_argument("--out", type=Path, help="JSON results (default: benchmarks/results/recommend_<dataset>.json)")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/benchmarks"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    import ray

    from engine.blend import to_blend_space
    from engine.config import load_config
    from engine.paths import resolve_data_dir
    from engine.registry import create_domain
    from engine.report import format_table
    from engine.runner import run

    config = load_config(args.config, args.overrides, output_dir=str(args.output_dir))
    started = time.perf_counter()
    ray.init(num_cpus=config.ray.num_cpus, include_dashboard=False, log_to_driver=False)
    result = run(config)
    job_seconds = time.perf_counter() - started

    domain = create_domain(config.domain, config.params)
    data = domain.load(resolve_data_dir(config.data_dir))
    history = data.matrix("train+valid")
    truth_all = data.matrix("test")
    rows = np.flatnonzero(np.diff(truth_all.indptr) > 0)
    fit_started = time.perf_counter()
    baseline = DefaultALS().fit(history)
    fit_seconds = time.perf_counter() - fit_started

    from domains.recommend.plugin import RankingOutputs

    item_counts = np.asarray(history.sum(axis=0)).ravel()
    scores = baseline.user_scores(rows)
    scores[:, item_counts == 0] = np.nan  # as for the classic side: no collaborative signal on never-seen items
    outputs = RankingOutputs(deep=scores, classic=scores, truth=truth_all[rows], exclude=history[rows],
                             item_train_counts=item_counts, cold_threshold=domain.config.cold_threshold, k=domain.config.k)
    table = dict(result.rows)
    table["implicit ALS (defaults)"] = domain.evaluate(to_blend_space(scores, domain.target, outputs.exclude), outputs)
    ray.shutdown()

    columns = [f"ndcg@{domain.config.k}", f"precision@{domain.config.k}", f"recall@{domain.config.k}", f"map@{domain.config.k}",
               "coverage", f"cold_ndcg@{domain.config.k}", f"cold_recall@{domain.config.k}", "users"]
    print(f"\n{config.params.get('dataset')} ({result.extra['data']['catalog']['protocol']} split), test:")
    print(format_table(table, columns))
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    payload = {
        "config": str(args.config),
        "overrides": args.overrides,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "test": table,
        "selected": result.selected,
        "selection": result.extra["selection"],
        "blenders": json.loads((result.artifact / "blenders.json").read_text())["blenders"],
        "data": result.extra["data"],
        "timings_s": {**result.timings_s, "job_wall": job_seconds, "implicit ALS fit": fit_seconds},
        "driver_peak_rss_mb": peak_rss_mb,
        "artifact": str(result.artifact),
    }
    out = args.out or Path("benchmarks/results") / f"recommend_{config.params.get('dataset', 'default')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=float))
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
