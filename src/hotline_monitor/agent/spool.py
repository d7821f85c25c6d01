"""The durable spool: every reading is committed to SQLite before a poll counts as done.

Readings wait in the `spool` table, as line protocol, until the sender has
written them to the sink; rows are deleted only after the sink accepted them.
The table is bounded by `max_bytes` (and optionally `max_rows`): past the
bound the oldest rows are dropped and counted, which is the only way a
reading leaves the spool without being stored. Lines the database refuses for
good move to the `quarantine` table with the server's message.

The database runs in WAL mode. With `synchronous=FULL` a commit survives a
power cut; with NORMAL it survives a crash of the process but the last
commits may be lost with the machine's power. One connection is shared under
a lock, because the hub commits readings from paho's network thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spooled_ns INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    line TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    quarantined_ns INTEGER NOT NULL,
    line TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
# AUTOINCREMENT keeps ids from being reused after the table empties, so that
# a batch's id range never covers rows committed after the batch was read.


@dataclass(frozen=True, slots=True)
class SpoolStatus:
    """A snapshot of the spool for `spool status` and the agent's self-reading."""

    rows: int
    bytes: int
    oldest_spooled_ns: int | None
    dropped: int
    last_drop_ns: int | None
    quarantined: int


@dataclass(frozen=True, slots=True)
class QuarantinedLine:
    quarantined_ns: int
    line: str
    message: str


class Spool:
    """The SQLite spool of line-protocol lines waiting for the sink."""

    def __init__(self, path: Path, max_bytes: int, max_rows: int | None = None,
                 synchronous: str = "full") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        self.rows, self.bytes = self._db.execute(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM spool").fetchone()
        self.dropped = self._counter("dropped")

    def append(self, lines: Iterable[str]) -> int:
        """Commit lines to the spool; return how many old rows the bound dropped."""
        now = time.time_ns()
        rows = [(now, len(line.encode("utf-8")), line) for line in lines]
        if not rows:
            return 0

        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO spool (spooled_ns, bytes, line) VALUES (?, ?, ?)", rows)
                self.rows += len(rows)
                self.bytes += sum(row[1] for row in rows)
                dropped = self._trim_to_bound(now)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._reload_totals()
                raise
        return dropped

    def peek(self, limit: int) -> list[tuple[int, str]]:
        """Return up to `limit` of the oldest rows as (id, line), oldest first."""
        with self._lock:
            return self._db.execute(
                "SELECT id, line FROM spool ORDER BY id LIMIT ?", (limit,)).fetchall()

    def delete_through(self, first_id: int, last_id: int) -> None:
        """Delete the rows of a batch the sink accepted (ids first_id…last_id)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            count, size = self._db.execute(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM spool WHERE id BETWEEN ? AND ?",
                (first_id, last_id)).fetchone()
            self._db.execute("DELETE FROM spool WHERE id BETWEEN ? AND ?", (first_id, last_id))
            self._db.execute("COMMIT")
            self.rows -= count
            self.bytes -= size

    def quarantine(self, row_id: int | None, line: str, message: str) -> None:
        """Move a line the database refused for good to quarantine, with the server's message.

        `row_id` is the line's spool row, deleted in the same transaction, or
        None for a line that never entered the spool (a malformed MQTT payload).
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO quarantine (quarantined_ns, line, message) VALUES (?, ?, ?)",
                (time.time_ns(), line, message))
            if row_id is not None:
                size = self._db.execute(
                    "DELETE FROM spool WHERE id = ? RETURNING bytes", (row_id,)).fetchone()
                if size is not None:
                    self.rows -= 1
                    self.bytes -= size[0]
            self._db.execute("COMMIT")

    def quarantined(self, limit: int = 20) -> list[QuarantinedLine]:
        """Return the most recently quarantined lines, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT quarantined_ns, line, message FROM quarantine ORDER BY id DESC LIMIT ?",
                (limit,)).fetchall()
        return [QuarantinedLine(*row) for row in rows]

    def status(self) -> SpoolStatus:
        with self._lock:
            oldest = self._db.execute(
                "SELECT spooled_ns FROM spool ORDER BY id LIMIT 1").fetchone()
            quarantined = self._db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
            last_drop = self._counter("last_drop_ns") or None
            return SpoolStatus(self.rows, self.bytes, oldest[0] if oldest else None,
                               self.dropped, last_drop, quarantined)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _trim_to_bound(self, now: int) -> int:
        """Drop the oldest rows until the spool is within its bound (inside a transaction)."""
        excess_bytes = self.bytes - self.max_bytes
        excess_rows = self.rows - self.max_rows if self.max_rows else 0
        if excess_bytes <= 0 and excess_rows <= 0:
            return 0

        freed_rows = 0
        freed_bytes = 0
        cutoff = None
        cursor = self._db.execute("SELECT id, bytes FROM spool ORDER BY id")
        for row_id, size in cursor:
            freed_rows += 1
            freed_bytes += size
            cutoff = row_id
            if freed_bytes >= excess_bytes and freed_rows >= excess_rows:
                break
        cursor.close()

        self._db.execute("DELETE FROM spool WHERE id <= ?", (cutoff,))
        self.rows -= freed_rows
        self.bytes -= freed_bytes
        self.dropped += freed_rows
        self._set_counter("dropped", self.dropped)
        self._set_counter("last_drop_ns", now)
        return freed_rows

    def _counter(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0

    def _set_counter(self, name: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value))

    def _reload_totals(self) -> None:
        self.rows, self.bytes = self._db.execute(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM spool").fetchone()
        self.dropped = self._counter("dropped")
