"""Classic demand model: LightGBM on log demand, non-increasing in the own price by construction."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from domains.pricing.features import (
    HISTORY_FEATURES,
    PRICE_FEATURES,
    TARGET,
    ProductStats,
    add_history_features,
    build_features,
)

logger = logging.getLogger(__name__)

__all__ = ["GBDTDemandModel", "ensure_history_features"]


def ensure_history_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Return `frame` with the history features, computing them from `frame` alone when absent."""
    if all(column in frame.columns for column in (*HISTORY_FEATURES, "lag_log_price", "log_price")):
        return frame
    logger.info("history features missing: computing them from the %d given rows only", len(frame))
    return add_history_features(frame)


class GBDTDemandModel:
    """Gradient-boosted trees predicting log1p(weekly quantity) of a product at a price.

    A monotone constraint of -1 on every feature in PRICE_FEATURES makes predicted demand
    non-increasing in the own price with all other features fixed. Input frames are weekly sales
    panels (see ``domains.pricing.data``); history features are computed by ``add_history_features``.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 400,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        extra_features: Sequence[str] = (),
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.extra_features = tuple(extra_features)
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, frame: pd.DataFrame) -> "GBDTDemandModel":
        """Learn product statistics and the trees from the training panel `frame`."""
        import lightgbm as lgb

        if frame.empty:
            raise ValueError("GBDTDemandModel.fit: the training frame is empty")
        frame = ensure_history_features(frame)
        self.stats_ = ProductStats.fit(frame)
        features = build_features(frame, self.stats_, extra_features=self.extra_features)
        self.feature_names_ = list(features.columns)
        constraints = [-1 if name in PRICE_FEATURES else 0 for name in self.feature_names_]
        self.model_ = lgb.LGBMRegressor(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample_bytree,
            monotone_constraints=constraints,
            monotone_constraints_method="advanced",
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            verbose=-1,
        )
        self.model_.fit(features, frame[TARGET].to_numpy(dtype=float))
        logger.info("GBDTDemandModel: fitted on %d rows, %d features", len(features), len(self.feature_names_))
        return self

    def predict_log_demand(self, frame: pd.DataFrame) -> np.ndarray:
        """Return predicted log1p(quantity), array of shape (len(frame),)."""
        self._check_fitted()
        frame = ensure_history_features(frame)
        features = build_features(frame, self.stats_, extra_features=self.extra_features)
        return self.model_.predict(features[self.feature_names_]).astype(float)

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one pickle file at `path`; return the path."""
        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            pickle.dump(self, handle)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "GBDTDemandModel":
        """Read a model written by `save` (pickle: load only files you trust)."""
        with Path(path).open("rb") as handle:
            model = pickle.load(handle)
        if not isinstance(model, cls):
            raise TypeError(f"{str(path)!r} contains a {type(model).__name__}, not a {cls.__name__}")
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("GBDTDemandModel is not fitted; call fit(frame) first")
