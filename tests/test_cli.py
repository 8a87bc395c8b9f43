"""End-to-end tests of the runner and the command line on the small Online Retail slice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from contract import assert_metrics_equal, encoder_cache_dir
from engine.artifacts import load_artifact, read_manifest
from engine.cli import main
from engine.config import load_config
from engine.report import format_table
from engine.runner import evaluate_outputs, run
from test_recommend_contract import INTERACTIONS, ITEMS, small_recommend_params

pytestmark = pytest.mark.slow


def run_config_tree(output_dir: Path, cache_dir: Path, params: dict) -> dict:
    return {
        "domain": "recommend",
        "output_dir": str(output_dir),
        "seed": 42,
        "encoder": {"cache_dir": str(cache_dir), "show_progress": False, "device": "cpu"},
        "blend": {"grid_size": 11, "context_steps": 100},
        "params": params,
    }


@pytest.fixture(scope="module")
def finished_run(ray_local, tmp_path_factory):
    """Run the main job once on the slice and return (RunResult, output folder, config file)."""
    folder = tmp_path_factory.mktemp("cli-run")
    config_path = folder / "run.yaml"
    tree = run_config_tree(folder / "runs", encoder_cache_dir(tmp_path_factory), small_recommend_params())
    config_path.write_text(yaml.safe_dump(tree))
    return run(load_config(config_path)), folder / "runs", config_path


@pytest.fixture(scope="module")
def artifact(finished_run) -> Path:
    return finished_run[0].artifact


@pytest.fixture(scope="module")
def known_user(artifact) -> str:
    return str(pd.read_parquet(artifact / "state" / "users.parquet")["user_id"].iloc[0])


def test_run_writes_complete_artifact(finished_run, artifact):
    _, output_dir, _ = finished_run

    assert artifact.parent == output_dir / "recommend"
    for name in ("manifest.json", "report.md", "alpha_curve.png", "metrics.json", "config.json", "blenders.json"):
        assert (artifact / name).is_file(), name
    assert (artifact / "alpha_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "alpha_curve.png" in (artifact / "report.md").read_text()
    manifest = read_manifest(artifact)
    assert manifest["domain"] == "recommend"
    assert any(name.startswith("models/deep") for name in manifest["files"])
    assert any(name.startswith("models/classic") for name in manifest["files"])


def test_run_result_matches_metrics_json(finished_run, artifact):
    result = finished_run[0]
    metrics = json.loads((artifact / "metrics.json").read_text())

    assert set(metrics["test"]) == {"deep only", "classic only", "fixed-alpha blend", "context-alpha blend"}
    for name, values in result.rows.items():
        assert_metrics_equal(metrics["test"][name], values)
    assert metrics["selection"]["selected"] == result.selected
    assert metrics["selection"]["metric"] == "ndcg@5"


def test_query_prints_k_items(artifact, known_user, capsys):
    assert main(["query", str(artifact), f"user_id={known_user}", "k=5"]) == 0
    plain = capsys.readouterr().out

    assert f"user_id: {known_user}" in plain
    table_rows = [line for line in plain.splitlines() if line.split(" ", 1)[0] in {"1", "2", "3", "4", "5", "6"}]
    assert [line.split(" ", 1)[0] for line in table_rows] == ["1", "2", "3", "4", "5"]


def test_query_json_excludes_seen_items(artifact, known_user, capsys):
    assert main(["query", str(artifact), f"user_id={known_user}", "k=5", "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)

    bundle = load_artifact(artifact)
    index = bundle.state["index"]
    history = bundle.state["history"][index.users.get_loc(known_user)]
    seen = set(index.items[history.indices])
    ids = [item["item_id"] for item in decision["items"]]
    assert len(ids) == 5
    assert seen.isdisjoint(ids)
    assert all(item["driver"] in {"deep", "classic", "both"} for item in decision["items"])


def test_query_domain_folder_uses_newest(finished_run, known_user, capsys):
    _, output_dir, _ = finished_run

    assert main(["query", str(output_dir / "recommend"), f"user_id={known_user}", "k=3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 3


def test_query_unknown_user_exits_2(artifact, capsys):
    assert main(["query", str(artifact), "user_id=no-such-user", "k=5"]) == 2

    assert "no-such-user" in capsys.readouterr().err


def test_corrupted_artifact_exits_2(artifact, known_user, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(artifact, copy)
    blenders = json.loads((copy / "blenders.json").read_text())
    blenders["blenders"]["fixed-alpha blend"]["alpha"] = 0.123
    (copy / "blenders.json").write_text(json.dumps(blenders))

    assert main(["query", str(copy), f"user_id={known_user}"]) == 2
    error = capsys.readouterr().err
    assert "corrupted" in error
    assert "blenders.json" in error
    assert main(["evaluate", str(copy)]) == 2
    assert "corrupted" in capsys.readouterr().err


def test_evaluate_reproduces_test_metrics(artifact, capsys):
    metrics = json.loads((artifact / "metrics.json").read_text())

    assert main(["evaluate", str(artifact)]) == 0
    assert format_table(metrics["test"]) in capsys.readouterr().out


def test_evaluate_outputs_match_metrics_json_exactly(ray_local, artifact):
    # The same steps as `evaluate`, compared at full precision instead of the printed 4 decimals.
    from engine.encoder import encode_texts

    metrics = json.loads((artifact / "metrics.json").read_text())
    bundle = load_artifact(artifact)
    data = bundle.domain.load(bundle.config.data_dir)
    embeddings = encode_texts(bundle.domain.texts(data), bundle.config.encoder_config())
    outputs = bundle.domain.outputs(bundle.models, data, embeddings, "test")
    table, _ = evaluate_outputs(bundle.domain, bundle.blenders, outputs)

    assert data.fingerprint() == bundle.manifest["data_fingerprint"]
    for name, values in table.items():
        assert_metrics_equal(json.loads(json.dumps(values)), metrics["test"][name])


def test_failing_run_leaves_no_artifact(ray_local, tmp_path, capsys):
    interactions = pd.read_csv(INTERACTIONS, dtype=str).drop(columns=["timestamp"])
    broken = tmp_path / "no_timestamp.csv"
    interactions.to_csv(broken, index=False)
    params = {**small_recommend_params(), "interactions_path": str(broken), "items_path": str(ITEMS)}
    config_path = tmp_path / "run.yaml"
    config_path.write_text(yaml.safe_dump(run_config_tree(tmp_path / "runs", tmp_path / "cache", params)))

    assert main(["run", "--config", str(config_path)]) == 2
    assert "timestamp" in capsys.readouterr().err
    artifacts = list((tmp_path / "runs" / "recommend").glob("*")) if (tmp_path / "runs" / "recommend").exists() else []
    assert artifacts == []


def test_run_rejects_unknown_override(tmp_path, capsys):
    assert main(["run", "--domain", "recommend", "--output-dir", str(tmp_path), "--set", "blend.grid_sise=3"]) == 2

    assert "grid_sise" in capsys.readouterr().err
    assert not (tmp_path / "recommend").exists()


def test_domains_command_lists_recommend(capsys):
    assert main(["domains"]) == 0

    assert "recommend: target=ranking" in capsys.readouterr().out
