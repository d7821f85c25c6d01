"""The record of shutdown actions: one row per state change, in SQLite under state_dir.

NOTE: this table replaces the SLA ledger until the ledger exists. The ledger
can import these rows (UTC times, one event word each).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ns INTEGER NOT NULL,
    time_utc TEXT NOT NULL,
    action TEXT NOT NULL,
    ups TEXT NOT NULL,
    event TEXT NOT NULL,   -- pending, cancelled, executed, failed, rearmed
    detail TEXT NOT NULL DEFAULT ''
)
"""


class ShutdownEventLog:
    """Appends shutdown action events to `shutdown_events.sqlite`, committed at once."""

    FILE_NAME = "shutdown_events.sqlite"

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / self.FILE_NAME
        self._db = sqlite3.connect(self.path)
        self._db.execute(SCHEMA)
        self._db.commit()

    def record(self, time_ns: int, action: str, ups: str, event: str, detail: str = "") -> None:
        moment = datetime.fromtimestamp(time_ns / 1e9, tz=UTC).isoformat(timespec="seconds")
        self._db.execute(
            "INSERT INTO events (time_ns, time_utc, action, ups, event, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (time_ns, moment, action, ups, event, detail),
        )
        self._db.commit()

    def last_event(self, action: str) -> str | None:
        row = self._db.execute(
            "SELECT event FROM events WHERE action = ? ORDER BY id DESC LIMIT 1", (action,)
        ).fetchone()
        return row[0] if row else None

    def events(self, action: str | None = None) -> list[tuple[str, str, str, str]]:
        """Return (time_utc, action, event, detail) rows, oldest first."""
        query = "SELECT time_utc, action, event, detail FROM events"
        params: tuple[str, ...] = ()
        if action is not None:
            query += " WHERE action = ?"
            params = (action,)
        return list(self._db.execute(query + " ORDER BY id", params))

    def close(self) -> None:
        self._db.close()
