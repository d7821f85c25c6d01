"""Decide "low battery" from the discharge so far, not only from the UPS's own estimate.

An aged battery loses charge faster than the UPS's runtime model assumes, so its
reported runtime stays optimistic until late in the discharge. The decision
therefore takes the lower of the reported runtime and two projections made from
the on-battery history by least-squares lines:

- charge: the time until the fitted state of charge reaches 0 %;
- runtime trend: when the reported runtime falls faster than the clock (say
  2 s per second), the time left is the reported runtime divided by that rate.

NOTE: the charge projection runs to 0 %, while many UPSes cut the load at some
charge above 0 %; the threshold must leave room for that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FIT_WINDOW_S = 600.0
"""Only the last ten minutes are fitted, so that a change of load shows quickly."""
MIN_FIT_POINTS = 3
MIN_FIT_SPAN_S = 30.0


@dataclass(frozen=True, slots=True)
class BatterySample:
    """One on-battery reading: UTC seconds, state of charge in %, reported runtime in s."""

    time_s: float
    charge_pct: float | None
    runtime_s: float | None


def _linear_fit(points: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """Return (slope, value at the last point's time) of the least-squares line, or None."""
    if len(points) < MIN_FIT_POINTS:
        return None
    times = [time for time, _ in points]
    if max(times) - min(times) < MIN_FIT_SPAN_S:
        return None

    mean_time = sum(times) / len(points)
    mean_value = sum(value for _, value in points) / len(points)
    spread = sum((time - mean_time) ** 2 for time in times)
    covariance = sum((time - mean_time) * (value - mean_value) for time, value in points)
    slope = covariance / spread
    return slope, mean_value + slope * (max(times) - mean_time)


def forecast_runtime_s(history: Sequence[BatterySample]) -> float | None:
    """Project the seconds left on battery from the history's trend, or None without a trend."""
    if not history:
        return None
    latest = max(sample.time_s for sample in history)
    recent = [sample for sample in history if sample.time_s >= latest - FIT_WINDOW_S]

    projections = []
    charge_fit = _linear_fit([(s.time_s, s.charge_pct) for s in recent if s.charge_pct is not None])
    if charge_fit is not None and charge_fit[0] < 0:
        slope, charge_now = charge_fit
        projections.append(max(charge_now, 0.0) / -slope)

    runtime_fit = _linear_fit([(s.time_s, s.runtime_s) for s in recent if s.runtime_s is not None])
    if runtime_fit is not None and runtime_fit[0] < -1.0:
        slope, runtime_now = runtime_fit
        projections.append(max(runtime_now, 0.0) / -slope)

    return min(projections) if projections else None


def remaining_runtime_s(history: Sequence[BatterySample]) -> float | None:
    """Return the lower of the latest reported runtime and the forecast, or None if neither is known."""
    candidates = []
    reported = [sample for sample in history if sample.runtime_s is not None]
    if reported:
        latest = max(reported, key=lambda sample: sample.time_s)
        candidates.append(latest.runtime_s)
    forecast = forecast_runtime_s(history)
    if forecast is not None:
        candidates.append(forecast)
    return min(candidates) if candidates else None


def is_low_battery(history: Sequence[BatterySample], threshold_s: float) -> bool:
    """Tell whether the runtime left on battery, reported or forecast, is under the threshold."""
    remaining = remaining_runtime_s(history)
    return remaining is not None and remaining < threshold_s
