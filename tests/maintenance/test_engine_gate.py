"""The alerting engine sending through the maintenance gate: held pages, released pages, ledger."""

from __future__ import annotations

from alerting.helpers import BASE, START_NS, FakeClock, ListSink, make_config, ups
from alerting.test_interruption import INTERRUPTION, trunk

from hotline_monitor.alerting.engine import AlertEngine
from hotline_monitor.maintenance.service import MaintenanceService
from hotline_monitor.maintenance.windows import WindowRequest

NS = 1_000_000_000
HOUR = 3600 * NS

BASE_WITH_BACKUP = BASE.replace("oncall:", """  - id: ups-backup
    name: 备用 UPS
    snmp: {host: 127.0.0.1, port: 162}
oncall:""", 1)

SITE = """
state_dir: {state}
bureau:
  wecom_channel: console
"""


def build(tmp_path, extra: str = ""):
    """An engine whose sink is the gate; a window from START + 1 h to START + 3 h."""
    config = make_config(tmp_path, SITE.format(state=tmp_path / "state") + extra,
                         base=BASE_WITH_BACKUP)
    clock = FakeClock(START_NS - 72 * HOUR)
    pages, notices = ListSink(), ListSink()
    service = MaintenanceService(config, notices, None, pages)
    engine = AlertEngine(config, service.gate, clock=clock,
                         is_in_maintenance=service.calendar.is_in_maintenance)
    return config, clock, engine, service, pages, notices


def add_window(service, clock, scope: list[str]) -> None:
    service.add(WindowRequest("设备维护", START_NS + HOUR, START_NS + 3 * HOUR, scope,
                              "更换 UPS 电池组", "UPS 转旁路约 2 小时", "张工"), clock.now_ns)


def test_engine_page_held_in_window_released_after(tmp_path):
    config, clock, engine, service, pages, notices = build(tmp_path)
    add_window(service, clock, ["ups-main"])
    clock.now_ns = START_NS + 2 * HOUR
    engine.observe([ups(clock, on_battery=1.0, output_source=5.0, runtime_s=3000.0),
                    ups(clock, "ups-backup", on_battery=1.0, output_source=5.0, runtime_s=3000.0)])
    engine.tick()

    paged_targets = {message.context.get("target") for message in pages.messages}
    assert paged_targets == {"ups-backup"}
    held = service.ledger.alerts_in_window(1)
    assert [row.target for row in held] == ["ups-main"]

    clock.now_ns = START_NS + 3 * HOUR
    engine.tick()
    service.due_notices(clock.now_ns)
    released = [m for m in pages.messages if m.key.endswith(":after-maintenance")]
    assert [m.context.get("target") for m in released] == ["ups-main"]
    assert released[0].title.startswith("【检修结束仍未恢复】")


def test_engine_interruption_in_window_held(tmp_path):
    config, clock, engine, service, pages, notices = build(tmp_path, INTERRUPTION)
    add_window(service, clock, ["hotline"])
    clock.now_ns = START_NS + HOUR + 600 * NS
    engine.observe([trunk(clock, "ct-1", 0.0), trunk(clock, "cu-1", 0.0)])
    clock.now_ns += 20 * 60 * NS
    engine.tick()
    engine.observe([trunk(clock, "ct-1", 1.0), trunk(clock, "cu-1", 1.0)])

    assert [m for m in pages.messages if m.kind == "interruption"] == []
    assert not [m for m in notices.messages if m.key.startswith("outage:")]
    rows = engine.store.interruptions()
    assert rows[0].in_maintenance == 1
    ledger_row = service.ledger.open_interruptions()
    assert ledger_row == []
    assert service.ledger.interruptions(START_NS, START_NS + 4 * HOUR)[0].window_id == 1


def test_engine_interruption_outliving_window(tmp_path):
    config, clock, engine, service, pages, notices = build(tmp_path, INTERRUPTION)
    add_window(service, clock, ["hotline"])
    clock.now_ns = START_NS + 2 * HOUR + 50 * 60 * NS
    engine.observe([trunk(clock, "ct-1", 0.0), trunk(clock, "cu-1", 0.0)])
    assert [m for m in pages.messages if m.kind == "interruption"] == []

    # The window ends at START + 3 h with the trunks still down.
    clock.now_ns = START_NS + 3 * HOUR
    engine.tick()
    service.due_notices(clock.now_ns)

    paged = [m.key for m in pages.messages if m.kind == "interruption"]
    assert paged[0].endswith(":after-maintenance")
    start_ns = START_NS + 2 * HOUR + 50 * 60 * NS
    first = [m for m in notices.messages if m.key == f"outage:hotline:{start_ns}:first"]
    assert len(first) == 1
    assert "自此计时" in first[0].text

    # Recovery 20 minutes after the window: the recovery notice counts from the window's end.
    clock.now_ns = START_NS + 3 * HOUR + 20 * 60 * NS
    engine.observe([trunk(clock, "ct-1", 1.0), trunk(clock, "cu-1", 1.0)])
    recovery = [m for m in notices.messages if m.key.endswith(":recovery")]
    assert len(recovery) == 1
    assert "持续时间：20分" in recovery[0].text
    assert "中断时长未超过合同规定的 30分 时限。" in recovery[0].text
