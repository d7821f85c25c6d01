"""Alert state in SQLite (`state_dir/alerts.sqlite`).

Tables: `alerts` has one row per alert (pending → firing → acknowledged →
resolved). `groups` joins the alerts of one target that page as one message.
`notifications` records every message handed to the sink, by its idempotency
key. `silences` and `interruptions` (the SLA ledger's raw record) follow. Every change is
committed before the engine acts on it, so a restart resumes where it stopped.
"""

from __future__ import annotations

import fnmatch
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    series TEXT NOT NULL,
    target TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,  -- pending, firing, acknowledged, resolved or withdrawn
    summary TEXT NOT NULL,
    value REAL,
    pending_ns INTEGER,
    fired_ns INTEGER,
    acked_ns INTEGER,
    acked_by TEXT,
    resolved_ns INTEGER,
    group_id INTEGER,
    announced INTEGER NOT NULL DEFAULT 0,
    flapping INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts(state) WHERE state != 'resolved';
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    opened_ns INTEGER NOT NULL,
    first_sent_ns INTEGER,
    acked_ns INTEGER,
    acked_by TEXT,
    closed_ns INTEGER
);
CREATE TABLE IF NOT EXISTS notifications (
    key TEXT PRIMARY KEY,
    group_id INTEGER,
    kind TEXT NOT NULL,
    sent_ns INTEGER NOT NULL,
    recipients TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    until_ns INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    removed_ns INTEGER
);
CREATE TABLE IF NOT EXISTS interruptions (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER,
    cause TEXT NOT NULL,
    in_maintenance INTEGER NOT NULL DEFAULT 0,
    breach INTEGER NOT NULL DEFAULT 0
);
"""

OPEN_STATES = ("pending", "firing", "acknowledged")


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    rule: str
    series: str
    target: str
    severity: str
    state: str
    summary: str
    value: float | None
    pending_ns: int | None
    fired_ns: int | None
    acked_ns: int | None
    acked_by: str | None
    resolved_ns: int | None
    group_id: int | None
    announced: int
    flapping: int


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: int
    target: str
    opened_ns: int
    first_sent_ns: int | None
    acked_ns: int | None
    acked_by: str | None
    closed_ns: int | None


@dataclass(frozen=True, slots=True)
class SilenceRow:
    id: int
    target: str
    until_ns: int
    reason: str
    created_by: str
    created_ns: int
    removed_ns: int | None


@dataclass(frozen=True, slots=True)
class InterruptionRow:
    id: int
    service: str
    start_ns: int
    end_ns: int | None
    cause: str
    in_maintenance: int
    breach: int


class AlertStore:
    """The alerting engine's SQLite database."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # The engine runs on the event loop, but APScheduler runs plain
        # functions (hub liveness, spool alerts) on worker threads that post
        # alerts too. They share this connection under `lock`.
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10.0,
                                  check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit the statements inside as one, so a crash leaves none of them half done."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _rows(self, cls: type, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return [cls(*row) for row in self.db.execute(sql, args)]

    # Alerts

    def open_alerts(self) -> list[AlertRow]:
        return self._rows(AlertRow, "SELECT * FROM alerts WHERE state IN (?, ?, ?) ORDER BY id",
                          OPEN_STATES)

    def alert(self, alert_id: int) -> AlertRow | None:
        rows = self._rows(AlertRow, "SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return rows[0] if rows else None

    def find_open(self, rule: str, series: str) -> AlertRow | None:
        rows = self._rows(
            AlertRow, "SELECT * FROM alerts WHERE rule = ? AND series = ? AND state IN (?, ?, ?)",
            (rule, series, *OPEN_STATES))
        return rows[0] if rows else None

    def insert_alert(self, rule: str, series: str, target: str, severity: str, state: str,
                     summary: str, value: float | None, time_ns: int) -> int:
        fired = time_ns if state == "firing" else None
        cursor = self.db.execute(
            "INSERT INTO alerts (rule, series, target, severity, state, summary, value,"
            " pending_ns, fired_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rule, series, target, severity, state, summary, value, time_ns, fired))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def update_alert(self, alert_id: int, **values: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        self.db.execute(f"UPDATE alerts SET {columns} WHERE id = ?", (*values.values(), alert_id))

    def delete_alert(self, alert_id: int) -> None:
        self.db.execute("DELETE FROM alerts WHERE id = ?", (alert_id,))

    def group_alerts(self, group_id: int) -> list[AlertRow]:
        return self._rows(AlertRow, "SELECT * FROM alerts WHERE group_id = ? ORDER BY id",
                          (group_id,))

    # Groups

    def open_groups(self) -> list[GroupRow]:
        return self._rows(GroupRow, "SELECT * FROM groups WHERE closed_ns IS NULL ORDER BY id")

    def group(self, group_id: int) -> GroupRow | None:
        rows = self._rows(GroupRow, "SELECT * FROM groups WHERE id = ?", (group_id,))
        return rows[0] if rows else None

    def open_group_for(self, target: str) -> GroupRow | None:
        rows = self._rows(
            GroupRow,
            "SELECT * FROM groups WHERE target = ? AND closed_ns IS NULL AND acked_ns IS NULL"
            " ORDER BY id DESC LIMIT 1", (target,))
        return rows[0] if rows else None

    def insert_group(self, target: str, time_ns: int) -> int:
        cursor = self.db.execute("INSERT INTO groups (target, opened_ns) VALUES (?, ?)",
                                 (target, time_ns))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def update_group(self, group_id: int, **values: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        self.db.execute(f"UPDATE groups SET {columns} WHERE id = ?", (*values.values(), group_id))

    def acknowledge(self, group_id: int, by: str, time_ns: int) -> bool:
        """Acknowledge a group and its firing alerts; False when it is unknown or closed."""
        group = self.group(group_id)
        if group is None or group.closed_ns is not None:
            return False
        with self.transaction():
            if group.acked_ns is None:
                self.db.execute("UPDATE groups SET acked_ns = ?, acked_by = ? WHERE id = ?",
                                (time_ns, by, group_id))
            self.db.execute(
                "UPDATE alerts SET state = 'acknowledged', acked_ns = ?, acked_by = ?"
                " WHERE group_id = ? AND state = 'firing'", (time_ns, by, group_id))
        return True

    # Notifications

    def notified(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM notifications WHERE key = ?", (key,)).fetchone() is not None

    def record_notification(self, key: str, group_id: int | None, kind: str, time_ns: int,
                            recipients: list[dict[str, str]], title: str, text: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, group_id, kind, time_ns, json.dumps(recipients, ensure_ascii=False), title, text))

    def notifications(self, group_id: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT key, group_id, kind, sent_ns, recipients, title, text FROM notifications"
        args: tuple[Any, ...] = ()
        if group_id is not None:
            sql += " WHERE group_id = ?"
            args = (group_id,)
        rows = self.db.execute(sql + " ORDER BY sent_ns, rowid", args)
        names = ("key", "group_id", "kind", "sent_ns", "recipients", "title", "text")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def last_notice_ns(self, group_id: int) -> int | None:
        row = self.db.execute("SELECT MAX(sent_ns) FROM notifications WHERE group_id = ?"
                              " AND kind IN ('alert', 'repeat', 'escalation')", (group_id,)).fetchone()
        return row[0] if row else None

    # Silences

    def add_silence(self, target: str, until_ns: int, reason: str, by: str, time_ns: int) -> int:
        cursor = self.db.execute(
            "INSERT INTO silences (target, until_ns, reason, created_by, created_ns)"
            " VALUES (?, ?, ?, ?, ?)", (target, until_ns, reason, by, time_ns))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def active_silences(self, time_ns: int) -> list[SilenceRow]:
        return self._rows(SilenceRow, "SELECT * FROM silences WHERE removed_ns IS NULL"
                          " AND until_ns > ? ORDER BY id", (time_ns,))

    def remove_silence(self, silence_id: int, time_ns: int) -> bool:
        cursor = self.db.execute("UPDATE silences SET removed_ns = ? WHERE id = ?"
                                 " AND removed_ns IS NULL", (time_ns, silence_id))
        return cursor.rowcount == 1

    def silence_for(self, target: str, time_ns: int) -> SilenceRow | None:
        for silence in self.active_silences(time_ns):
            if fnmatch.fnmatchcase(target, silence.target):
                return silence
        return None

    # Interruptions

    def open_interruption(self, service: str) -> InterruptionRow | None:
        rows = self._rows(InterruptionRow, "SELECT * FROM interruptions WHERE service = ?"
                          " AND end_ns IS NULL ORDER BY id DESC LIMIT 1", (service,))
        return rows[0] if rows else None

    def start_interruption(self, service: str, start_ns: int, cause: str,
                           in_maintenance: bool) -> int:
        cursor = self.db.execute(
            "INSERT INTO interruptions (service, start_ns, cause, in_maintenance)"
            " VALUES (?, ?, ?, ?)", (service, start_ns, cause, int(in_maintenance)))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def update_interruption(self, interruption_id: int, **values: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        self.db.execute(f"UPDATE interruptions SET {columns} WHERE id = ?",
                        (*values.values(), interruption_id))

    def interruptions(self) -> list[InterruptionRow]:
        return self._rows(InterruptionRow, "SELECT * FROM interruptions ORDER BY id")
