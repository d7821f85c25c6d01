"""Decide "low battery" from the discharge so far, not only from the UPS's own estimate.

An aged battery loses charge faster than the UPS's runtime model assumes, so its
reported runtime stays optimistic until late in the discharge. The remaining
time is therefore the alerting engine's battery forecast: the lower of the
reported runtime and the projections of the charge and runtime trends since
the outage began (see `hotline_monitor.alerting.forecast`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hotline_monitor.alerting.forecast import BatteryForecast


@dataclass(frozen=True, slots=True)
class BatterySample:
    """One on-battery reading: UTC seconds, state of charge in %, reported runtime in s."""

    time_s: float
    charge_pct: float | None
    runtime_s: float | None


def remaining_runtime_s(history: Sequence[BatterySample]) -> float | None:
    """Return the forecast seconds left on battery, or None if nothing is known."""
    forecast = BatteryForecast()
    for sample in history:
        forecast.observe(sample.time_s, True, sample.charge_pct, sample.runtime_s)
    projection = forecast.project()
    return projection.remaining_s if projection is not None else None


def is_low_battery(history: Sequence[BatterySample], threshold_s: float) -> bool:
    """Tell whether the runtime left on battery, reported or forecast, is under the threshold."""
    remaining = remaining_runtime_s(history)
    return remaining is not None and remaining < threshold_s
