"""Alerts about the spool itself: full (readings dropped) and quarantined points."""

from __future__ import annotations

import logging
import time

from hotline_monitor.agent.spool import Spool
from hotline_monitor.alerting.notify import AlertLog, AlertMessage
from hotline_monitor.reading import now_ns

log = logging.getLogger(__name__)

# The "spool full" alert resolves once the backlog is under this share of the bound.
RESOLVE_BELOW = 0.5
# At most one quarantine warning per this many seconds; the count covers the gap.
QUARANTINE_ALERT_EVERY_S = 600.0


def _mebibytes(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"


class SpoolAlerts:
    def __init__(self, spool: Spool, alert_log: AlertLog, agent_id: str) -> None:
        self.spool = spool
        self.alert_log = alert_log
        self.agent_id = agent_id
        self.full_since_ns: int | None = None
        self._quarantined_unreported = 0
        self._last_quarantine_alert = -QUARANTINE_ALERT_EVERY_S

    def dropped(self, count: int) -> None:
        """Record that the bound dropped `count` oldest rows: alert once, log every drop."""
        log.error("spool full (%s, %d rows): dropped the %d oldest readings, %d in total",
                  _mebibytes(self.spool.bytes), self.spool.rows, count, self.spool.dropped)
        if self.full_since_ns is not None:
            return
        self.full_since_ns = now_ns()
        text = (f"采集代理 {self.agent_id} 的数据缓存已满（上限 {_mebibytes(self.spool.max_bytes)}），"
                f"正在丢弃最早的读数，累计已丢弃 {self.spool.dropped} 条。"
                f"请尽快恢复 InfluxDB 或 MQTT 连接，或调大 spool.max_bytes")
        self.alert_log.send(AlertMessage("spool_full", self.agent_id, "critical", "firing", text,
                                         self.full_since_ns))

    def check_resolved(self) -> None:
        if self.full_since_ns is None:
            return
        bound_used = self.spool.bytes / self.spool.max_bytes
        if self.spool.max_rows:
            bound_used = max(bound_used, self.spool.rows / self.spool.max_rows)
        if bound_used >= RESOLVE_BELOW:
            return
        time_ns = now_ns()
        duration = (time_ns - self.full_since_ns) / 1e9
        text = (f"采集代理 {self.agent_id} 的数据缓存已回落到上限的 {RESOLVE_BELOW:.0%} 以下，"
                f"不再丢弃读数；累计丢弃 {self.spool.dropped} 条")
        self.alert_log.send(AlertMessage("spool_full", self.agent_id, "critical", "resolved",
                                         text, time_ns, duration))
        self.full_since_ns = None

    def quarantined(self, count: int, message: str) -> None:
        self._quarantined_unreported += count
        if time.monotonic() - self._last_quarantine_alert < QUARANTINE_ALERT_EVERY_S:
            return
        self._last_quarantine_alert = time.monotonic()
        text = (f"数据库拒收了 {self._quarantined_unreported} 条读数，已移入缓存的隔离区"
                f"（用 hotline-monitor spool status 查看）。数据库的原因：{message[:300]}")
        self._quarantined_unreported = 0
        self.alert_log.send(AlertMessage("spool_quarantine", self.agent_id, "warning", "firing",
                                         text, now_ns()))
