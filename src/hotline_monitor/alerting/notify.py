"""A `MessageSink` for when no outbox is configured: the console and `alerts.jsonl`.

Each message is appended as one JSON line and flushed before `enqueue`
returns. Keys already in the file are known, so enqueueing a message again
after a restart does nothing, as the `MessageSink` contract asks.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from hotline_monitor.notify.message import OutgoingMessage

log = logging.getLogger(__name__)


class ConsoleSink:
    """Writes messages to `alerts.jsonl` (fsynced) and echoes them to standard output."""

    def __init__(self, path: Path, console: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.console = console
        self.keys = self._known_keys()

    def _known_keys(self) -> set[str]:
        keys: set[str] = set()
        try:
            with self.path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        keys.add(json.loads(line)["key"])
                    except (ValueError, KeyError, TypeError):
                        log.warning("%s: skipping an unreadable line", self.path)
        except FileNotFoundError:
            pass
        return keys

    def enqueue(self, message: OutgoingMessage) -> bool:
        if message.key in self.keys:
            return False
        record = asdict(message)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.keys.add(message.key)
        if self.console:
            print(f"{message.title}\n{message.text}\n", file=sys.stdout, flush=True)
        return True


@dataclass(slots=True)
class AlertMessage:
    """An alert found outside the rules (by the SNMP/Modbus cross-check), for `AlertEngine.post`."""

    rule: str
    target: str
    severity: str
    state: str
    """`firing` or `resolved`."""
    text: str
    time_ns: int
    duration_s: float | None = None
