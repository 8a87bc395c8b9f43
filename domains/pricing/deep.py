"""Deep demand model: an MLP over the product text embedding, history, calendar and price features.

Products with little history borrow strength from products with similar descriptions through the
embedding. Log demand is ``a(x) - softplus(b(x)) * rel_log_price - softplus(c(x)) * price_change``,
where x holds every feature except the current price, so predicted demand is non-increasing in the
own price and ``-softplus(b(x))`` is the product's learned elasticity around its reference price.
"""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from domains.pricing.classic import ensure_history_features
from domains.pricing.features import LINEAR_UNSAFE_FEATURES, PRICE_FEATURES, TARGET, ProductStats, build_features, is_member

logger = logging.getLogger(__name__)

__all__ = ["DeepDemandModel", "embedding_frame"]


def embedding_frame(product_ids: Sequence[str], embeddings: np.ndarray) -> pd.DataFrame:
    """Wrap an embedding matrix of shape (n_products, dim) as a DataFrame indexed by product_id (str)."""
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2 or embeddings.shape[0] != len(product_ids):
        raise ValueError(
            f"embeddings must have shape (n_products, dim) = ({len(product_ids)}, dim), got {embeddings.shape}"
        )
    index = pd.Index([str(product) for product in product_ids], name="product_id")
    if index.has_duplicates:
        raise ValueError(f"duplicate product ids in the embedding table: {index[index.duplicated()].unique()[:5].tolist()}")
    return pd.DataFrame(embeddings, index=index)


def _build_network(n_numeric: int, embedding_dim: int, text_dim: int, hidden: int, dropout: float):
    import torch
    from torch import nn

    class DemandNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.text = nn.Sequential(nn.Linear(embedding_dim, text_dim), nn.GELU())
            self.body = nn.Sequential(
                nn.Linear(n_numeric + text_dim, hidden),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, hidden // 2),
                nn.GELU(),
            )
            self.head = nn.Linear(hidden // 2, 3)

        def forward(self, numeric, embedding, rel_log_price, price_change):
            hidden_state = self.body(torch.cat([numeric, self.text(embedding)], dim=1))
            base, slope_ref, slope_change = self.head(hidden_state).unbind(dim=1)
            return (
                base
                - nn.functional.softplus(slope_ref) * rel_log_price
                - nn.functional.softplus(slope_change) * price_change
            )

    return DemandNetwork()


class DeepDemandModel:
    """MLP demand model on text embeddings; predicts log1p(weekly quantity)."""

    def __init__(
        self,
        *,
        hidden: int = 128,
        text_dim: int = 32,
        dropout: float = 0.1,
        epochs: int = 10,
        batch_size: int = 1024,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-5,
        extra_features: Sequence[str] = (),
        random_state: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.hidden = hidden
        self.text_dim = text_dim
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.extra_features = tuple(extra_features)
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, frame: pd.DataFrame, product_embeddings: pd.DataFrame) -> "DeepDemandModel":
        """Train on the panel `frame`; `product_embeddings` is indexed by product_id (see embedding_frame)."""
        import torch

        if frame.empty:
            raise ValueError("DeepDemandModel.fit: the training frame is empty")
        torch.manual_seed(self.random_state)
        torch.set_num_threads(self.num_threads)
        frame = ensure_history_features(frame)
        self.embeddings_ = self._check_embeddings(product_embeddings)
        self.stats_ = ProductStats.fit(frame)
        features = build_features(frame, self.stats_, extra_features=self.extra_features)
        self.numeric_names_ = [
            name for name in features.columns if name not in PRICE_FEATURES and name not in LINEAR_UNSAFE_FEATURES
        ]
        numeric = features[self.numeric_names_].to_numpy(dtype=np.float32)
        self.numeric_mean_ = numeric.mean(axis=0)
        self.numeric_scale_ = numeric.std(axis=0) + 1e-6
        target = frame[TARGET].to_numpy(dtype=np.float32)
        self.target_mean_ = float(target.mean())

        tensors = self._tensors(frame, features)
        target_tensor = torch.from_numpy(target - self.target_mean_)
        self.network_ = _build_network(
            len(self.numeric_names_), self.embeddings_.shape[1], self.text_dim, self.hidden, self.dropout
        )
        optimizer = torch.optim.AdamW(self.network_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        n_rows = len(target)
        steps_per_epoch = max(1, int(np.ceil(n_rows / self.batch_size)))
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.learning_rate, total_steps=self.epochs * steps_per_epoch
        )
        generator = torch.Generator().manual_seed(self.random_state)
        started = time.perf_counter()
        self.network_.train()
        for epoch in range(self.epochs):
            order = torch.randperm(n_rows, generator=generator)
            total = 0.0
            for start in range(0, n_rows, self.batch_size):
                batch = order[start : start + self.batch_size]
                prediction = self.network_(*(tensor[batch] for tensor in tensors))
                loss = torch.nn.functional.mse_loss(prediction, target_tensor[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += float(loss.detach()) * len(batch)
            logger.debug("DeepDemandModel epoch %d: train MSE %.4f", epoch + 1, total / n_rows)
        self.network_.eval()
        logger.info("DeepDemandModel: fitted on %d rows in %.1f s", n_rows, time.perf_counter() - started)
        return self

    def predict_log_demand(self, frame: pd.DataFrame, product_embeddings: pd.DataFrame | None = None) -> np.ndarray:
        """Return predicted log1p(quantity), shape (len(frame),).

        Products absent at fit time need their embedding in `product_embeddings` (cold start).
        """
        import torch

        self._check_fitted()
        embeddings = self.embeddings_
        if product_embeddings is not None:
            extra = self._check_embeddings(product_embeddings)
            # A set lookup: pandas' isin on Arrow-backed string indexes converts value by value and is slow.
            extra_ids = set(extra.index.tolist())
            keep = np.array([product not in extra_ids for product in embeddings.index.tolist()], dtype=bool)
            embeddings = pd.concat([embeddings[keep], extra])
        frame = ensure_history_features(frame)
        features = build_features(frame, self.stats_, extra_features=self.extra_features)
        with torch.no_grad():
            prediction = self.network_(*self._tensors(frame, features, embeddings)).numpy()
        return prediction.astype(float) + self.target_mean_

    def save(self, path: str | Path) -> Path:
        """Write hyperparameters, learned weights and statistics to one pickle file at `path`."""
        self._check_fitted()
        state = {key: value for key, value in self.__dict__.items() if key != "network_"}
        state["network_state"] = {name: tensor.numpy().copy() for name, tensor in self.network_.state_dict().items()}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            pickle.dump(state, handle)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "DeepDemandModel":
        """Read a model written by `save` (pickle: load only files you trust)."""
        import torch

        with Path(path).open("rb") as handle:
            state = pickle.load(handle)
        network_state = state.pop("network_state")
        model = cls.__new__(cls)
        model.__dict__.update(state)
        model.network_ = _build_network(
            len(model.numeric_names_), model.embeddings_.shape[1], model.text_dim, model.hidden, model.dropout
        )
        model.network_.load_state_dict({name: torch.tensor(array) for name, array in network_state.items()})
        model.network_.eval()
        return model

    def _tensors(self, frame: pd.DataFrame, features: pd.DataFrame, embeddings: pd.DataFrame | None = None):
        import torch

        embeddings = self.embeddings_ if embeddings is None else embeddings
        products = frame["product_id"].astype(str)
        unknown = ~is_member(products, embeddings.index)
        if unknown.any():
            raise KeyError(
                f"no text embedding for product(s) {products[unknown].unique()[:5].tolist()}; "
                "pass their embeddings in product_embeddings"
            )
        numeric = (features[self.numeric_names_].to_numpy(dtype=np.float32) - self.numeric_mean_) / self.numeric_scale_
        return (
            torch.tensor(numeric, dtype=torch.float32),
            torch.tensor(embeddings.loc[products].to_numpy(dtype=np.float32), dtype=torch.float32),
            torch.tensor(features["rel_log_price"].to_numpy(dtype=np.float32), dtype=torch.float32),
            torch.tensor(features["price_change"].to_numpy(dtype=np.float32), dtype=torch.float32),
        )

    @staticmethod
    def _check_embeddings(product_embeddings: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(product_embeddings, pd.DataFrame):
            raise TypeError("product_embeddings must be a DataFrame indexed by product_id; build it with embedding_frame")
        values = product_embeddings.to_numpy(dtype=np.float32)
        if not np.isfinite(values).all():
            raise ValueError("product_embeddings contain NaN or infinite values; re-encode the product texts")
        table = pd.DataFrame(values, index=product_embeddings.index.astype(str))
        table.index.name = "product_id"
        return table

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise RuntimeError("DeepDemandModel is not fitted; call fit(frame, product_embeddings) first")
