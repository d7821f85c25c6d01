"""Outage notices to the bureau (故障通报, 进展通报, 恢复通报) driven by interruption events.

The interruption clock calls `started`, `ended`, and the scheduler calls
`due` every minute. An interruption that starts inside a maintenance window
whose scope covers the service is recorded apart and sends nothing. If it is
still going when the window ends, it is counted from the window's end, and
the notices start then.
"""

from __future__ import annotations

import logging

from hotline_monitor.maintenance.calendar import MaintenanceCalendar
from hotline_monitor.maintenance.config import OutageNoticeConfig
from hotline_monitor.maintenance.ledger import InterruptionRow, Ledger
from hotline_monitor.maintenance.notices import NoticeSender
from hotline_monitor.maintenance.timeinput import NS
from hotline_monitor.timeutil import format_duration, local_text

log = logging.getLogger(__name__)


class OutageNotices:
    """Outage notices to the bureau, and the interruptions they are about, in the ledger."""

    def __init__(self, config: OutageNoticeConfig, site: str, ledger: Ledger,
                 calendar: MaintenanceCalendar, sender: NoticeSender) -> None:
        self.config = config
        self.site = site
        self.ledger = ledger
        self.calendar = calendar
        self.sender = sender

    def started(self, source_id: str, service: str, start_ns: int, cause: str,
                targets: list[str] | None = None, drill: bool = False) -> InterruptionRow:
        """Record an interruption's start; send the first notice unless a window covers it.

        A window covers it when its scope names the service or any of `targets`
        (the trunks or UPS whose failure caused it). Calling again for the same
        `source_id` changes nothing.
        """
        known = self.ledger.interruption(source_id)
        if known is not None:
            return known
        window = None
        for target in [service, *(targets or [])]:
            window = self.calendar.window_for(target, start_ns)
            if window is not None:
                break
        row = self.ledger.record_interruption_start(
            source_id, service, start_ns, cause, window.id if window else None,
            None if window else start_ns, drill)
        if window is not None:
            log.info("interruption %s began inside maintenance window MW-%d: recorded apart",
                     source_id, window.id)
        self.due(start_ns)
        return self.ledger.interruption(source_id) or row

    def ended(self, source_id: str, end_ns: int) -> None:
        """Record the end; send the recovery notice when notices were running."""
        row = self.ledger.interruption(source_id)
        if row is None or row.end_ns is not None:
            return
        if not row.drill:
            # Catch up on a window that ended since the last tick. A progress
            # notice now would only precede the recovery notice, so none is sent.
            row = self._count_from_window_end(row, end_ns)
        self.ledger.update_interruption(source_id, end_ns=end_ns)
        if row.drill or row.notices_from_ns is None or end_ns <= row.notices_from_ns:
            return
        self._first(row, end_ns)
        self._recovery(row, end_ns)

    def due(self, now_ns: int) -> list[str]:
        """Send what is due for every open interruption; return the keys sent."""
        sent: list[str] = []
        for row in self.ledger.open_interruptions():
            if row.drill:
                continue
            row = self._count_from_window_end(row, now_ns)
            if row.notices_from_ns is None or now_ns < row.notices_from_ns:
                continue
            sent += self._first(row, now_ns)
            sent += self._progress(row, now_ns)
        return sent

    def _count_from_window_end(self, row: InterruptionRow, now_ns: int) -> InterruptionRow:
        if row.window_id is None or row.notices_from_ns is not None:
            return row
        window = self.ledger.window(row.window_id)
        if window is None or now_ns < window.end_ns:
            return row
        log.warning("interruption %s outlived maintenance window MW-%d: notices start now",
                    row.source_id, window.id)
        self.ledger.update_interruption(row.source_id, notices_from_ns=window.end_ns)
        return self.ledger.interruption(row.source_id) or row

    def _context(self, row: InterruptionRow, now_ns: int) -> dict[str, object]:
        counted_from = row.notices_from_ns or row.start_ns
        elapsed = max(0.0, (now_ns - counted_from) / NS)
        return {
            "site": self.site,
            "start": local_text(row.start_ns),
            "counted_from": local_text(counted_from),
            "after_window": row.window_id is not None,
            "window_id": row.window_id,
            "cause": row.cause or "原因待查",
            "now": local_text(now_ns),
            "elapsed_text": format_duration(elapsed),
            "interval_text": format_duration(self.config.progress_every),
            "limit_text": format_duration(self.config.limit),
            "left_text": format_duration(max(0.0, self.config.limit - elapsed)),
            "over_limit": elapsed > self.config.limit,
        }

    def _first(self, row: InterruptionRow, now_ns: int) -> list[str]:
        key = f"outage:{row.source_id}:first"
        message = self.sender.build(key, "outage_first", "outage_first",
                                    self._context(row, now_ns), severity="emergency")
        if not self.sender.send(message, "outage_first", now_ns, interruption_id=row.id):
            return []
        late = (now_ns - (row.notices_from_ns or row.start_ns)) / NS - self.config.first_within
        if late > 0:
            log.error("first outage notice for %s sent %.0f s later than the %s allowed",
                      row.source_id, late, format_duration(self.config.first_within))
        return [key]

    def _progress(self, row: InterruptionRow, now_ns: int) -> list[str]:
        counted_from = row.notices_from_ns or row.start_ns
        number = int((now_ns - counted_from) // int(self.config.progress_every * NS))
        if number < 1:
            return []
        # Only the latest progress notice is sent: after downtime of the agent
        # the bureau needs the current state, not a burst of stale ones.
        key = f"outage:{row.source_id}:progress:{number}"
        message = self.sender.build(key, "outage_progress", "outage_progress",
                                    self._context(row, now_ns), severity="emergency")
        return [key] if self.sender.send(message, "outage_progress", now_ns,
                                         interruption_id=row.id) else []

    def _recovery(self, row: InterruptionRow, end_ns: int) -> None:
        counted_from = row.notices_from_ns or row.start_ns
        duration = (end_ns - counted_from) / NS
        context = self._context(row, end_ns)
        context.update({
            "end": local_text(end_ns),
            "duration_text": format_duration(duration),
            "held": duration <= self.config.limit,
            "over_text": format_duration(max(0.0, duration - self.config.limit)),
        })
        key = f"outage:{row.source_id}:recovery"
        message = self.sender.build(key, "outage_recovery", "outage_recovery", context)
        self.sender.send(message, "outage_recovery", end_ns, interruption_id=row.id)
