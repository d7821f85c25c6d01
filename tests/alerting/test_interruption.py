"""The interruption clock: its definition, four notices, the breach and the ledger."""

from __future__ import annotations

from alerting.helpers import FakeClock, make_config, make_engine

from hotline_monitor.reading import Reading

INTERRUPTION = """
alerting:
  interruption:
    conditions:
      - {cause: 全部中继断开, measurement: sip_trunk, field: up, equals: [0], match: all}
      - {cause: UPS 输出中断, measurement: ups, tags: {ups: ups-main}, field: output_source, equals: [2]}
      - {cause: 核心服务器不可达, measurement: check, tags: {check: core-1}, field: up, equals: [0]}
"""


def trunk(clock: FakeClock, name: str, up: float) -> Reading:
    return Reading("sip_trunk", {"site": "xz", "trunk": name},
                   {"up": up, "rtt_ms": 20.0, "consecutive_failures": 0.0}, clock.now_ns)


def build(tmp_path, maintenance=None):
    clock = FakeClock()
    written: list[Reading] = []
    kwargs = {"write": written.extend}
    if maintenance is not None:
        kwargs["is_in_maintenance"] = maintenance
    engine, sink = make_engine(make_config(tmp_path, INTERRUPTION), clock, **kwargs)
    return clock, engine, sink, written


def interruption_messages(sink):
    return [message for message in sink.messages if message.kind == "interruption"]


def test_one_trunk_down_is_not_interruption(tmp_path):
    clock, engine, sink, written = build(tmp_path)
    engine.observe([trunk(clock, "ct-1", 0.0), trunk(clock, "cu-1", 1.0)])

    assert interruption_messages(sink) == []
    service = [r for r in written if r.measurement == "service"]
    assert service[-1].fields == {"up": 1.0, "interruption_s": 0.0}
    assert service[-1].tags == {"site": "xz", "service": "hotline"}


def test_all_trunks_down_four_notices_and_breach(tmp_path):
    clock, engine, sink, written = build(tmp_path)
    engine.observe([trunk(clock, "ct-1", 1.0), trunk(clock, "cu-1", 1.0)])
    engine.observe([trunk(clock, "ct-1", 0.0), trunk(clock, "cu-1", 0.0)])

    notices = interruption_messages(sink)
    assert [n.title for n in notices] == ["【紧急】热线通信中断"]
    assert "原因：全部中继断开" in notices[0].text

    for _ in range(31 * 12):
        clock.advance(5)
        engine.tick()
    titles = [n.title for n in interruption_messages(sink)]
    assert titles == ["【紧急】热线通信中断", "【紧急】热线通信中断 10分",
                      "【紧急】热线通信中断 20分", "【紧急】热线通信中断 25分",
                      "【超时】热线通信中断已达 30分"]
    assert "仅剩 5分" in interruption_messages(sink)[3].text
    assert engine.store.interruptions()[0].breach == 1

    engine.observe([trunk(clock, "ct-1", 0.0), trunk(clock, "cu-1", 0.0)])
    assert [r for r in written if r.measurement == "service"][-1].fields == {
        "up": 0.0, "interruption_s": 1860.0}


def test_recovery_records_interruption(tmp_path):
    clock, engine, sink, written = build(tmp_path)
    engine.observe([trunk(clock, "ct-1", 0.0), trunk(clock, "cu-1", 0.0)])
    start = clock.now_ns
    clock.advance(754)
    engine.observe([trunk(clock, "ct-1", 1.0)])

    end_notice = interruption_messages(sink)[-1]
    assert end_notice.title == "【恢复】热线通信已恢复"
    assert "持续 12分34秒" in end_notice.text
    row = engine.store.interruptions()[0]
    assert (row.start_ns, row.end_ns, row.cause, row.in_maintenance, row.breach) == (
        start, clock.now_ns, "全部中继断开", 0, 0)
    assert written[-1].fields == {"up": 1.0, "interruption_s": 0.0}


def test_ups_output_off_and_core_check(tmp_path):
    clock, engine, sink, _ = build(tmp_path)
    engine.observe([Reading("ups", {"site": "xz", "ups": "ups-main"}, {"output_source": 2.0},
                            clock.now_ns),
                    Reading("check", {"site": "xz", "check": "core-1", "kind": "tcp"},
                            {"up": 0.0}, clock.now_ns)])
    assert engine.store.interruptions()[0].cause == "UPS 输出中断；核心服务器不可达"


def test_unknown_value_keeps_interruption(tmp_path):
    clock, engine, sink, _ = build(tmp_path)
    engine.observe([trunk(clock, "ct-1", 0.0)])
    clock.advance(5)
    engine.observe([Reading("sip_trunk", {"site": "xz", "trunk": "ct-1"}, {"rtt_ms": 3.0},
                            clock.now_ns)])
    assert engine.store.interruptions()[0].end_ns is None


def test_maintenance_hook_flags_interruption(tmp_path):
    calls = []

    def in_maintenance(target, moment):
        calls.append((target, moment.timestamp()))
        return True

    clock, engine, sink, _ = build(tmp_path, in_maintenance)
    engine.observe([trunk(clock, "ct-1", 0.0)])

    assert calls == [("hotline", clock.now_ns / 1e9)]
    assert engine.store.interruptions()[0].in_maintenance == 1
    assert "（在已公告的维护时段内）" in interruption_messages(sink)[0].text


def test_restart_does_not_repeat_notices(tmp_path):
    clock, engine, sink, _ = build(tmp_path)
    engine.observe([trunk(clock, "ct-1", 0.0)])
    clock.advance(601)
    engine.tick()
    engine.close()

    config = make_config(tmp_path, INTERRUPTION)
    engine, _ = make_engine(config, clock, sink)
    clock.advance(1)
    engine.tick()
    engine.observe([trunk(clock, "ct-1", 0.0)])
    assert len(interruption_messages(sink)) == 2
    assert len(engine.store.interruptions()) == 1


def test_restart_ends_only_after_cause_read_again(tmp_path):
    clock, engine, sink, _ = build(tmp_path)
    engine.observe([trunk(clock, "ct-1", 0.0)])
    engine.close()

    engine, _ = make_engine(make_config(tmp_path, INTERRUPTION), clock, sink)
    clock.advance(30)
    # A core check reading alone says nothing about the trunks that caused it.
    engine.observe([Reading("check", {"site": "xz", "check": "core-1", "kind": "tcp"},
                            {"up": 1.0}, clock.now_ns)])
    assert engine.store.interruptions()[0].end_ns is None

    engine.observe([trunk(clock, "ct-1", 1.0)])
    assert engine.store.interruptions()[0].end_ns == clock.now_ns


def test_combine_all_needs_every_condition(tmp_path):
    extra = """
    alerting:
      interruption:
        combine: all
        conditions:
          - {cause: 主中继断开, measurement: sip_trunk, tags: {trunk: ct-1}}
          - {cause: 服务器不可达, measurement: target, tags: {target: pbx-1}}
    """
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, extra), clock)
    engine.observe([trunk(clock, "ct-1", 0.0)])
    assert engine.store.interruptions() == []

    pbx = {"site": "xz", "agent": "a1", "target": "pbx-1", "kind": "check"}
    engine.observe([Reading("target", pbx, {"up": 0.0}, clock.now_ns)])
    assert engine.store.interruptions()[0].cause == "主中继断开；服务器不可达"
