"""Configuration: one YAML file, validated in full before anything starts.

The names are imported lazily, so that section models in other packages can
import `hotline_monitor.config.types` without a circular import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotline_monitor.config.loader import load_config
    from hotline_monitor.config.model import Config

__all__ = ["Config", "load_config"]


def __getattr__(name: str) -> Any:
    if name == "load_config":
        from hotline_monitor.config.loader import load_config

        return load_config
    if name == "Config":
        from hotline_monitor.config.model import Config

        return Config
    raise AttributeError(name)
