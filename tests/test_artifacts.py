"""Tests of artifact writing, verification and lookup."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import engine
from engine.artifacts import FORMAT_VERSION, ArtifactError, read_manifest, resolve_artifact, write_artifact

FINGERPRINT = "ab12cd34" + "0" * 56


def write_two_files(folder: Path) -> None:
    (folder / "config.json").write_text('{"seed": 1}')
    (folder / "models").mkdir()
    (folder / "models" / "weights.bin").write_bytes(bytes(range(256)))


def test_write_and_read_round_trip(tmp_path):
    path = write_artifact(tmp_path, "toy", FINGERPRINT, write_two_files, {"selected_blender": "fixed"})

    assert path.parent == tmp_path / "toy"
    assert path.name.endswith("-ab12cd34")
    assert (path / "config.json").read_text() == '{"seed": 1}'
    assert (path / "models" / "weights.bin").read_bytes() == bytes(range(256))

    manifest = read_manifest(path)
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["engine_version"] == engine.__version__
    assert manifest["domain"] == "toy"
    assert manifest["data_fingerprint"] == FINGERPRINT
    assert manifest["selected_blender"] == "fixed"
    assert manifest["files"] == {
        "config.json": hashlib.sha256(b'{"seed": 1}').hexdigest(),
        "models/weights.bin": hashlib.sha256(bytes(range(256))).hexdigest(),
    }


def test_crash_in_writer_leaves_only_earlier_folders(tmp_path):
    first = write_artifact(tmp_path, "toy", FINGERPRINT, write_two_files, {})

    def crash(folder: Path) -> None:
        write_two_files(folder)
        raise RuntimeError("writer failed halfway")

    with pytest.raises(RuntimeError, match="writer failed halfway"):
        write_artifact(tmp_path, "toy", FINGERPRINT, crash, {})

    assert sorted((tmp_path / "toy").iterdir()) == [first]


def test_changed_file_is_corrupted(tmp_path):
    path = write_artifact(tmp_path, "toy", FINGERPRINT, write_two_files, {})
    (path / "models" / "weights.bin").write_bytes(b"tampered")

    with pytest.raises(ArtifactError, match="corrupted") as caught:
        read_manifest(path)
    assert "models/weights.bin" in str(caught.value)


def test_missing_file_is_corrupted(tmp_path):
    path = write_artifact(tmp_path, "toy", FINGERPRINT, write_two_files, {})
    (path / "config.json").unlink()

    with pytest.raises(ArtifactError, match="corrupted") as caught:
        read_manifest(path)
    assert "config.json" in str(caught.value)


def test_changed_file_passes_without_verify(tmp_path):
    path = write_artifact(tmp_path, "toy", FINGERPRINT, write_two_files, {})
    (path / "config.json").write_text("{}")

    assert read_manifest(path, verify=False)["domain"] == "toy"


def test_unreadable_manifest_is_corrupted(tmp_path):
    path = write_artifact(tmp_path, "toy", FINGERPRINT, write_two_files, {})
    (path / "manifest.json").write_text("{not json")

    with pytest.raises(ArtifactError, match="corrupted"):
        read_manifest(path)


def test_folder_without_manifest_is_rejected(tmp_path):
    with pytest.raises(ArtifactError, match="manifest.json"):
        read_manifest(tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("format_version", FORMAT_VERSION + 1, "format version"),
        ("engine_version", "99.0.0", "'99.0.0'"),
    ],
)
def test_incompatible_version_is_rejected(tmp_path, field, value, message):
    path = write_artifact(tmp_path, "toy", FINGERPRINT, write_two_files, {})
    manifest = json.loads((path / "manifest.json").read_text())
    manifest[field] = value
    (path / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(ArtifactError, match=message):
        read_manifest(path)


def test_resolve_picks_newest_artifact(tmp_path):
    # The second fingerprint sorts before the first, so a name-only order would pick the older one
    # whenever both artifacts are written within the same second.
    older = write_artifact(tmp_path, "toy", "ffffffff" + "0" * 56, write_two_files, {})
    newer = write_artifact(tmp_path, "toy", "00000000" + "0" * 56, write_two_files, {})

    assert resolve_artifact(tmp_path / "toy") == newer
    assert resolve_artifact(older) == older


def test_resolve_ignores_staging_and_incomplete_folders(tmp_path):
    path = write_artifact(tmp_path, "toy", FINGERPRINT, write_two_files, {})
    staging = tmp_path / "toy" / ".staging-zzzz"
    staging.mkdir()
    (staging / "manifest.json").write_text(path.joinpath("manifest.json").read_text())
    (tmp_path / "toy" / "99999999-999999-incomplete").mkdir()

    assert resolve_artifact(tmp_path / "toy") == path


def test_resolve_without_artifacts_raises(tmp_path):
    with pytest.raises(ArtifactError, match="no artifact found"):
        resolve_artifact(tmp_path)
    with pytest.raises(ArtifactError, match="no artifact found"):
        resolve_artifact(tmp_path / "missing")
