"""Hold pages about targets under maintenance, and feed the ledger from the message flow.

`MaintenanceGate` is a `MessageSink` placed between the alerting engine and
the outbox. For each paging message (alert, repeat, escalation, the
interruption clock's notices) it looks up the target:

- inside a window's scope, the page is held. The alert is stored in the
  ledger with the window's id, so the completion notice lists it, and no one
  is paged. Its recovery, while the page is still held, is recorded and dropped.
- when the window ends and the alert is still open, `release_held` sends it
  on, marked as outliving the window.
- outside every window, the message goes straight on.

Every alert and interruption passing the gate is recorded in the ledger, and
the interruption clock's start and end messages drive the bureau's outage
notices.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from typing import Any

from hotline_monitor.maintenance.calendar import MaintenanceCalendar
from hotline_monitor.maintenance.ledger import AlertRow, Ledger
from hotline_monitor.maintenance.outage import OutageNotices
from hotline_monitor.notify.message import MessageSink, OutgoingMessage, Recipient

log = logging.getLogger(__name__)

PAGING_KINDS = ("alert", "repeat", "escalation")
RESOLVING_KINDS = ("recovery",)
ACK_SUFFIX = ":ack"
"""The alerting engine keys the notice that an alert was acknowledged `group:N:ack`."""


class MaintenanceGate:
    """Wrap a MessageSink: keep back in-scope pages during windows and forward the rest."""

    def __init__(self, inner: MessageSink, ledger: Ledger, calendar: MaintenanceCalendar,
                 outage: OutageNotices | None = None) -> None:
        self.inner = inner
        self.ledger = ledger
        self.calendar = calendar
        self.outage = outage

    def enqueue(self, message: OutgoingMessage) -> bool:
        if message.kind == "interruption":
            return self._interruption(message)
        if message.kind in RESOLVING_KINDS:
            return self._resolution(message)
        if message.key.endswith(ACK_SUFFIX):
            return self._acknowledgement(message)
        if message.kind not in PAGING_KINDS or message.drill:
            self._record(message, None, paged=True)
            return self.inner.enqueue(message)

        identity = alert_identity(message)
        target = str(message.context.get("target", ""))
        window = self.calendar.window_for(target, message.created_ns) if target else None
        known = self.ledger.alert(identity)
        if window is not None and (known is None or known.window_id == window.id):
            self._record(message, window.id, paged=False)
            log.info("page %s about %s held: maintenance window MW-%d", message.key, target,
                     window.id)
            return True
        if known is not None and known.window_id is not None and known.paged_ns is None:
            # The window ended before the minute tick released the held page:
            # send it first, so the page that explains why arrives before this one.
            self._release(known, message.created_ns)
        self._record(message, None, paged=True)
        return self.inner.enqueue(message)

    def __getattr__(self, name: str) -> Any:
        # Code that inspects the engine's sink (the drill report reads the
        # outbox's `deliveries`) sees the sink behind the gate.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def release_held(self, now_ns: int) -> list[str]:
        """Page every held alert whose window has ended and that is still open; return the keys."""
        released = []
        for alert in self.ledger.held_alerts():
            window = self.ledger.window(alert.window_id) if alert.window_id else None
            if window is not None and now_ns < window.end_ns:
                continue
            if self.calendar.is_in_maintenance(alert.target, now_ns):
                continue  # a following window covers it too
            key = self._release(alert, now_ns)
            if key:
                released.append(key)
        return released

    def _release(self, alert: AlertRow, now_ns: int) -> str | None:
        self.ledger.update_alert(alert.key, paged_ns=now_ns)
        stored = self.ledger.held_message(alert.key)
        if not stored:
            return None
        message = _message_from_json(stored)
        message = replace(message, key=f"{message.key}:after-maintenance",
                          title=f"【检修结束仍未恢复】{message.title}",
                          text=f"检修时段已结束，以下告警仍未恢复：\n{message.text}",
                          created_ns=now_ns)
        self.inner.enqueue(message)
        log.warning("alert %s about %s outlived its maintenance window: paged now",
                    alert.key, alert.target)
        return message.key

    def record_ack(self, identity: str, acked_ns: int) -> None:
        """Record when an alert was acknowledged (for acknowledgement times in reports)."""
        self.ledger.update_alert(identity, acked_ns=acked_ns)

    def _acknowledgement(self, message: OutgoingMessage) -> bool:
        identity = alert_identity(message)
        known = self.ledger.alert(identity)
        if known is not None and known.acked_ns is None:
            self.ledger.update_alert(identity, acked_ns=message.created_ns)
        if known is not None and known.window_id is not None and known.paged_ns is None:
            return True
        return self.inner.enqueue(message)

    def _resolution(self, message: OutgoingMessage) -> bool:
        identity = alert_identity(message)
        known = self.ledger.alert(identity)
        if known is not None and known.resolved_ns is None:
            self.ledger.update_alert(identity, resolved_ns=message.created_ns)
        if known is not None and known.window_id is not None and known.paged_ns is None:
            # No one was paged about it, so no one needs its recovery.
            return True
        return self.inner.enqueue(message)

    def _interruption(self, message: OutgoingMessage) -> bool:
        context = message.context
        service = str(context.get("service", ""))
        stage = str(context.get("stage", ""))
        start_ns = int(context.get("start_ns", message.created_ns))  # type: ignore[arg-type]
        source_id = f"{service}:{start_ns}"
        if self.outage is not None:
            if stage == "end":
                self.outage.ended(source_id, message.created_ns)
            else:
                self.outage.started(source_id, service, start_ns, str(context.get("cause", "")),
                                    drill=message.drill)
        if message.drill:
            return self.inner.enqueue(message)

        identity = f"interruption:{source_id}"
        if stage == "end" and self.ledger.alert(identity) is not None:
            self.ledger.update_alert(identity, resolved_ns=message.created_ns)

        row = self.ledger.interruption(source_id)
        if row is not None and row.window_id is not None and row.notices_from_ns is None:
            # Held like a page: if the interruption outlives the window,
            # release_held sends this notice when the window ends.
            if stage != "end":
                self.ledger.record_alert(
                    key=identity, rule="interruption", target=service,
                    severity=message.severity, text=message.title, fired_ns=start_ns,
                    window_id=row.window_id, paged_ns=None, message=_message_to_json(message))
            log.info("interruption notice %s held: inside maintenance window MW-%d",
                     message.key, row.window_id)
            return True
        return self.inner.enqueue(message)

    def _record(self, message: OutgoingMessage, window_id: int | None, paged: bool) -> None:
        if message.kind not in PAGING_KINDS:
            return
        self.ledger.record_alert(
            key=alert_identity(message), rule=str(message.context.get("rule", message.kind)),
            target=str(message.context.get("target", "")), severity=message.severity,
            text=message.title, fired_ns=message.created_ns, window_id=window_id,
            paged_ns=message.created_ns if paged else None, message=_message_to_json(message),
            drill=message.drill)


def alert_identity(message: OutgoingMessage) -> str:
    """Name the alert a message is about: its group when the engine gives one, else its target."""
    group = message.context.get("group_id")
    if group is not None:
        return f"group:{group}"
    return f"target:{message.context.get('target', message.key)}"


def _message_to_json(message: OutgoingMessage) -> str:
    return json.dumps(asdict(message), ensure_ascii=False, default=str)


def _message_from_json(text: str) -> OutgoingMessage:
    data: dict[str, Any] = json.loads(text)
    data["recipients"] = [Recipient(**recipient) for recipient in data["recipients"]]
    return OutgoingMessage(**data)
