"""The message handed from the alerting engine (and notices) to the delivery layer.

Producers build an `OutgoingMessage` and give it to a `MessageSink`. The sink
commits it durably before `enqueue` returns; delivery to each recipient is
then at-least-once. `key` makes enqueueing idempotent: enqueueing a message
whose key is already known does nothing, so a producer that restarts may
safely enqueue again what it is not sure it enqueued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from hotline_monitor.reading import now_ns

KINDS = (
    "alert",  # an alert (or a group of alerts from one cause) starts firing
    "repeat",  # reminder of an unresolved, unacknowledged alert
    "escalation",  # next step of an escalation chain
    "recovery",  # alerts resolved, with their duration
    "interruption",  # the interruption clock: start, +10, +20, +25 min, breach
    "notice",  # formal notices to the bureau (maintenance, outage)
    "report",  # monthly and yearly reports
    "test",  # `notify test`
    "operator",  # problems of the monitoring system itself (a channel's key is invalid, ...)
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One destination: a configured channel and, where it needs one, an address."""

    channel: str
    """Name of a channel in the configuration's `channels` section, or `console`."""
    address: str = ""
    """Phone number, WeCom user id or e-mail address; empty for a group robot."""
    mention: str = ""
    """Phone number or WeCom user id to @-mention in a group message."""


@dataclass(slots=True)
class OutgoingMessage:
    """One logical message, possibly for several recipients.

    `title` and `text` are plain Simplified Chinese, ready to read; channels
    escape and format them (WeCom markdown, HTML e-mail, SMS template
    parameters). `context` carries the structured values a channel template
    may use instead (all JSON-serialisable).
    """

    key: str
    kind: str
    severity: str
    title: str
    text: str
    recipients: list[Recipient]
    template: str = "generic"
    context: dict[str, Any] = field(default_factory=dict)
    drill: bool = False
    created_ns: int = field(default_factory=now_ns)


class MessageSink(Protocol):
    """Accepts messages for delivery; durable once `enqueue` returns."""

    def enqueue(self, message: OutgoingMessage) -> bool:
        """Store the message; return False when its key was already known."""
        ...
