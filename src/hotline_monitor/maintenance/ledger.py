"""The SLA ledger: one SQLite file with everything the contract's promises are checked against.

Tables: maintenance windows and their notices, interruptions, UPS on-battery
events, alerts with their acknowledgement, and every notice sent to the
bureau. Times are UTC nanoseconds. Rows with `drill = 1` come from drills
(应急演练): reports list them apart and never count them in availability.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEDGER_FILE = "ledger.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS windows (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    planned_end_ns INTEGER NOT NULL,
    scope TEXT NOT NULL,
    description TEXT NOT NULL,
    impact TEXT NOT NULL,
    contact TEXT NOT NULL,
    state TEXT NOT NULL,
    emergency INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    created_ns INTEGER NOT NULL,
    notice_ns INTEGER,
    notice_hours REAL,
    violation TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    window_id INTEGER,
    interruption_id INTEGER,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    delivered_ns INTEGER,
    results TEXT NOT NULL DEFAULT '[]',
    archive TEXT NOT NULL DEFAULT '',
    drill INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS interruptions (
    id INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER,
    cause TEXT NOT NULL,
    window_id INTEGER,
    notices_from_ns INTEGER,
    drill INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS battery_events (
    id INTEGER PRIMARY KEY,
    ups TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER,
    min_runtime_s REAL,
    drill INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    rule TEXT NOT NULL,
    target TEXT NOT NULL,
    severity TEXT NOT NULL,
    text TEXT NOT NULL,
    fired_ns INTEGER NOT NULL,
    acked_ns INTEGER,
    resolved_ns INTEGER,
    window_id INTEGER,
    paged_ns INTEGER,
    message TEXT NOT NULL DEFAULT '',
    drill INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS schedule_marks (
    name TEXT PRIMARY KEY,
    done_ns INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class WindowRow:
    id: int
    kind: str
    start_ns: int
    end_ns: int
    planned_end_ns: int
    scope: list[str]
    description: str
    impact: str
    contact: str
    state: str
    """`scheduled`, `active`, `completed` or `cancelled`."""
    emergency: bool
    reason: str
    created_ns: int
    notice_ns: int | None
    """When the formal notice was accepted for delivery."""
    notice_hours: float | None
    """Hours between the formal notice and the start."""
    violation: str

    @property
    def late(self) -> bool:
        """Whether the window got less notice than required (only emergencies may)."""
        return self.emergency


@dataclass(frozen=True, slots=True)
class NoticeRow:
    id: int
    key: str
    kind: str
    window_id: int | None
    interruption_id: int | None
    title: str
    text: str
    created_ns: int
    accepted: bool
    delivered_ns: int | None
    results: list[dict[str, Any]]
    archive: str
    drill: bool


@dataclass(frozen=True, slots=True)
class InterruptionRow:
    id: int
    source_id: str
    service: str
    start_ns: int
    end_ns: int | None
    cause: str
    window_id: int | None
    notices_from_ns: int | None
    """When outage notices start: the start, or the end of the window it began in."""
    drill: bool


@dataclass(frozen=True, slots=True)
class BatteryRow:
    id: int
    ups: str
    start_ns: int
    end_ns: int | None
    min_runtime_s: float | None
    drill: bool


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    key: str
    rule: str
    target: str
    severity: str
    text: str
    fired_ns: int
    acked_ns: int | None
    resolved_ns: int | None
    window_id: int | None
    """The maintenance window that suppressed its paging, if any."""
    paged_ns: int | None
    drill: bool


class Ledger:
    """The SQLite ledger; safe to share between the scheduler thread and the event loop."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    @property
    def connection(self) -> sqlite3.Connection:
        return self._db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _fetch(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # Windows

    def insert_window(self, *, kind: str, start_ns: int, end_ns: int, scope: list[str],
                      description: str, impact: str, contact: str, emergency: bool,
                      reason: str, created_ns: int) -> int:
        cursor = self._execute(
            "INSERT INTO windows (kind, start_ns, end_ns, planned_end_ns, scope, description,"
            " impact, contact, state, emergency, reason, created_ns)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?, ?)",
            (kind, start_ns, end_ns, end_ns, json.dumps(scope, ensure_ascii=False), description,
             impact, contact, int(emergency), reason, created_ns))
        return int(cursor.lastrowid or 0)

    def update_window(self, window_id: int, **values: Any) -> None:
        assignments = ", ".join(f"{name}=?" for name in values)
        self._execute(f"UPDATE windows SET {assignments} WHERE id=?",
                      (*values.values(), window_id))

    def window(self, window_id: int) -> WindowRow | None:
        rows = self._windows("WHERE id=?", (window_id,))
        return rows[0] if rows else None

    def windows(self, since_ns: int | None = None, until_ns: int | None = None) -> list[WindowRow]:
        """Return windows overlapping [since, until), or all, by start."""
        if since_ns is None or until_ns is None:
            return self._windows("ORDER BY start_ns, id")
        return self._windows("WHERE start_ns < ? AND end_ns > ? ORDER BY start_ns, id",
                             (until_ns, since_ns))

    def open_windows(self) -> list[WindowRow]:
        """Return windows not yet completed or cancelled, by start."""
        return self._windows("WHERE state IN ('scheduled', 'active') ORDER BY start_ns, id")

    def _windows(self, where: str, args: tuple[Any, ...] = ()) -> list[WindowRow]:
        rows = self._fetch(
            "SELECT id, kind, start_ns, end_ns, planned_end_ns, scope, description, impact,"
            " contact, state, emergency, reason, created_ns, notice_ns, notice_hours, violation"
            f" FROM windows {where}", args)
        return [WindowRow(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]), row[6],
                          row[7], row[8], row[9], bool(row[10]), row[11], row[12], row[13],
                          row[14], row[15]) for row in rows]

    # Notices

    def insert_notice(self, *, key: str, kind: str, title: str, text: str, created_ns: int,
                      accepted: bool, archive: str, window_id: int | None = None,
                      interruption_id: int | None = None, drill: bool = False) -> bool:
        """Record a notice; return False when its key is already recorded."""
        cursor = self._execute(
            "INSERT OR IGNORE INTO notices (key, kind, window_id, interruption_id, title, text,"
            " created_ns, accepted, archive, drill) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, kind, window_id, interruption_id, title, text, created_ns, int(accepted),
             archive, int(drill)))
        return cursor.rowcount == 1

    def has_notice(self, key: str) -> bool:
        return bool(self._fetch("SELECT 1 FROM notices WHERE key=?", (key,)))

    def update_notice(self, key: str, **values: Any) -> None:
        if "results" in values:
            values["results"] = json.dumps(values["results"], ensure_ascii=False)
        assignments = ", ".join(f"{name}=?" for name in values)
        self._execute(f"UPDATE notices SET {assignments} WHERE key=?", (*values.values(), key))

    def notices(self, *, window_id: int | None = None, interruption_id: int | None = None,
                since_ns: int | None = None, until_ns: int | None = None) -> list[NoticeRow]:
        clauses: list[str] = []
        args: list[Any] = []
        if window_id is not None:
            clauses.append("window_id=?")
            args.append(window_id)
        if interruption_id is not None:
            clauses.append("interruption_id=?")
            args.append(interruption_id)
        if since_ns is not None and until_ns is not None:
            clauses.append("created_ns >= ? AND created_ns < ?")
            args += [since_ns, until_ns]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._fetch(
            "SELECT id, key, kind, window_id, interruption_id, title, text, created_ns, accepted,"
            f" delivered_ns, results, archive, drill FROM notices {where} ORDER BY created_ns, id",
            tuple(args))
        return [NoticeRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                          bool(row[8]), row[9], json.loads(row[10]), row[11], bool(row[12]))
                for row in rows]

    def undelivered_notices(self) -> list[NoticeRow]:
        """Return notices the sink accepted that no channel has delivered yet."""
        rows = self._fetch(
            "SELECT id, key, kind, window_id, interruption_id, title, text, created_ns, accepted,"
            " delivered_ns, results, archive, drill FROM notices"
            " WHERE accepted = 1 AND delivered_ns IS NULL ORDER BY created_ns, id")
        return [NoticeRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                          bool(row[8]), row[9], json.loads(row[10]), row[11], bool(row[12]))
                for row in rows]

    # Interruptions

    def record_interruption_start(self, source_id: str, service: str, start_ns: int, cause: str,
                                  window_id: int | None, notices_from_ns: int | None,
                                  drill: bool = False) -> InterruptionRow:
        self._execute(
            "INSERT OR IGNORE INTO interruptions (source_id, service, start_ns, cause, window_id,"
            " notices_from_ns, drill) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (source_id, service, start_ns, cause, window_id, notices_from_ns, int(drill)))
        row = self.interruption(source_id)
        assert row is not None
        return row

    def update_interruption(self, source_id: str, **values: Any) -> None:
        assignments = ", ".join(f"{name}=?" for name in values)
        self._execute(f"UPDATE interruptions SET {assignments} WHERE source_id=?",
                      (*values.values(), source_id))

    def interruption(self, source_id: str) -> InterruptionRow | None:
        rows = self._interruptions("WHERE source_id=?", (source_id,))
        return rows[0] if rows else None

    def open_interruptions(self) -> list[InterruptionRow]:
        return self._interruptions("WHERE end_ns IS NULL ORDER BY start_ns")

    def interruptions(self, since_ns: int, until_ns: int) -> list[InterruptionRow]:
        """Return interruptions overlapping [since, until), drills included."""
        return self._interruptions(
            "WHERE start_ns < ? AND (end_ns IS NULL OR end_ns > ?) ORDER BY start_ns",
            (until_ns, since_ns))

    def _interruptions(self, where: str, args: tuple[Any, ...] = ()) -> list[InterruptionRow]:
        rows = self._fetch(
            "SELECT id, source_id, service, start_ns, end_ns, cause, window_id, notices_from_ns,"
            f" drill FROM interruptions {where}", args)
        return [InterruptionRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                                bool(row[8])) for row in rows]

    # UPS on battery

    def record_battery_start(self, ups: str, start_ns: int, runtime_s: float | None,
                             drill: bool = False) -> int:
        cursor = self._execute(
            "INSERT INTO battery_events (ups, start_ns, min_runtime_s, drill) VALUES (?, ?, ?, ?)",
            (ups, start_ns, runtime_s, int(drill)))
        return int(cursor.lastrowid or 0)

    def open_battery_event(self, ups: str) -> BatteryRow | None:
        rows = self._battery("WHERE ups=? AND end_ns IS NULL ORDER BY id DESC LIMIT 1", (ups,))
        return rows[0] if rows else None

    def update_battery(self, event_id: int, **values: Any) -> None:
        assignments = ", ".join(f"{name}=?" for name in values)
        self._execute(f"UPDATE battery_events SET {assignments} WHERE id=?",
                      (*values.values(), event_id))

    def battery_events(self, since_ns: int, until_ns: int) -> list[BatteryRow]:
        return self._battery(
            "WHERE start_ns < ? AND (end_ns IS NULL OR end_ns > ?) ORDER BY start_ns",
            (until_ns, since_ns))

    def _battery(self, where: str, args: tuple[Any, ...] = ()) -> list[BatteryRow]:
        rows = self._fetch(
            f"SELECT id, ups, start_ns, end_ns, min_runtime_s, drill FROM battery_events {where}",
            args)
        return [BatteryRow(row[0], row[1], row[2], row[3], row[4], bool(row[5])) for row in rows]

    # Alerts

    def record_alert(self, *, key: str, rule: str, target: str, severity: str, text: str,
                     fired_ns: int, window_id: int | None, paged_ns: int | None,
                     message: str = "", drill: bool = False) -> bool:
        cursor = self._execute(
            "INSERT OR IGNORE INTO alerts (key, rule, target, severity, text, fired_ns,"
            " window_id, paged_ns, message, drill) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, rule, target, severity, text, fired_ns, window_id, paged_ns, message,
             int(drill)))
        return cursor.rowcount == 1

    def update_alert(self, key: str, **values: Any) -> None:
        assignments = ", ".join(f"{name}=?" for name in values)
        self._execute(f"UPDATE alerts SET {assignments} WHERE key=?", (*values.values(), key))

    def alert(self, key: str) -> AlertRow | None:
        rows = self._alerts("WHERE key=?", (key,))
        return rows[0] if rows else None

    def alerts(self, since_ns: int, until_ns: int) -> list[AlertRow]:
        return self._alerts("WHERE fired_ns >= ? AND fired_ns < ? ORDER BY fired_ns",
                            (since_ns, until_ns))

    def alerts_in_window(self, window_id: int) -> list[AlertRow]:
        return self._alerts("WHERE window_id=? ORDER BY fired_ns", (window_id,))

    def held_alerts(self) -> list[AlertRow]:
        """Return alerts suppressed by a window that are neither resolved nor paged yet."""
        return self._alerts("WHERE window_id IS NOT NULL AND paged_ns IS NULL"
                            " AND resolved_ns IS NULL ORDER BY fired_ns")

    def held_message(self, key: str) -> str:
        rows = self._fetch("SELECT message FROM alerts WHERE key=?", (key,))
        return rows[0][0] if rows else ""

    def _alerts(self, where: str, args: tuple[Any, ...] = ()) -> list[AlertRow]:
        rows = self._fetch(
            "SELECT id, key, rule, target, severity, text, fired_ns, acked_ns, resolved_ns,"
            f" window_id, paged_ns, drill FROM alerts {where}", args)
        return [AlertRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8],
                         row[9], row[10], bool(row[11])) for row in rows]

    # Marks of scheduled work done (daily backup, monthly report)

    def mark_done(self, name: str, done_ns: int) -> bool:
        """Record that scheduled work `name` ran; return False when it was already recorded."""
        cursor = self._execute("INSERT OR IGNORE INTO schedule_marks (name, done_ns) VALUES (?, ?)",
                               (name, done_ns))
        return cursor.rowcount == 1

    def is_done(self, name: str) -> bool:
        return bool(self._fetch("SELECT 1 FROM schedule_marks WHERE name=?", (name,)))
