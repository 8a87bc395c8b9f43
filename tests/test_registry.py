"""Tests of domain discovery through entry points and of run-time registration."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from pydantic import BaseModel, ConfigDict

from engine import registry
from engine.config import ConfigError
from engine.protocol import Domain, TargetKind

PRICING_PLUGIN = Path(__file__).resolve().parents[1] / "domains" / "pricing" / "plugin.py"


class ToyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scale: float = 1.0


class ToyDomain(Domain):
    """A domain with a config and no behavior, to test registration."""

    name = "toy"
    target = TargetKind.QUANTITY
    Config = ToyConfig

    def load(self, data_dir):
        raise NotImplementedError

    def texts(self, data):
        raise NotImplementedError

    def build_model(self, side):
        raise NotImplementedError

    def fit_model(self, model, data, embeddings, *, final):
        raise NotImplementedError

    def outputs(self, models, data, embeddings, split):
        raise NotImplementedError

    def evaluate(self, blended, outputs, rows=None):
        raise NotImplementedError

    def primary_metric(self):
        return "wape", "min"

    def save_state(self, data, embeddings, directory):
        raise NotImplementedError

    def load_state(self, directory):
        raise NotImplementedError

    def decide(self, bundle, request):
        raise NotImplementedError


@pytest.fixture
def clean_registry(monkeypatch):
    """Give the test its own copy of the run-time registrations."""
    monkeypatch.setattr(registry, "_registered", dict(registry._registered))


def test_installed_domains_come_from_entry_points():
    names = registry.available_domains()

    assert "recommend" in names
    assert "pricing" in names
    assert names == sorted(names)


def test_recommend_domain_loads():
    from domains.recommend.plugin import RecommendDomain

    domain_class = registry.get_domain_class("recommend")

    assert domain_class is RecommendDomain
    assert domain_class.target is TargetKind.RANKING
    assert issubclass(domain_class, Domain)


@pytest.mark.skipif(not PRICING_PLUGIN.is_file(), reason="domains/pricing/plugin.py is not written yet")
def test_pricing_domain_loads():
    domain_class = registry.get_domain_class("pricing")

    assert issubclass(domain_class, Domain)
    assert domain_class.name == "pricing"


def test_create_domain_validates_params():
    domain = registry.create_domain("recommend", {"k": 5})

    assert domain.config.k == 5
    assert type(domain.config) is registry.get_domain_class("recommend").Config


def test_unknown_domain_lists_available():
    with pytest.raises(KeyError, match="unknown domain 'nope'") as caught:
        registry.get_domain_class("nope")

    assert "recommend" in str(caught.value)


@pytest.mark.parametrize("not_a_domain", [dict, ToyConfig, ToyDomain(), lambda: None], ids=["dict", "config", "instance", "function"])
def test_register_rejects_non_domain(clean_registry, not_a_domain):
    with pytest.raises(TypeError, match="not a subclass of engine.protocol.Domain"):
        registry.register("bad", not_a_domain)


def test_registered_domain_is_created_with_config(clean_registry):
    registry.register("toy", ToyDomain)

    assert "toy" in registry.available_domains()
    domain = registry.create_domain("toy", {"scale": 2.5})
    assert isinstance(domain, ToyDomain)
    assert isinstance(domain.config, ToyConfig)
    assert domain.config.scale == 2.5
    assert registry.create_domain("toy").config.scale == 1.0


def test_registered_domain_rejects_unknown_param(clean_registry):
    registry.register("toy", ToyDomain)

    with pytest.raises(ConfigError, match="params.scael: unknown key"):
        registry.create_domain("toy", {"scael": 2.0})


def test_registered_domain_shadows_installed(clean_registry):
    registry.register("recommend", ToyDomain)

    assert registry.get_domain_class("recommend") is ToyDomain
