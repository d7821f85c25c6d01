"""Shared fixtures: real servers started once per test session where that is safe."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from servers import InfluxServer, influxdb_v1  # noqa: E402


@pytest.fixture(scope="session")
def influxdb() -> InfluxServer:
    """One InfluxDB 1.x for the session; tests use their own database names."""
    with influxdb_v1() as server:
        yield server
