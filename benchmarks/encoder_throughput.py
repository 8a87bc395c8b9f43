"""Measure text-encoding throughput on the Online Retail product descriptions.

Three stages run in one process, on the same texts, model, batch size and max_length:
  1. bare transformers: a plain batched loop under torch.no_grad with mean pooling;
  2. encode_texts through Ray with an empty cache (a fresh temporary folder);
  3. the same encode_texts call again, served from the cache.
Stage 1 includes loading the model, and stage 2 includes starting the Ray actors and loading the
model in each of them. Other processes on the machine affect the numbers, so the JSON records the
load average at the start.

Example:
    HF_HUB_OFFLINE=1 python benchmarks/encoder_throughput.py --limit 500
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
RETAIL_FILE = REPO_ROOT / "domains" / "sources" / "data" / "online_retail.csv.gz"
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "encoder_throughput.json"



def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="encode only the first N unique descriptions (default: all)")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (default: 64)")
    parser.add_argument("--max-length", type=int, default=128, help="maximum tokens per text (default: 128)")
    parser.add_argument("--num-actors", type=int, default=2, help="Ray actors, one CPU each (default: 2)")
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads of the bare transformers loop (default: 2)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON result file (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for name in ("limit", "batch_size", "max_length", "num_actors", "threads"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    return args


def load_descriptions(limit: int | None) -> list[str]:
    """Return the unique non-missing `Description` values in order of first appearance."""
    frame = pd.read_csv(RETAIL_FILE, dtype=str, usecols=["Description"])
    descriptions = list(dict.fromkeys(frame["Description"].dropna()))
    return descriptions[:limit] if limit is not None else descriptions


def bare_transformers(texts: list[str], batch_size: int, max_length: int, device: str) -> np.ndarray:
    """Encode with AutoTokenizer/AutoModel alone: batches in input order, mean pooling, L2 norm."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from engine.encoder.config import DEFAULT_MODEL, resolve_model_path

    path = resolve_model_path(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval().to(device)
    if device == "cuda":
        model = model.half()
    rows = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            tokens = tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            hidden = model(**tokens).last_hidden_state.float()
            mask = tokens["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            rows.append(torch.nn.functional.normalize(pooled, dim=1).cpu().numpy())
    return np.concatenate(rows)


def run_stage(name: str, function, n_texts: int) -> tuple[dict, object]:
    started = time.perf_counter()
    value = function()
    seconds = time.perf_counter() - started
    stage = {"stage": name, "texts": n_texts, "seconds": round(seconds, 3), "texts_per_s": round(n_texts / seconds, 1)}
    return stage, value


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import ray
    import torch
    import transformers

    from engine.encoder import EncoderConfig, encode_texts

    load_at_start = round(os.getloadavg()[0], 2)
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    texts = load_descriptions(args.limit)
    print(f"{len(texts)} unique descriptions, batch_size={args.batch_size}, max_length={args.max_length}, device={device}")

    stages = []
    stage, reference = run_stage(
        "bare transformers", lambda: bare_transformers(texts, args.batch_size, args.max_length, device), len(texts)
    )
    stages.append(stage)

    ray.init(num_cpus=args.num_actors, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory(prefix="encoder-bench-") as cache_dir:
            config = EncoderConfig(
                batch_size=args.batch_size,
                max_length=args.max_length,
                cache_dir=Path(cache_dir),
                num_actors=args.num_actors,
                show_progress=False,
            )
            for name in ("encode_texts, Ray, cold cache", "encode_texts, warm cache"):
                stage, (embeddings, stats) = run_stage(
                    name, lambda: encode_texts(texts, config, use_ray=True, return_stats=True), len(texts)
                )
                stage["encoded"] = stats.n_encoded
                stage["cached"] = stats.n_cached
                stage["min_cosine_to_bare"] = round(float((embeddings * reference).sum(axis=1).min()), 6)
                stages.append(stage)
    finally:
        ray.shutdown()

    result = {
        "benchmark": "encoder_throughput",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "data": "Online Retail (UCI) unique Description values",
        "model": config.model,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "num_actors": args.num_actors,
        "bare_loop_torch_threads": args.threads,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "ray": ray.__version__,
            "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
            "load_average_1min_at_start": load_at_start,
        },
        "stages": stages,
    }

    print(f"{'stage':<32}{'texts':>7}{'seconds':>10}{'texts/s':>11}{'encoded':>9}{'cached':>8}")
    for stage in stages:
        print(
            f"{stage['stage']:<32}{stage['texts']:>7}{stage['seconds']:>10.2f}{stage['texts_per_s']:>11.1f}"
            f"{stage.get('encoded', '-'):>9}{stage.get('cached', '-'):>8}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
