"""Turns the stored alert groups into messages: first page, escalation, repeats, recovery.

Every message's key is derived from the stored state (group id, step number,
repeat number), and a message is recorded in `notifications` only after the
sink accepted it. After a restart the same state gives the same keys: a
message already recorded is skipped, one that was due but not recorded is
enqueued again, and the sink drops it if it had already stored that key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime

from hotline_monitor.alerting.config import SEVERITY_RANK, AlertingConfig
from hotline_monitor.alerting.links import ack_link
from hotline_monitor.alerting.oncall import AddressKind, OncallConfig, recipients_for
from hotline_monitor.alerting.store import AlertRow, AlertStore, GroupRow
from hotline_monitor.alerting.texts import alert_line, severity_name
from hotline_monitor.notify.message import MessageSink, OutgoingMessage, Recipient
from hotline_monitor.timeutil import format_duration, local_text

log = logging.getLogger(__name__)

NS = 1_000_000_000
CLOSED_STATES = ("resolved", "withdrawn")


class Dispatcher:
    """Sends what the alert groups in the store call for at a given moment."""

    def __init__(self, store: AlertStore, sink: MessageSink, alerting: AlertingConfig,
                 oncall: OncallConfig, public_url: str | None,
                 display_name: Callable[[str], str]) -> None:
        self.store = store
        self.sink = sink
        self.alerting = alerting
        self.oncall = oncall
        self.public_url = public_url
        self.display_name = display_name
        self.address_kinds: dict[str, AddressKind] | None = None
        """Set by the engine from the `channels` section; None: `oncall.channel_address`."""

    def run(self, now_ns: int, targets: set[str] | None = None) -> int:
        """Send every message due at `now_ns`; return how many were handed to the sink.

        With `targets`, only the groups of those targets are looked at: a batch
        of readings changes nothing else, and the tick covers the rest.
        """
        sent = 0
        for group in self.store.open_groups():
            if targets is None or group.target in targets:
                sent += self._run_group(group, now_ns)
        return sent

    def _run_group(self, group: GroupRow, now_ns: int) -> int:
        alerts = [alert for alert in self.store.group_alerts(group.id) if alert.state != "pending"]
        open_alerts = [alert for alert in alerts if alert.state not in CLOSED_STATES]
        silenced = self.store.silence_for(group.target, now_ns) is not None
        sent = 0

        if not silenced:
            sent += self._announce_new(group, alerts, now_ns)
            group = self.store.group(group.id) or group
            sent += self._flapping_notices(group, alerts, now_ns)
            if group.first_sent_ns is not None and group.acked_ns is None and open_alerts:
                sent += self._escalate(group, open_alerts, now_ns)
                sent += self._repeat(group, open_alerts, now_ns)
            if group.acked_ns is not None and group.first_sent_ns is not None:
                sent += self._ack_notice(group, now_ns)

        if not open_alerts:
            if group.first_sent_ns is not None:
                sent += self._recover(group, alerts, now_ns)
            self.store.update_group(group.id, closed_ns=now_ns)
        return sent

    # The first page and later additions to the group

    def _announce_new(self, group: GroupRow, alerts: list[AlertRow], now_ns: int) -> int:
        new = [alert for alert in alerts if not alert.announced and alert.state not in CLOSED_STATES]
        if not new or now_ns < group.opened_ns + self.alerting.group_wait * NS:
            return 0

        first = group.first_sent_ns is None
        severity = _max_severity(new)
        if first:
            recipients = self._step_recipients(severity, 0, now_ns)
        else:
            recipients = self._reached_recipients(group, _max_severity(alerts), now_ns)
        name = self.display_name(group.target)
        heading = "告警" if first else "新增告警"
        title = f"【{severity_name(severity)}】{name}：{heading} {len(new)} 项（#{group.id}）"
        lines = [alert_line(a.severity, a.summary, a.state, a.fired_ns) for a in new]
        text = "\n".join([*lines, *self._footer(group, now_ns)])
        key = f"group:{group.id}:alert:{max(alert.id for alert in new)}"
        # The record of the message and the marks it sets commit together, so
        # the escalation clock starts from the moment the page was handed over.
        with self.store.transaction():
            sent = self._send(key, group.id, "alert", severity, title, text, recipients, now_ns,
                              _changes(new, "firing"))
            for alert in new:
                self.store.update_alert(alert.id, announced=1)
            if first:
                self.store.update_group(group.id, first_sent_ns=now_ns)
        return sent

    def _flapping_notices(self, group: GroupRow, alerts: list[AlertRow], now_ns: int) -> int:
        sent = 0
        for alert in alerts:
            if not alert.flapping or alert.state == "resolved":
                continue
            flapping = self.alerting.flapping
            title = f"【告警抖动】{self.display_name(group.target)}：{alert.summary}"
            text = (f"该告警在 {format_duration(flapping.window)} 内状态变化达 {flapping.changes} 次，"
                    f"已保持为告警状态并暂停通知，状态稳定 {format_duration(flapping.quiet)} 后自动解除。"
                    f"请检查设备或调整规则阈值。（#{group.id}）")
            recipients = self._step_recipients(alert.severity, 0, now_ns)
            sent += self._send(f"alert:{alert.id}:flapping", group.id, "alert", alert.severity,
                               title, text, recipients, now_ns, _changes([alert], "flapping"))
        return sent

    # Escalation and repeats, which both stop on acknowledgement

    def _escalate(self, group: GroupRow, open_alerts: list[AlertRow], now_ns: int) -> int:
        assert group.first_sent_ns is not None
        severity = _max_severity(open_alerts)
        steps = self.oncall.steps_for(severity)
        sent = 0
        for index, step in enumerate(steps[1:], start=1):
            if now_ns < group.first_sent_ns + int(step.after * NS):
                break
            waited = format_duration(step.after)
            title = (f"【升级·{severity_name(severity)}】{self.display_name(group.target)}："
                     f"{waited}未确认（#{group.id}）")
            lines = [alert_line(a.severity, a.summary, a.state, a.fired_ns) for a in open_alerts]
            text = "\n".join([f"第 {index + 1} 级通知：告警已 {waited} 无人确认。", *lines,
                              *self._footer(group, now_ns)])
            recipients = self._step_recipients(severity, index, now_ns)
            sent += self._send(f"group:{group.id}:step:{index}", group.id, "escalation", severity,
                               title, text, recipients, now_ns)
        return sent

    def _repeat(self, group: GroupRow, open_alerts: list[AlertRow], now_ns: int) -> int:
        assert group.first_sent_ns is not None
        interval = self.alerting.repeat_interval * NS
        number = int((now_ns - group.first_sent_ns) // interval)
        severity = _max_severity(open_alerts)
        if number < 1 or severity == "info":
            return 0
        elapsed = format_duration((now_ns - group.first_sent_ns) / NS)
        title = f"【重复提醒·{severity_name(severity)}】{self.display_name(group.target)}：已 {elapsed} 未确认（#{group.id}）"
        lines = [alert_line(a.severity, a.summary, a.state, a.fired_ns) for a in open_alerts]
        text = "\n".join([*lines, *self._footer(group, now_ns)])
        recipients = self._reached_recipients(group, severity, now_ns)
        return self._send(f"group:{group.id}:repeat:{number}", group.id, "repeat", severity, title,
                          text, recipients, now_ns)

    def _ack_notice(self, group: GroupRow, now_ns: int) -> int:
        key = f"group:{group.id}:ack"
        if self.store.notified(key):
            return 0
        title = f"【已确认】{self.display_name(group.target)}（#{group.id}）"
        text = f"{group.acked_by or '值班人员'} 于 {local_text(group.acked_ns or now_ns)} 确认，停止升级通知。"
        return self._send(key, group.id, "escalation", "info", title, text,
                          self._notified_recipients(group), now_ns)

    # Recovery

    def _recover(self, group: GroupRow, alerts: list[AlertRow], now_ns: int) -> int:
        # A withdrawn alert was a false alarm, and its retraction replaces the recovery.
        announced = [alert for alert in alerts if alert.announced and alert.state == "resolved"]
        if not announced:
            return 0
        started = min(alert.fired_ns or group.opened_ns for alert in announced)
        ended = max(alert.resolved_ns or now_ns for alert in announced)
        duration = format_duration((ended - started) / NS)
        title = f"【恢复】{self.display_name(group.target)}：已全部恢复，持续 {duration}（#{group.id}）"
        lines = [alert_line(a.severity, a.summary, a.state, a.fired_ns, a.resolved_ns)
                 for a in announced]
        text = "\n".join([f"{local_text(started)} 至 {local_text(ended)}", *lines])
        return self._send(f"group:{group.id}:recovery", group.id, "recovery", "info", title, text,
                          self._notified_recipients(group), now_ns, _changes(announced, "resolved"))

    def withdraw(self, alert: AlertRow, reason: str, now_ns: int) -> int:
        """Tell those who were paged that an alert was a false alarm; no recovery follows."""
        if not alert.announced or alert.group_id is None:
            return 0
        group = self.store.group(alert.group_id)
        if group is None:
            return 0
        title = f"【撤回】{self.display_name(group.target)}：{alert.summary}（#{group.id}）"
        return self._send(f"alert:{alert.id}:withdrawn", group.id, "recovery", "info", title,
                          reason, self._notified_recipients(group), now_ns,
                          _changes([alert], "withdrawn"))

    # Recipients, footer and sending

    def _step_recipients(self, severity: str, index: int, now_ns: int) -> list[Recipient]:
        steps = self.oncall.steps_for(severity)
        step = steps[min(index, len(steps) - 1)]
        return recipients_for(self.oncall, step.to, step.channels, _moment(now_ns),
                              self.address_kinds)

    def _reached_recipients(self, group: GroupRow, severity: str, now_ns: int) -> list[Recipient]:
        """Return the recipients of every escalation step reached so far."""
        steps = self.oncall.steps_for(severity)
        first = group.first_sent_ns or now_ns
        recipients: list[Recipient] = []
        for index, step in enumerate(steps):
            if index and now_ns < first + int(step.after * NS):
                break
            for recipient in self._step_recipients(severity, index, now_ns):
                if recipient not in recipients:
                    recipients.append(recipient)
        return recipients

    def _notified_recipients(self, group: GroupRow) -> list[Recipient]:
        recipients: list[Recipient] = []
        for notification in self.store.notifications(group.id):
            for item in json.loads(notification["recipients"]):
                recipient = Recipient(**item)
                if recipient not in recipients:
                    recipients.append(recipient)
        return recipients or [Recipient("console")]

    def _footer(self, group: GroupRow, now_ns: int) -> list[str]:
        if not self.alerting.ack_hints:
            return ["本条为演练消息，无需确认。"]
        lines = [f"确认：hotline-monitor alerts ack {group.id}"]
        secret = self.alerting.ack_secret
        if self.public_url and secret:
            expires = int(now_ns / NS + self.alerting.ack_link_ttl)
            lines.append(f"或打开链接确认：{ack_link(self.public_url, secret, group.id, expires)}")
        return lines

    def _send(self, key: str, group_id: int | None, kind: str, severity: str, title: str,
              text: str, recipients: list[Recipient], now_ns: int,
              changes: list[dict[str, str]] | None = None) -> int:
        context: dict[str, object] = {"alerts": changes or []}
        if group_id is not None:
            group = self.store.group(group_id)
            target = group.target if group else ""
            context.update(group_id=group_id, target=target, target_name=self.display_name(target))
        return send_once(self.store, self.sink, key, group_id, kind, severity, title, text,
                         recipients, now_ns, context)


def send_once(store: AlertStore, sink: MessageSink, key: str, group_id: int | None, kind: str,
              severity: str, title: str, text: str, recipients: list[Recipient],
              now_ns: int, context: dict[str, object] | None = None) -> int:
    """Hand a message to the sink unless its key is recorded; record it after the sink took it."""
    if store.notified(key):
        return 0
    message = OutgoingMessage(key=key, kind=kind, severity=severity, title=title, text=text,
                              recipients=recipients, context=dict(context or {}),
                              created_ns=now_ns)
    accepted = sink.enqueue(message)
    if not accepted:
        log.info("message %s was already enqueued before a restart; recording it", key)
    store.record_notification(key, group_id, kind, now_ns,
                              [asdict(recipient) for recipient in recipients], title, text)
    return 1 if accepted else 0


def _changes(alerts: list[AlertRow], state: str) -> list[dict[str, str]]:
    """List the alerts whose state a message announces, for templates and the alert log."""
    return [{"rule": alert.rule, "target": alert.target, "state": state} for alert in alerts]


def _max_severity(alerts: list[AlertRow]) -> str:
    return max((alert.severity for alert in alerts), key=lambda s: SEVERITY_RANK.get(s, 0))


def _moment(now_ns: int) -> datetime:
    return datetime.fromtimestamp(now_ns / NS, UTC)
