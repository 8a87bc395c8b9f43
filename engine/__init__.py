"""Decision engine core: blend a deep and a classic model per domain, on Ray."""

__version__ = "0.1.0"

__all__ = ["__version__"]
