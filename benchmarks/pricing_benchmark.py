"""Benchmark the pricing domain through the engine: naive, deep, classic and both blends, per dataset.

Each dataset runs the main job (temporal split, alpha fitted on the validation weeks, both models
refitted on train + validation, test WAPE on weekly units). For the orange-juice panel it also
reproduces the own-price elasticity of Taddy's Business Data Science, chapter 2:
log(sales) ~ brand + log(price) on Tropicana, Minute Maid and Dominick's 64 oz (published -3.14).

    DECISION_ENGINE_DATA_DIR=/path/to/data python benchmarks/pricing_benchmark.py
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CONFIGS = {"online-retail": "configs/pricing.yaml", "orange-juice": "configs/pricing-oj.yaml"}
TADDY_BRANDS = ("1", "5", "10")  # Tropicana Premium 64 oz, Minute Maid 64 oz, Dominick's 64 oz


def oj_elasticity() -> dict:
    from domains.pricing.data import load_orange_juice
    from domains.pricing.elasticity import estimate_elasticity
    from engine.paths import require_dataset

    sales = load_orange_juice(require_dataset("dominicks-orange-juice")).sales
    estimate = estimate_elasticity(sales[sales["product_id"].isin(TADDY_BRANDS)], fixed_effects=("product_id",))
    return {"elasticity": estimate.elasticity, "ci_low": estimate.ci_low, "ci_high": estimate.ci_high,
            "n_obs": estimate.n_obs, "formula": estimate.formula, "published": -3.14}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/pricing_benchmark.json"))
    parser.add_argument("--output-dir", default="runs/benchmarks")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    import ray

    from engine.config import load_config
    from engine.report import format_table
    from engine.runner import run

    ray.init(include_dashboard=False, log_to_driver=False)
    results, rows = {}, {}
    for dataset in args.datasets:
        config = load_config(CONFIGS[dataset], output_dir=args.output_dir)
        started = time.perf_counter()
        result = run(config)
        results[dataset] = {"test": result.rows, "selected": result.selected, "selection": result.extra["selection"],
                            "data": result.extra["data"], "timings_s": result.timings_s,
                            "blenders": json.loads((result.artifact / "blenders.json").read_text())["blenders"], "wall_s": time.perf_counter() - started,
                            "artifact": str(result.artifact)}
        for name, metrics in result.rows.items():
            rows[f"{dataset} / {name}"] = {"wape": metrics["wape"], "mae": metrics["mae"], "bias": metrics["bias"], "rows": metrics["rows"]}
    ray.shutdown()

    print("\nTest WAPE on weekly units (lower is better):")
    print(format_table(rows))
    payload = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
               "results": results}
    if "orange-juice" in args.datasets:
        payload["oj_elasticity"] = oj_elasticity()
        found = payload["oj_elasticity"]
        print(f"\nOJ own-price elasticity: {found['elasticity']:.3f} (95% CI {found['ci_low']:.3f} to {found['ci_high']:.3f}, "
              f"n={found['n_obs']}); published -3.14")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=float))
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
