"""Compare demand models on temporal holdouts: naive last week, LightGBM, deep text model, and their blend.

For each dataset the last weeks are test, the weeks before valid, the rest train. Both models fit
on train, and alpha of F = alpha * deep + (1 - alpha) * classic (on log demand) is the grid value with
the lowest WAPE on valid. Then both models are refit on train + valid (unless --no-refit) and scored on
test: WAPE = sum|y - yhat| / sum y on weekly units, with yhat = expm1(F) and no bias correction.
Prints a table and writes benchmarks/results/pricing_models.json.

    DECISION_ENGINE_DATA_DIR=/path/to/data python benchmarks/pricing_models.py [--datasets oj online_retail]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from domains.pricing.classic import GBDTDemandModel  # noqa: E402
from domains.pricing.data import load_online_retail_sales, load_orange_juice  # noqa: E402
from domains.pricing.deep import DeepDemandModel, embedding_frame  # noqa: E402
from domains.pricing.features import TARGET, add_history_features, temporal_split  # noqa: E402
from engine.paths import require_dataset  # noqa: E402

logger = logging.getLogger("benchmarks.pricing_models")

ALPHA_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)
RESULTS_PATH = Path(__file__).parent / "results" / "pricing_models.json"


def wape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |actual - predicted| / sum actual."""
    return float(np.abs(actual - predicted).sum() / actual.sum())


def encode_products(texts: list[str]) -> np.ndarray:
    """Embed product texts with the engine's cached MiniLM encoder, in this process."""
    from engine.encoder import EncoderConfig, encode_texts

    return encode_texts(texts, EncoderConfig(show_progress=False, device="cpu"), use_ray=False)


def naive_last_week(frame: pd.DataFrame) -> np.ndarray:
    """Predict last observed week's units of the same series; the series' training mean without history."""
    return np.expm1(frame["lag_log_demand"].fillna(frame["rolling_log_demand"]).to_numpy(dtype=float))


def run_dataset(name: str, sales: pd.DataFrame, products: pd.DataFrame, *, valid_weeks: int, test_weeks: int,
                extra_features: tuple[str, ...], deep_params: dict, classic_params: dict, refit: bool) -> dict:
    started = time.perf_counter()
    panel = add_history_features(sales)
    train, valid, test = temporal_split(panel, valid_periods=valid_weeks, test_periods=test_weeks)
    # NOTE: a series' first week has no lag, so the naive baseline falls back to the series' training
    # mean there. Such rows stay in every metric.
    series_mean = train.groupby([c for c in ("product_id", "segment") if c in train])[TARGET].mean()
    for part in (valid, test):
        keys = [c for c in ("product_id", "segment") if c in part]
        fallback = pd.MultiIndex.from_frame(part[keys]) if len(keys) > 1 else part[keys[0]]
        part.loc[:, "rolling_log_demand"] = part["rolling_log_demand"].fillna(
            pd.Series(series_mean.reindex(fallback).to_numpy(), index=part.index)
        ).fillna(float(train[TARGET].mean()))

    embeddings = embedding_frame(products["product_id"].tolist(), encode_products(products["text"].tolist()))
    fit_started = time.perf_counter()
    classic = GBDTDemandModel(extra_features=extra_features, **classic_params).fit(train)
    classic_seconds = time.perf_counter() - fit_started
    fit_started = time.perf_counter()
    deep = DeepDemandModel(extra_features=extra_features, **deep_params).fit(train, embeddings)
    deep_seconds = time.perf_counter() - fit_started

    valid_log = {"classic": classic.predict_log_demand(valid), "deep": deep.predict_log_demand(valid)}
    if refit:
        # Alpha is chosen on valid; the models for test then learn from train and valid together,
        # as they would in production before pricing the next weeks.
        train_and_valid = pd.concat([train, valid])
        classic = GBDTDemandModel(extra_features=extra_features, **classic_params).fit(train_and_valid)
        deep = DeepDemandModel(extra_features=extra_features, **deep_params).fit(train_and_valid, embeddings)
    predictions = {
        "valid": valid_log,
        "test": {"classic": classic.predict_log_demand(test), "deep": deep.predict_log_demand(test)},
    }
    valid_actual = valid["quantity"].to_numpy(dtype=float)
    valid_errors = {
        float(alpha): wape(valid_actual, np.expm1(alpha * predictions["valid"]["deep"] + (1 - alpha) * predictions["valid"]["classic"]))
        for alpha in ALPHA_GRID
    }
    alpha = min(valid_errors, key=valid_errors.get)

    actual = test["quantity"].to_numpy(dtype=float)
    test_log = predictions["test"]
    table = {
        "naive_last_week": wape(actual, naive_last_week(test)),
        "classic": wape(actual, np.expm1(test_log["classic"])),
        "deep": wape(actual, np.expm1(test_log["deep"])),
        "blend": wape(actual, np.expm1(alpha * test_log["deep"] + (1 - alpha) * test_log["classic"])),
    }
    # Test rows of products absent from training. Only the deep model has product-specific input for them
    # (the text embedding), apart from their own earlier weeks inside valid and test.
    cold = ~test["product_id"].isin(train["product_id"]).to_numpy()
    cold_start = None
    if cold.any():
        blend_log = alpha * test_log["deep"] + (1 - alpha) * test_log["classic"]
        cold_start = {
            "rows": int(cold.sum()),
            "naive_last_week": wape(actual[cold], naive_last_week(test)[cold]),
            "classic": wape(actual[cold], np.expm1(test_log["classic"][cold])),
            "deep": wape(actual[cold], np.expm1(test_log["deep"][cold])),
            "blend": wape(actual[cold], np.expm1(blend_log[cold])),
        }
    result = {
        "dataset": name,
        "rows": {"train": len(train), "valid": len(valid), "test": len(test)},
        "products": int(panel["product_id"].nunique()),
        "valid_weeks": valid_weeks,
        "test_weeks": test_weeks,
        "alpha": alpha,
        "refit_on_train_and_valid": refit,
        "valid_wape_by_alpha": valid_errors,
        "test_wape": table,
        "test_wape_new_products": cold_start,
        "blend_beats_all": bool(table["blend"] < min(table["naive_last_week"], table["classic"], table["deep"])),
        "fit_seconds": {"classic": round(classic_seconds, 1), "deep": round(deep_seconds, 1)},
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    logger.info("%s: %s", name, json.dumps(result["test_wape"]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["oj", "online_retail"], choices=["oj", "online_retail"])
    parser.add_argument("--no-refit", action="store_true",
                        help="predict test with the models fitted on train only (default: refit on train + valid)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="JSON file for the results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    import torch

    torch.set_num_threads(2)
    results = []
    if "oj" in args.datasets:
        oj = load_orange_juice(require_dataset("dominicks-orange-juice"))
        results.append(run_dataset(
            "dominicks_orange_juice", oj.sales, oj.products, valid_weeks=20, test_weeks=20,
            extra_features=("deal", "feat"), deep_params={}, classic_params={}, refit=not args.no_refit,
        ))
    if "online_retail" in args.datasets:
        retail = load_online_retail_sales()
        results.append(run_dataset(
            "online_retail", retail.sales, retail.products, valid_weeks=8, test_weeks=8,
            extra_features=(), deep_params={}, classic_params={}, refit=not args.no_refit,
        ))

    header = f"{'dataset':<26} {'alpha':>5} {'naive':>7} {'classic':>7} {'deep':>7} {'blend':>7}  blend best"
    print(header)
    for result in results:
        wapes = result["test_wape"]
        print(
            f"{result['dataset']:<26} {result['alpha']:>5.2f} {wapes['naive_last_week']:>7.4f} {wapes['classic']:>7.4f} "
            f"{wapes['deep']:>7.4f} {wapes['blend']:>7.4f}  {result['blend_beats_all']}"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"metric": "WAPE on weekly units", "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
