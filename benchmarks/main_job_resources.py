"""Measure the main job's wall time and peak memory, Ray processes included.

Runs `python -m engine run` in a subprocess and samples, every half second, the summed resident
memory of that process and all its descendants (the local Ray's GCS, raylet and workers are
started by the job, so they are descendants). Runs the job twice by default: the second run must
find every embedding in the cache.

    python benchmarks/main_job_resources.py --config configs/recommend.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil


def _tree_rss_bytes(root: psutil.Process) -> int:
    total = 0
    try:
        processes = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def measure(command: list[str], log_path: Path) -> dict:
    started = time.perf_counter()
    with log_path.open("w") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        root = psutil.Process(child.pid)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_bytes(root))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        return_code = child.wait()
        done.set()
        sampler.join()
    text = log_path.read_text()
    cached = re.search(r"(\d+) of (\d+) unique texts cached", text)
    return {
        "return_code": return_code,
        "wall_s": time.perf_counter() - started,
        "peak_rss_gb": peak / 1024**3,
        "texts_cached": int(cached.group(1)) if cached else None,
        "texts_total": int(cached.group(2)) if cached else None,
        "log": str(log_path),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/recommend.yaml")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/main_job_resources.json"))
    parser.add_argument("--output-dir", default="runs/benchmarks")
    args = parser.parse_args()

    command = [sys.executable, "-m", "engine", "run", "--config", args.config, "--output-dir", args.output_dir]
    runs = []
    for number in range(1, args.runs + 1):
        result = measure(command, Path(f"/tmp/main_job_run{number}.log"))
        runs.append(result)
        print(f"run {number}: exit {result['return_code']}, {result['wall_s']:.1f} s, peak {result['peak_rss_gb']:.2f} GB, "
              f"cached texts {result['texts_cached']}/{result['texts_total']}")
        if result["return_code"] != 0:
            sys.exit(f"the job failed; see {result['log']}")
    payload = {"command": " ".join(command), "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
               "memory_gb": psutil.virtual_memory().total / 1024**3}, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
