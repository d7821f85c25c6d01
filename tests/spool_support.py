"""Shared pieces of the spool and MQTT tests: a numbered fake collector and configs.

`NumberedCollector` stands in for a real device: every poll returns
`per_poll` readings `seq,target=<id> n=<k>` with k counting up from `first`
and the time fixed by k (T0 + k µs), so a reading made again after a restart
is the same InfluxDB point.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from hotline_monitor.collectors.base import PollResult
from hotline_monitor.config.loader import parse_config
from hotline_monitor.config.model import Config
from hotline_monitor.reading import Reading

T0_NS = 1_780_000_000_000_000_000


def seq_time_ns(k: int) -> int:
    return T0_NS + k * 1000


class NumberedCollector:
    kind = "fake"

    def __init__(self, target: str, site: str, per_poll: int = 10, interval: float = 1.0,
                 first: int = 1) -> None:
        self.target = target
        self.site = site
        self.per_poll = per_poll
        self.interval = interval
        self.next = first

    async def poll(self) -> PollResult:
        readings = []
        for k in range(self.next, self.next + self.per_poll):
            readings.append(Reading("seq", {"site": self.site, "target": self.target},
                                    {"n": float(k)}, seq_time_ns(k)))
        self.next += self.per_poll
        return PollResult(readings)

    async def close(self) -> None:
        return None


def make_config(tmp_path: Path, **sections) -> Config:
    """Build a validated Config the way the loader does, from keyword sections."""
    data = {"site": "test-site", "agent_id": "agent-1", "state_dir": str(tmp_path / "state"),
            "alerting": {"console": False}}
    data.update(sections)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return parse_config(path.read_text(encoding="utf-8"), path)


def write_config(tmp_path: Path, name: str = "config.yaml", **sections) -> Path:
    data = {"site": "test-site", "agent_id": "agent-1", "state_dir": str(tmp_path / "state"),
            "alerting": {"console": False}}
    data.update(sections)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def influx_section(url: str, database: str) -> dict:
    return {"url": url, "api": "v1", "database": database, "timeout": "3s"}


def stored_numbers(influx, database: str, measurement: str = "seq") -> list[int]:
    from servers import InfluxServer

    server = InfluxServer(influx.url, database)
    return sorted(int(row["n"]) for row in server.points(f'SELECT "n" FROM "{measurement}"'))
