"""Command line: `python -m engine` or `decision-engine`.

Commands:
  run       the main job: prepare data, encode, fit, blend, evaluate, save, report
  evaluate  score an existing artifact on a split of its data
  query     return the decision for one request from an artifact, such as a user's top-k items
  domains   list the installed domain plug-ins
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import yaml

logger = logging.getLogger("engine")

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="decision-engine", description="Blend deep and classic models for e-commerce decisions on Ray.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the main job and write an artifact with a report")
    run.add_argument("--config", type=Path, help="YAML run config, for example configs/recommend.yaml")
    run.add_argument("--domain", help="domain plug-in to run when no config names one (default: recommend)")
    run.add_argument("--data-dir", help="folder with dataset folders (default: $DECISION_ENGINE_DATA_DIR)")
    run.add_argument("--address", help="join this Ray cluster instead of starting a local Ray, for example 'auto'")
    run.add_argument("--output-dir", help="where artifacts are written (default: runs/)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, for example --set params.dataset=movielens-100k (repeatable)")

    evaluate = commands.add_parser("evaluate", help="evaluate a saved artifact on a split of its data")
    evaluate.add_argument("artifact", type=Path, help="artifact folder, or a domain folder such as runs/recommend (newest artifact)")
    evaluate.add_argument("--split", choices=["valid", "test"], default="test")
    evaluate.add_argument("--data-dir", help="folder with dataset folders (default: the artifact's, then $DECISION_ENGINE_DATA_DIR)")

    query = commands.add_parser("query", help="answer one request from a saved artifact")
    query.add_argument("artifact", type=Path, help="artifact folder, or a domain folder such as runs/recommend (newest artifact)")
    query.add_argument("fields", nargs="*", metavar="KEY=VALUE", help="request fields, for example user_id=12347 k=10")
    query.add_argument("--json", action="store_true", help="print the decision as JSON")

    commands.add_parser("domains", help="list installed domain plug-ins")
    return parser


def _parse_fields(fields: list[str]) -> dict:
    request = {}
    for field in fields:
        if "=" not in field:
            raise ValueError(f"request field {field!r} must look like KEY=VALUE, for example user_id=12347")
        key, raw = field.split("=", 1)
        if key in request:
            raise ValueError(f"request field {key!r} is given twice; give each field once")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            raise ValueError(f"request field {key!r} has a value that does not parse: {raw!r} ({error.problem})") from error
        request[key] = raw if key.endswith("_id") else value
    return request


def _print_decision(decision: dict) -> None:
    from engine.report import format_table

    listed = {key: value for key, value in decision.items() if isinstance(value, list) and value and isinstance(value[0], dict)}
    for key, value in decision.items():
        if key not in listed:
            print(f"{key}: {value}")
    for key, items in listed.items():
        print(f"\n{key}:")
        flat = {str(index + 1): {name: cell for name, cell in item.items() if not isinstance(cell, (list, dict))} for index, item in enumerate(items)}
        print(format_table(flat, label="rank"))
        for index, item in enumerate(items):
            for name, nested in item.items():
                if isinstance(nested, list) and nested and isinstance(nested[0], dict):
                    entries = "; ".join(" ".join(str(value) for value in entry.values()) for entry in nested)
                    print(f"  {index + 1}. {name}: {entries}")


def _command_run(args) -> int:
    from engine.config import load_config
    from engine.report import format_table
    from engine.runner import run

    domain = args.domain or (None if args.config else "recommend")
    config = load_config(args.config, args.overrides, domain=domain, data_dir=args.data_dir, output_dir=args.output_dir, **{"ray.address": args.address})
    result = run(config)
    print(f"\nTest results ({config.domain}):")
    print(format_table(result.rows))
    if result.segments:
        print("\nPer segment:")
        print(format_table({f"{segment} / {model}": values for segment, per_model in result.segments.items() for model, values in per_model.items()}))
    if result.extra.get("domain_report"):
        print("\n" + result.extra["domain_report"].strip())
    print(f"\nSelected blender: {result.selected}")
    print(f"Artifact: {result.artifact}\nReport:   {result.artifact / 'report.md'}")
    print(f"Total time: {result.timings_s['total with report']:.1f} s")
    return 0


def _command_evaluate(args) -> int:
    from engine.artifacts import ArtifactError, load_artifact
    from engine.cluster import init_ray
    from engine.encoder import encode_texts
    from engine.paths import resolve_data_dir
    from engine.report import format_table
    from engine.runner import evaluate_outputs

    bundle = load_artifact(args.artifact)
    domain, config = bundle.domain, bundle.config
    if args.split == "valid" and config.refit:
        print("warning: this artifact's models were refitted on train + validation, so validation scores are in-sample",
              file=sys.stderr)
    data = domain.load(resolve_data_dir(args.data_dir or config.data_dir))
    if data.fingerprint() != bundle.manifest["data_fingerprint"]:
        raise ArtifactError(
            f"the data loaded now (fingerprint {data.fingerprint()[:12]}) differs from the data the artifact was trained on "
            f"({bundle.manifest['data_fingerprint'][:12]}); point --data-dir at the same dataset or rerun the job"
        )
    init_ray(config.ray)
    embeddings = encode_texts(domain.texts(data), config.encoder_config())
    outputs = domain.outputs(bundle.models, data, embeddings, args.split)
    table, _ = evaluate_outputs(domain, bundle.blenders, outputs)
    print(f"{args.split} results of {bundle.path}:")
    print(format_table(table))
    return 0


def _command_query(args) -> int:
    from engine.artifacts import load_artifact

    request = _parse_fields(args.fields)
    bundle = load_artifact(args.artifact)
    print(f"artifact: {bundle.path}", file=sys.stderr)
    decision = bundle.domain.decide(bundle, request)
    if args.json:
        print(json.dumps(decision, indent=2, default=str))
    else:
        _print_decision(decision)
    return 0


def _command_domains(args) -> int:
    from engine.registry import available_domains, get_domain_class

    for name in available_domains():
        try:
            domain_class = get_domain_class(name)
        except (ImportError, TypeError) as error:
            print(f"{name}: failed to load ({type(error).__name__}: {error})")
            continue
        print(f"{name}: target={domain_class.target.value} ({domain_class.__module__}.{domain_class.__name__})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    handlers = {"run": _command_run, "evaluate": _command_evaluate, "query": _command_query, "domains": _command_domains}
    from engine.artifacts import ArtifactError
    from engine.config import ConfigError

    from ray.exceptions import RayTaskError

    try:
        return handlers[args.command](args)
    except RayTaskError as error:
        cause = getattr(error, "cause", None) or error
        print(f"error: a Ray task failed: {type(cause).__name__}: {cause}", file=sys.stderr)
        return 2
    except (ConfigError, ArtifactError, FileNotFoundError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
