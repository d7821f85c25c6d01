"""The outbox: messages committed to SQLite before any attempt to send them.

Tables:
- `messages`: one row per message key (the idempotency key).
- `deliveries`: one row per recipient (channel + address), with its state:
  `pending` (waiting for `next_attempt_ns`), `sending` (a provider call is
  under way), `sent` (the provider accepted it), `failed` (this channel gave
  up; a fallback delivery may have taken over).

A `sending` row found at start-up belongs to a process that died during the
provider call, so nobody knows whether the provider accepted it: the row goes
back to `pending` with `resend` set, and the copy sent again says 重发.

Every write commits before returning, with `synchronous=FULL` in WAL mode, so
`enqueue` returning True means the message survives a crash or power cut.

NOTE: one dispatcher per state folder. A second one started on the same file
would take the first one's `sending` rows for leftovers of a crash.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.message import OutgoingMessage, Recipient

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    template TEXT NOT NULL,
    context TEXT NOT NULL,
    drill INTEGER NOT NULL,
    created_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    message_key TEXT NOT NULL REFERENCES messages(key),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    mentions TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    resend INTEGER NOT NULL DEFAULT 0,
    next_attempt_ns INTEGER NOT NULL,
    deadline_ns INTEGER NOT NULL,
    parent_id INTEGER REFERENCES deliveries(id),
    last_error TEXT,
    answer TEXT,
    updated_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(state, next_attempt_ns);
"""


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery's stored state, for status output and tests."""

    id: int
    message_key: str
    channel: str
    address: str
    state: str
    attempts: int
    resend: bool
    parent_id: int | None
    last_error: str | None
    answer: str | None


def _now_ns() -> int:
    return time.time_ns()


class Outbox:
    """The SQLite outbox; implements MessageSink. Safe to call from several threads."""

    def __init__(self, path: Path, deadline_for: Callable[[str], float]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._deadline_for = deadline_for
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from the enqueuing thread) after each new message."""
        self._listeners.append(callback)

    def enqueue(self, message: OutgoingMessage) -> bool:
        """Commit the message and one delivery per recipient; False when the key is known."""
        now = _now_ns()
        deadline = now + int(self._deadline_for(message.severity) * 1e9)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                inserted = self._insert_message(message)
                if inserted:
                    for channel, address, mentions in _group_recipients(message.recipients):
                        self._insert_delivery(message.key, channel, address, mentions, now,
                                              deadline, None)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

        if inserted and not message.recipients:
            log.warning("message %s (%s) has no recipients; it is stored but goes nowhere",
                        message.key, message.kind)
        if inserted:
            for callback in self._listeners:
                callback()
        else:
            log.debug("message %s already in the outbox; not enqueued again", message.key)
        return inserted

    def add_fallback(self, parent: Delivery, channel: str, addresses: list[str],
                     deadline_s: float) -> list[int]:
        """Add deliveries through a fallback channel for a delivery that failed."""
        now = _now_ns()
        deadline = now + int(deadline_s * 1e9)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            ids = [self._insert_delivery(parent.message.key, channel, address, [], now, deadline,
                                         parent.id) for address in addresses]
            self._db.execute("COMMIT")
        return ids

    def recover_in_flight(self) -> int:
        """Return `sending` rows left by a dead process to `pending`, marked for 重发."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE deliveries SET state='pending', resend=1, next_attempt_ns=?, updated_ns=?"
                " WHERE state='sending'", (_now_ns(), _now_ns()))
        return cursor.rowcount

    def due(self, now_ns: int, limit: int = 500) -> list[Delivery]:
        """Return pending deliveries whose next attempt is due, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.id, d.channel, d.address, d.mentions, d.resend, d.attempts,"
                " m.key, m.kind, m.severity, m.title, m.text, m.template, m.context, m.drill,"
                " m.created_ns FROM deliveries d JOIN messages m ON m.key = d.message_key"
                " WHERE d.state='pending' AND d.next_attempt_ns <= ? ORDER BY d.id LIMIT ?",
                (now_ns, limit)).fetchall()
        return [_delivery_from_row(row) for row in rows]

    def next_due_ns(self, after_ns: int) -> int | None:
        """Return when the earliest pending delivery due after `after_ns` is due, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_attempt_ns) FROM deliveries"
                " WHERE state='pending' AND next_attempt_ns > ?", (after_ns,)).fetchone()
        return row[0]

    def deadline_ns(self, delivery_id: int) -> int:
        with self._lock:
            row = self._db.execute("SELECT deadline_ns FROM deliveries WHERE id=?",
                                   (delivery_id,)).fetchone()
        return int(row[0])

    def mark_sending(self, delivery_id: int) -> None:
        self._update(delivery_id, "state='sending', attempts=attempts+1")

    def mark_sent(self, delivery_id: int, answer: str) -> None:
        self._update(delivery_id, "state='sent', answer=?, last_error=NULL", answer)

    def mark_failed(self, delivery_id: int, error: str) -> None:
        self._update(delivery_id, "state='failed', last_error=?", error)

    def reschedule(self, delivery_id: int, next_attempt_ns: int, error: str,
                   resend: bool) -> None:
        """Put a delivery back to `pending` for a later attempt; `resend` is never cleared."""
        self._update(delivery_id,
                     "state='pending', next_attempt_ns=?, last_error=?, resend=MAX(resend, ?)",
                     next_attempt_ns, error, int(resend))

    def deliveries(self, message_key: str | None = None) -> list[DeliveryRow]:
        """Return deliveries (of one message, or all) in the order they were added."""
        query = ("SELECT id, message_key, channel, address, state, attempts, resend, parent_id,"
                 " last_error, answer FROM deliveries")
        params: tuple = ()
        if message_key is not None:
            query += " WHERE message_key=?"
            params = (message_key,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [DeliveryRow(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7],
                            row[8], row[9]) for row in rows]

    def counts(self) -> dict[str, int]:
        """Return the number of deliveries per state."""
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()
        return {state: count for state, count in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _insert_message(self, message: OutgoingMessage) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO messages (key, kind, severity, title, text, template, context,"
            " drill, created_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message.key, message.kind, message.severity, message.title, message.text,
             message.template, json.dumps(message.context, ensure_ascii=False),
             int(message.drill), message.created_ns))
        return cursor.rowcount == 1

    def _insert_delivery(self, key: str, channel: str, address: str, mentions: list[str],
                         now: int, deadline: int, parent_id: int | None) -> int:
        cursor = self._db.execute(
            "INSERT INTO deliveries (message_key, channel, address, mentions, state,"
            " next_attempt_ns, deadline_ns, parent_id, updated_ns)"
            " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            (key, channel, address, json.dumps(mentions), now, deadline, parent_id, now))
        return int(cursor.lastrowid)

    def _update(self, delivery_id: int, assignments: str, *values: object) -> None:
        with self._lock:
            self._db.execute(f"UPDATE deliveries SET {assignments}, updated_ns=? WHERE id=?",
                             (*values, _now_ns(), delivery_id))


def _group_recipients(recipients: list[Recipient]) -> list[tuple[str, str, list[str]]]:
    """Merge recipients of one channel and address, so a group gets one message.

    Several on-call people mentioned in one WeCom group are one delivery with
    several mentions, not one copy of the message per person.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for recipient in recipients:
        mentions = groups.setdefault((recipient.channel, recipient.address), [])
        if recipient.mention and recipient.mention not in mentions:
            mentions.append(recipient.mention)
    return [(channel, address, mentions) for (channel, address), mentions in groups.items()]


def _delivery_from_row(row: tuple) -> Delivery:
    message = OutgoingMessage(
        key=row[6], kind=row[7], severity=row[8], title=row[9], text=row[10], recipients=[],
        template=row[11], context=json.loads(row[12]), drill=bool(row[13]), created_ns=row[14])
    return Delivery(id=row[0], message=message, channel=row[1], address=row[2],
                    mentions=json.loads(row[3]), resend=bool(row[4]), attempts=row[5])
