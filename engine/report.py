"""Run reports: a Markdown page with the results table and PNG plots, and a console table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from engine.blend import mix, to_blend_space
from engine.protocol import Domain, Outputs

logger = logging.getLogger(__name__)

__all__ = ["bucket_labels", "format_table", "write_report"]


def bucket_labels(values: np.ndarray, buckets: tuple[tuple[float, float, str], ...]) -> np.ndarray:
    """Return the label of the (low, high, label) bucket, bounds inclusive, that each value falls in."""
    labels = np.empty(np.shape(values)[0], dtype=object)
    for low, high, label in buckets:
        labels[(values >= low) & (values <= high)] = label
    return labels


def _format_value(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if np.isnan(value) else f"{value:.4f}"
    return str(value)


def format_table(rows: dict[str, dict[str, Any]], columns: list[str] | None = None, markdown: bool = False, label: str = "model") -> str:
    """Render {row name: {column: value}} as an aligned text table, or as a Markdown table; `label` heads the row names."""
    if not rows:
        return "(no rows)"
    columns = columns or list(next(iter(rows.values())).keys())
    header = [label] + columns
    body = [[name] + [_format_value(values.get(column, "")) for column in columns] for name, values in rows.items()]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * len(columns)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *body)]
    render = lambda cells: "  ".join(str(cell).rjust(width) if index else str(cell).ljust(width) for index, (cell, width) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([render(header), render(["-" * width for width in widths])] + [render(row) for row in body])


def _alpha_curve(domain: Domain, outputs: Outputs, metric: str, grid: np.ndarray) -> list[float]:
    deep = to_blend_space(outputs.deep, domain.target, outputs.exclude)
    classic = to_blend_space(outputs.classic, domain.target, outputs.exclude)
    return [domain.evaluate(mix(alpha, deep, classic), outputs)[metric] for alpha in grid]


def _plot_alpha(folder: Path, domain: Domain, blenders: dict, test_outputs: Outputs, metric: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fixed = blenders["fixed-alpha blend"]
    grid = np.array([alpha for alpha, _ in fixed.curve_])
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(grid, [value for _, value in fixed.curve_], marker="o", label="validation")
    axis.plot(grid, _alpha_curve(domain, test_outputs, metric, grid), marker="s", label="test")
    axis.axvline(fixed.alpha_, color="grey", linestyle="--", label=f"chosen alpha = {fixed.alpha_:.2f}")
    axis.set_xlabel("alpha (0 = classic only, 1 = deep only)")
    axis.set_ylabel(metric)
    axis.set_title(f"{domain.name}: {metric} against alpha")
    axis.legend()
    figure.tight_layout()
    name = "alpha_curve.png"
    figure.savefig(folder / name, dpi=110)
    plt.close(figure)
    return name


def _plot_segments(folder: Path, domain: Domain, segments: dict, metric: str) -> str | None:
    if not segments:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(segments)
    models = list(next(iter(segments.values())).keys())
    positions = np.arange(len(labels))
    width = 0.8 / len(models)
    figure, axis = plt.subplots(figsize=(max(8, 1.4 * len(labels) + 3), 4))
    for index, model in enumerate(models):
        axis.bar(positions + index * width, [segments[label][model].get(metric, np.nan) for label in labels], width, label=model)
    axis.set_xticks(positions + width * (len(models) - 1) / 2, labels, rotation=20, ha="right")
    axis.set_ylabel(metric)
    axis.set_title(f"{domain.name}: {metric} per segment (test)")
    axis.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    name = "segments.png"
    figure.savefig(folder / name, dpi=110)
    plt.close(figure)
    return name


def write_report(
    folder: Path, domain: Domain, config, metrics: dict, blenders: dict, valid_outputs: Outputs, test_outputs: Outputs, extra: str | None = None
) -> Path:
    """Write report.md and its plots into the artifact folder and return the report path."""
    metric = metrics["selection"]["metric"]
    alpha_plot = _plot_alpha(folder, domain, blenders, test_outputs, metric)
    segment_plot = _plot_segments(folder, domain, metrics["segments"], metric)

    lines = [f"# Run report: {domain.name}", ""]
    lines += [f"Dataset: `{config.params.get('dataset', 'default')}`. Engine seed {config.seed}. Times in seconds.", ""]
    lines += ["## Data", ""]
    lines += [f"- {split}: {values}" for split, values in metrics["data"].items()]
    for drops in metrics["drops"]:
        lines += ["", f"Cleaning of {drops['source']}: {drops['rows_in']:,} rows in, {drops['rows_out']:,} rows out.", ""]
        lines += ["| reason | rows dropped |", "|---|---:|"] + [f"| {reason} | {count:,} |" for reason, count in drops["dropped"].items()]
    lines += ["", "## Test results", "", format_table(metrics["test"], markdown=True), ""]
    lines += ["## Blenders", ""]
    for name, blender in blenders.items():
        if blender.kind == "context":
            weights = ", ".join(f"{feature} {weight:+.3f}" for feature, weight in blender.weights_.items())
            lines.append(f"- {name}: alpha = sigmoid({blender.bias_:+.3f} + standardized features x weights: {weights})")
        else:
            lines.append(f"- {name}: alpha = {blender.alpha_:.2f}")
    selection = metrics["selection"]
    lines += ["", f"Selected for serving: **{selection['selected']}** (validation {metric}: "
              + ", ".join(f"{name} {value:.4f}" for name, value in selection["validation"].items()) + ").", ""]
    lines += [f"![{metric} against alpha]({alpha_plot})", ""]
    if metrics["segments"]:
        lines += ["## Segments (test)", ""]
        segment_rows = {f"{label} / {model}": values for label, per_model in metrics["segments"].items() for model, values in per_model.items()}
        lines += [format_table(segment_rows, markdown=True), ""]
        if segment_plot:
            lines += [f"![{metric} per segment]({segment_plot})", ""]
    if extra:
        lines += [extra.rstrip(), ""]
    lines += ["## Timings (s)", ""] + [f"- {step}: {seconds:.1f}" for step, seconds in metrics["timings_s"].items()]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
