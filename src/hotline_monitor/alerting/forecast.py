"""Battery forecast: how long a UPS on battery will keep its output up.

While the UPS is on battery, two trends are fitted by least squares over the
readings since the outage began: the charge in percent, and the UPS's own
runtime estimate. Each is projected forward, the charge to the cut-off charge
and the runtime estimate to zero. The remaining time is the lowest of the
UPS's latest estimate and the projections. An aged battery is the case this
exists for: its UPS still reports the runtime of a new battery while the
charge falls several percent a minute.

The class depends on no rule or alert code, so the NUT server can reuse it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Source = Literal["ups", "charge_trend", "runtime_trend"]

SOURCE_NAMES: dict[str, str] = {
    "ups": "UPS 自报",
    "charge_trend": "按电量下降趋势推算",
    "runtime_trend": "按后备时间下降趋势推算",
}


@dataclass(frozen=True, slots=True)
class Projection:
    """The remaining time in seconds and which estimate gave it."""

    remaining_s: float
    source: Source
    ups_estimate_s: float | None
    charge_projection_s: float | None
    runtime_projection_s: float | None

    @property
    def source_text(self) -> str:
        return SOURCE_NAMES[self.source]


def _slope_intercept(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Fit y = slope * t + intercept by least squares; None when t does not vary."""
    count = len(points)
    mean_t = sum(t for t, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    slope = sum((t - mean_t) * (y - mean_y) for t, y in points) / spread
    return slope, mean_y - slope * mean_t


@dataclass(slots=True)
class BatteryForecast:
    """Follows one UPS through an outage and projects its time to cut-off.

    Feed every reading with `observe`. Going back to mains forgets the outage.
    """

    cutoff_pct: float = 10.0
    min_readings: int = 3
    min_span_s: float = 10.0
    charge: list[tuple[float, float]] = field(default_factory=list)
    runtime: list[tuple[float, float]] = field(default_factory=list)
    latest_runtime_s: float | None = None
    on_battery: bool = False

    def observe(self, time_s: float, on_battery: bool | None, charge_pct: float | None,
                runtime_s: float | None) -> None:
        """Add one reading; a value of None is unknown and left out of the fit."""
        if on_battery is not None:
            if on_battery and not self.on_battery:
                self.charge.clear()
                self.runtime.clear()
            self.on_battery = on_battery
        if runtime_s is not None:
            self.latest_runtime_s = runtime_s
        if not self.on_battery:
            return

        if charge_pct is not None:
            self.charge.append((time_s, charge_pct))
        if runtime_s is not None:
            self.runtime.append((time_s, runtime_s))

    def project(self) -> Projection | None:
        """Return the remaining time, or None when nothing is known."""
        charge_s = self._project_charge() if self.on_battery else None
        runtime_s = self._project_runtime() if self.on_battery else None
        candidates: list[tuple[float, Source]] = []
        if self.latest_runtime_s is not None:
            candidates.append((self.latest_runtime_s, "ups"))
        if charge_s is not None:
            candidates.append((charge_s, "charge_trend"))
        if runtime_s is not None:
            candidates.append((runtime_s, "runtime_trend"))
        if not candidates:
            return None

        remaining, source = min(candidates, key=lambda item: item[0])
        return Projection(max(0.0, remaining), source, self.latest_runtime_s, charge_s, runtime_s)

    def _enough(self, points: list[tuple[float, float]]) -> bool:
        return len(points) >= self.min_readings and points[-1][0] - points[0][0] >= self.min_span_s

    def _project_charge(self) -> float | None:
        if not self._enough(self.charge):
            return None
        fit = _slope_intercept(self.charge)
        if fit is None or fit[0] >= 0:
            return None
        slope, intercept = fit
        now = self.charge[-1][0]
        fitted_now = slope * now + intercept
        return max(0.0, (fitted_now - self.cutoff_pct) / -slope)

    def _project_runtime(self) -> float | None:
        # The UPS's estimate should fall one second per second. Where it falls
        # faster, its trend reaches zero sooner than its latest value claims.
        if not self._enough(self.runtime):
            return None
        fit = _slope_intercept(self.runtime)
        if fit is None or fit[0] >= -1.0:
            return None
        slope, intercept = fit
        now = self.runtime[-1][0]
        return max(0.0, (slope * now + intercept) / -slope)
