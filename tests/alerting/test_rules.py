"""Time-travel tests of every rule kind, `for`, hysteresis, unknown values and flapping."""

from __future__ import annotations

import pytest

from hotline_monitor.errors import ConfigError
from alerting.helpers import BASE, FakeClock, line, make_config, make_engine, target, ups

TEMPERATURE_RULE = """
alerting:
  builtin_ups: false
  rules:
    - name: hot_battery
      kind: threshold
      severity: critical
      field: battery_temperature_c
      above: 40
      clear_above: 35
      for: 30s
"""


def test_threshold_waits_for_duration(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, TEMPERATURE_RULE), clock)

    engine.observe([ups(clock, battery_temperature_c=41.0)])
    clock.advance(20)
    engine.observe([ups(clock, battery_temperature_c=42.0)])
    assert sink.messages == []
    assert engine.store.open_alerts()[0].state == "pending"

    clock.advance(10)
    engine.observe([ups(clock, battery_temperature_c=42.0)])
    assert len(sink.messages) == 1
    assert "battery_temperature_c 为 42" in sink.messages[0].text
    assert engine.store.open_alerts()[0].state == "firing"


def test_threshold_pending_cancelled_below(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, TEMPERATURE_RULE), clock)

    engine.observe([ups(clock, battery_temperature_c=41.0)])
    clock.advance(20)
    engine.observe([ups(clock, battery_temperature_c=39.0)])
    clock.advance(20)
    engine.observe([ups(clock, battery_temperature_c=41.0)])

    assert sink.messages == []
    assert [alert.state for alert in engine.store.open_alerts()] == ["pending"]


def test_threshold_hysteresis_clears_below_clear_value(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, TEMPERATURE_RULE), clock)
    engine.observe([ups(clock, battery_temperature_c=45.0)])
    clock.advance(30)
    engine.observe([ups(clock, battery_temperature_c=45.0)])
    assert sink.kinds() == ["alert"]

    # 38 °C is under the 40 °C trigger but above the 35 °C clear value: still firing.
    clock.advance(10)
    engine.observe([ups(clock, battery_temperature_c=38.0)])
    assert sink.kinds() == ["alert"]

    clock.advance(10)
    engine.observe([ups(clock, battery_temperature_c=35.0)])
    assert sink.kinds() == ["alert", "recovery"]
    assert "持续 20秒" in sink.messages[1].title


def test_unknown_value_neither_fires_nor_clears(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.observe([ups(clock, output_source=5.0)])
    assert sink.kinds() == ["alert"]

    for _ in range(5):
        clock.advance(5)
        engine.observe([ups(clock, charge_pct=90.0)])
    assert sink.kinds() == ["alert"]
    assert engine.store.open_alerts()[0].rule == "ups_on_battery"


def test_state_rule_on_battery_and_bypass(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.observe([ups(clock, output_source=4.0)])
    clock.advance(5)
    engine.observe([ups(clock, output_source=3.0)])

    assert sink.kinds() == ["alert", "recovery"]
    assert "UPS 转旁路供电" in sink.messages[0].text
    assert sink.messages[0].severity == "warning"
    assert sink.messages[0].title.startswith("【警告】主机房 UPS")


def test_battery_status_low_and_depleted(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.observe([ups(clock, battery_status=3.0)])
    clock.advance(5)
    engine.observe([ups(clock, battery_status=4.0)])

    assert "UPS 电池电量低" in sink.messages[0].text
    assert "UPS 电池耗尽" in sink.messages[1].text
    assert sink.messages[1].title.startswith("【紧急】")


def test_unreachable_after_three_failed_polls(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    for _ in range(2):
        engine.observe([target(clock, "ups-main", 0.0)])
        clock.advance(5)
    assert sink.messages == []

    engine.observe([target(clock, "ups-main", 0.0)])
    assert "连续 3 次轮询无应答" in sink.messages[0].text

    clock.advance(5)
    engine.observe([target(clock, "ups-main", 1.0)])
    assert sink.kinds() == ["alert", "recovery"]


def test_unreachable_ignores_other_kinds(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    for _ in range(5):
        engine.observe([target(clock, "web-1", 0.0, kind="host")])
        clock.advance(5)
    assert sink.messages == []


def test_output_overload_per_phase(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.observe([line(clock, 2, load_pct=95.0), line(clock, 2, side="input", load_pct=99.0)])
    clock.advance(10)
    engine.observe([line(clock, 2, load_pct=95.0), line(clock, 1, load_pct=50.0)])

    texts = [message.text for message in sink.messages]
    assert len(texts) == 1
    assert "第 2 相输出负载 95%，超过 90%" in texts[0]


def test_phase_voltage_out_of_range(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    for _ in range(2):
        engine.observe([line(clock, 1, voltage_v=190.0), line(clock, 3, voltage_v=250.0)])
        clock.advance(10)

    text = sink.messages[0].text
    assert "第 1 相输出电压 190 V，低于 198 V" in text
    assert "第 3 相输出电压 250 V，高于 242 V" in text


def test_phase_imbalance_spread(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    # Loads 40, 50, 60 %: mean 50, spread (60 - 40) / 50 = 40 %.
    engine.observe([line(clock, 1, load_pct=40.0), line(clock, 2, load_pct=50.0),
                    line(clock, 3, load_pct=60.0)])
    assert "三相输出负载不平衡 40%" in sink.messages[0].text

    # Loads 48, 50, 52 %: spread 8 %, under the 15 % clear value.
    clock.advance(5)
    engine.observe([line(clock, 1, load_pct=48.0), line(clock, 2, load_pct=50.0),
                    line(clock, 3, load_pct=52.0)])
    assert sink.kinds() == ["alert", "recovery"]


def test_alarms_present_and_temperature(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.observe([ups(clock, alarms_present=2.0, battery_temperature_c=45.0)])
    clock.advance(60)
    engine.observe([ups(clock, alarms_present=2.0, battery_temperature_c=45.0)])

    texts = "\n".join(message.text for message in sink.messages)
    assert "UPS 有 2 项告警" in texts
    assert "电池温度 45 °C，高于 40 °C" in texts


def test_battery_replacement_due_date(tmp_path):
    clock = FakeClock()  # 2026-12-04; the battery is due 2027-01-10, 37 days later.
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.tick()
    assert sink.messages == []

    clock.advance(7 * 86400)  # 2026-12-11: 30 days before the due date.
    engine.tick()
    assert "电池更换期限 2027-01-10，还剩 30 天" in sink.messages[0].text
    assert sink.messages[0].severity == "info"


def test_absence_rule_fires_and_resolves(tmp_path):
    extra = """
    alerting:
      builtin_ups: false
      rules:
        - {name: trunk_silent, kind: absence, measurement: sip_trunk, after: 60s, severity: critical}
    """
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, extra), clock)
    trunk = {"site": "xz", "trunk": "ct-1"}
    from hotline_monitor.reading import Reading

    engine.observe([Reading("sip_trunk", trunk, {"up": 1.0}, clock.now_ns)])
    clock.advance(59)
    engine.tick()
    assert sink.messages == []

    clock.advance(1)
    engine.tick()
    assert "sip_trunk 已 1分 没有数据" in sink.messages[0].text

    clock.advance(5)
    engine.observe([Reading("sip_trunk", trunk, {"up": 1.0}, clock.now_ns)])
    assert sink.kinds() == ["alert", "recovery"]


def test_builtin_override_and_disable(tmp_path):
    extra = """
    alerting:
      builtin:
        ups_on_bypass: {enabled: false}
        ups_alarms_present: {severity: critical, above: 2}
    """
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, extra), clock)
    engine.observe([ups(clock, output_source=4.0, alarms_present=2.0)])
    assert sink.messages == []

    clock.advance(5)
    engine.observe([ups(clock, output_source=4.0, alarms_present=3.0)])
    assert sink.messages[0].severity == "critical"


def test_unknown_builtin_name_rejected(tmp_path):
    extra = """
    alerting:
      builtin:
        ups_on_fire: {enabled: false}
    """
    with pytest.raises(ConfigError, match="ups_on_fire 不存在"):
        make_config(tmp_path, extra)


def test_rule_without_threshold_rejected(tmp_path):
    extra = """
    alerting:
      rules:
        - {name: broken, kind: threshold, field: load_pct}
    """
    with pytest.raises(ConfigError, match="above 和 below 必须且只能填写一个"):
        make_config(tmp_path, extra)


def test_flapping_holds_and_flags(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)

    # Mains flickers: battery, mains, battery, mains within two minutes.
    for source in (5.0, 3.0, 5.0, 3.0, 5.0, 3.0):
        engine.observe([ups(clock, output_source=source)])
        clock.advance(20)

    # One page, one recovery, a second page, then the fourth change flags flapping.
    assert sink.kinds() == ["alert", "recovery", "alert", "alert"]
    assert sink.messages[-1].title.startswith("【告警抖动】")
    assert "暂停通知" in sink.messages[-1].text
    assert engine.store.open_alerts()[0].state == "firing"

    # Quiet on mains for the hold (600 s): the alert resolves once.
    clock.advance(600)
    engine.tick()
    assert sink.kinds()[-1] == "recovery"
    assert engine.store.open_alerts() == []


def test_oncall_unknown_person_reported_with_line(tmp_path):
    extra = """
    alerting:
      rules: []
    """
    base = BASE.replace("manager: wang", "manager: zhao")
    with pytest.raises(ConfigError) as failure:
        make_config(tmp_path, extra, base=base)
    assert failure.value.problems == [
        "site.yaml:8: oncall: manager 引用的人员 'zhao' 未在 people 中定义"]


def test_bad_replacement_date_reported(tmp_path):
    base = BASE.replace('"2027-01-10"', '"2027-02-30"')
    with pytest.raises(ConfigError, match=r"ups\[0\]\.battery_replace_due: 应为日期"):
        make_config(tmp_path, base=base)


def test_two_paths_keep_separate_states(tmp_path):
    base = BASE.replace("    snmp: {host: 127.0.0.1}\n",
                        "    snmp: {host: 127.0.0.1}\n    modbus: {host: 127.0.0.1, map: generic}\n")
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, base=base), clock)
    from hotline_monitor.reading import Reading

    def reading(source, output_source):
        tags = {"site": "xz", "ups": "ups-main", "source": source}
        return Reading("ups", tags, {"output_source": output_source}, clock.now_ns)

    # The Modbus card lags: SNMP says battery, Modbus still mains, on alternate polls.
    for _ in range(4):
        engine.observe([reading("snmp", 5.0)])
        clock.advance(2)
        engine.observe([reading("modbus", 3.0)])
        clock.advance(3)

    assert sink.kinds() == ["alert"]
    assert "市电中断，UPS 转电池供电（SNMP）" in sink.messages[0].text

    engine.observe([reading("modbus", 5.0)])
    assert "市电中断，UPS 转电池供电（Modbus）" in sink.messages[1].text
    assert sink.messages[1].title.startswith("【严重】主机房 UPS：新增告警 1 项（#1）")
