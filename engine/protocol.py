"""The interface a domain plug-in implements, and the values it exchanges with the engine.

A domain (recommendations, ads, pricing, or one of a user's own) defines how to load and
split its data, which texts to encode, how to build and fit its deep and its classic model, how to
turn fitted models into outputs on a split, how to score those outputs, and how to answer a request.
The engine owns everything generic: Ray orchestration, encoding, blending, artifacts, reports.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel

from engine.drops import DropReport

__all__ = [
    "TargetKind",
    "Model",
    "SplitName",
    "DomainData",
    "Outputs",
    "Domain",
]

SplitName = Literal["valid", "test"]
ModelSide = Literal["deep", "classic"]


class TargetKind(str, enum.Enum):
    """The kind of value a domain predicts, which fixes the scale on which the blender mixes the two models."""

    RANKING = "ranking"  # scores per (user, item), normalized per user before blending
    PROBABILITY = "probability"  # probabilities, blended as logits
    QUANTITY = "quantity"  # non-negative quantities such as demand, blended as log1p(q)


@runtime_checkable
class Model(Protocol):
    """A deep or classic model as the engine handles it: fitted in a Ray task, saved, loaded.

    `save(path)` creates `path` as a folder or as a single file; `load(path)` reads it back.
    """

    def save(self, path: Path) -> Any: ...

    @classmethod
    def load(cls, path: Path) -> "Model": ...


class DomainData(ABC):
    """A domain's loaded data: its splits plus what cleaning dropped."""

    drops: list[DropReport]

    @abstractmethod
    def fingerprint(self) -> str:
        """Return a stable hash of the data the models are trained and scored on."""

    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """Return row, user and item counts per split, for the report."""


@dataclass
class Outputs:
    """Aligned outputs of the deep and the classic model on one split, in natural units.

    For rankings `deep` and `classic` are arrays of shape (n_users, n_items). There `exclude` marks
    the candidates that may not be recommended (items seen in training), and `truth` is a binary
    relevance matrix of the same shape. A NaN in `deep` or `classic` means that model has no output
    for that entry. For probabilities and quantities they are arrays of shape (n_rows,)
    and `truth` holds the observed values. `context` maps a feature name to an array broadcastable
    to the outputs' shape, for the context-dependent blender.
    """

    deep: np.ndarray
    classic: np.ndarray
    truth: Any
    context: dict[str, np.ndarray] = field(default_factory=dict)
    exclude: sp.csr_matrix | None = None
    segments: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.deep.shape != self.classic.shape:
            raise ValueError(
                f"deep outputs have shape {self.deep.shape} but classic outputs have shape {self.classic.shape}; "
                "both models must score the same rows and columns"
            )


class Domain(ABC):
    """Base class of a domain plug-in.

    Subclasses set `name`, `target` and `Config` (a pydantic model with extra="forbid" that
    validates the `params` section of a run config), and register a class path under the
    entry-point group ``decision_engine.domains``. The constructor only stores the validated config.
    """

    name: ClassVar[str]
    target: ClassVar[TargetKind]
    Config: ClassVar[type[BaseModel]]

    def __init__(self, config: BaseModel | dict | None = None):
        if config is None or isinstance(config, dict):
            config = self.Config.model_validate(config or {})
        self.config = config

    @abstractmethod
    def load(self, data_dir: Path | None) -> DomainData:
        """Load, clean, validate and split the configured dataset."""

    @abstractmethod
    def texts(self, data: DomainData) -> list[str]:
        """Return the texts to encode (one per item or product), in the order the models index them."""

    @abstractmethod
    def build_model(self, side: ModelSide) -> Model:
        """Return a new, unfitted deep or classic model built from the config."""

    @abstractmethod
    def fit_model(self, model: Model, data: DomainData, embeddings: np.ndarray, *, final: bool) -> Model:
        """Fit `model` on the training part, or on training plus validation when `final` is True."""

    @abstractmethod
    def outputs(self, models: dict[str, Model], data: DomainData, embeddings: np.ndarray, split: SplitName) -> Outputs:
        """Score `split` with both models, aligned for blending."""

    @abstractmethod
    def evaluate(self, blended: np.ndarray, outputs: Outputs, rows: np.ndarray | None = None) -> dict[str, float]:
        """Return the domain's metrics for blended values (blend space), on all rows or a boolean row mask."""

    @abstractmethod
    def primary_metric(self) -> tuple[str, Literal["max", "min"]]:
        """Return the metric name that selects alpha and whether higher or lower is better."""

    @abstractmethod
    def save_state(self, data: DomainData, embeddings: np.ndarray, directory: Path) -> None:
        """Write what `decide` needs besides the models (id maps, histories, embeddings)."""

    @abstractmethod
    def load_state(self, directory: Path) -> Any:
        """Read back what `save_state` wrote."""

    def baseline_rows(self, outputs: Outputs) -> dict[str, dict[str, float]]:
        """Optionally return metrics of simple reference forecasts on the same split, keyed by row name."""
        return {}

    def extra_report(self, models: dict[str, Model], blender: Any, data: DomainData, embeddings: np.ndarray, folder: Path) -> str | None:
        """Optionally write domain-specific results (tables, plots) into `folder`; return Markdown for the report."""
        return None

    @abstractmethod
    def decide(self, bundle: "Any", request: dict[str, Any]) -> dict[str, Any]:
        """Return the decision for one request, with its explanation, from a loaded artifact."""
