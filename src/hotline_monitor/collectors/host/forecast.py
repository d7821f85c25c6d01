"""Time until a disk is full, projected from its recent fill rate.

The fill rate is the least-squares slope of used bytes over the samples of
the last `window` seconds. The projection is written only once the samples
span `min_span` seconds, so that one large file written a minute ago does not
forecast a full disk for the whole night.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

TIME_TO_FULL_CAP_S = 365 * 86400.0
"""Projections beyond a year, and disks that are not filling at all, read as one year.

A disk that stops filling has a known state, "not full within the horizon".
Writing it lets a "disk full soon" alert resolve, because a rule keeps its
last state while the field is missing.
"""


@dataclass(slots=True)
class _Samples:
    points: deque[tuple[float, float]] = field(default_factory=deque)


class FillForecast:
    """Keeps (time, used bytes) per mount point and projects the time to full."""

    def __init__(self, window: float, min_span: float) -> None:
        self.window = window
        self.min_span = min_span
        self._series: dict[str, _Samples] = {}

    def add(self, path: str, time_s: float, used: float, free: float) -> dict[str, float]:
        """Record one sample; return forecast fields (fill_rate_bps, time_to_full_s) once known."""
        samples = self._series.setdefault(path, _Samples()).points
        samples.append((time_s, used))
        while samples and samples[0][0] < time_s - self.window:
            samples.popleft()
        if len(samples) < 3 or samples[-1][0] - samples[0][0] < self.min_span:
            return {}

        rate = _slope(samples)
        time_to_full = free / rate if rate > 0 else TIME_TO_FULL_CAP_S
        return {"fill_rate_bps": rate, "time_to_full_s": min(time_to_full, TIME_TO_FULL_CAP_S)}

    def forget_except(self, paths: set[str]) -> None:
        """Drop the history of mount points that are gone (unmounted disks)."""
        for path in set(self._series) - paths:
            del self._series[path]


def _slope(points: deque[tuple[float, float]]) -> float:
    count = len(points)
    mean_t = sum(t for t, _ in points) / count
    mean_v = sum(v for _, v in points) / count
    numerator = sum((t - mean_t) * (v - mean_v) for t, v in points)
    denominator = sum((t - mean_t) ** 2 for t, _ in points)
    return numerator / denominator if denominator else 0.0
