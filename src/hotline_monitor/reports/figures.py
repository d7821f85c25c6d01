"""The figures of one report period, worked out from the SLA ledger.

Counting rules:
- An interruption that begins inside a maintenance window covering it is
  listed apart and not counted. If it outlives the window, the part after
  the window's end counts, as one interruption starting at that end.
- Downtime is clipped to the period, so an interruption across midnight of
  the month's end counts in each month for its own part. Its full counted
  duration is what is compared with the 30-minute limit.
- Availability = 1 − downtime / seconds in the period.
- Rows marked as drills are listed apart and counted nowhere else.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime

from hotline_monitor.maintenance.ledger import (
    AlertRow,
    BatteryRow,
    InterruptionRow,
    Ledger,
    NoticeRow,
    WindowRow,
)
from hotline_monitor.maintenance.timeinput import NS
from hotline_monitor.timeutil import SHANGHAI


@dataclass(frozen=True, slots=True)
class Period:
    """A report period in Asia/Shanghai calendar terms, with its UTC bounds."""

    kind: str
    """`monthly` or `yearly`."""
    label: str
    """"2026-11" or "2026"."""
    start_ns: int
    end_ns: int

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / NS

    @property
    def title(self) -> str:
        if self.kind == "monthly":
            year, month = self.label.split("-")
            return f"{year} 年 {int(month)} 月"
        return f"{self.label} 年"


def month_period(label: str) -> Period:
    """Return the period of "YYYY-MM"; raise ValueError with a Chinese message otherwise."""
    try:
        first = datetime.strptime(label, "%Y-%m").replace(tzinfo=SHANGHAI)
    except ValueError:
        raise ValueError(f"--month 格式无效：{label!r}，应写作 2026-11") from None
    following = first.replace(year=first.year + 1, month=1) if first.month == 12 \
        else first.replace(month=first.month + 1)
    return Period("monthly", label, _ns(first), _ns(following))


def year_period(label: str) -> Period:
    try:
        first = datetime.strptime(label, "%Y").replace(tzinfo=SHANGHAI)
    except ValueError:
        raise ValueError(f"--year 格式无效：{label!r}，应写作 2026") from None
    return Period("yearly", label, _ns(first), _ns(first.replace(year=first.year + 1)))


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * NS


@dataclass(frozen=True, slots=True)
class CountedInterruption:
    row: InterruptionRow
    counted_start_ns: int | None
    """None when it ended inside its window: listed apart, not counted."""
    counted_end_ns: int | None
    duration_s: float
    """Full counted duration (to the end, or to the period's end while still open)."""
    downtime_s: float
    """The part of the counted duration inside the period."""
    breach: bool


@dataclass(frozen=True, slots=True)
class WindowFigures:
    row: WindowRow
    notice_hours: float | None
    enough_notice: bool


@dataclass
class ReportFigures:
    period: Period
    limit_s: float
    notice_hours: float
    interruptions: list[CountedInterruption] = field(default_factory=list)
    in_window: list[CountedInterruption] = field(default_factory=list)
    battery: list[BatteryRow] = field(default_factory=list)
    windows: list[WindowFigures] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    notices: list[NoticeRow] = field(default_factory=list)
    drills: list[str] = field(default_factory=list)
    until_ns: int | None = None
    """The report's "now": an event still open counts up to here, never into the future."""

    @property
    def downtime_s(self) -> float:
        return sum(item.downtime_s for item in self.interruptions)

    @property
    def availability(self) -> float:
        return 1.0 - self.downtime_s / self.period.seconds

    @property
    def longest(self) -> CountedInterruption | None:
        return max(self.interruptions, key=lambda item: item.duration_s, default=None)

    @property
    def breaches(self) -> list[CountedInterruption]:
        return [item for item in self.interruptions if item.breach]

    @property
    def late_windows(self) -> list[WindowFigures]:
        return [item for item in self.windows if not item.enough_notice]

    @property
    def ack_seconds(self) -> list[float]:
        return [(alert.acked_ns - alert.fired_ns) / NS for alert in self.alerts
                if alert.acked_ns is not None]

    @property
    def ack_median_s(self) -> float | None:
        values = self.ack_seconds
        return statistics.median(values) if values else None

    @property
    def ack_max_s(self) -> float | None:
        values = self.ack_seconds
        return max(values) if values else None

    def alert_counts(self) -> dict[str, int]:
        counts = {"emergency": 0, "critical": 0, "warning": 0, "info": 0}
        for alert in self.alerts:
            counts[alert.severity] = counts.get(alert.severity, 0) + 1
        return counts

    def battery_seconds(self, event: BatteryRow) -> float:
        until = self.period.end_ns if self.until_ns is None else min(self.period.end_ns, self.until_ns)
        end = event.end_ns if event.end_ns is not None else until
        return max(0.0, (min(end, until) - max(event.start_ns, self.period.start_ns)) / NS)


def compute(ledger: Ledger, period: Period, limit_s: float, notice_hours: float,
            now_ns: int) -> ReportFigures:
    """Work out the figures of `period` from the ledger, as of `now_ns`."""
    figures = ReportFigures(period, limit_s, notice_hours)
    until = min(period.end_ns, now_ns)
    figures.until_ns = until

    for row in ledger.interruptions(period.start_ns, period.end_ns):
        if row.drill:
            figures.drills.append(f"演练中断 {row.cause}")
            continue
        counted = _count(row, period, until, limit_s)
        if counted.counted_start_ns is None:
            figures.in_window.append(counted)
        else:
            if row.window_id is not None:
                figures.in_window.append(counted)
            # The counted part may begin after the period, when the window it
            # started in ends in the next period.
            if counted.counted_start_ns < period.end_ns:
                figures.interruptions.append(counted)

    for event in ledger.battery_events(period.start_ns, period.end_ns):
        if event.drill:
            figures.drills.append(f"演练电池供电 {event.ups}")
        else:
            figures.battery.append(event)

    for window in ledger.windows(period.start_ns, period.end_ns):
        if window.state == "cancelled" or window.start_ns < period.start_ns:
            continue
        enough = window.notice_hours is not None and window.notice_hours >= notice_hours \
            and not window.violation
        figures.windows.append(WindowFigures(window, window.notice_hours, enough))

    for alert in ledger.alerts(period.start_ns, period.end_ns):
        if alert.drill:
            figures.drills.append(f"演练告警 {alert.target} {alert.text}")
        else:
            figures.alerts.append(alert)

    figures.notices = [notice for notice in
                       ledger.notices(since_ns=period.start_ns, until_ns=period.end_ns)
                       if not notice.drill]
    return figures


def _count(row: InterruptionRow, period: Period, until_ns: int,
           limit_s: float) -> CountedInterruption:
    start = row.notices_from_ns if row.window_id is not None else row.start_ns
    if start is None or (row.end_ns is not None and row.end_ns <= start):
        return CountedInterruption(row, None, row.end_ns, 0.0, 0.0, False)
    end = row.end_ns if row.end_ns is not None else until_ns
    duration = max(0.0, (end - start) / NS)
    clipped = max(0.0, (min(end, period.end_ns) - max(start, period.start_ns)) / NS)
    return CountedInterruption(row, start, row.end_ns, duration, clipped, duration > limit_s)
