"""Two-tower recommender in torch: a text-aware item tower and a history-pooling user tower.

Item tower: MLP over the frozen text embedding of the item, plus a learned item-id embedding and id
bias. Items with fewer than `min_id_count` training interactions never use their id parameters, and
during training the id parameters of a random `id_dropout` share of items are dropped per batch, so
the text path alone must rank well. That is what lets the model score items with no interactions.

User tower: the history row (multi-hot or weighted), with input dropout during training as in
Mult-DAE (Liang et al., 2018), is L2-normalized and pooled through a separate input-side item tower,
then passed through an MLP. Score = user vector . item vector + item bias.

Training maximizes the multinomial log-likelihood of the history over all items (full softmax).
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from domains.recommend.classic import check_history, check_item_index, check_train

__all__ = ["TwoTowerRecommender"]

logger = logging.getLogger(__name__)

PARAMS_FILE = "params.json"
WEIGHTS_FILE = "weights.pt"
STATE_FILE = "state.npz"


def _build_network(n_items: int, text_dim: int, params: dict[str, Any]):
    """Return the torch module; kept in a function so importing this file does not import torch."""
    import torch
    from torch import nn

    class ItemTower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            hidden, dim = params["hidden_dim"], params["dim"]
            self.text = nn.Sequential(
                nn.Linear(text_dim, hidden), nn.GELU(), nn.Dropout(params["dropout"]), nn.Linear(hidden, dim + 1)
            )
            self.ids = nn.Embedding(n_items, dim + 1)
            nn.init.zeros_(self.ids.weight)

        def forward(self, text: torch.Tensor, id_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """Return item vectors (n_items, dim) and biases (n_items,)."""
            out = self.text(text) + self.ids.weight * id_mask[:, None]
            return out[:, :-1], out[:, -1]

    class TwoTower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            dim = params["dim"]
            self.output_items = ItemTower()
            self.input_items = ItemTower()
            self.user = nn.Sequential(nn.Tanh(), nn.Dropout(params["dropout"]), nn.Linear(dim, dim))
            self.input_dropout = nn.Dropout(params["input_dropout"])

        def item_vectors(self, text: torch.Tensor, id_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.output_items(text, id_mask)

        def forward(self, history: torch.Tensor, text: torch.Tensor, id_mask: torch.Tensor) -> torch.Tensor:
            """Return logits of shape (batch, n_items) for dense history rows of shape (batch, n_items)."""
            rows = self.input_dropout(history)
            rows = rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-8)
            pooled_items, _ = self.input_items(text, id_mask)
            users = self.user(rows @ pooled_items)
            items, bias = self.output_items(text, id_mask)
            return users @ items.T + bias

    return TwoTower()


class TwoTowerRecommender:
    """Two-tower model over item text embeddings and interaction histories (see the module docstring)."""

    def __init__(
        self,
        dim: int = 64,
        hidden_dim: int = 128,
        dropout: float = 0.1,
        input_dropout: float = 0.5,
        id_dropout: float = 0.1,
        min_id_count: int = 6,
        epochs: int = 60,
        lr: float = 1e-2,
        batch_size: int = 128,
        weight_decay: float = 0.0,
        random_state: int = 42,
        num_threads: int = 2,
    ):
        self.dim = dim
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.id_dropout = id_dropout
        self.min_id_count = min_id_count
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.num_threads = num_threads

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as passed to the constructor."""
        return {
            "dim": self.dim,
            "hidden_dim": self.hidden_dim,
            "dropout": self.dropout,
            "input_dropout": self.input_dropout,
            "id_dropout": self.id_dropout,
            "min_id_count": self.min_id_count,
            "epochs": self.epochs,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "weight_decay": self.weight_decay,
            "random_state": self.random_state,
            "num_threads": self.num_threads,
        }

    @property
    def params(self) -> dict[str, Any]:
        """Hyperparameters as passed to the constructor (same as `get_params()`)."""
        return self.get_params()

    def _check_params(self) -> None:
        for name in ("dim", "hidden_dim", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("dropout", "input_dropout", "id_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")

    @staticmethod
    def _check_embeddings(item_embeddings: Any, n_items: int) -> np.ndarray:
        if item_embeddings is None:
            raise ValueError(
                "TwoTowerRecommender needs item_embeddings of shape (n_items, d); "
                "encode the item texts first (engine.encoder.encode_texts)"
            )
        embeddings = np.asarray(item_embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[0] != n_items or embeddings.shape[1] == 0:
            raise ValueError(
                f"item_embeddings must have shape (n_items={n_items}, d), got {embeddings.shape}; "
                "pass one embedding row per item column of train, in column order"
            )
        if not np.all(np.isfinite(embeddings)):
            raise ValueError("item_embeddings contains NaN or infinite values; re-encode the item texts")
        return embeddings

    # ----------------------------------------------------------------- fitting
    def fit(self, train: sp.csr_matrix, item_embeddings: np.ndarray | None = None) -> "TwoTowerRecommender":
        """Train on `train` (shape (n_users, n_items), non-negative) and `item_embeddings` (n_items, d)."""
        import torch

        self._check_params()
        matrix = check_train(train)
        embeddings = self._check_embeddings(item_embeddings, matrix.shape[1])
        torch.set_num_threads(max(1, int(self.num_threads)))
        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)

        self.n_items_ = matrix.shape[1]
        self.item_counts_ = np.asarray((matrix > 0).sum(axis=0)).ravel().astype(np.int64)
        self.item_embeddings_ = embeddings
        network = _build_network(self.n_items_, embeddings.shape[1], self.get_params())
        optimizer = torch.optim.AdamW(network.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        text = torch.from_numpy(embeddings)
        known = torch.from_numpy((self.item_counts_ >= self.min_id_count).astype(np.float32))

        users = np.flatnonzero(np.diff(matrix.indptr) > 0)
        n_batches = int(np.ceil(len(users) / self.batch_size))
        network.train()
        for epoch in range(self.epochs):
            order = rng.permutation(users)
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                batch = torch.from_numpy(matrix[order[start : start + self.batch_size]].toarray())
                keep = torch.from_numpy((rng.random(self.n_items_) >= self.id_dropout).astype(np.float32))
                logits = network(batch, text, known * keep)
                loss = -(torch.log_softmax(logits, dim=1) * batch).sum(dim=1).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item()
            logger.debug("epoch %d: mean multinomial loss %.4f", epoch + 1, total / n_batches)
        network.eval()
        self.network_ = network
        logger.info("fitted two-tower model on %d users x %d items", *matrix.shape)
        return self

    # ----------------------------------------------------------------- scoring
    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise RuntimeError("TwoTowerRecommender is not fitted; call fit(train, item_embeddings) first")

    def _id_mask(self):
        import torch

        return torch.from_numpy((self.item_counts_ >= self.min_id_count).astype(np.float32))

    def score(self, history: sp.csr_matrix, batch_size: int = 1024) -> np.ndarray:
        """Return float32 logits of shape (n_rows, n_items) for every item; seen items are not masked.

        `history` has shape (n_rows, n_items), one row of known items per user. Rows are scored
        independently, so batch and row-by-row scoring agree.
        """
        import torch

        self._check_fitted()
        rows = check_history(history, self.n_items_)
        text = torch.from_numpy(np.array(self.item_embeddings_, dtype=np.float32, copy=True))
        mask = self._id_mask()
        out = np.empty(rows.shape, dtype=np.float32)
        with torch.no_grad():
            for start in range(0, rows.shape[0], batch_size):
                batch = torch.from_numpy(rows[start : start + batch_size].toarray())
                out[start : start + batch.shape[0]] = self.network_(batch, text, mask).numpy()
        return out

    def item_vectors(self) -> np.ndarray:
        """Output-side item-tower vectors, shape (n_items, dim)."""
        import torch

        self._check_fitted()
        with torch.no_grad():
            vectors, _ = self.network_.item_vectors(torch.from_numpy(self.item_embeddings_), self._id_mask())
        return vectors.numpy()

    def explain(self, history_row: sp.csr_matrix, item: int, top: int = 3) -> list[tuple[int, float]]:
        """Return up to `top` (history item, cosine similarity) pairs closest to `item` in the item tower."""
        self._check_fitted()
        row = check_history(history_row, self.n_items_)
        if row.shape[0] != 1:
            raise ValueError(f"history_row must have exactly 1 row, got {row.shape[0]}; pass history[i:i + 1]")
        item = check_item_index(item, self.n_items_)
        items = row.indices
        if items.size == 0:
            return []
        vectors = self.item_vectors()
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        similarity = vectors[items] @ vectors[item]
        order = np.argsort(-similarity, kind="stable")[:top]
        return [(int(items[i]), float(similarity[i])) for i in order]

    # ----------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        """Write hyperparameters, item statistics, text embeddings and network weights into `directory`."""
        import torch

        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / PARAMS_FILE).write_text(json.dumps(self.get_params(), indent=2))
        np.savez(directory / STATE_FILE, item_counts=self.item_counts_, item_embeddings=self.item_embeddings_)
        torch.save(self.network_.state_dict(), directory / WEIGHTS_FILE)

    @classmethod
    def load(cls, directory: Path) -> "TwoTowerRecommender":
        """Read a model written by `save`."""
        import torch

        directory = Path(directory)
        params_path = directory / PARAMS_FILE
        if not params_path.is_file():
            raise FileNotFoundError(
                f"{str(params_path)!r} not found; is {str(directory)!r} a saved TwoTowerRecommender?"
            )
        model = cls(**json.loads(params_path.read_text()))
        with np.load(directory / STATE_FILE) as state:
            model.item_counts_ = state["item_counts"]
            model.item_embeddings_ = state["item_embeddings"]
        model.n_items_ = len(model.item_counts_)
        network = _build_network(model.n_items_, model.item_embeddings_.shape[1], model.get_params())
        network.load_state_dict(torch.load(directory / WEIGHTS_FILE, weights_only=True))
        network.eval()
        model.network_ = network
        return model

    # ----------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        """Replace the torch module by its serialized weights, so pickle does not need the local class."""
        state = dict(self.__dict__)
        network = state.pop("network_", None)
        if network is not None:
            import torch

            buffer = io.BytesIO()
            torch.save(network.state_dict(), buffer)
            state["_network_bytes"] = buffer.getvalue()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        payload = state.pop("_network_bytes", None)
        self.__dict__.update(state)
        if payload is not None:
            import torch

            network = _build_network(self.n_items_, self.item_embeddings_.shape[1], self.get_params())
            network.load_state_dict(torch.load(io.BytesIO(payload), weights_only=True))
            network.eval()
            self.network_ = network

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"TwoTowerRecommender({args})"
