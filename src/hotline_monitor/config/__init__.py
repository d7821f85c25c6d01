"""Configuration: one YAML file, validated in full before anything starts.

<<<<<<< HEAD
=======
The names are imported lazily, so that section models in other packages can
import `hotline_monitor.config.types` without a circular import.
"""

>>>>>>> main
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotline_monitor.config.loader import load_config
    from hotline_monitor.config.model import Config

__all__ = ["Config", "load_config"]


def __getattr__(name: str) -> Any:
<<<<<<< HEAD
    # Imported on first use: section models elsewhere (notify.config) import
    # config.types, and an eager import of the model here would be circular.
    if name == "load_config":
        from hotline_monitor.config.loader import load_config
        return load_config
    if name == "Config":
        from hotline_monitor.config.model import Config
        return Config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
=======
    if name == "load_config":
        from hotline_monitor.config.loader import load_config

        return load_config
    if name == "Config":
        from hotline_monitor.config.model import Config

        return Config
    raise AttributeError(name)
>>>>>>> main
