"""Classic collaborative filtering: implicit-feedback ALS, item-kNN (BM25 or cosine) and EASE.

All kinds score by folding in a user's history row, so users that were not in the training matrix
and training users with extra items are scored the same way as training users.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

__all__ = ["CFRecommender", "bm25_weights", "as_interaction_matrix", "check_history", "check_item_index"]

logger = logging.getLogger(__name__)

CFKind = Literal["ease", "als", "bm25", "cosine"]
DEFAULT_REGULARIZATION = {"ease": 500.0, "als": 1.0, "bm25": 0.0, "cosine": 0.0}
"""Ridge penalty used when `regularization` is None. EASE's 500 scored best of 100, 250, 500 and 1000 on a
MovieLens-100K validation split (nDCG@10 0.4866 against 0.4635 to 0.4815)."""
KINDS: tuple[str, ...] = ("ease", "als", "bm25", "cosine")
WEIGHTINGS: tuple[str, ...] = ("none", "bm25")
PARAMS_FILE = "params.json"
STATE_FILE = "state.npz"
SIMILARITY_FILE = "similarity.npz"


def as_interaction_matrix(matrix: Any, name: str, n_items: int | None = None) -> sp.csr_matrix:
    """Validate a 2-D sparse user-item matrix and return it as float32 CSR with sorted indices.

    Raises ValueError for dense input, a wrong number of columns, NaN/inf or negative values.
    """
    if not sp.issparse(matrix):
        raise ValueError(
            f"{name} must be a scipy.sparse matrix of shape (n_users, n_items), got {type(matrix).__name__}; "
            "convert with scipy.sparse.csr_matrix(...)"
        )
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {matrix.shape}")
    if n_items is not None and matrix.shape[1] != n_items:
        raise ValueError(f"{name} has {matrix.shape[1]} item columns but the model was fitted on {n_items} items")
    csr = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    if not np.all(np.isfinite(csr.data)):
        raise ValueError(f"{name} contains NaN or infinite values; drop or fill them before fitting/scoring")
    if csr.data.size and csr.data.min() < 0:
        raise ValueError(f"{name} contains negative values (min {csr.data.min()}); use non-negative weights")
    csr.eliminate_zeros()
    return csr


def check_history(history: Any, n_items: int) -> sp.csr_matrix:
    """Validate fold-in rows of shape (n_rows, n_items) and return them as float32 CSR."""
    return as_interaction_matrix(history, name="history", n_items=n_items)


def check_train(train: Any) -> sp.csr_matrix:
    """Validate a training matrix: non-empty, with at least one interaction."""
    matrix = as_interaction_matrix(train, name="train")
    if matrix.shape[0] == 0 or matrix.shape[1] == 0 or matrix.nnz == 0:
        raise ValueError(f"train is empty (shape {matrix.shape}, {matrix.nnz} interactions); pass at least one interaction")
    return matrix


def check_item_index(item: Any, n_items: int) -> int:
    """Return `item` as int, or raise KeyError when it is not a column index in [0, n_items)."""
    if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
        raise KeyError(f"item must be an integer column index, got {item!r}")
    if not 0 <= int(item) < n_items:
        raise KeyError(f"item {item} is out of range; valid items are 0..{n_items - 1}")
    return int(item)


def bm25_weights(
    matrix: sp.csr_matrix, idf: np.ndarray, average_length: float, k1: float, b: float
) -> sp.csr_matrix:
    """Return a copy of `matrix` (rows = users, columns = items) with Okapi BM25 weights.

    `idf` has shape (n_items,) and `average_length` is the mean row sum of the training matrix, so
    fold-in rows are weighted with the statistics of the training data.
    """
    weighted = matrix.tocsr(copy=True).astype(np.float32)
    row_sums = np.asarray(weighted.sum(axis=1)).ravel()
    length_norm = (1.0 - b) + b * row_sums / max(average_length, 1e-12)
    rows = np.repeat(np.arange(weighted.shape[0]), np.diff(weighted.indptr))
    data = weighted.data
    weighted.data = (data * (k1 + 1.0) / (k1 * length_norm[rows] + data) * idf[weighted.indices]).astype(np.float32)
    return weighted


class CFRecommender:
    """Collaborative-filtering recommender over an implicit-feedback user-item matrix.

    Kinds:
      - "ease": EASE (Steck, 2019), a closed-form item-item linear model with ridge penalty
        `regularization`; the item-item weight matrix is dense, shape (n_items, n_items).
      - "als": implicit ALS (Hu, Koren, Volinsky, 2008) from the `implicit` package. The confidence of an
        observed cell is `alpha * weight`, where weight is the raw value or its BM25 weight
        (`weighting="bm25"`). Scores fold the history in by one exact least-squares solve.
      - "bm25" / "cosine": item-kNN from `implicit.nearest_neighbours` with `K` neighbours per item.
    `score` returns `history @ W` for the item-item kinds, where W is the weight matrix.
    """

    def __init__(
        self,
        kind: CFKind = "ease",
        factors: int = 32,
        regularization: float | None = None,
        iterations: int = 15,
        alpha: float = 5.0,
        K: int = 100,
        K1: float = 1.2,
        B: float = 0.75,
        weighting: Literal["none", "bm25"] = "none",
        random_state: int = 42,
        num_threads: int = 0,
    ):
        self.kind = kind
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.K = K
        self.K1 = K1
        self.B = B
        self.weighting = weighting
        self.random_state = random_state
        self.num_threads = num_threads

    # ----------------------------------------------------------------- parameters
    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as passed to the constructor."""
        return {
            "kind": self.kind,
            "factors": self.factors,
            "regularization": self.regularization,
            "iterations": self.iterations,
            "alpha": self.alpha,
            "K": self.K,
            "K1": self.K1,
            "B": self.B,
            "weighting": self.weighting,
            "random_state": self.random_state,
            "num_threads": self.num_threads,
        }

    @property
    def params(self) -> dict[str, Any]:
        """Hyperparameters as passed to the constructor (same as `get_params()`)."""
        return self.get_params()

    def _check_params(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown CF kind {self.kind!r}; use one of {KINDS}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {self.weighting!r}; use one of {WEIGHTINGS}")
        if self.kind == "als" and self.factors < 1:
            raise ValueError(f"factors must be >= 1, got {self.factors}")
        if self.kind in ("bm25", "cosine") and self.K < 1:
            raise ValueError(f"K must be >= 1, got {self.K}")
        if self.regularization is not None and self.regularization < 0:
            raise ValueError(f"regularization must be >= 0, got {self.regularization}")

    @property
    def effective_regularization(self) -> float:
        """Ridge penalty in use: `regularization`, or the kind's entry in DEFAULT_REGULARIZATION when None."""
        if self.regularization is None:
            return DEFAULT_REGULARIZATION[self.kind]
        return float(self.regularization)

    # ----------------------------------------------------------------- fitting
    def fit(self, train: sp.csr_matrix, item_embeddings: np.ndarray | None = None) -> "CFRecommender":
        """Learn from `train`, a non-negative matrix of shape (n_users, n_items).

        `item_embeddings` is accepted for interface parity with the deep model and ignored.
        """
        self._check_params()
        matrix = check_train(train)
        self.n_items_ = matrix.shape[1]
        item_counts = np.asarray((matrix > 0).sum(axis=0)).ravel()
        self.idf_ = (np.log(matrix.shape[0]) - np.log1p(item_counts)).astype(np.float32)
        self.average_length_ = float(np.asarray(matrix.sum(axis=1)).mean())

        if self.kind == "ease":
            self._fit_ease(matrix)
        elif self.kind == "als":
            self._fit_als(matrix)
        else:
            self._fit_knn(matrix)
        logger.info("fitted CF kind=%s on %d users x %d items", self.kind, *matrix.shape)
        return self

    def _fit_ease(self, matrix: sp.csr_matrix) -> None:
        gram = (matrix.T @ matrix).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.effective_regularization
        precision = np.linalg.inv(gram)
        weights = precision / (-np.diag(precision))
        weights[np.diag_indices_from(weights)] = 0.0
        self.item_weights_ = weights.astype(np.float32)

    def _fit_knn(self, matrix: sp.csr_matrix) -> None:
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        if self.kind == "bm25":
            model = BM25Recommender(K=self.K, K1=self.K1, B=self.B, num_threads=self.num_threads)
        else:
            model = CosineRecommender(K=self.K, num_threads=self.num_threads)
        model.fit(matrix, show_progress=False)
        similarity = sp.csr_matrix(model.similarity, dtype=np.float32)
        similarity.setdiag(0.0)
        similarity.eliminate_zeros()
        self.item_weights_ = similarity

    def _confidence(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        if self.weighting == "bm25":
            matrix = bm25_weights(matrix, self.idf_, self.average_length_, self.K1, self.B)
        return (matrix * self.alpha).astype(np.float32).tocsr()

    def _fit_als(self, matrix: sp.csr_matrix) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        # alpha is applied in _confidence, so implicit gets alpha=1 and uses the cell values as confidences.
        model = AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.effective_regularization,
            alpha=1.0,
            iterations=self.iterations,
            use_cg=False,
            random_state=self.random_state,
            num_threads=self.num_threads,
        )
        model.fit(self._confidence(matrix), show_progress=False)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)

    # ----------------------------------------------------------------- scoring
    def _check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise RuntimeError("CFRecommender is not fitted; call fit(train) first")

    def _als_user_factors(self, history: sp.csr_matrix) -> tuple[np.ndarray, list[np.ndarray]]:
        """Fold in each row: solve (Y'Y + Y'(C - I)Y + reg I) x = Y'C p, as implicit's solver does.

        Returns the user factors, shape (n_rows, factors), and per row the matrix
        (Y'Y + Y'(C - I)Y + reg I)^-1 used by `explain`.
        """
        confidence = self._confidence(history)
        item_factors = self.item_factors_.astype(np.float64)
        base = item_factors.T @ item_factors + self.effective_regularization * np.eye(item_factors.shape[1])
        users = np.zeros((history.shape[0], item_factors.shape[1]), dtype=np.float64)
        inverses: list[np.ndarray] = []
        for row in range(history.shape[0]):
            start, end = confidence.indptr[row], confidence.indptr[row + 1]
            items = confidence.indices[start:end]
            values = confidence.data[start:end].astype(np.float64)
            factors = item_factors[items]
            system = base + factors.T @ ((values - 1.0)[:, None] * factors)
            inverse = np.linalg.inv(system)
            users[row] = inverse @ (factors.T @ values)
            inverses.append(inverse)
        return users, inverses

    def score(self, history: sp.csr_matrix) -> np.ndarray:
        """Return float32 scores of shape (n_rows, n_items) for every item; seen items are not masked.

        `history` has shape (n_rows, n_items); each row contains one user's known items with their weights.
        """
        self._check_fitted()
        rows = check_history(history, self.n_items_)
        if self.kind == "als":
            users, _ = self._als_user_factors(rows)
            return (users @ self.item_factors_.T.astype(np.float64)).astype(np.float32)
        scores = rows @ self.item_weights_
        if sp.issparse(scores):
            scores = scores.toarray()
        return np.asarray(scores, dtype=np.float32)

    def explain(self, history_row: sp.csr_matrix, item: int, top: int = 3) -> list[tuple[int, float]]:
        """Return up to `top` (history item, contribution) pairs that add most to `item`'s score.

        The contributions of all history items sum to the score of `item`. For the item-item kinds a
        contribution is weight * W[history item, item]; for ALS it is c_i * (A^-1 y_i) . y_item, the
        exact split of the folded-in score.
        """
        self._check_fitted()
        row = check_history(history_row, self.n_items_)
        if row.shape[0] != 1:
            raise ValueError(f"history_row must have exactly 1 row, got {row.shape[0]}; pass history[i:i + 1]")
        item = check_item_index(item, self.n_items_)
        items = row.indices
        if items.size == 0:
            return []
        if self.kind == "als":
            _, inverses = self._als_user_factors(row)
            confidence = self._confidence(row).data.astype(np.float64)
            factors = self.item_factors_[items].astype(np.float64)
            contributions = confidence * (factors @ inverses[0] @ self.item_factors_[item].astype(np.float64))
        else:
            column = self.item_weights_[:, item]
            column = column.toarray().ravel() if sp.issparse(column) else np.asarray(column).ravel()
            contributions = row.data.astype(np.float64) * column[items]
        order = np.argsort(-contributions, kind="stable")[:top]
        return [(int(items[i]), float(contributions[i])) for i in order]

    # ----------------------------------------------------------------- persistence
    def save(self, directory: Path) -> None:
        """Write the hyperparameters and learned state into `directory` (created when missing)."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / PARAMS_FILE).write_text(json.dumps(self.get_params(), indent=2))
        arrays: dict[str, np.ndarray] = {
            "n_items": np.array(self.n_items_),
            "idf": self.idf_,
            "average_length": np.array(self.average_length_),
        }
        if self.kind == "als":
            arrays["item_factors"] = self.item_factors_
        elif self.kind == "ease":
            arrays["item_weights"] = self.item_weights_
        else:
            sp.save_npz(directory / SIMILARITY_FILE, self.item_weights_)
        np.savez(directory / STATE_FILE, **arrays)

    @classmethod
    def load(cls, directory: Path) -> "CFRecommender":
        """Read a model written by `save`."""
        directory = Path(directory)
        params_path = directory / PARAMS_FILE
        if not params_path.is_file():
            raise FileNotFoundError(f"{str(params_path)!r} not found; is {str(directory)!r} a saved CFRecommender?")
        model = cls(**json.loads(params_path.read_text()))
        with np.load(directory / STATE_FILE) as state:
            model.n_items_ = int(state["n_items"])
            model.idf_ = state["idf"]
            model.average_length_ = float(state["average_length"])
            if model.kind == "als":
                model.item_factors_ = state["item_factors"]
            elif model.kind == "ease":
                model.item_weights_ = state["item_weights"]
        if model.kind in ("bm25", "cosine"):
            model.item_weights_ = sp.load_npz(directory / SIMILARITY_FILE).tocsr()
        return model

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"CFRecommender({args})"
