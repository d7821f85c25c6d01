"""Configuration: one YAML file, validated in full before anything starts."""

from hotline_monitor.config.loader import load_config
from hotline_monitor.config.model import Config

__all__ = ["Config", "load_config"]
