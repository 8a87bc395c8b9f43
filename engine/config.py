"""Typed run configuration, read from YAML and overridable from the command line.

Unknown keys are rejected at every level, so a misspelled option fails loudly. The `params`
section belongs to the domain and is validated by the domain's own config model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["RayConfig", "BlendConfig", "RunConfig", "load_config", "apply_overrides", "ConfigError", "describe_validation_error"]


class ConfigError(ValueError):
    """A configuration file or override is invalid."""


def describe_validation_error(error: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """Return one line per invalid value, with its dotted key; unknown keys list the valid ones."""
    lines = []
    for item in error.errors():
        location = [str(part) for part in item["loc"]]
        key = ".".join([prefix, *location] if prefix else location)
        if item["type"] == "extra_forbidden":
            parent = model
            for part in location[:-1]:
                field = parent.model_fields.get(part) if isinstance(parent, type) and issubclass(parent, BaseModel) else None
                parent = field.annotation if field is not None else None
            valid = sorted(parent.model_fields) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
            lines.append(f"{key}: unknown key" + (f"; valid keys here: {', '.join(valid)}" if valid else ""))
        else:
            lines.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RayConfig(_Strict):
    """Ray connection settings of a run."""

    address: str | None = Field(None, description="Ray cluster address such as 'ray://head:10001' or 'auto'; None starts a local Ray")
    num_cpus: int | None = Field(None, ge=1, description="CPUs for a local Ray; None uses all")


class BlendConfig(_Strict):
    """Settings of the blenders that choose alpha."""

    grid_size: int = Field(21, ge=2, description="alpha values tried on [0, 1] by the fixed blender")
    context_features: list[str] | None = Field(None, description="features of the context blender; None uses the domain's defaults")
    context_steps: int = Field(200, ge=1, description="gradient steps of the context blender")


class RunConfig(_Strict):
    """A whole run: which domain, which data, where results go, and the domain's own parameters."""

    domain: str
    data_dir: Path | None = Field(None, description="folder holding dataset folders; defaults to $DECISION_ENGINE_DATA_DIR")
    output_dir: Path = Field(Path("runs"), description="artifacts are written under <output_dir>/<domain>/")
    seed: int = 42
    refit: bool = Field(True, description="refit both models on train + validation after alpha is chosen")
    ray: RayConfig = Field(default_factory=RayConfig)
    encoder: dict[str, Any] = Field(default_factory=dict, description="engine.encoder.EncoderConfig fields")
    blend: BlendConfig = Field(default_factory=BlendConfig)
    params: dict[str, Any] = Field(default_factory=dict, description="the domain's config, validated by the domain")

    @field_validator("encoder")
    @classmethod
    def _validate_encoder(cls, value: dict[str, Any]) -> dict[str, Any]:
        from engine.encoder import EncoderConfig

        EncoderConfig.model_validate(value)
        return value

    def encoder_config(self):
        from engine.encoder import EncoderConfig

        return EncoderConfig.model_validate(self.encoder)


def _set_path(tree: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {dotted!r}: {key!r} is the value {child!r}, not a section")
        node = child
    node[keys[-1]] = value


def apply_overrides(tree: dict, overrides: list[str]) -> dict:
    """Apply `key.sub=value` overrides; each value is parsed as YAML (so 0.5, true, [a, b] work)."""
    for override in overrides:
        if "=" not in override:
            raise ConfigError(f"override {override!r} must look like key.subkey=value, for example params.k=20")
        key, raw = override.split("=", 1)
        if not key.strip():
            raise ConfigError(f"override {override!r} has an empty key")
        _set_path(tree, key.strip(), yaml.safe_load(raw))
    return tree


def load_config(path: str | Path | None = None, overrides: list[str] | None = None, **values: Any) -> RunConfig:
    """Read a YAML config, apply overrides and keyword values, and validate the result."""
    tree: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} not found; the configs/ folder has one YAML per domain")
        loaded = yaml.safe_load(path.read_text())
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {str(path)!r} must contain a mapping at the top level")
        tree = loaded
    apply_overrides(tree, overrides or [])
    for key, value in values.items():
        if value is not None:
            _set_path(tree, key, value)
    try:
        return RunConfig.model_validate(tree)
    except ValidationError as error:
        source = f"{path} with overrides {overrides}" if path and overrides else (path or f"overrides {overrides or []}")
        raise ConfigError(f"invalid configuration ({source}):\n{describe_validation_error(error, RunConfig)}") from error
