"""The interruption clock: when the hotline's telephony counts as interrupted, and for how long.

The site defines "interrupted" as conditions over readings (every SIP trunk
down, the UPS output off, a named target unreachable). The clock keeps the
latest value of each series those conditions read; it never polls. While the
hotline is interrupted it sends notices at the start, at +10, +20 and +25
minutes (the last says the 30-minute limit is five minutes away), records a
breach at +30, and stores each interruption with its start, end, cause and
whether it fell inside an announced maintenance window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from hotline_monitor.alerting.config import InterruptionConfig
from hotline_monitor.alerting.dispatch import NS, send_once
from hotline_monitor.alerting.interruption_conditions import ConditionState
from hotline_monitor.alerting.oncall import AddressKind, OncallConfig, recipients_for
from hotline_monitor.alerting.store import AlertStore, InterruptionRow
from hotline_monitor.notify.message import MessageSink
from hotline_monitor.reading import Reading
from hotline_monitor.timeutil import format_duration, local_text

log = logging.getLogger(__name__)

MaintenanceCheck = Callable[[str, datetime], bool]


def never_in_maintenance(target: str, moment: datetime) -> bool:
    """Default maintenance hook until maintenance windows exist: nothing is in maintenance."""
    return False


class InterruptionClock:
    """Follows the site's definition of "interrupted" and times each interruption."""

    def __init__(self, config: InterruptionConfig, site: str, store: AlertStore,
                 sink: MessageSink, oncall: OncallConfig,
                 is_in_maintenance: MaintenanceCheck = never_in_maintenance) -> None:
        self.config = config
        self.site = site
        self.store = store
        self.sink = sink
        self.oncall = oncall
        self.is_in_maintenance = is_in_maintenance
        self.address_kinds: dict[str, AddressKind] | None = None
        self.conditions = [ConditionState(condition) for condition in config.conditions]
        self.measurements = {condition.measurement for condition in config.conditions}
        # The open interruption, kept in memory so that a batch of readings
        # costs no query. Every change to it goes through this class.
        self.current = store.open_interruption(config.service)

    def observe(self, readings: list[Reading], now_ns: int) -> list[Reading]:
        """Take the readings the conditions read; return `service` readings to store."""
        relevant = False
        for reading in readings:
            if reading.measurement not in self.measurements:
                continue
            for condition in self.conditions:
                relevant |= condition.observe(reading)
        if not relevant:
            return []
        return self.evaluate(now_ns)

    def evaluate(self, now_ns: int) -> list[Reading]:
        """Start or end the interruption as the conditions say; send what is due."""
        causes = [c.config.cause for c in self.conditions if c.holds()]
        known = any(c.known() for c in self.conditions)
        if self.config.combine == "all":
            interrupted = bool(causes) and len(causes) == len(self.conditions)
        else:
            interrupted = bool(causes)
        current = self.current

        if interrupted and current is None:
            current = self._start(causes, now_ns)
        elif not interrupted and current is not None and self._causes_known(current):
            self._end(current, now_ns)
            return [self._service_reading(True, 0.0, now_ns)]
        if current is None:
            return [self._service_reading(True, 0.0, now_ns)] if known else []

        self.tick(now_ns)
        return [self._service_reading(False, (now_ns - current.start_ns) / NS, now_ns)]

    def _causes_known(self, current: InterruptionRow) -> bool:
        # After a restart the latest values are gone: an interruption ends only
        # once every condition that caused it has been read again.
        causes = set(current.cause.split("；"))
        return all(c.known() for c in self.conditions if c.config.cause in causes)

    def tick(self, now_ns: int) -> None:
        """Send the +10, +20, +25 minute notices and record the breach when due."""
        current = self.current
        if current is None:
            return
        elapsed = (now_ns - current.start_ns) / NS
        for offset in self.config.notices_at:
            if elapsed >= offset:
                self._progress_notice(current, offset, now_ns)
        if elapsed >= self.config.limit and not current.breach:
            self.store.update_interruption(current.id, breach=1)
            self.current = current = self.store.open_interruption(self.config.service) or current
            log.error("service %s interrupted for %.0f s: the %s limit is breached",
                      self.config.service, elapsed, format_duration(self.config.limit))
            self._notify(current, "breach", "emergency",
                         f"【超时】热线通信中断已达 {format_duration(self.config.limit)}",
                         f"中断自 {local_text(current.start_ns)} 起，原因：{current.cause}。"
                         f"已超过合同规定的 {format_duration(self.config.limit)} 上限，已记录为超时。",
                         now_ns)

    def _start(self, causes: list[str], now_ns: int) -> InterruptionRow:
        cause = "；".join(causes)
        moment = datetime.fromtimestamp(now_ns / NS, UTC)
        maintenance = self.is_in_maintenance(self.config.service, moment)
        interruption_id = self.store.start_interruption(self.config.service, now_ns, cause,
                                                         maintenance)
        log.warning("service %s interrupted: %s", self.config.service, cause)
        row = self.current = self.store.open_interruption(self.config.service)
        assert row is not None and row.id == interruption_id
        note = "（在已公告的维护时段内）" if maintenance else ""
        self._notify(row, "start", "emergency", "【紧急】热线通信中断",
                     f"{local_text(now_ns)} 起热线通信中断{note}，原因：{cause}。"
                     f"距 {format_duration(self.config.limit)} 上限还有 "
                     f"{format_duration(self.config.limit)}，请立即处理。", now_ns)
        return row

    def _end(self, current: InterruptionRow, now_ns: int) -> None:
        self.store.update_interruption(current.id, end_ns=now_ns)
        self.current = None
        duration = format_duration((now_ns - current.start_ns) / NS)
        log.info("service %s restored after %s", self.config.service, duration)
        breach = "，已超过时限并记录为超时" if current.breach else ""
        self._notify(current, "end", "info", "【恢复】热线通信已恢复",
                     f"中断 {local_text(current.start_ns)} 至 {local_text(now_ns)}，"
                     f"持续 {duration}{breach}。原因：{current.cause}。", now_ns)

    def _progress_notice(self, current: InterruptionRow, offset: float, now_ns: int) -> None:
        left = self.config.limit - offset
        minutes = format_duration(offset)
        if left <= 300:
            text = (f"热线通信已中断 {minutes}，距 {format_duration(self.config.limit)} 上限"
                    f"仅剩 {format_duration(left)}！原因：{current.cause}。")
        else:
            text = (f"热线通信已中断 {minutes}，距 {format_duration(self.config.limit)} 上限"
                    f"还有 {format_duration(left)}。原因：{current.cause}。")
        self._notify(current, f"{int(offset)}", "emergency", f"【紧急】热线通信中断 {minutes}",
                     text, now_ns)

    def _notify(self, current: InterruptionRow, stage: str, severity: str, title: str, text: str,
                now_ns: int) -> None:
        moment = datetime.fromtimestamp(now_ns / NS, UTC)
        recipients = recipients_for(self.oncall, self.config.recipients, self.config.channels,
                                    moment, self.address_kinds)
        context = {"service": self.config.service, "stage": stage, "start_ns": current.start_ns,
                   "cause": current.cause, "in_maintenance": bool(current.in_maintenance)}
        send_once(self.store, self.sink, f"interruption:{current.id}:{stage}", None,
                  "interruption", severity, title, text, recipients, now_ns, context)

    def _service_reading(self, up: bool, interruption_s: float, now_ns: int) -> Reading:
        return Reading("service", {"site": self.site, "service": self.config.service},
                       {"up": 1.0 if up else 0.0, "interruption_s": interruption_s}, now_ns)
