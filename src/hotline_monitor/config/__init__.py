"""Configuration: one YAML file, validated in full before anything starts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotline_monitor.config.loader import load_config
    from hotline_monitor.config.model import Config

__all__ = ["Config", "load_config"]


def __getattr__(name: str) -> Any:
    # Imported on first use: section models in other packages import
    # `hotline_monitor.config.types`, and an eager import of the model here
    # would import them back while they are still half-initialized.
    if name == "load_config":
        from hotline_monitor.config.loader import load_config

        return load_config
    if name == "Config":
        from hotline_monitor.config.model import Config

        return Config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
