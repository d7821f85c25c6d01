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
from typing import Protocol

from hotline_monitor.alerting.config import SEVERITY_NAMES
from hotline_monitor.notify.message import MessageSink, OutgoingMessage, Recipient

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


class AlertLog(Protocol):
    """Anything that takes `AlertMessage`s: the runner's `AlertRouter`."""

    def send(self, message: AlertMessage) -> None: ...


class AlertRouter:
    """Routes alerts found outside the rules to the engine, or straight to the sink.

    With an engine (roles `all` and `hub`) they are stored, grouped, escalated
    and acknowledged like rule alerts. An agent (role `agent`) has no engine,
    so each is sent once as it comes, to `recipients`.
    """

    def __init__(self, engine: AlertPoster | None, sink: MessageSink,
                 recipients: list[Recipient] | None = None) -> None:
        self.engine = engine
        self.sink = sink
        self.recipients = recipients or [Recipient("console")]

    def send(self, message: AlertMessage) -> None:
        if self.engine is not None:
            self.engine.post(message)
            return

        resolved = message.state == "resolved"
        tag = "恢复" if resolved else SEVERITY_NAMES.get(message.severity, message.severity)
        title, _, _ = message.text.partition("：")
        change = {"rule": message.rule, "target": message.target, "state": message.state}
        self.sink.enqueue(OutgoingMessage(
            key=f"{message.rule}:{message.target}:{message.state}:{message.time_ns}",
            kind="recovery" if resolved else "alert", severity=message.severity,
            title=f"【{tag}】{title}", text=message.text, recipients=list(self.recipients),
            context={"alerts": [change], "target": message.target}, created_ns=message.time_ns))


class AlertPoster(Protocol):
    def post(self, message: AlertMessage) -> int: ...
