"""The pricing domain: demand from a deep text model and gradient-boosted trees, blended in log1p units."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.metrics.regression import regression_metrics
from engine.paths import require_dataset
from engine.protocol import Domain, DomainData, Outputs, TargetKind
from engine.report import bucket_labels

from domains.pricing.optimizer import Guardrails

logger = logging.getLogger(__name__)

__all__ = ["PricingConfig", "PricingData", "PricingDomain"]

# Labels sort in bucket order, because reports list segments sorted by label.
HISTORY_BUCKETS = ((0, 7, "history 0-7 weeks"), (8, 25, "history 8-25 weeks"), (26, np.inf, "history 26+ weeks"))
DATASET_DEFAULTS = {
    "online-retail": {"valid_weeks": 8, "test_weeks": 8, "extra_features": []},
    "orange-juice": {"valid_weeks": 20, "test_weeks": 20, "extra_features": ["deal", "feat"]},
    "csv": {"valid_weeks": 8, "test_weeks": 8, "extra_features": []},
}


class PricingConfig(BaseModel):
    """Parameters of the pricing domain (the `params` section of a run config)."""

    model_config = ConfigDict(extra="forbid")

    dataset: Literal["online-retail", "orange-juice", "csv"] = "online-retail"
    online_retail_path: Path | None = Field(None, description="Online Retail CSV; None uses the copy shipped with the package")
    sales_path: Path | None = Field(None, description="csv dataset: sales lines (product_id, timestamp, price, quantity[, segment, unit_cost])")
    products_path: Path | None = Field(None, description="csv dataset: products (product_id, text)")
    valid_weeks: int | None = Field(None, ge=1, description="weeks before the test period used to fit alpha; None: dataset default")
    test_weeks: int | None = Field(None, ge=1, description="last weeks held out for the test; None: dataset default")
    min_weeks: int = Field(8, ge=1, description="products sold in fewer weeks keep their current price (explicit fallback)")
    extra_features: list[str] | None = Field(None, description="numeric sales columns used as features; None: dataset default")
    classic: dict[str, Any] = Field(default_factory=dict, description="GBDTDemandModel parameters")
    deep: dict[str, Any] = Field(default_factory=dict, description="DeepDemandModel parameters")
    guardrails: Guardrails = Field(default_factory=Guardrails)
    objective: Literal["revenue", "profit"] = "revenue"
    report_products: int = Field(15, ge=1, description="rows of the price-change table in the report")
    max_decisions: int = Field(100, ge=1, description="series priced in the report, by recent revenue (about 1 s each on one core)")
    curve_plots: int = Field(4, ge=0, description="demand-curve plots written to the report")

    @model_validator(mode="after")
    def _check_csv_paths(self) -> "PricingConfig":
        if self.dataset == "csv" and (self.sales_path is None or self.products_path is None):
            raise ValueError("dataset 'csv' needs both sales_path and products_path")
        return self

    def resolved(self, name: str):
        value = getattr(self, name)
        return DATASET_DEFAULTS[self.dataset][name] if value is None else value


@dataclass
class PricingData(DomainData):
    """A weekly sales panel with history features, split by time."""

    products: pd.DataFrame
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    drops: list = field(default_factory=list)
    params: dict = field(default_factory=dict)

    def part(self, name: str) -> pd.DataFrame:
        if name == "train+valid":
            return pd.concat([self.train, self.valid])
        return {"train": self.train, "valid": self.valid, "test": self.test}[name]

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for frame in (self.train, self.valid, self.test):
            digest.update(pd.util.hash_pandas_object(frame[["product_id", "period", "price", "quantity"]], index=False).values.tobytes())
        digest.update(pd.util.hash_pandas_object(self.products[["product_id", "text"]], index=False).values.tobytes())
        digest.update(json.dumps(self.params, sort_keys=True, default=str).encode())
        return digest.hexdigest()

    def summary(self) -> dict[str, Any]:
        summary = {}
        for name in ("train", "valid", "test"):
            frame = self.part(name)
            summary[name] = {"rows": len(frame), "products": int(frame["product_id"].nunique()),
                             "weeks": int(frame["period"].nunique()),
                             "from": str(frame["period"].min().date()), "to": str(frame["period"].max().date())}
        summary["catalog"] = {"products": len(self.products), "with enough history": int(self.products["enough_history"].sum())}
        return summary


@dataclass
class DemandOutputs(Outputs):
    """Outputs of one split, plus the naive last-period forecast for comparison."""

    naive: np.ndarray | None = None


class PricingDomain(Domain):
    """Price per product that maximizes expected revenue or profit, within guardrails."""

    name = "pricing"
    target = TargetKind.QUANTITY
    Config = PricingConfig

    # ------------------------------------------------------------------ data
    def load(self, data_dir: Path | None) -> PricingData:
        from domains.pricing.data import load_online_retail_sales, load_orange_juice, load_sales_csv
        from domains.pricing.features import add_history_features, temporal_split

        config = self.config
        if config.dataset == "orange-juice":
            sales = load_orange_juice(require_dataset("dominicks-orange-juice", data_dir), min_weeks=config.min_weeks)
        elif config.dataset == "csv":
            sales = load_sales_csv(config.sales_path, config.products_path, min_weeks=config.min_weeks)
        else:
            sales = load_online_retail_sales(config.online_retail_path, min_weeks=config.min_weeks)

        panel = add_history_features(sales.sales)
        train, valid, test = temporal_split(panel, valid_periods=config.resolved("valid_weeks"), test_periods=config.resolved("test_weeks"))
        params = {"dataset": config.dataset, "valid_weeks": config.resolved("valid_weeks"), "test_weeks": config.resolved("test_weeks"),
                  "min_weeks": config.min_weeks}
        return PricingData(products=sales.products.reset_index(drop=True), train=train, valid=valid, test=test,
                           drops=[sales.report], params=params)

    def texts(self, data: PricingData) -> list[str]:
        return data.products["text"].astype(str).tolist()

    def _embedding_frame(self, data: PricingData, embeddings: np.ndarray) -> pd.DataFrame:
        from domains.pricing.deep import embedding_frame

        return embedding_frame(data.products["product_id"].astype(str).tolist(), embeddings)

    # ---------------------------------------------------------------- models
    def build_model(self, side: str):
        from domains.pricing.classic import GBDTDemandModel
        from domains.pricing.deep import DeepDemandModel

        extra = self.config.resolved("extra_features")
        if side == "deep":
            return DeepDemandModel(**{"extra_features": extra, **self.config.deep})
        if side == "classic":
            return GBDTDemandModel(**{"extra_features": extra, **self.config.classic})
        raise ValueError(f"unknown model side {side!r}; expected 'deep' or 'classic'")

    def fit_model(self, model, data: PricingData, embeddings: np.ndarray, *, final: bool):
        from domains.pricing.deep import DeepDemandModel

        frame = data.part("train+valid" if final else "train")
        if isinstance(model, DeepDemandModel):
            return model.fit(frame, self._embedding_frame(data, embeddings))
        return model.fit(frame)

    def outputs(self, models: dict, data: PricingData, embeddings: np.ndarray, split: str) -> DemandOutputs:
        frame = data.part(split)
        history = data.part("train" if split == "valid" else "train+valid")
        weeks = frame["product_id"].map(history.groupby("product_id")["period"].nunique()).fillna(0).to_numpy(dtype=float)
        deep_log = models["deep"].predict_log_demand(frame, self._embedding_frame(data, embeddings))
        classic_log = models["classic"].predict_log_demand(frame)
        naive_log = frame["lag_log_demand"].fillna(frame["rolling_log_demand"]).fillna(float(np.log1p(history["quantity"]).mean()))
        return DemandOutputs(
            deep=np.clip(np.expm1(deep_log), 0.0, None),
            classic=np.clip(np.expm1(classic_log), 0.0, None),
            truth=frame["quantity"].to_numpy(dtype=float),
            context={"log_product_weeks": np.log1p(weeks)},
            segments={"product history": bucket_labels(weeks, HISTORY_BUCKETS)},
            naive=np.expm1(naive_log.to_numpy(dtype=float)),
        )

    # ------------------------------------------------------------ evaluation
    def primary_metric(self) -> tuple[str, str]:
        return "wape", "min"

    def evaluate(self, blended: np.ndarray, outputs: DemandOutputs, rows: np.ndarray | None = None) -> dict[str, float]:
        predicted = np.clip(np.expm1(blended), 0.0, None)
        truth = outputs.truth
        if rows is not None:
            predicted, truth = predicted[rows], truth[rows]
        result = regression_metrics(truth, predicted)
        result["rows"] = int(truth.shape[0])
        return result

    def baseline_rows(self, outputs: DemandOutputs) -> dict[str, dict[str, float]]:
        """Score the naive forecast: each series' previous week (its recent mean when that week is missing)."""
        return {"naive last week": self.evaluate(np.log1p(outputs.naive), outputs)}

    # --------------------------------------------------------------- serving
    def save_state(self, data: PricingData, embeddings: np.ndarray, directory: Path) -> None:
        from domains.pricing.decisions import latest_rows

        data.products.to_parquet(directory / "products.parquet", index=False)
        np.save(directory / "embeddings.npy", embeddings)
        latest_rows(pd.concat([data.train, data.valid, data.test])).to_parquet(directory / "latest.parquet")
        weeks = pd.concat([data.train, data.valid, data.test]).groupby("product_id")["period"].nunique()
        weeks.rename("n_weeks").to_frame().to_parquet(directory / "weeks.parquet")

    def load_state(self, directory: Path) -> dict[str, Any]:
        products = pd.read_parquet(directory / "products.parquet")
        embeddings = np.load(directory / "embeddings.npy")
        from domains.pricing.deep import embedding_frame

        return {
            "products": products,
            "embeddings": embedding_frame(products["product_id"].astype(str).tolist(), embeddings),
            "latest": pd.read_parquet(directory / "latest.parquet"),
            "weeks": pd.read_parquet(directory / "weeks.parquet")["n_weeks"],
        }

    def decide(self, bundle, request: dict[str, Any]) -> dict[str, Any]:
        from domains.pricing.decisions import price_for_request

        return price_for_request(bundle, request)

    def extra_report(self, models: dict, blender, data: PricingData, embeddings: np.ndarray, folder: Path) -> str:
        from domains.pricing.report import pricing_report

        return pricing_report(self, models, blender, data, embeddings, folder)
