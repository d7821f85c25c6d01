"""Which maintenance windows are in force, and whether a target is covered by one."""

from __future__ import annotations

from datetime import datetime

from hotline_monitor.maintenance.ledger import Ledger, WindowRow
from hotline_monitor.maintenance.timeinput import NS

IN_FORCE_STATES = ("scheduled", "active", "completed")
"""A cancelled window never covers anything; a completed one still covers its past."""


def to_ns(time: int | float | datetime) -> int:
    if isinstance(time, datetime):
        return int(time.timestamp() * NS)
    return int(time)


class MaintenanceCalendar:
    """Answers "is this target in maintenance at this time?" from the ledger's windows."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def active_windows(self, time: int | float | datetime) -> list[WindowRow]:
        """Return windows whose [start, end) contains `time` (UTC ns or an aware datetime)."""
        moment = to_ns(time)
        return [window for window in self.ledger.windows(moment, moment + 1)
                if window.state in IN_FORCE_STATES and window.start_ns <= moment < window.end_ns]

    def window_for(self, target: str, time: int | float | datetime) -> WindowRow | None:
        """Return the window covering `target` at `time`, the one ending last when several do."""
        covering = [window for window in self.active_windows(time) if target in window.scope]
        return max(covering, key=lambda window: window.end_ns, default=None)

    def is_in_maintenance(self, target: str, time: int | float | datetime) -> bool:
        """Tell whether `target` is in the scope of a window in force at `time`.

        `time` is UTC nanoseconds or an aware datetime, so this method fits the
        alerting engine's hook `is_in_maintenance(target, moment)` as it is.
        """
        return self.window_for(target, time) is not None
