"""Tests of run configuration: strict keys, command-line overrides and the shipped YAML files."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import yaml

from engine.config import ConfigError, RunConfig, apply_overrides, load_config
from engine.registry import create_domain

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def write_yaml(folder: Path, tree) -> Path:
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def test_minimal_config_defaults(tmp_path):
    config = load_config(write_yaml(tmp_path, {"domain": "recommend"}))

    assert isinstance(config, RunConfig)
    assert config.domain == "recommend"
    assert config.output_dir == Path("runs")
    assert config.blend.grid_size == 21
    assert config.params == {}


@pytest.mark.parametrize(
    ("tree", "bad_key"),
    [
        ({"domain": "recommend", "outptu_dir": "x"}, "outptu_dir"),
        ({"domain": "recommend", "blend": {"grid_sise": 5}}, "grid_sise"),
        ({"domain": "recommend", "ray": {"adress": "auto"}}, "adress"),
        ({"domain": "recommend", "encoder": {"modle": "x"}}, "modle"),
    ],
)
def test_unknown_key_is_rejected_by_name(tmp_path, tree, bad_key):
    with pytest.raises(ConfigError, match=bad_key):
        load_config(write_yaml(tmp_path, tree))


def test_missing_domain_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="domain"):
        load_config(write_yaml(tmp_path, {"seed": 1}))


def test_unknown_domain_param_is_rejected_by_name():
    with pytest.raises(ConfigError, match="params.holdout_dayz: unknown key; valid keys here: .*holdout_days"):
        create_domain("recommend", {"holdout_dayz": 3})


def test_missing_config_file_names_path(tmp_path):
    missing = tmp_path / "nowhere.yaml"

    with pytest.raises(ConfigError, match="nowhere.yaml"):
        load_config(missing)


def test_config_file_must_be_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- domain\n- recommend\n")

    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_override_values_are_parsed_as_yaml():
    tree = apply_overrides(
        {"params": {"dataset": "csv"}},
        ["params.k=20", "params.ratio=0.5", "refit=false", "blend.context_features=[log_user_history, log_item_popularity]",
         "params.deep.epochs=3", "params.note=a=b", "params.dataset=online-retail"],
    )

    assert tree["params"]["k"] == 20
    assert isinstance(tree["params"]["k"], int)
    assert tree["params"]["ratio"] == 0.5
    assert tree["refit"] is False
    assert tree["blend"]["context_features"] == ["log_user_history", "log_item_popularity"]
    assert tree["params"]["deep"] == {"epochs": 3}
    assert tree["params"]["note"] == "a=b"
    assert tree["params"]["dataset"] == "online-retail"


def test_overrides_apply_on_top_of_file(tmp_path):
    path = write_yaml(tmp_path, {"domain": "recommend", "seed": 1, "params": {"k": 10}})
    config = load_config(path, ["seed=7", "params.k=20"], **{"blend.grid_size": 11, "data_dir": None})

    assert config.seed == 7
    assert config.params["k"] == 20
    assert config.blend.grid_size == 11
    assert config.data_dir is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("params.k", "must look like key.subkey=value"),
        ("=5", "empty key"),
        ("seed.value=2", "'seed' is the value 1, not a section"),
    ],
)
def test_malformed_override_is_rejected(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides({"seed": 1}, [override])


def test_override_with_wrong_type_is_rejected():
    with pytest.raises(ConfigError, match="grid_size"):
        load_config(None, ["blend.grid_size=many"], domain="recommend")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda path: path.name)
def test_shipped_config_validates(path):
    config = load_config(path)

    assert config.domain
    domain = create_domain(config.domain, config.params)
    assert domain.name == config.domain


def test_configs_folder_is_not_empty():
    assert sorted(CONFIGS.glob("*.yaml")), f"no YAML files in {CONFIGS}"
