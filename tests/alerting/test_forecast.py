"""The battery forecast, alone and through the runtime rule."""

from __future__ import annotations

from alerting.helpers import FakeClock, make_config, make_engine, ups

from hotline_monitor.alerting.forecast import BatteryForecast


def test_forecast_on_mains_uses_ups_estimate():
    forecast = BatteryForecast()
    forecast.observe(0.0, False, 100.0, 2400.0)
    projection = forecast.project()
    assert projection is not None
    assert projection.remaining_s == 2400.0
    assert projection.source == "ups"


def test_forecast_charge_trend_of_aged_battery():
    forecast = BatteryForecast(cutoff_pct=10.0, min_readings=3, min_span_s=10.0)
    # Charge falls 5 % a minute (1 % every 12 s) while the UPS claims 40 minutes.
    for second in (0, 12, 24):
        forecast.observe(float(second), True, 100.0 - second / 12, 2400.0)
    projection = forecast.project()
    assert projection is not None
    # At 24 s the charge is 98 %; (98 - 10) % at 1/12 % per second = 1056 s.
    assert abs(projection.remaining_s - 1056.0) < 0.01
    assert projection.source == "charge_trend"
    assert projection.source_text == "按电量下降趋势推算"


def test_forecast_runtime_trend_falls_faster_than_time():
    forecast = BatteryForecast(min_readings=3, min_span_s=10.0)
    # The estimate drops 60 s for every 10 s of discharge: it reaches 0 in 3000 / 6 s.
    for second, runtime in ((0, 3600.0), (10, 3540.0), (20, 3480.0), (30, 3420.0)):
        forecast.observe(float(second), True, None, runtime)
    projection = forecast.project()
    assert projection is not None
    assert abs(projection.remaining_s - 570.0) < 0.01
    assert projection.source == "runtime_trend"


def test_forecast_needs_enough_readings():
    forecast = BatteryForecast(min_readings=3, min_span_s=10.0)
    forecast.observe(0.0, True, 100.0, 2400.0)
    forecast.observe(5.0, True, 95.0, 2400.0)
    projection = forecast.project()
    assert projection is not None
    assert projection.source == "ups"


def test_forecast_restarts_with_new_outage():
    forecast = BatteryForecast(min_readings=3, min_span_s=10.0)
    for second in (0, 10, 20):
        forecast.observe(float(second), True, 100.0 - second, 2400.0)
    forecast.observe(30.0, False, 80.0, 2400.0)
    forecast.observe(100.0, True, 80.0, 2400.0)
    assert forecast.charge == [(100.0, 80.0)]


def test_aged_battery_raises_runtime_alert_within_readings(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.observe([ups(clock, output_source=3.0, charge_pct=100.0, runtime_s=2400.0)])

    readings = 0
    charge = 100.0
    while not any("剩余后备时间" in m.text for m in sink.messages) and readings < 10:
        clock.advance(5)
        charge -= 5.0 * 5 / 60
        engine.observe([ups(clock, output_source=5.0, charge_pct=round(charge), runtime_s=2400.0)])
        readings += 1

    # Three readings on battery span the 10 s the fit needs.
    assert readings == 3
    runtime_message = sink.messages[-1]
    assert "按电量下降趋势推算" in runtime_message.text
    assert "低于 30 分钟" in runtime_message.text
    assert runtime_message.title.startswith("【严重】主机房 UPS：新增告警")


def test_time_scale_reads_trend_in_scenario_time():
    """A demo at 60x: 1 % per wall second is 1 % per scenario minute."""
    from hotline_monitor.alerting.engine import _scaled
    from hotline_monitor.alerting.forecast import BatteryForecast

    forecast = _scaled(BatteryForecast(cutoff_pct=10.0, min_readings=3, min_span_s=10.0), 60.0)
    for wall_s, charge in ((0.0, 90.0), (1.0, 89.0), (2.0, 88.0)):
        forecast.observe(wall_s, True, charge, None)

    projection = forecast.project()

    # Scenario times 0, 60, 120 s: slope -1/60 % per s; (88 - 10) % left -> 78 * 60 = 4,680 s.
    assert projection.source == "charge_trend"
    assert abs(projection.remaining_s - 4680.0) < 1e-6
