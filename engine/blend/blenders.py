"""Blenders: F = alpha * deep + (1 - alpha) * classic, on the scale of the target kind.

`FixedAlphaBlender` picks one alpha from a grid by the domain's own validation metric.
`ContextAlphaBlender` learns alpha as a logistic function of context features (for example the log
of a user's history length and of an item's popularity), so the mix can lean on the deep model where
collaborative signal is thin. Its weights are fitted by gradient descent on a smooth surrogate of the
target (listwise softmax cross-entropy for rankings, squared error for quantities, log-loss for
probabilities), starting from the fixed blender's alpha.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np

from engine.protocol import TargetKind

logger = logging.getLogger(__name__)

__all__ = ["FixedAlphaBlender", "ContextAlphaBlender", "blender_from_dict", "mix", "Scorer"]

# Maps blended values (blend space) to the domain's primary validation metric.
Scorer = Callable[[np.ndarray], float]


def mix(alpha, deep: np.ndarray, classic: np.ndarray) -> np.ndarray:
    """Return alpha * deep + (1 - alpha) * classic, letting one side decide alone where the other has no output.

    A NaN on one side (for example the collaborative score of an item with no interaction in
    training) means that model has no signal there, so the other side's value is used as it is.
    Where both are NaN (excluded candidates) the result stays NaN.
    """
    blended = alpha * deep + (1.0 - alpha) * classic
    only_deep = np.isnan(classic) & ~np.isnan(deep)
    only_classic = np.isnan(deep) & ~np.isnan(classic)
    if only_deep.any() or only_classic.any():
        blended = np.where(only_deep, deep, blended)
        blended = np.where(only_classic, classic, blended)
    return blended


@dataclass
class FixedAlphaBlender:
    """One alpha for every decision, chosen on a grid over [0, 1]."""

    grid_size: int = 21
    alpha_: float | None = None
    curve_: list[tuple[float, float]] = field(default_factory=list)

    kind = "fixed"

    def fit(self, deep: np.ndarray, classic: np.ndarray, scorer: Scorer, direction: Literal["max", "min"]) -> "FixedAlphaBlender":
        """Score every alpha on the grid with `scorer` and keep the best; ties go to the smaller alpha."""
        if self.grid_size < 2:
            raise ValueError(f"grid_size must be at least 2 to include alpha=0 and alpha=1; got {self.grid_size}")
        grid = np.linspace(0.0, 1.0, self.grid_size)
        self.curve_ = [(float(alpha), float(scorer(mix(alpha, deep, classic)))) for alpha in grid]
        values = np.array([value for _, value in self.curve_])
        best = int(np.nanargmax(values) if direction == "max" else np.nanargmin(values))
        self.alpha_ = float(grid[best])
        logger.info("fixed blender: alpha=%.2f (validation %.4f)", self.alpha_, values[best])
        return self

    def alpha(self, context: dict[str, np.ndarray] | None = None) -> float:
        if self.alpha_ is None:
            raise RuntimeError("the blender is not fitted; call fit() on validation outputs first")
        return self.alpha_

    def blend(self, deep: np.ndarray, classic: np.ndarray, context: dict[str, np.ndarray] | None = None) -> np.ndarray:
        return mix(self.alpha(context), deep, classic)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "grid_size": self.grid_size, "alpha": self.alpha_, "curve": self.curve_}


@dataclass
class ContextAlphaBlender:
    """alpha(x) = sigmoid(bias + sum_j weight_j * (x_j - mean_j) / std_j) over named context features."""

    features: list[str]
    steps: int = 200
    learning_rate: float = 0.05
    max_rows: int = 1000
    random_state: int = 42
    bias_: float | None = None
    weights_: dict[str, float] = field(default_factory=dict)
    means_: dict[str, float] = field(default_factory=dict)
    stds_: dict[str, float] = field(default_factory=dict)

    kind = "context"

    def _check_context(self, context: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        context = context or {}
        missing = [name for name in self.features if name not in context]
        if missing:
            raise KeyError(
                f"context features {missing} are missing; the domain provides {sorted(context)}. "
                "Set blend.context_features to names the domain provides"
            )
        return context

    def alpha(self, context: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Return alpha for each context, broadcast like the context arrays."""
        if self.bias_ is None:
            raise RuntimeError("the blender is not fitted; call fit() on validation outputs first")
        context = self._check_context(context)
        logit = np.asarray(self.bias_, dtype=np.float64)
        for name in self.features:
            standardized = (np.asarray(context[name], dtype=np.float64) - self.means_[name]) / self.stds_[name]
            logit = logit + self.weights_[name] * standardized
        return 1.0 / (1.0 + np.exp(-logit))

    def blend(self, deep: np.ndarray, classic: np.ndarray, context: dict[str, np.ndarray] | None = None) -> np.ndarray:
        return mix(self.alpha(context), deep, classic)

    def fit(
        self,
        deep: np.ndarray,
        classic: np.ndarray,
        truth,
        context: dict[str, np.ndarray],
        target: TargetKind,
        initial_alpha: float = 0.5,
    ) -> "ContextAlphaBlender":
        """Learn the gate on validation outputs (already in blend space) by gradient descent."""
        import torch

        context = self._check_context(context)
        for name in self.features:
            values = np.asarray(context[name], dtype=np.float64)
            self.means_[name] = float(np.mean(values))
            std = float(np.std(values))
            self.stds_[name] = std if std > 0 else 1.0

        rows = _sample_rows(deep.shape[0], self.max_rows, self.random_state) if target is TargetKind.RANKING else slice(None)
        # Where one side has no output, give it the other side's value so the mix equals that side (see `mix`).
        deep_rows, classic_rows = deep[rows], classic[rows]
        deep_rows, classic_rows = np.where(np.isnan(deep_rows), classic_rows, deep_rows), np.where(np.isnan(classic_rows), deep_rows, classic_rows)
        deep_t = torch.as_tensor(np.nan_to_num(deep_rows, nan=0.0), dtype=torch.float32)
        classic_t = torch.as_tensor(np.nan_to_num(classic_rows, nan=0.0), dtype=torch.float32)
        features_t = [
            torch.as_tensor(
                ((np.asarray(context[name], dtype=np.float64) - self.means_[name]) / self.stds_[name])[
                    rows if np.ndim(context[name]) and np.shape(context[name])[0] == deep.shape[0] else slice(None)
                ],
                dtype=torch.float32,
            )
            for name in self.features
        ]
        candidates = np.where(np.isnan(deep[rows]), classic[rows], deep[rows]) if target is TargetKind.RANKING else None
        loss_fn = _surrogate(target, truth, rows, candidates)

        clipped = float(np.clip(initial_alpha, 0.02, 0.98))
        bias = torch.tensor(np.log(clipped / (1 - clipped)), dtype=torch.float32, requires_grad=True)
        weights = torch.zeros(len(self.features), dtype=torch.float32, requires_grad=True)
        log_temperature = torch.zeros((), dtype=torch.float32, requires_grad=True)
        optimizer = torch.optim.Adam([bias, weights, log_temperature], lr=self.learning_rate)

        for _ in range(self.steps):
            optimizer.zero_grad()
            logit = bias
            for index, feature in enumerate(features_t):
                logit = logit + weights[index] * feature
            alpha = torch.sigmoid(logit)
            blended = alpha * deep_t + (1 - alpha) * classic_t
            loss = loss_fn(blended, log_temperature)
            loss.backward()
            optimizer.step()

        self.bias_ = float(bias.detach())
        self.weights_ = {name: float(weights[index].detach()) for index, name in enumerate(self.features)}
        logger.info("context blender: bias=%.3f weights=%s", self.bias_, self.weights_)
        return self

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "features": list(self.features),
            "bias": self.bias_,
            "weights": self.weights_,
            "means": self.means_,
            "stds": self.stds_,
        }


def _sample_rows(n_rows: int, max_rows: int, seed: int) -> np.ndarray:
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False))


def _surrogate(target: TargetKind, truth, rows, deep_rows: np.ndarray | None):
    """Return loss(blended, log_temperature) for the target kind."""
    import torch

    if target is TargetKind.RANKING:
        relevance = np.asarray(truth[rows].todense(), dtype=np.float32)
        candidates = ~np.isnan(deep_rows)
        relevance = relevance * candidates
        has_relevant = relevance.sum(axis=1) > 0
        relevance_t = torch.as_tensor(relevance[has_relevant])
        mask_t = torch.as_tensor(candidates[has_relevant])
        keep = torch.as_tensor(has_relevant)
        weights_t = relevance_t / relevance_t.sum(dim=1, keepdim=True)

        def listwise(blended, log_temperature):
            logits = (blended[keep] * torch.exp(log_temperature)).masked_fill(~mask_t, float("-inf"))
            log_probs = torch.log_softmax(logits, dim=1).masked_fill(~mask_t, 0.0)
            return -(weights_t * log_probs).sum(dim=1).mean()

        return listwise

    observed = torch.as_tensor(np.array(truth, dtype=np.float32, copy=True))
    if target is TargetKind.PROBABILITY:
        return lambda blended, _: torch.nn.functional.binary_cross_entropy_with_logits(blended, observed)
    log_observed = torch.log1p(torch.clamp(observed, min=0.0))
    return lambda blended, _: torch.mean((blended - log_observed) ** 2)


def blender_from_dict(payload: dict):
    """Rebuild a fitted blender from `to_dict` output."""
    kind = payload.get("kind")
    if kind == "fixed":
        return FixedAlphaBlender(grid_size=payload["grid_size"], alpha_=payload["alpha"], curve_=[tuple(point) for point in payload["curve"]])
    if kind == "context":
        return ContextAlphaBlender(
            features=list(payload["features"]),
            bias_=payload["bias"],
            weights_=dict(payload["weights"]),
            means_=dict(payload["means"]),
            stds_=dict(payload["stds"]),
        )
    raise ValueError(f"unknown blender kind {kind!r}; expected 'fixed' or 'context'")
