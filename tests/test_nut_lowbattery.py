"""The low-battery decision on hand-computed on-battery histories.

The forecast projects the charge to the 10 % cut-off charge and the reported
runtime to zero (alerting/forecast.py), and takes the lowest estimate.
"""

from __future__ import annotations

import pytest

from hotline_monitor.nut.lowbattery import BatterySample, is_low_battery, remaining_runtime_s


def history(charges, runtimes, step_s=30.0):
    return [BatterySample(1000.0 + index * step_s, charge, runtime)
            for index, (charge, runtime) in enumerate(zip(charges, runtimes, strict=True))]


def test_charge_trend_projects_time_to_cutoff():
    # 2 % per 30 s from 72 % down to 10 %: (72 - 10) / (2 / 30) = 930 s.
    samples = history([80, 78, 76, 74, 72], [None] * 5)
    assert remaining_runtime_s(samples) == pytest.approx(930.0)


def test_runtime_falling_faster_than_clock_is_corrected():
    # Reported runtime drops 60 s per 30 s (2 s per second): 1260 / 2 = 630 s.
    samples = history([90] * 5, [1500, 1440, 1380, 1320, 1260])
    assert remaining_runtime_s(samples) == pytest.approx(630.0)
    assert is_low_battery(samples, 700.0)
    assert not is_low_battery(samples, 600.0)


def test_reported_runtime_wins_when_lower():
    samples = history([80, 78, 76, 74, 72], [600, 570, 540, 510, 480])
    assert remaining_runtime_s(samples) == 480.0


def test_too_short_history_gives_no_trend():
    assert remaining_runtime_s(history([80, 70], [None, None])) is None
    # Three points within 8 s: under the forecast's 10 s minimum span.
    assert remaining_runtime_s(history([80, 79, 78], [None] * 3, step_s=4.0)) is None
    assert remaining_runtime_s([]) is None
    assert not is_low_battery([], 600.0)


def test_rising_charge_gives_no_trend():
    assert remaining_runtime_s(history([70, 72, 74, 76], [None] * 4)) is None
