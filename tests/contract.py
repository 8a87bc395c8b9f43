"""The contract every domain plug-in must pass, as a reusable pytest base class.

A domain's test module subclasses `DomainContract`, sets `domain_name`, and provides a class-scoped
`params` fixture (a classmethod) with a small, fast config, plus `make_request`. The expensive steps (load, encode,
fit, score) run once per subclass through class-scoped fixtures. For example::

    class TestToyContract(DomainContract):
        domain_name = "toy"

        @pytest.fixture(scope="class")
        @classmethod
        def params(cls):
            return {"rows": 200}

        def make_request(self, data):
            return {"product_id": "A"}

Embeddings come from the real encoder (`engine.encoder.encode_texts`) with a cache under the
pytest session's base temporary folder, so other test modules of the same session reuse them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import cloudpickle
import numpy as np
import pydantic
import pytest

from engine.artifacts import Bundle
from engine.blend import FixedAlphaBlender, to_blend_space
from engine.drops import DropReport
from engine.encoder import EncoderConfig, encode_texts
from engine.protocol import Domain, DomainData, Model, Outputs, TargetKind
from engine.registry import create_domain

__all__ = ["DomainContract", "encoder_cache_dir", "find_explanations", "assert_outputs_equal", "assert_metrics_equal"]

SPLITS = ("valid", "test")
SIDES = ("deep", "classic")
DRIVERS = {"deep", "classic", "both"}


def encoder_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the session-wide embedding cache folder, shared by all test modules of one pytest run."""
    return tmp_path_factory.getbasetemp() / "encoder-cache"


def find_explanations(decision: Any) -> list[dict]:
    """Return every dict nested in `decision` that reads like `engine.blend.attribute` output."""
    found = []
    if isinstance(decision, dict):
        if decision.get("driver") in DRIVERS and "alpha" in decision and "deep_share" in decision:
            found.append(decision)
        for value in decision.values():
            found.extend(find_explanations(value))
    elif isinstance(decision, (list, tuple)):
        for value in decision:
            found.extend(find_explanations(value))
    return found


def assert_outputs_equal(actual: Outputs, expected: Outputs) -> None:
    """Assert that two outputs hold bit-identical model scores."""
    np.testing.assert_array_equal(actual.deep, expected.deep)
    np.testing.assert_array_equal(actual.classic, expected.classic)


def assert_metrics_equal(actual: dict[str, float], expected: dict[str, float]) -> None:
    """Assert equal metric dicts, where NaN equals NaN."""
    assert actual.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(actual[name]), name
        else:
            assert actual[name] == value, name


class DomainContract:
    """Tests that every domain plug-in must pass; subclass it once per domain."""

    domain_name: ClassVar[str]

    # ---------------------------------------------------------------- hooks for subclasses
    @pytest.fixture(scope="class")
    @classmethod
    def params(cls) -> dict[str, Any]:
        """Return the `params` section of a small, fast run config for the domain."""
        raise NotImplementedError("a DomainContract subclass must provide a class-scoped `params` fixture")

    @pytest.fixture(scope="class")
    @classmethod
    def data_dir(cls) -> Path | None:
        """Return the data directory passed to `Domain.load`; override for domains that need one."""
        return None

    def make_request(self, data: DomainData) -> dict[str, Any]:
        """Return a valid request for `Domain.decide` on the loaded data."""
        raise NotImplementedError("a DomainContract subclass must implement make_request(data)")

    def bad_requests(self, data: DomainData) -> list[dict[str, Any]]:
        """Return requests that `Domain.decide` must reject with ValueError or KeyError."""
        return []

    def check_decision(self, decision: dict[str, Any], request: dict[str, Any], bundle: Bundle) -> None:
        """Run domain-specific checks of a decision; the base class checks only the generic shape."""

    # --------------------------------------------------------------------- shared fixtures
    @pytest.fixture(scope="class")
    @classmethod
    def domain(cls, params) -> Domain:
        return create_domain(cls.domain_name, params)

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls, domain, data_dir) -> DomainData:
        return domain.load(data_dir)

    @pytest.fixture(scope="class")
    @classmethod
    def embeddings(cls, domain, data, tmp_path_factory) -> np.ndarray:
        config = EncoderConfig(cache_dir=encoder_cache_dir(tmp_path_factory), show_progress=False, device="cpu")
        return encode_texts(domain.texts(data), config, use_ray=False)

    @pytest.fixture(scope="class")
    @classmethod
    def models(cls, domain, data, embeddings) -> dict[str, Model]:
        return {side: domain.fit_model(domain.build_model(side), data, embeddings, final=False) for side in SIDES}

    @pytest.fixture(scope="class")
    @classmethod
    def outputs(cls, domain, data, embeddings, models) -> dict[str, Outputs]:
        return {split: domain.outputs(models, data, embeddings, split) for split in SPLITS}

    @pytest.fixture(scope="class")
    @classmethod
    def saved_bundle(cls, domain, data, embeddings, models, outputs, tmp_path_factory) -> Bundle:
        """Save models and state to disk, load them back, and assemble a Bundle like load_artifact does."""
        folder = tmp_path_factory.mktemp(f"{cls.domain_name}-bundle")
        loaded = {}
        # As in the runner: each model writes a folder or a single file at models/<side>.
        (folder / "models").mkdir()
        for side, model in models.items():
            model.save(folder / "models" / side)
            loaded[side] = type(model).load(folder / "models" / side)
        (folder / "state").mkdir()
        domain.save_state(data, embeddings, folder / "state")

        valid = outputs["valid"]
        metric, direction = domain.primary_metric()
        deep = to_blend_space(valid.deep, domain.target, valid.exclude)
        classic = to_blend_space(valid.classic, domain.target, valid.exclude)
        blender = FixedAlphaBlender(grid_size=5).fit(deep, classic, lambda blended: domain.evaluate(blended, valid)[metric], direction)
        return Bundle(
            path=folder,
            manifest={"domain": domain.name},
            config=None,
            domain=domain,
            models=loaded,
            blenders={"fixed-alpha blend": blender},
            selected="fixed-alpha blend",
            state=domain.load_state(folder / "state"),
        )

    def blend_space(self, domain: Domain, outputs: Outputs) -> tuple[np.ndarray, np.ndarray]:
        deep = to_blend_space(outputs.deep, domain.target, outputs.exclude)
        classic = to_blend_space(outputs.classic, domain.target, outputs.exclude)
        return deep, classic

    # ------------------------------------------------------------------------ the contract
    def test_class_attributes(self, domain):
        assert domain.name == self.domain_name
        assert isinstance(domain.target, TargetKind)
        assert issubclass(domain.Config, pydantic.BaseModel)

    def test_config_rejects_unknown_key(self, domain, params):
        with pytest.raises(pydantic.ValidationError, match="not_an_option"):
            domain.Config.model_validate({**params, "not_an_option": 1})

    def test_config_survives_json(self, domain):
        # load_artifact rebuilds the domain from the params stored in config.json.
        dumped = json.loads(domain.config.model_dump_json())

        assert create_domain(self.domain_name, dumped).config == domain.config

    def test_fingerprint_stable_across_loads(self, domain, data, data_dir):
        again = domain.load(data_dir)

        assert isinstance(data.fingerprint(), str)
        assert len(data.fingerprint()) >= 16
        assert again.fingerprint() == data.fingerprint()

    def test_summary_and_drops(self, data):
        summary = data.summary()

        assert isinstance(summary, dict)
        assert summary
        json.dumps(summary)
        assert all(isinstance(report, DropReport) for report in data.drops)

    def test_texts_match_model_index(self, domain, data, embeddings, outputs):
        texts = domain.texts(data)

        assert all(isinstance(text, str) for text in texts)
        assert embeddings.shape[0] == len(texts)
        if domain.target is TargetKind.RANKING:
            assert outputs["test"].deep.shape[1] == len(texts)

    def test_build_model_is_unfitted(self, domain, data, embeddings, models):
        for side in SIDES:
            unfitted = domain.build_model(side)
            assert isinstance(unfitted, Model)
            scoring = {**models, side: unfitted}
            with pytest.raises((RuntimeError, ValueError)):
                domain.outputs(scoring, data, embeddings, "test")

    def test_build_model_rejects_unknown_side(self, domain):
        with pytest.raises(ValueError, match="'sideways'"):
            domain.build_model("sideways")

    def test_fit_model_returns_fitted_models(self, models):
        for side in SIDES:
            assert isinstance(models[side], Model), side

    @pytest.mark.parametrize("split", SPLITS)
    def test_outputs_are_aligned(self, domain, outputs, split):
        result = outputs[split]
        n_rows = result.deep.shape[0]

        assert n_rows > 0
        assert result.classic.shape == result.deep.shape
        # NaN marks "no output from this model here"; the other model must then have one.
        assert not np.any(np.isinf(result.deep))
        assert not np.any(np.isinf(result.classic))
        assert not np.any(np.isnan(result.deep) & np.isnan(result.classic))
        assert np.isfinite(result.deep).mean() > 0.5
        assert np.isfinite(result.classic).mean() > 0.5
        if domain.target is TargetKind.RANKING:
            assert result.deep.ndim == 2
            assert result.truth.shape == result.deep.shape
            assert result.exclude is not None
            assert result.exclude.shape == result.deep.shape
        else:
            assert len(result.truth) == n_rows
        for name, values in result.context.items():
            assert np.broadcast_shapes(np.shape(values), result.deep.shape) == result.deep.shape, name
        for name, labels in result.segments.items():
            assert len(labels) == n_rows, name

    @pytest.mark.parametrize("split", SPLITS)
    def test_evaluate_returns_primary_metric(self, domain, outputs, split):
        metric, direction = domain.primary_metric()
        deep, classic = self.blend_space(domain, outputs[split])
        result = domain.evaluate(0.5 * deep + 0.5 * classic, outputs[split])

        assert direction in ("max", "min")
        assert metric in result
        assert math.isfinite(result[metric])

    def test_evaluate_all_rows_mask_equals_default(self, domain, outputs):
        result = outputs["test"]
        deep, _ = self.blend_space(domain, result)
        every_row = np.ones(result.deep.shape[0], dtype=bool)

        assert_metrics_equal(domain.evaluate(deep, result, rows=every_row), domain.evaluate(deep, result))

    def test_alpha_one_equals_deep_alone(self, domain, outputs):
        result = outputs["test"]
        deep, classic = self.blend_space(domain, result)
        blended = FixedAlphaBlender(alpha_=1.0).blend(deep, classic, result.context)

        assert_metrics_equal(domain.evaluate(blended, result), domain.evaluate(deep, result))

    def test_alpha_zero_equals_classic_alone(self, domain, outputs):
        result = outputs["test"]
        deep, classic = self.blend_space(domain, result)
        blended = FixedAlphaBlender(alpha_=0.0).blend(deep, classic, result.context)

        assert_metrics_equal(domain.evaluate(blended, result), domain.evaluate(classic, result))

    def test_saved_models_score_identically(self, domain, data, embeddings, outputs, saved_bundle):
        reloaded = domain.outputs(saved_bundle.models, data, embeddings, "test")

        assert_outputs_equal(reloaded, outputs["test"])

    def test_models_survive_cloudpickle(self, domain, data, embeddings, models, outputs):
        copies = cloudpickle.loads(cloudpickle.dumps(models))

        assert_outputs_equal(domain.outputs(copies, data, embeddings, "test"), outputs["test"])

    def test_models_survive_ray_object_store(self, ray_local, domain, data, embeddings, models, outputs):
        copies = ray_local.get(ray_local.put(models))

        assert_outputs_equal(domain.outputs(copies, data, embeddings, "test"), outputs["test"])

    def test_decide_returns_explained_decision(self, data, saved_bundle):
        request = self.make_request(data)
        decision = saved_bundle.domain.decide(saved_bundle, request)

        assert isinstance(decision, dict)
        explanations = find_explanations(decision)
        assert explanations, f"no attribute() explanation in the decision: {decision}"
        for explanation in explanations:
            assert 0.0 <= explanation["alpha"] <= 1.0
            assert 0.0 <= explanation["deep_share"] <= 1.0
        json.dumps(decision, default=str)
        self.check_decision(decision, request, saved_bundle)

    def test_decide_rejects_bad_requests(self, data, saved_bundle):
        for request in self.bad_requests(data):
            with pytest.raises((ValueError, KeyError)):
                saved_bundle.domain.decide(saved_bundle, request)
