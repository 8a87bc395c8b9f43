"""Domain plug-ins, discovered through the ``decision_engine.domains`` entry-point group.

A package registers a domain in its metadata, for example in pyproject.toml::

    [project.entry-points."decision_engine.domains"]
    recommend = "domains.recommend.plugin:RecommendDomain"

The engine never imports a domain by name; `register` adds one at run time (tests, notebooks).
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from engine.protocol import Domain

logger = logging.getLogger(__name__)

__all__ = ["ENTRY_POINT_GROUP", "available_domains", "get_domain_class", "create_domain", "register"]

ENTRY_POINT_GROUP = "decision_engine.domains"

_registered: dict[str, type[Domain]] = {}


def register(name: str, domain_class: type[Domain]) -> None:
    """Add a domain class under `name` for this process, ahead of the installed entry points."""
    if not (isinstance(domain_class, type) and issubclass(domain_class, Domain)):
        raise TypeError(f"{domain_class!r} is not a subclass of engine.protocol.Domain")
    _registered[name] = domain_class


def _entry_points() -> dict:
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


def available_domains() -> list[str]:
    """Return the names of all registered and installed domains, sorted."""
    return sorted(set(_registered) | set(_entry_points()))


def get_domain_class(name: str) -> type[Domain]:
    """Return the domain class registered under `name`."""
    if name in _registered:
        return _registered[name]
    found = _entry_points()
    if name not in found:
        raise KeyError(
            f"unknown domain {name!r}; installed domains: {', '.join(available_domains()) or 'none'}. "
            f"A plug-in registers under the entry-point group {ENTRY_POINT_GROUP!r}"
        )
    domain_class = found[name].load()
    if not (isinstance(domain_class, type) and issubclass(domain_class, Domain)):
        raise TypeError(f"entry point {name!r} loads {domain_class!r}, which is not a Domain subclass")
    return domain_class


def create_domain(name: str, params: dict | None = None) -> Domain:
    """Build the domain `name`, validating `params` with its config model (ConfigError when invalid)."""
    from pydantic import ValidationError

    from engine.config import ConfigError, describe_validation_error

    domain_class = get_domain_class(name)
    try:
        config = domain_class.Config.model_validate(params or {})
    except ValidationError as error:
        raise ConfigError(
            f"invalid params for domain {name!r}:\n{describe_validation_error(error, domain_class.Config, 'params')}"
        ) from error
    return domain_class(config)
