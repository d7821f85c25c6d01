"""Maintenance windows and their notices, tied together for the CLI and the agent.

The agent calls `due_notices(now_ns)` once a minute. It refreshes delivery
results and sends the reminders (24 h before by default, and at the start)
and the completion notice at the end. It pages alerts that outlived their
window and sends the bureau's outage notices. It also runs the daily backup
and the monthly report on its day. Every method takes the time as an
argument, so tests drive whole months with a fake clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hotline_monitor.errors import ConfigError
from hotline_monitor.maintenance.calendar import MaintenanceCalendar
from hotline_monitor.maintenance.gate import MaintenanceGate
from hotline_monitor.maintenance.ledger import LEDGER_FILE, Ledger, NoticeRow, WindowRow
from hotline_monitor.maintenance.notices import DeliveryLookup, NoticeSender
from hotline_monitor.maintenance.outage import OutageNotices
from hotline_monitor.maintenance.scope import known_targets
from hotline_monitor.maintenance.timeinput import NS, hours_minutes, local_minutes, notice_shortfall
from hotline_monitor.maintenance.windows import WindowRequest, request_problems, window_context
from hotline_monitor.notify.message import MessageSink, OutgoingMessage, Recipient
from hotline_monitor.reading import Reading
from hotline_monitor.timeutil import format_duration, local_text

log = logging.getLogger(__name__)

ARCHIVE_DIR = "archive"

ScheduledJob = Callable[[int], None]


class MaintenanceService:
    """Windows, notices, the gate and the outage notices over one ledger."""

    def __init__(self, config: Any, sink: MessageSink | None = None,
                 delivery_lookup: DeliveryLookup | None = None,
                 page_sink: MessageSink | None = None) -> None:
        self.config = config
        self.settings = config.maintenance
        self.ledger = Ledger(config.state_dir / LEDGER_FILE)
        self.calendar = MaintenanceCalendar(self.ledger)
        self.archive_dir = config.state_dir / ARCHIVE_DIR
        self.sender = NoticeSender(self.ledger, sink, self.archive_dir, config.bureau,
                                   delivery_lookup)
        self.outage = OutageNotices(self.settings.outage, config.site, self.ledger,
                                    self.calendar, self.sender)
        self.gate = MaintenanceGate(page_sink, self.ledger, self.calendar, self.outage) \
            if page_sink is not None else None
        self.names = known_targets(config)
        self.scheduled_jobs: list[ScheduledJob] = []
        """Extra work run by `due_notices` (the daily backup, the monthly report)."""
        self.readings: list[Reading] = []
        """`maintenance_event` readings produced since the agent last collected them."""
        self.closers: list[Callable[[], None]] = []
        """Called by `close`, for resources opened on the service's behalf (the outbox)."""

    def close(self) -> None:
        for closer in self.closers:
            closer()
        self.ledger.close()

    # Adding, extending and cancelling windows

    def check_request(self, request: WindowRequest, now_ns: int) -> list[str]:
        """Return every Chinese problem with `request`, the notice length included."""
        problems = request_problems(request, self.settings.all_kinds())
        if request.end_ns > request.start_ns:
            shortfall = notice_shortfall(now_ns, request.start_ns, self.settings.notice_hours)
            if shortfall and not request.emergency:
                problems.append(f"检修通知提前量不足：{shortfall}。确属无法预见的紧急工作，"
                                "请加 --emergency --reason 说明原因（将在所有报告中标记为迟报）")
            if request.start_ns <= now_ns and request.emergency:
                problems.append(f"开始时间 {local_minutes(request.start_ns)} 已过，"
                                "紧急检修也须在开始前通知")
        return problems

    def preview(self, request: WindowRequest, now_ns: int) -> OutgoingMessage:
        """Build the formal notice `add` would send, without storing or sending anything."""
        window = self._window_from_request(request, self._next_window_id(), now_ns)
        return self._notice_message(window)

    def add(self, request: WindowRequest, now_ns: int) -> WindowRow:
        """Store the window and send its formal notice at once.

        Raises ConfigError (exit 2) with every problem, before storing anything.
        """
        problems = self.check_request(request, now_ns)
        if not self.config.bureau or not self.config.bureau.has_recipients():
            problems.append("配置中没有 bureau 收件人（email_channel + emails 或 wecom_channel），"
                            "检修通知无法发送；可先用 --dry-run 预览")
        if problems:
            raise ConfigError(problems)

        notice_hours = (request.start_ns - now_ns) / NS / 3600
        with self.ledger.transaction():
            window_id = self.ledger.insert_window(
                kind=request.kind, start_ns=request.start_ns, end_ns=request.end_ns,
                scope=request.scope, description=request.description, impact=request.impact,
                contact=request.contact, emergency=request.emergency, reason=request.reason,
                created_ns=now_ns)
            self.ledger.update_window(window_id, notice_ns=now_ns, notice_hours=notice_hours)
        window = self._window(window_id)
        self.sender.send(self._notice_message(window), "maintenance_notice", now_ns,
                         window_id=window_id)
        self._event(window, "scheduled", now_ns)
        log.info("maintenance window MW-%d added: %s, %s to %s, scope %s, %.1f h notice%s",
                 window_id, window.kind, local_text(window.start_ns), local_text(window.end_ns),
                 ",".join(window.scope), notice_hours, " (emergency)" if window.emergency else "")
        return window

    def extend(self, window_id: int, end_ns: int, reason: str, now_ns: int) -> WindowRow:
        window = self._open_window(window_id, now_ns)
        problems = []
        if end_ns <= window.end_ns:
            problems.append(f"新的结束时间 {local_minutes(end_ns)} 必须晚于当前结束时间 "
                            f"{local_minutes(window.end_ns)}")
        if not reason.strip():
            problems.append("延期必须用 --reason 说明原因")
        if problems:
            raise ConfigError(problems)
        previous_end = window.end_ns
        self.ledger.update_window(window_id, end_ns=end_ns)
        window = self._window(window_id)
        extensions = sum(1 for notice in self.ledger.notices(window_id=window_id)
                         if notice.kind == "maintenance_extend")
        self._send_window_notice(window, f"extend:{extensions + 1}", "maintenance_extend", now_ns,
                                 previous_end=local_minutes(previous_end), reason=reason)
        return window

    def cancel(self, window_id: int, reason: str, now_ns: int) -> WindowRow:
        window = self._open_window(window_id, now_ns)
        if window.state == "active":
            raise ConfigError([f"MW-{window_id} 已开始，不能取消；请用 maint extend 调整，"
                               "或等其按时结束"])
        if not reason.strip():
            raise ConfigError(["取消必须用 --reason 说明原因"])
        self.ledger.update_window(window_id, state="cancelled")
        window = self._window(window_id)
        self._send_window_notice(window, "cancel", "maintenance_cancel", now_ns, reason=reason)
        self._event(window, "cancelled", now_ns)
        return window

    # The scheduler's minute tick

    def due_notices(self, now_ns: int) -> list[str]:
        """Send everything due at `now_ns`; return the keys of the messages sent."""
        self.sender.refresh_results(now_ns)
        sent: list[str] = []
        for window in self.ledger.open_windows():
            sent += self._window_due(window, now_ns)
        if self.gate is not None:
            sent += self.gate.release_held(now_ns)
        sent += self.outage.due(now_ns)
        for job in self.scheduled_jobs:
            try:
                job(now_ns)
            except Exception:  # noqa: BLE001 - one failing job must not stop the notices
                log.exception("scheduled job %s failed", getattr(job, "__name__", job))
        return sent

    def _window_due(self, window: WindowRow, now_ns: int) -> list[str]:
        sent: list[str] = []
        reminder_ns = window.start_ns - int(self.settings.reminder_before * NS)
        notice_ns = window.notice_ns if window.notice_ns is not None else window.created_ns
        if reminder_ns <= now_ns < window.start_ns and notice_ns < reminder_ns:
            lead = hours_minutes(max(0, (window.start_ns - now_ns) // (60 * NS)))
            sent += self._send_window_notice(window, "remind", "maintenance_reminder", now_ns,
                                             lead_text=lead)
            sent += self._warn_undelivered(window, now_ns)
        if now_ns >= window.start_ns and window.state == "scheduled":
            sent += self._start(window, now_ns)
        if now_ns >= window.end_ns:
            sent += self._complete(self._window(window.id), now_ns)
        return sent

    def _formal_notice(self, window: WindowRow) -> NoticeRow | None:
        return next((notice for notice in self.ledger.notices(window_id=window.id)
                     if notice.kind == "maintenance_notice"), None)

    def _warn_undelivered(self, window: WindowRow, now_ns: int) -> list[str]:
        """Tell the operator, at reminder time, that the formal notice has not arrived yet."""
        operators = getattr(getattr(self.config, "notify", None), "operator", [])
        sink = self.sender.sink
        if self.sender.is_delivered(self._formal_notice(window)) or not operators or sink is None:
            return []
        key = f"maint:{window.id}:undelivered"
        lead = hours_minutes(max(0, (window.start_ns - now_ns) // (60 * NS)))
        message = OutgoingMessage(
            key=key, kind="operator", severity="warning",
            title=f"检修 MW-{window.id} 的检修通知尚未送达大数据局",
            text=(f"MW-{window.id}（{window.kind}）将于 {local_minutes(window.start_ns)} 开始，"
                  f"距今约 {lead}，但检修通知仍未确认送达。请检查邮件和企业微信通道，"
                  "或用 maint show 查看发送结果；开始时仍未送达将记为违规。"),
            recipients=[Recipient(item.channel, item.address) for item in operators],
            created_ns=now_ns)
        log.error("maintenance window MW-%d starts in %s but its notice is not delivered",
                  window.id, lead)
        return [key] if sink.enqueue(message) else []

    def _start(self, window: WindowRow, now_ns: int) -> list[str]:
        violation = ""
        if not self.sender.is_delivered(self._formal_notice(window)):
            violation = "检修开始时，检修通知尚未确认送达" + (self.config.bureau.name
                                                if self.config.bureau else "市大数据局")
            log.error("maintenance window MW-%d starts but its notice was not delivered",
                      window.id)
        self.ledger.update_window(window.id, state="active", violation=violation)
        window = self._window(window.id)
        self._event(window, "active", now_ns)
        return self._send_window_notice(window, "start", "maintenance_start", now_ns,
                                        violation=violation)

    def _complete(self, window: WindowRow, now_ns: int) -> list[str]:
        self.ledger.update_window(window.id, state="completed")
        window = self._window(window.id)
        self._event(window, "completed", now_ns)
        alerts = [{"time": local_text(alert.fired_ns), "target": alert.target, "text": alert.text,
                   "open": alert.resolved_ns is None}
                  for alert in self.ledger.alerts_in_window(window.id) if not alert.drill]
        interruptions = [
            {"start": local_text(row.start_ns),
             "end": local_text(row.end_ns) if row.end_ns else "检修结束时仍未恢复",
             "cause": row.cause}
            for row in self.ledger.interruptions(window.start_ns, window.end_ns)
            if row.window_id == window.id and not row.drill]
        return self._send_window_notice(window, "complete", "maintenance_completion", now_ns,
                                        alerts=alerts, interruptions=interruptions)

    # UPS on battery, from readings

    def observe(self, readings: list[Reading]) -> None:
        """Record UPS on-battery events (start, end, lowest runtime) from `ups` readings."""
        for reading in readings:
            if reading.measurement != "ups" or "on_battery" not in reading.fields:
                continue
            ups = reading.tags.get("ups", "")
            drill = reading.tags.get("drill") == "1"
            runtime = reading.fields.get("runtime_s")
            current = self.ledger.open_battery_event(ups)
            if reading.fields["on_battery"] == 1.0:
                if current is None:
                    self.ledger.record_battery_start(ups, reading.time_ns, runtime, drill)
                elif runtime is not None and (current.min_runtime_s is None
                                              or runtime < current.min_runtime_s):
                    self.ledger.update_battery(current.id, min_runtime_s=runtime)
            elif current is not None:
                self.ledger.update_battery(current.id, end_ns=reading.time_ns)

    # Helpers

    def _send_window_notice(self, window: WindowRow, stage: str, template: str, now_ns: int,
                            **extra: Any) -> list[str]:
        key = f"maint:{window.id}:{stage}"
        if self.ledger.has_notice(key):
            return []
        context = {"site": self.config.site, "window": window_context(window, self.names),
                   "notice_hours": _hours_text(self.settings.notice_hours), **extra}
        message = self.sender.build(key, template, template, context)
        sent = self.sender.send(message, template, now_ns, window_id=window.id)
        return [key] if sent else []

    def _notice_message(self, window: WindowRow) -> OutgoingMessage:
        context = {"site": self.config.site, "window": window_context(window, self.names),
                   "notice_hours": _hours_text(self.settings.notice_hours),
                   "reminder_text": format_duration(self.settings.reminder_before)}
        return self.sender.build(f"maint:{window.id}:notice", "maintenance_notice",
                                 "maintenance_notice", context)

    def _window_from_request(self, request: WindowRequest, window_id: int,
                             now_ns: int) -> WindowRow:
        return WindowRow(window_id, request.kind, request.start_ns, request.end_ns,
                         request.end_ns, list(request.scope), request.description,
                         request.impact, request.contact, "scheduled", request.emergency,
                         request.reason, now_ns, now_ns,
                         (request.start_ns - now_ns) / NS / 3600, "")

    def _next_window_id(self) -> int:
        return max((window.id for window in self.ledger.windows()), default=0) + 1

    def _window(self, window_id: int) -> WindowRow:
        window = self.ledger.window(window_id)
        if window is None:
            raise ConfigError([f"检修编号 MW-{window_id} 不存在；用 maint list 查看已有的检修"])
        return window

    def _open_window(self, window_id: int, now_ns: int) -> WindowRow:
        window = self._window(window_id)
        if window.state in ("completed", "cancelled") or now_ns >= window.end_ns:
            raise ConfigError([f"MW-{window_id} 已结束或已取消，不能再修改"])
        return window

    def _event(self, window: WindowRow, state: str, now_ns: int) -> None:
        self.readings.append(Reading(
            "maintenance_event", {"site": self.config.site, "kind": window.kind},
            {"state": state, "title": f"MW-{window.id} {window.description}",
             "scope": ",".join(window.scope)}, now_ns))


def _hours_text(hours: float) -> str:
    return f"{hours:g}"

