"""Pages about the monitoring system itself, handed to the message layer.

`AlertLogMessageSink` is the `MessageSink` used until the durable outbox and
its channels are configured: it prints the message and appends it to
`alerts.jsonl`, so the page is at least seen and kept.
"""

from __future__ import annotations

from hotline_monitor.alerting.notify import AlertLog, AlertMessage
from hotline_monitor.notify.message import OutgoingMessage, Recipient


class AlertLogMessageSink:
    """A MessageSink that writes to the console and the alert log."""

    def __init__(self, alert_log: AlertLog) -> None:
        self.alert_log = alert_log
        self._keys: set[str] = set()

    def enqueue(self, message: OutgoingMessage) -> bool:
        if message.key in self._keys:
            return False
        self._keys.add(message.key)
        state = "resolved" if message.kind == "recovery" else "firing"
        self.alert_log.send(AlertMessage(
            rule=str(message.context.get("rule", message.kind)),
            target=str(message.context.get("target", "")),
            severity=message.severity,
            state=state,
            text=f"{message.title}：{message.text}",
            time_ns=message.created_ns,
        ))
        return True


def recipients_for(channels: list[str]) -> list[Recipient]:
    """Turn configured channel names into recipients (group channels need no address)."""
    return [Recipient(channel) for channel in channels]
