"""Metrics for the three target kinds: rankings, probabilities and quantities."""

from engine.metrics.ranking import RANKING_METRICS, catalog_coverage, ranking_metrics, top_k
from engine.metrics.regression import log_loss, regression_metrics, wape

__all__ = ["RANKING_METRICS", "catalog_coverage", "ranking_metrics", "top_k", "log_loss", "regression_metrics", "wape"]
