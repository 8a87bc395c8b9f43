"""The recommendation domain: BERT item-text two-tower model blended with collaborative filtering."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.metrics.ranking import catalog_coverage, per_user_ranking_metrics, ranking_metrics, top_k
from engine.paths import require_dataset
from engine.protocol import Domain, DomainData, Outputs, TargetKind
from engine.report import bucket_labels

logger = logging.getLogger(__name__)

__all__ = ["RecommendConfig", "RecommendData", "RecommendDomain"]

ACTIVITY_BUCKETS = ((0, 10, "history 1-10"), (11, 30, "history 11-30"), (31, 100, "history 31-100"), (101, np.inf, "history >100"))


class RecommendConfig(BaseModel):
    """Parameters of the recommendation domain (the `params` section of a run config)."""

    model_config = ConfigDict(extra="forbid")

    dataset: Literal["online-retail", "movielens-100k", "csv"] = "online-retail"
    online_retail_path: Path | None = Field(None, description="Online Retail CSV; None uses the copy shipped with the package")
    interactions_path: Path | None = Field(None, description="csv dataset: interactions file (user_id, item_id, timestamp, weight)")
    items_path: Path | None = Field(None, description="csv dataset: items file (item_id, text)")
    protocol: Literal["stratified", "temporal"] | None = Field(None, description="None: stratified for MovieLens, temporal otherwise")
    ratio: float = Field(0.75, gt=0, lt=1, description="stratified protocol: share of each user's rows kept for training")
    valid_ratio: float = Field(0.1, gt=0, lt=1, description="share of each user's training rows held out to fit alpha")
    holdout_days: float = Field(30, gt=0, description="temporal protocol: days in the test period, and in the validation period before it")
    seed: int = 42
    k: int = Field(10, ge=1, description="length of the recommendation list scored by the metrics")
    cold_threshold: int = Field(5, ge=0, description="items with at most this many training interactions form the cold-start slice")
    classic: dict[str, Any] = Field(default_factory=dict, description="CFRecommender parameters")
    deep: dict[str, Any] = Field(default_factory=dict, description="TwoTowerRecommender parameters")

    @model_validator(mode="after")
    def _check_csv_paths(self) -> "RecommendConfig":
        if self.dataset == "csv" and (self.interactions_path is None or self.items_path is None):
            raise ValueError("dataset 'csv' needs both interactions_path and items_path")
        return self

    @property
    def resolved_protocol(self) -> str:
        return self.protocol or ("stratified" if self.dataset == "movielens-100k" else "temporal")


@dataclass
class RecommendData(DomainData):
    """The loaded dataset, its split and the integer index the models use."""

    rec: Any
    split: Any
    index: Any
    drops: list = field(default_factory=list)
    protocol_params: dict = field(default_factory=dict)

    def matrix(self, part: Literal["train", "train+valid", "valid", "test"]) -> sp.csr_matrix:
        frames = {"train": [self.split.train], "train+valid": [self.split.train, self.split.valid],
                  "valid": [self.split.valid], "test": [self.split.test]}[part]
        return self.index.to_csr(pd.concat(frames, ignore_index=True), binary=True)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        interactions = self.rec.interactions[["user_id", "item_id", "timestamp", "weight"]]
        digest.update(pd.util.hash_pandas_object(interactions, index=False).values.tobytes())
        digest.update(pd.util.hash_pandas_object(self.rec.items[["item_id", "text"]], index=False).values.tobytes())
        digest.update(json.dumps(self.protocol_params, sort_keys=True, default=str).encode())
        return digest.hexdigest()

    def summary(self) -> dict[str, Any]:
        parts = {"train": self.split.train, "valid": self.split.valid, "test": self.split.test}
        summary = {name: {"rows": len(frame), "users": int(frame["user_id"].nunique()), "items": int(frame["item_id"].nunique())}
                   for name, frame in parts.items()}
        summary["catalog"] = {"items": len(self.rec.items), "protocol": self.split.protocol}
        return summary


@dataclass
class RankingOutputs(Outputs):
    """Outputs of one split, plus what the cold-start slice needs."""

    item_train_counts: np.ndarray | None = None
    cold_threshold: int = 5
    k: int = 10
    user_ids: list = field(default_factory=list)


def _ranking_context(history: sp.csr_matrix, item_counts: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "log_user_history": np.log1p(np.diff(history.indptr)).astype(np.float64)[:, None],
        "log_item_popularity": np.log1p(item_counts).astype(np.float64)[None, :],
    }


def _cold_slice_metrics(scores: np.ndarray, outputs: "RankingOutputs", truth: sp.csr_matrix, exclude: sp.csr_matrix,
                        rows: np.ndarray | None) -> dict[str, float]:
    """Rank only the cold items (at most `cold_threshold` training interactions) and score that ranking.

    Besides nDCG and recall on the slice, it counts the relevant cold items found in the top k
    (`cold_hits`) and those of them that the classic model's own cold ranking misses
    (`cold_hits_beyond_classic`). `zero_interaction_hits` counts hits on items with no training
    interaction at all, which collaborative filtering cannot rank.
    """
    k = outputs.k
    names = (f"cold_ndcg@{k}", f"cold_recall@{k}", "cold_hits", "cold_hits_beyond_classic", "zero_interaction_hits")
    cold = outputs.item_train_counts <= outputs.cold_threshold
    cold_truth = truth.multiply(sp.csr_matrix(cold.astype(np.float32)[None, :])).tocsr()
    cold_truth.eliminate_zeros()
    users = np.flatnonzero(np.diff(cold_truth.indptr) > 0)
    if users.size == 0 or cold.sum() < k:
        return {name: float("nan") for name in names}

    def cold_top_k(values: np.ndarray) -> np.ndarray:
        return top_k(np.where(cold[None, :], values[users], -np.inf), k, exclude[users])

    recommended = cold_top_k(scores)
    classic = outputs.classic if rows is None else outputs.classic[rows]
    classic_recommended = cold_top_k(classic.astype(np.float64))
    relevant = cold_truth[users]
    hits = np.asarray(relevant[np.arange(users.size)[:, None], recommended].todense()) > 0
    beyond = hits & ~np.array([np.isin(mine, theirs) for mine, theirs in zip(recommended, classic_recommended)])
    never_seen = (outputs.item_train_counts == 0)[recommended]
    per_user = per_user_ranking_metrics(recommended, relevant, k)
    return {
        f"cold_ndcg@{k}": float(np.nanmean(per_user["ndcg"])),
        f"cold_recall@{k}": float(np.nanmean(per_user["recall"])),
        "cold_hits": int(hits.sum()),
        "cold_hits_beyond_classic": int(beyond.sum()),
        "zero_interaction_hits": int((hits & never_seen).sum()),
    }


class RecommendDomain(Domain):
    """Top-k product recommendations: deep two-tower on BERT item text + collaborative filtering."""

    name = "recommend"
    target = TargetKind.RANKING
    Config = RecommendConfig

    # ------------------------------------------------------------------ data
    def load(self, data_dir: Path | None) -> RecommendData:
        from domains.recommend.data import load_interactions_csv, load_movielens_100k, load_online_retail_interactions
        from domains.recommend.split import InteractionIndex, make_split

        config = self.config
        if config.dataset == "movielens-100k":
            rec = load_movielens_100k(require_dataset("movielens-100k", data_dir))
        elif config.dataset == "csv":
            rec = load_interactions_csv(config.interactions_path, config.items_path)
        else:
            rec = load_online_retail_interactions(config.online_retail_path)

        protocol = config.resolved_protocol
        split = make_split(rec, protocol, seed=config.seed, ratio=config.ratio, valid_ratio=config.valid_ratio, holdout_days=config.holdout_days)
        for name, part in (("validation", split.valid), ("test", split.test)):
            if part.empty:
                raise ValueError(f"the {protocol} split left the {name} part empty; use a longer holdout_days or a smaller ratio")
        index = InteractionIndex.from_data(rec, split.train)
        params = {"dataset": config.dataset, "protocol": protocol, "ratio": config.ratio, "valid_ratio": config.valid_ratio,
                  "holdout_days": config.holdout_days, "seed": config.seed}
        return RecommendData(rec=rec, split=split, index=index, drops=[rec.drops, split.drops], protocol_params=params)

    def texts(self, data: RecommendData) -> list[str]:
        return data.rec.items["text"].astype(str).tolist()

    # ---------------------------------------------------------------- models
    def build_model(self, side: str):
        from domains.recommend.classic import CFRecommender
        from domains.recommend.deep import TwoTowerRecommender

        if side == "deep":
            return TwoTowerRecommender(**self.config.deep)
        if side == "classic":
            return CFRecommender(**self.config.classic)
        raise ValueError(f"unknown model side {side!r}; expected 'deep' or 'classic'")

    def fit_model(self, model, data: RecommendData, embeddings: np.ndarray, *, final: bool):
        return model.fit(data.matrix("train+valid" if final else "train"), embeddings)

    def outputs(self, models: dict, data: RecommendData, embeddings: np.ndarray, split: str) -> RankingOutputs:
        history_all = data.matrix("train" if split == "valid" else "train+valid")
        truth_all = data.matrix(split)
        rows = np.flatnonzero(np.diff(truth_all.indptr) > 0)
        history, truth = history_all[rows], truth_all[rows]
        # NOTE: this assumes the models for the test split were refitted on train + validation (the
        # default `refit: true`). With refit off, test-time counts overstate what the models saw.
        item_counts = np.asarray(history_all.sum(axis=0)).ravel()
        classic = models["classic"].score(history).astype(np.float64)
        classic[:, item_counts == 0] = np.nan  # collaborative filtering has no signal on items without interactions
        return RankingOutputs(
            deep=models["deep"].score(history),
            classic=classic,
            truth=truth,
            exclude=history,
            context=_ranking_context(history, item_counts),
            segments={"user activity": bucket_labels(np.diff(history.indptr), ACTIVITY_BUCKETS)},
            item_train_counts=item_counts,
            cold_threshold=self.config.cold_threshold,
            k=self.config.k,
            user_ids=data.index.users[rows].tolist(),
        )

    # ------------------------------------------------------------ evaluation
    def primary_metric(self) -> tuple[str, str]:
        return f"ndcg@{self.config.k}", "max"

    def evaluate(self, blended: np.ndarray, outputs: RankingOutputs, rows: np.ndarray | None = None) -> dict[str, float]:
        k = outputs.k
        scores, truth, exclude = blended, outputs.truth, outputs.exclude
        if rows is not None:
            scores, truth, exclude = scores[rows], truth[rows], exclude[rows]
        result = ranking_metrics(scores, truth, k=k, exclude=exclude)
        recommended = top_k(scores, k, exclude)
        result["coverage"] = catalog_coverage(recommended, scores.shape[1])

        result.update(_cold_slice_metrics(scores, outputs, truth, exclude, rows))
        return result

    # --------------------------------------------------------------- serving
    def save_state(self, data: RecommendData, embeddings: np.ndarray, directory: Path) -> None:
        items = data.rec.items[["item_id", "text"]].reset_index(drop=True)
        items["train_count"] = np.asarray(data.matrix("train+valid").sum(axis=0)).ravel()
        items.to_parquet(directory / "items.parquet", index=False)
        pd.DataFrame({"user_id": data.index.users}).to_parquet(directory / "users.parquet", index=False)
        sp.save_npz(directory / "history.npz", data.matrix("train+valid"))

    def load_state(self, directory: Path) -> dict[str, Any]:
        from domains.recommend.split import InteractionIndex

        items = pd.read_parquet(directory / "items.parquet")
        users = pd.read_parquet(directory / "users.parquet")["user_id"].astype(str)
        return {"items": items, "index": InteractionIndex(pd.Index(users), pd.Index(items["item_id"].astype(str))),
                "history": sp.load_npz(directory / "history.npz").tocsr()}

    def decide(self, bundle, request: dict[str, Any]) -> dict[str, Any]:
        from domains.recommend.serving import recommend_for_request

        return recommend_for_request(bundle, request)
