"""The low-battery decision and its discharge forecast, on hand-computed histories."""

from __future__ import annotations

import pytest

from hotline_monitor.nut.lowbattery import (
    BatterySample,
    forecast_runtime_s,
    is_low_battery,
    remaining_runtime_s,
)


def history(charges, runtimes, step_s=30.0):
    return [BatterySample(1000.0 + index * step_s, charge, runtime)
            for index, (charge, runtime) in enumerate(zip(charges, runtimes, strict=True))]


def test_charge_trend_projects_time_to_empty():
    # 2 % per 30 s from 72 %: 72 / (2 / 30) = 1080 s.
    samples = history([80, 78, 76, 74, 72], [None] * 5)
    assert forecast_runtime_s(samples) == pytest.approx(1080.0)


def test_runtime_falling_faster_than_clock_is_corrected():
    # Reported runtime drops 60 s per 30 s (2 s per second): 1260 / 2 = 630 s.
    samples = history([90] * 5, [1500, 1440, 1380, 1320, 1260])
    assert forecast_runtime_s(samples) == pytest.approx(630.0)
    assert remaining_runtime_s(samples) == pytest.approx(630.0)
    assert is_low_battery(samples, 700.0)
    assert not is_low_battery(samples, 600.0)


def test_reported_runtime_wins_when_lower():
    samples = history([80, 78, 76, 74, 72], [600, 570, 540, 510, 480])
    assert remaining_runtime_s(samples) == 480.0


def test_too_short_history_gives_no_forecast():
    assert forecast_runtime_s(history([80, 70], [None, None])) is None
    # Three points within 20 s: under the 30 s minimum span.
    assert forecast_runtime_s(history([80, 79, 78], [None] * 3, step_s=10.0)) is None
    assert remaining_runtime_s([]) is None
    assert not is_low_battery([], 600.0)


def test_rising_charge_gives_no_forecast():
    assert forecast_runtime_s(history([70, 72, 74, 76], [None] * 4)) is None


def test_only_last_ten_minutes_are_fitted():
    # A slow hour (0.1 % per 30 s) followed by 2 % per 30 s over the last 10 minutes.
    slow = [BatterySample(index * 30.0, 100 - index * 0.1, None) for index in range(120)]
    start = slow[-1].time_s
    fast = [BatterySample(start + (index + 1) * 30.0, slow[-1].charge_pct - (index + 1) * 2.0, None)
            for index in range(20)]
    last = fast[-1].charge_pct  # 88.1 - 40 = 48.1 %
    assert forecast_runtime_s(slow + fast) == pytest.approx(last * 15.0)
