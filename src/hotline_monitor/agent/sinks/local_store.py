"""The local store: readings kept in SQLite when no InfluxDB is configured.

Rows are kept for a configurable time (7 days by default) and can be exported
as line protocol with `export_lines`, so they can be loaded into InfluxDB later.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from hotline_monitor.reading import Reading, decode_line

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    time_ns INTEGER NOT NULL,
    measurement TEXT NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS readings_by_measurement ON readings (measurement, time_ns);
"""

# Pruning on every write would cost a full index scan each flush.
_PRUNE_EVERY_S = 60.0


class LocalStore:
    """A Sink that appends readings to `local_store.sqlite` in the state folder."""

    name = "local_store"

    def __init__(self, path: Path, retention_s: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.retention_s = retention_s
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._last_prune = 0.0

    async def write(self, lines: list[str]) -> None:
        await asyncio.to_thread(self.write_now, lines)

    def write_now(self, lines: list[str]) -> None:
        rows = []
        for line in lines:
            measurement, time_ns = _measurement_and_time(line)
            rows.append((time_ns, measurement, line))
        with self._db:
            self._db.executemany(
                "INSERT INTO readings (time_ns, measurement, line) VALUES (?, ?, ?)", rows
            )
        if time.monotonic() - self._last_prune > _PRUNE_EVERY_S:
            self.prune()

    def prune(self) -> int:
        """Delete rows older than the retention; return how many were deleted."""
        cutoff = time.time_ns() - int(self.retention_s * 1e9)
        with self._db:
            deleted = self._db.execute("DELETE FROM readings WHERE time_ns < ?", (cutoff,))
        self._last_prune = time.monotonic()
        return deleted.rowcount

    def export_lines(self, measurement: str | None = None, since_ns: int = 0) -> Iterator[str]:
        """Yield stored lines oldest first, optionally of one measurement."""
        if measurement:
            cursor = self._db.execute(
                "SELECT line FROM readings WHERE measurement = ? AND time_ns >= ? ORDER BY time_ns",
                (measurement, since_ns),
            )
        else:
            cursor = self._db.execute(
                "SELECT line FROM readings WHERE time_ns >= ? ORDER BY time_ns", (since_ns,)
            )
        for (line,) in cursor:
            yield line

    def readings(self, measurement: str | None = None, since_ns: int = 0) -> list[Reading]:
        return [decode_line(line) for line in self.export_lines(measurement, since_ns)]

    def count(self) -> int:
        return self._db.execute("SELECT count(*) FROM readings").fetchone()[0]

    async def close(self) -> None:
        self._db.close()


def _measurement_and_time(line: str) -> tuple[str, int]:
    head = line.split(" ", 1)[0]
    measurement = head.split(",", 1)[0].replace("\\ ", " ")
    return measurement, int(line.rsplit(" ", 1)[1])
