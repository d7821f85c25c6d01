"""Helpers for the SNMP collector's end-to-end tests: configs, the CLI, read-back."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from servers import InfluxServer

FIXTURES = Path(__file__).parent / "fixtures"


def create_database(influx: InfluxServer, name: str) -> InfluxServer:
    """Create a database on the session's InfluxDB and return a handle bound to it."""
    body = urllib.parse.urlencode({"q": f'CREATE DATABASE "{name}"'}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{influx.url}/query", data=body),
                           timeout=10).read()
    return InfluxServer(influx.url, name)


def ups_yaml(ups_id: str, port: int, community: str, extra: str = "") -> str:
    return (f"  - id: {ups_id}\n"
            f"    snmp: {{host: 127.0.0.1, port: {port}, community: {community}, "
            f"timeout: 2s, retries: 1{extra}}}\n")


def write_config(folder: Path, body: str, site: str = "test-site") -> Path:
    path = folder / "site.yaml"
    path.write_text(f"site: {site}\nagent_id: test-agent\nstate_dir: {folder / 'state'}\n{body}",
                    encoding="utf-8")
    return path


def run_once(config: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `hotline-monitor run --once` as a user would, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "hotline_monitor", "run", "-c", str(config), "--once"],
        capture_output=True, text=True, timeout=60, env=env,
    )


def fields_by_series(influx: InfluxServer, measurement: str, ups: str,
                     keys: tuple[str, ...] = ()) -> dict[tuple[str, ...], dict[str, object]]:
    """Return {tag values of `keys`: fields} of the newest point of each series.

    Fields whose value is null in that point are dropped, so a field the
    collector left out is simply absent from the dict.
    """
    rows = influx.points(
        f"SELECT * FROM \"{measurement}\" WHERE \"ups\" = '{ups}' GROUP BY * ORDER BY time DESC")
    found: dict[tuple[str, ...], dict[str, object]] = {}
    for row in rows:
        key = tuple(row[name] for name in keys)
        if key in found:
            continue
        found[key] = {name: value for name, value in row.items()
                      if value is not None and name != "time" and name not in TAG_NAMES}
    return found


TAG_NAMES = frozenset({"site", "ups", "source", "side", "line", "alarm"})
