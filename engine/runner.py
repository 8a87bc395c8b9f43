"""The main job: load, encode, fit both models, blend, evaluate, save and report, on Ray.

Each heavy step runs on Ray, so the same code uses a laptop's cores or a cluster's nodes. The two
models are fitted in parallel tasks, scoring of each split is a task, and encoding runs in Ray
actors (see engine.encoder).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.artifacts import write_artifact
from engine.blend import ContextAlphaBlender, FixedAlphaBlender, to_blend_space
from engine.cluster import init_ray
from engine.config import RunConfig
from engine.paths import resolve_data_dir
from engine.protocol import Domain, DomainData, Outputs
from engine.registry import create_domain

logger = logging.getLogger(__name__)

__all__ = ["RunResult", "run", "blend_rows", "evaluate_outputs"]

SIDES = ("deep", "classic")


@dataclass
class RunResult:
    """Result of a run: the metrics table, the chosen blender and the artifact path."""

    artifact: Path
    rows: dict[str, dict[str, float]]
    segments: dict[str, dict[str, dict[str, float]]]
    selected: str
    timings_s: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _remote_functions():
    import ray

    @ray.remote(num_cpus=1)
    def fit_task(domain: Domain, side: str, data: DomainData, embeddings: np.ndarray, final: bool):
        started = time.perf_counter()
        model = domain.fit_model(domain.build_model(side), data, embeddings, final=final)
        return model, time.perf_counter() - started

    @ray.remote(num_cpus=1)
    def outputs_task(domain: Domain, models: dict, data: DomainData, embeddings: np.ndarray, split: str) -> Outputs:
        return domain.outputs(models, data, embeddings, split)

    return fit_task, outputs_task


def _fit_both(fit_task, domain, data_ref, embeddings_ref, final: bool, timings: dict) -> dict:
    import ray

    stage = "final" if final else "validation"
    refs = {side: fit_task.remote(domain, side, data_ref, embeddings_ref, final) for side in SIDES}
    models = {}
    for side, ref in refs.items():
        models[side], seconds = ray.get(ref)
        timings[f"fit {side} ({stage})"] = seconds
        logger.info("fitted %s model for %s in %.1f s", side, stage, seconds)
    return models


def blend_rows(blenders: dict, outputs: Outputs, target) -> dict[str, np.ndarray]:
    """Return the blend-space values of each side alone and of each blender, keyed by row name."""
    deep = to_blend_space(outputs.deep, target, outputs.exclude)
    classic = to_blend_space(outputs.classic, target, outputs.exclude)
    rows = {"deep only": deep, "classic only": classic}
    for name, blender in blenders.items():
        rows[name] = blender.blend(deep, classic, outputs.context)
    return rows


def evaluate_outputs(domain: Domain, blenders: dict, outputs: Outputs) -> tuple[dict, dict]:
    """Score every row of the results table overall and on each segment of the outputs."""
    values = blend_rows(blenders, outputs, domain.target)
    table = {name: domain.evaluate(blended, outputs) for name, blended in values.items()}
    table.update(domain.baseline_rows(outputs))
    segments: dict[str, dict[str, dict[str, float]]] = {}
    for segment_name, labels in outputs.segments.items():
        for label in sorted(set(np.asarray(labels).tolist())):
            mask = np.asarray(labels) == label
            key = f"{segment_name}={label}"
            segments[key] = {name: domain.evaluate(blended, outputs, rows=mask) for name, blended in values.items()}
    return table, segments


def _fit_blenders(domain: Domain, config: RunConfig, outputs: Outputs) -> tuple[dict, dict]:
    metric, direction = domain.primary_metric()
    deep = to_blend_space(outputs.deep, domain.target, outputs.exclude)
    classic = to_blend_space(outputs.classic, domain.target, outputs.exclude)

    fixed = FixedAlphaBlender(grid_size=config.blend.grid_size)
    fixed.fit(deep, classic, lambda blended: domain.evaluate(blended, outputs)[metric], direction)

    features = config.blend.context_features or sorted(outputs.context)
    blenders: dict[str, Any] = {"fixed-alpha blend": fixed}
    if features:
        context = ContextAlphaBlender(features=features, steps=config.blend.context_steps, random_state=config.seed)
        context.fit(deep, classic, outputs.truth, outputs.context, domain.target, initial_alpha=fixed.alpha_)
        blenders["context-alpha blend"] = context

    validation = {name: domain.evaluate(blender.blend(deep, classic, outputs.context), outputs)[metric] for name, blender in blenders.items()}
    better = max if direction == "max" else min
    selected = better(validation, key=validation.get)
    logger.info("validation %s per blender: %s; selected %s", metric, validation, selected)
    return blenders, {"selected": selected, "validation": validation, "metric": metric}


def run(config: RunConfig) -> RunResult:
    """Run the main job for `config.domain` and return its results; the artifact is on disk."""
    import ray

    from engine.encoder import encode_texts
    from engine.report import write_report

    timings: dict[str, float] = {}
    clock = time.perf_counter()
    domain = create_domain(config.domain, config.params)
    started_ray = init_ray(config.ray)
    try:
        logger.info("[1/6] loading data for domain %r", config.domain)
        data = domain.load(resolve_data_dir(config.data_dir))
        for report in data.drops:
            logger.info("%s", report.to_markdown().splitlines()[0])
        timings["load"] = time.perf_counter() - clock

        logger.info("[2/6] encoding item texts")
        step = time.perf_counter()
        embeddings = encode_texts(domain.texts(data), config.encoder_config())
        timings["encode"] = time.perf_counter() - step

        logger.info("[3/6] fitting deep and classic models in parallel Ray tasks")
        fit_task, outputs_task = _remote_functions()
        data_ref, embeddings_ref = ray.put(data), ray.put(embeddings)
        models = _fit_both(fit_task, domain, data_ref, embeddings_ref, False, timings)

        logger.info("[4/6] fitting blenders on the validation split")
        step = time.perf_counter()
        valid_outputs = ray.get(outputs_task.remote(domain, models, data_ref, embeddings_ref, "valid"))
        blenders, selection = _fit_blenders(domain, config, valid_outputs)
        timings["blend"] = time.perf_counter() - step

        if config.refit:
            logger.info("[5/6] refitting both models on train + validation")
            models = _fit_both(fit_task, domain, data_ref, embeddings_ref, True, timings)

        logger.info("[6/6] evaluating on the test split and saving the artifact")
        step = time.perf_counter()
        test_outputs = ray.get(outputs_task.remote(domain, models, data_ref, embeddings_ref, "test"))
        table, segments = evaluate_outputs(domain, blenders, test_outputs)
        timings["evaluate"] = time.perf_counter() - step
        timings["total"] = time.perf_counter() - clock

        domain_report: list[str] = []

        def write(folder: Path) -> None:
            (folder / "config.json").write_text(config.model_dump_json(indent=2))
            (folder / "blenders.json").write_text(
                json.dumps({"selected": selection["selected"], "blenders": {n: b.to_dict() for n, b in blenders.items()}}, indent=2)
            )
            (folder / "models").mkdir()
            for side, model in models.items():
                # A model writes a folder or a single file at this path, whichever it needs.
                model.save(folder / "models" / side)
            (folder / "state").mkdir()
            domain.save_state(data, embeddings, folder / "state")
            metrics = {
                "test": table,
                "segments": segments,
                "selection": selection,
                "data": data.summary(),
                "drops": [report.to_dict() for report in data.drops],
                "timings_s": timings,
            }
            (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
            extra = domain.extra_report(models, blenders[selection["selected"]], data, embeddings, folder)
            domain_report.append(extra or "")
            write_report(folder, domain, config, metrics, blenders, valid_outputs, test_outputs, extra)

        artifact = write_artifact(config.output_dir, config.domain, data.fingerprint(), write, {"selected_blender": selection["selected"]})
        timings["total with report"] = time.perf_counter() - clock
        return RunResult(artifact, table, segments, selection["selected"], timings, {"selection": selection, "data": data.summary(), "domain_report": domain_report[0]})
    finally:
        if started_ray:
            ray.shutdown()
