"""Versioned run artifacts: written atomically, verified on load.

An artifact is a folder ``<output_dir>/<domain>/<timestamp>-<data fingerprint>/`` holding the fitted
models, the blenders, the resolved config, metrics, the domain's scoring state and a manifest with
the SHA-256 of every file. It is assembled in a hidden temporary folder and renamed into place
only when complete, so a crash never leaves a half-written artifact where a loader looks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import engine

logger = logging.getLogger(__name__)

__all__ = ["ArtifactError", "Bundle", "write_artifact", "read_manifest", "resolve_artifact", "load_artifact", "FORMAT_VERSION"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class ArtifactError(RuntimeError):
    """An artifact is missing, incomplete, corrupted or made by an incompatible engine."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): _sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def write_artifact(output_dir: Path, domain: str, fingerprint: str, write: Callable[[Path], None], metadata: dict[str, Any]) -> Path:
    """Create an artifact folder by calling `write(folder)`, then publish it with one rename."""
    parent = Path(output_dir) / domain
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        write(staging)
        manifest = {
            "format_version": FORMAT_VERSION,
            "engine_version": engine.__version__,
            "domain": domain,
            "data_fingerprint": fingerprint,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "created_ns": time.time_ns(),
            **metadata,
            "files": _file_hashes(staging),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        final = parent / f"{time.strftime('%Y%m%d-%H%M%S')}-{fingerprint[:8]}"
        while final.exists():
            final = final.with_name(final.name + "-1")
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("artifact written to %s", final)
    return final


def _creation_order(folder: Path) -> tuple[str, int, str]:
    """Sort key of an artifact folder: the timestamp in its name, then the manifest's created_ns.

    Folder names only have one-second resolution and end with the data fingerprint, so two
    artifacts written within the same second would otherwise be ordered by fingerprint.
    """
    try:
        created_ns = int(json.loads((folder / MANIFEST).read_text()).get("created_ns", 0))
    except (OSError, ValueError, TypeError):
        created_ns = 0
    return folder.name[:15], created_ns, folder.name


def resolve_artifact(path: str | Path) -> Path:
    """Return `path` if it is an artifact, or the newest complete artifact inside a domain folder."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    if path.is_dir():
        candidates = [child for child in path.iterdir() if (child / MANIFEST).is_file() and not child.name.startswith(".")]
        if candidates:
            return max(candidates, key=_creation_order)
    raise ArtifactError(
        f"no artifact found at {str(path)!r}: expected a folder with {MANIFEST}, or a domain folder such as "
        "runs/recommend that contains artifacts. Run `python -m engine run` first"
    )


def read_manifest(path: Path, verify: bool = True) -> dict[str, Any]:
    """Read and check an artifact's manifest; with `verify`, also check every file's SHA-256."""
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError as error:
        raise ArtifactError(f"{str(path)!r} has no {MANIFEST}; it is not an artifact or it is incomplete") from error
    except json.JSONDecodeError as error:
        raise ArtifactError(f"{str(manifest_path)!r} is corrupted ({error}); rerun the job to rebuild the artifact") from error

    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"artifact {str(path)!r} has format version {manifest.get('format_version')!r}; this engine "
            f"({engine.__version__}) reads version {FORMAT_VERSION}. Rebuild it with this engine"
        )
    made_by = str(manifest.get("engine_version", ""))
    if made_by.split(".")[:2] != engine.__version__.split(".")[:2]:
        raise ArtifactError(
            f"artifact {str(path)!r} was written by engine {made_by!r}, which is not compatible with {engine.__version__}; "
            "rebuild it with this version"
        )
    if verify:
        expected = manifest.get("files", {})
        actual = _file_hashes(path)
        missing = sorted(set(expected) - set(actual))
        changed = sorted(name for name in expected if name in actual and actual[name] != expected[name])
        if missing or changed:
            raise ArtifactError(
                f"artifact {str(path)!r} is corrupted: missing files {missing[:5]}, changed files {changed[:5]}. "
                "Rerun the job to rebuild it"
            )
    return manifest


@dataclass
class Bundle:
    """A loaded artifact: the domain, its fitted models, the blenders and the domain's scoring state."""

    path: Path
    manifest: dict[str, Any]
    config: Any
    domain: Any
    models: dict[str, Any]
    blenders: dict[str, Any]
    selected: str
    state: Any

    @property
    def blender(self):
        return self.blenders[self.selected]


def load_artifact(path: str | Path, expected_domain: str | None = None) -> Bundle:
    """Load an artifact for scoring, refusing corrupted or mismatched ones with a clear error."""
    from engine.blend import blender_from_dict
    from engine.config import RunConfig
    from engine.registry import create_domain

    path = resolve_artifact(path)
    manifest = read_manifest(path)
    if expected_domain is not None and manifest["domain"] != expected_domain:
        raise ArtifactError(f"artifact {str(path)!r} belongs to domain {manifest['domain']!r}, not {expected_domain!r}")

    config = RunConfig.model_validate(json.loads((path / "config.json").read_text()))
    domain = create_domain(config.domain, config.params)
    models = {}
    for side in ("deep", "classic"):
        model_class = type(domain.build_model(side))
        models[side] = model_class.load(path / "models" / side)
    blend_payload = json.loads((path / "blenders.json").read_text())
    blenders = {name: blender_from_dict(payload) for name, payload in blend_payload["blenders"].items()}
    state = domain.load_state(path / "state")
    return Bundle(path, manifest, config, domain, models, blenders, blend_payload["selected"], state)
