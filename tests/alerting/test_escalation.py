"""Grouping, escalation steps, acknowledgement, repeats, silences and restarts."""

from __future__ import annotations

from datetime import UTC, datetime

from alerting.helpers import START_NS, FakeClock, ListSink, make_config, make_engine, ups

from hotline_monitor.alerting.engine import AlertEngine
from hotline_monitor.alerting.oncall import OncallConfig, duty_at, recipients_for
from hotline_monitor.notify.message import Recipient

ZHANG_WECOM = Recipient("wecom", "zhangsan")
ZHANG_SMS = Recipient("sms", "13800000001")
LI_SMS = Recipient("sms", "13800000002")
WANG_SMS = Recipient("sms", "13800000003")


def mains_failure(engine, clock):
    engine.observe([ups(clock, output_source=5.0, alarms_present=1.0, runtime_s=2400.0)])


def test_mains_failure_is_one_message(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    mains_failure(engine, clock)

    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message.title == "【严重】主机房 UPS：告警 2 项（#1）"
    assert "市电中断，UPS 转电池供电" in message.text
    assert "UPS 有 1 项告警" in message.text
    assert message.recipients == [ZHANG_WECOM]
    assert "hotline-monitor alerts ack 1" in message.text


def test_escalation_steps_in_order(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    mains_failure(engine, clock)

    clock.advance(599)
    engine.tick()
    assert sink.kinds() == ["alert"]

    clock.advance(1)
    engine.tick()
    assert sink.kinds() == ["alert", "escalation"]
    assert sink.messages[1].recipients == [ZHANG_SMS, LI_SMS]
    assert "10分未确认" in sink.messages[1].title

    clock.advance(600)
    engine.tick()
    assert sink.kinds() == ["alert", "escalation", "escalation"]
    assert sink.messages[2].recipients == [WANG_SMS]
    assert "第 3 级通知" in sink.messages[2].text


def test_acknowledgement_stops_chain(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    mains_failure(engine, clock)
    clock.advance(600)
    engine.tick()

    clock.advance(60)
    assert engine.acknowledge(1, "李四")
    engine.tick()
    assert sink.messages[-1].title == "【已确认】主机房 UPS（#1）"
    assert "李四" in sink.messages[-1].text
    assert set(sink.messages[-1].recipients) == {ZHANG_WECOM, ZHANG_SMS, LI_SMS}

    clock.advance(3600)
    engine.tick()
    assert sink.kinds() == ["alert", "escalation", "escalation"]
    assert [alert.state for alert in engine.store.open_alerts()] == ["acknowledged"] * 2


def test_repeat_for_unacknowledged(tmp_path):
    extra = """
    alerting:
      repeat_interval: 15m
    """
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, extra), clock)
    mains_failure(engine, clock)
    clock.advance(900)
    engine.tick()
    engine.tick()

    repeats = [message for message in sink.messages if message.kind == "repeat"]
    assert len(repeats) == 1
    assert "已 15分 未确认" in repeats[0].title
    assert set(repeats[0].recipients) == {ZHANG_WECOM, ZHANG_SMS, LI_SMS}


def test_recovery_one_message_with_duration(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    mains_failure(engine, clock)
    clock.advance(600)
    engine.tick()
    clock.advance(125)
    engine.observe([ups(clock, output_source=3.0, alarms_present=0.0, runtime_s=2400.0)])

    recoveries = [message for message in sink.messages if message.kind == "recovery"]
    assert len(recoveries) == 1
    assert recoveries[0].title == "【恢复】主机房 UPS：已全部恢复，持续 12分5秒（#1）"
    assert set(recoveries[0].recipients) == {ZHANG_WECOM, ZHANG_SMS, LI_SMS}
    assert engine.store.open_groups() == []


def test_restart_sends_due_step_once(tmp_path):
    config = make_config(tmp_path)
    clock = FakeClock()
    sink = ListSink()
    engine, _ = make_engine(config, clock, sink)
    mains_failure(engine, clock)
    engine.close()

    # Down from +1 s to +21 min: both steps fell due while nothing ran.
    clock.advance(21 * 60)
    engine = AlertEngine(config, sink, clock=clock)
    engine.tick()
    engine.tick()
    assert sink.kinds() == ["alert", "escalation", "escalation"]

    # A second restart repeats nothing.
    engine.close()
    engine = AlertEngine(config, sink, clock=clock)
    engine.observe([ups(clock, output_source=5.0, alarms_present=1.0, runtime_s=2400.0)])
    engine.tick()
    assert sink.kinds() == ["alert", "escalation", "escalation"]


def test_restart_between_enqueue_and_record(tmp_path):
    config = make_config(tmp_path)
    clock = FakeClock()
    sink = ListSink()
    engine, _ = make_engine(config, clock, sink)
    mains_failure(engine, clock)
    clock.advance(600)

    # The process dies after the sink committed the step but before it was recorded.
    engine.store.record_notification = lambda *args, **kwargs: None  # type: ignore[method-assign]
    engine.tick()
    assert sink.kinds() == ["alert", "escalation"]
    engine.close()

    engine = AlertEngine(config, sink, clock=clock)
    engine.tick()
    assert sink.kinds() == ["alert", "escalation"]
    assert engine.store.notified("group:1:step:1")


def test_silenced_target_stored_not_paged(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.store.add_silence("ups-*", clock.now_ns + 3600 * 10**9, "电池更换", "张三", clock.now_ns)
    mains_failure(engine, clock)
    clock.advance(1200)
    engine.tick()

    assert sink.messages == []
    assert len(engine.store.open_alerts()) == 2


def test_silence_expiry_pages_still_open_alert(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.store.add_silence("ups-main", clock.now_ns + 600 * 10**9, "演练", "张三", clock.now_ns)
    mains_failure(engine, clock)
    clock.advance(600)
    engine.tick()
    assert sink.kinds() == ["alert"]


def test_new_alert_after_ack_opens_new_group(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    mains_failure(engine, clock)
    engine.acknowledge(1, "张三")
    clock.advance(30)
    engine.observe([ups(clock, output_source=5.0, battery_status=4.0)])

    # Depleted (4) trips both battery rules: low holds for 3 and 4, depleted for 4.
    assert sink.messages[-1].title == "【紧急】主机房 UPS：告警 2 项（#2）"


def test_ack_link_in_message(tmp_path):
    extra = """
    public_url: https://monitor.example.org/
    alerting:
      ack_secret: 0123456789abcdef0123
    """
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, extra), clock)
    mains_failure(engine, clock)
    assert "或打开链接确认：https://monitor.example.org/ack?id=1&exp=" in sink.messages[0].text


def test_night_shift_across_midnight():
    oncall = OncallConfig.model_validate({
        "shifts": [{"name": "白班", "start": "08:00", "end": "22:00"},
                   {"name": "夜班", "start": "22:00", "end": "08:00"}],
        "people": [{"id": "a", "name": "甲", "wecom": "wa"}, {"id": "b", "name": "乙", "wecom": "wb"}],
        "schedule": {"2026-12-04": {"夜班": {"on_duty": "b"}}},
        "default": {"白班": {"on_duty": "a"}, "夜班": {"on_duty": "a"}},
    })
    # 2026-12-05 03:00 Shanghai is 2026-12-04 19:00 UTC: the night shift begun on the 4th.
    moment = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)
    shift, duty = duty_at(oncall, moment)
    assert shift == "夜班"
    assert duty is not None and duty.on_duty == "b"
    assert recipients_for(oncall, ["on_duty"], ["wecom"], moment) == [Recipient("wecom", "wb")]

    # 2026-12-05 23:00 Shanghai: the night shift of the 5th, which the default covers.
    later = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    assert recipients_for(oncall, ["on_duty"], ["wecom"], later) == [Recipient("wecom", "wa")]


def test_info_alert_neither_escalates_nor_repeats(tmp_path):
    clock = FakeClock(START_NS + 7 * 86400 * 10**9)  # 30 days before the battery is due
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.tick()
    for _ in range(4):
        clock.advance(1800)
        engine.tick()
    assert sink.kinds() == ["alert"]
    assert sink.messages[0].recipients == [ZHANG_WECOM]


def test_withdraw_sends_one_retraction(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.observe([ups(clock, output_source=5.0)])
    clock.advance(3)
    engine.withdraw("ups-main", ["on_battery", "output_source"], "撤回告警：轮询显示市电供电")

    assert sink.kinds() == ["alert", "recovery"]
    assert sink.messages[1].title == "【撤回】主机房 UPS：市电中断，UPS 转电池供电（#1）"
    assert sink.messages[1].context["alerts"] == [
        {"rule": "ups_on_battery", "target": "ups-main", "state": "withdrawn"}]
    assert engine.store.open_groups() == []

    # A later reading on mains sends nothing; a real outage pages again.
    engine.observe([ups(clock, output_source=3.0)])
    assert len(sink.messages) == 2
    clock.advance(5)
    engine.observe([ups(clock, output_source=5.0)])
    assert sink.messages[2].title == "【严重】主机房 UPS：告警 1 项（#2）"


def test_posted_alert_grouped_and_resolved(tmp_path):
    from hotline_monitor.alerting.notify import AlertMessage

    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path), clock)
    engine.post(AlertMessage("ups_data_mismatch.charge_pct", "ups-main", "warning", "firing",
                             "主机房 UPS：数据不一致：电池电量 SNMP 为 90%，Modbus 为 60%",
                             clock.now_ns))
    clock.advance(15)
    engine.post(AlertMessage("ups_data_mismatch.charge_pct", "ups-main", "warning", "resolved",
                             "主机房 UPS：电池电量数据恢复一致", clock.now_ns))

    assert sink.kinds() == ["alert", "recovery"]
    assert "· 【警告】数据不一致：电池电量 SNMP 为 90%，Modbus 为 60%" in sink.messages[0].text
    assert "持续 15秒" in sink.messages[1].title


def test_console_sink_restart_repeats_nothing(tmp_path):
    from hotline_monitor.alerting.notify import ConsoleSink

    config = make_config(tmp_path)
    clock = FakeClock()
    log_path = config.state_dir / "alerts.jsonl"
    engine = AlertEngine(config, ConsoleSink(log_path, console=False), clock=clock)
    mains_failure(engine, clock)
    clock.advance(600)
    # The process dies after the line was written but before the step was recorded.
    engine.store.record_notification = lambda *args, **kwargs: None  # type: ignore[method-assign]
    engine.tick()
    engine.close()

    engine = AlertEngine(config, ConsoleSink(log_path, console=False), clock=clock)
    engine.tick()
    keys = [line.split('"key": "', 1)[1].split('"', 1)[0]
            for line in log_path.read_text(encoding="utf-8").splitlines()]
    assert keys == ["group:1:alert:2", "group:1:step:1"]


def test_defined_channels_decide_addresses(tmp_path):
    extra = """
    channels:
      duty-app: {type: console}
      duty-sms: {type: console}
    oncall:
      people:
        - {id: zhang, name: 张三, phone: "13800000001", wecom: zhangsan}
      default:
        早班: {on_duty: zhang}
      escalation:
        default:
          - {after: 0s, to: [on_duty], channels: [duty-app]}
    """
    base = "site: xz\nups:\n  - {id: ups-main, snmp: {host: 127.0.0.1}}\n"
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, extra, base=base), clock)
    mains_failure(engine, clock)
    assert sink.messages[0].recipients == [Recipient("duty-app")]


def test_undefined_paging_channel_rejected(tmp_path):
    import pytest

    from hotline_monitor.errors import ConfigError

    extra = """
    channels:
      duty-app: {type: console}
    """
    with pytest.raises(ConfigError) as failure:
        make_config(tmp_path, extra)
    assert "oncall.escalation.default[0].channels 中的通道 'wecom' 未定义，可用：console, duty-app" in (
        failure.value.problems[0])


def test_robot_channel_mentions_people():
    oncall = OncallConfig.model_validate({
        "people": [{"id": "a", "name": "甲", "wecom": "wa"}, {"id": "b", "name": "乙", "wecom": "wb"}],
        "default": {"早班": {"on_duty": "a", "lead": "b"}, "中班": {"on_duty": "a"},
                    "夜班": {"on_duty": "a"}},
    })
    moment = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)  # 09:00 Shanghai, the day shift
    recipients = recipients_for(oncall, ["on_duty", "lead"], ["room"], moment, {"room": "mention"})
    assert recipients == [Recipient("room", "", "wa"), Recipient("room", "", "wb")]
