"""The pricing section of a run report: recommended price changes, elasticity, demand curves."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from engine.report import format_table

from domains.pricing.decisions import blended_demand, decide_price, latest_rows

logger = logging.getLogger(__name__)

__all__ = ["pricing_report", "price_decisions"]


def price_decisions(domain, models: dict, blender, data, embeddings: np.ndarray) -> pd.DataFrame:
    """Price the series with the highest revenue in the test period, one row per series."""
    config = domain.config
    panel = pd.concat([data.train, data.valid, data.test])
    latest = latest_rows(panel)
    keys = [key for key in ("product_id", "segment") if key in latest.columns]
    recent = data.test.assign(revenue=data.test["price"] * data.test["quantity"]).groupby(keys)["revenue"].sum()
    latest = latest.merge(recent.rename("test_revenue").reset_index(), on=keys, how="left").fillna({"test_revenue": 0.0})
    latest = latest.sort_values("test_revenue", ascending=False).head(config.max_decisions)
    weeks = panel.groupby("product_id")["period"].nunique()
    texts = data.products.set_index("product_id")["text"]
    embedding_frame = domain._embedding_frame(data, embeddings)

    records = []
    logger.info("pricing %d series for the report", len(latest))
    for number, (_, series) in enumerate(latest.iterrows(), start=1):
        if number % 25 == 0:
            logger.info("priced %d of %d series", number, len(latest))
        row = series.to_frame().T.infer_objects()
        product_id = str(series["product_id"])
        n_weeks = int(weeks.get(product_id, 0))
        decision, reason, units_now = decide_price(models, blender, row, embedding_frame, n_weeks, config.guardrails,
                                                   objective=config.objective, unit_cost=None, min_weeks=config.min_weeks)
        records.append({
            "product_id": product_id,
            **({"segment": str(series["segment"])} if "segment" in latest.columns else {}),
            "text": str(texts.get(product_id, ""))[:40],
            "weeks": n_weeks,
            "current_price": decision.current_price,
            "new_price": decision.price,
            "change": decision.change_fraction,
            "units_now": units_now,
            "units_new": decision.expected_demand,
            "revenue_now": decision.current_price * units_now,
            "revenue_new": decision.expected_revenue,
            "revenue_impact": decision.expected_revenue - decision.current_price * units_now,
            "elasticity": decision.elasticity,
            "bound_by": decision.binding_constraint or "none",
            "fallback": decision.fallback,
            "driver": reason["driver"],
        })
    return pd.DataFrame.from_records(records)


def _plot_curves(domain, models, blender, data, embeddings, decisions: pd.DataFrame, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panel = pd.concat([data.train, data.valid, data.test])
    latest = latest_rows(panel)
    embedding_frame = domain._embedding_frame(data, embeddings)
    names = []
    for index, decision in enumerate(decisions[~decisions["fallback"]].head(domain.config.curve_plots).itertuples()):
        mask = latest["product_id"].astype(str) == decision.product_id
        if "segment" in latest.columns:
            mask &= latest["segment"].astype(str) == decision.segment
        row = latest[mask].head(1)
        demand, parts = blended_demand(models, blender, row, embedding_frame, float(np.log1p(decision.weeks)))
        prices = np.linspace(0.5 * decision.current_price, 1.5 * decision.current_price, 60)
        deep, classic, alpha = parts(prices)
        figure, axis = plt.subplots(figsize=(6, 4))
        axis.plot(prices, np.expm1(deep), label="deep", linestyle=":")
        axis.plot(prices, np.expm1(classic), label="classic (GBDT)", linestyle="--")
        axis.plot(prices, demand(prices), label=f"blend (alpha={alpha:.2f})", linewidth=2)
        bounds = domain.config.guardrails.bounds(decision.current_price, None)
        axis.axvspan(bounds[0], bounds[2], color="grey", alpha=0.15, label="guardrails")
        axis.axvline(decision.current_price, color="black", linewidth=1, label="current price")
        axis.axvline(decision.new_price, color="red", linewidth=1, label="recommended price")
        axis.set_xlabel("price")
        axis.set_ylabel("expected units per week")
        axis.set_title(f"{decision.product_id} {decision.text}"[:60])
        axis.legend(fontsize="small")
        figure.tight_layout()
        name = f"demand_curve_{index + 1}.png"
        figure.savefig(folder / name, dpi=100)
        plt.close(figure)
        names.append(name)
    return names


def _rules_section(data, top: pd.DataFrame) -> list[str]:
    """State how weekly units of the first listed product varied with its price, as decision-tree rules."""
    from domains.pricing.rules import explain_price_rules

    if top.empty:
        return []
    product_id = str(top["product_id"].iloc[0])
    history = data.part("train+valid")
    history = history[history["product_id"].astype(str) == product_id]
    try:
        rules = explain_price_rules(history, features=("price",), max_depth=2, min_samples_leaf=5)
    except ValueError as error:
        return [f"No price rules for {product_id}: {error}", ""]
    return [f"Weekly units of {product_id} against its price in the training weeks (a depth-2 regression tree):", "",
            "```", rules, "```", ""]


def pricing_report(domain, models: dict, blender, data, embeddings: np.ndarray, folder: Path) -> str:
    """Write price_decisions.csv and demand-curve plots into `folder`; return the Markdown section."""
    from domains.pricing.elasticity import estimate_elasticity

    lines = ["## Pricing", ""]
    positive = data.train[(data.train["quantity"] > 0) & (data.train["price"] > 0)]
    try:
        elasticity = estimate_elasticity(positive, fixed_effects=("product_id",))
        lines += [f"Own-price elasticity on the training weeks (statsmodels OLS, product fixed effects): {elasticity}.", ""]
    except ValueError as error:
        lines += [f"Own-price elasticity could not be estimated: {error}", ""]

    decisions = price_decisions(domain, models, blender, data, embeddings)
    decisions.to_csv(folder / "price_decisions.csv", index=False)
    moved = decisions[~decisions["fallback"]]
    lines += [
        f"Priced {len(decisions)} series (the highest test-period revenue first) with objective "
        f"{domain.config.objective} and guardrails {domain.config.guardrails.model_dump(exclude_none=True)}. "
        f"{int(decisions['fallback'].sum())} fell back to the current price (fewer than {domain.config.min_weeks} weeks of sales). "
        f"Expected weekly revenue impact over all priced series: {decisions['revenue_impact'].sum():+,.2f} "
        f"on {decisions['revenue_now'].sum():,.2f}.",
        "",
    ]
    top = moved.reindex(moved["revenue_impact"].abs().sort_values(ascending=False).index).head(domain.config.report_products)
    columns = [column for column in ("segment", "text", "current_price", "new_price", "change", "revenue_now", "revenue_new",
                                     "revenue_impact", "elasticity", "bound_by", "driver") if column in top.columns]
    rows = {
        str(record["product_id"]) + (f" @ {record['segment']}" if "segment" in record else ""): {column: record[column] for column in columns}
        for record in top.to_dict("records")
    }
    lines += ["Largest expected revenue changes (weekly, full list in `price_decisions.csv`):", "", format_table(rows, columns, markdown=True, label="product"), ""]
    lines += _rules_section(data, top)
    for name in _plot_curves(domain, models, blender, data, embeddings, top, folder):
        lines.append(f"![demand curve]({name})")
    return "\n".join(lines) + "\n"
