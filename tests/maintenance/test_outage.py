"""Outage notices to the bureau: first, progress and recovery."""

from __future__ import annotations

from .conftest import MINUTE, at, request


def test_outage_notices_first_progress_recovery(service, bureau_sink):
    start = at("2026-12-05 14:00")
    service.outage.started("hotline:1", "hotline", start, "电信、联通中继全部不可用")
    assert bureau_sink.keys() == ["outage:hotline:1:first"]
    first = bureau_sink.by_key("outage:hotline:1:first")
    assert first.kind == "notice"
    assert first.severity == "emergency"
    assert first.title == "【故障通报】xuzhou-12345 12345 热线通信中断"
    assert "自 2026-12-05 14:00:00 起通信中断" in first.text
    assert "每 30分 通报一次进展" in first.text

    sent_at = {}
    for minute in range(1, 75):
        now = start + minute * MINUTE
        for key in service.due_notices(now):
            sent_at[key] = now
    service.outage.ended("hotline:1", start + 75 * MINUTE)

    assert sent_at == {"outage:hotline:1:progress:1": at("2026-12-05 14:30"),
                       "outage:hotline:1:progress:2": at("2026-12-05 15:00")}
    progress = bureau_sink.by_key("outage:hotline:1:progress:1")
    assert progress.title == "【进展通报】xuzhou-12345 12345 热线已中断 30分"
    assert "距合同规定的 30分 时限还有 0秒" in progress.text
    second = bureau_sink.by_key("outage:hotline:1:progress:2")
    assert "已超过合同规定的 30分 时限。" in second.text
    recovery = bureau_sink.by_key("outage:hotline:1:recovery")
    assert "恢复时间：2026-12-05 15:15:00" in recovery.text
    assert "持续时间：1小时15分" in recovery.text
    assert "超出 45分" in recovery.text


def test_short_outage_recovery_says_limit_held(service, bureau_sink):
    start = at("2026-12-05 14:00")
    service.outage.started("hotline:2", "hotline", start, "UPS 输出中断")
    service.outage.ended("hotline:2", start + 12 * MINUTE)
    recovery = bureau_sink.by_key("outage:hotline:2:recovery")
    assert "持续时间：12分" in recovery.text
    assert "中断时长未超过合同规定的 30分 时限。" in recovery.text


def test_outage_events_idempotent(service, bureau_sink):
    start = at("2026-12-05 14:00")
    service.outage.started("hotline:3", "hotline", start, "中继不可用")
    service.outage.started("hotline:3", "hotline", start, "中继不可用")
    service.outage.ended("hotline:3", start + MINUTE)
    service.outage.ended("hotline:3", start + 2 * MINUTE)
    assert bureau_sink.keys() == ["outage:hotline:3:first", "outage:hotline:3:recovery"]
    assert service.ledger.interruption("hotline:3").end_ns == start + MINUTE


def test_drill_interruption_sends_nothing(service, bureau_sink):
    start = at("2026-12-05 14:00")
    service.outage.started("drill:1", "hotline", start, "演练", drill=True)
    service.due_notices(start + 40 * MINUTE)
    service.outage.ended("drill:1", start + 45 * MINUTE)
    assert bureau_sink.messages == []
    assert service.ledger.interruption("drill:1").drill


def test_interruption_caused_by_scoped_trunk_counts_apart(service, bureau_sink):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00", scope=["ups-main"]),
                at("2026-12-01 00:00"))
    row = service.outage.started("hotline:4", "hotline", at("2026-12-10 01:10"), "UPS 输出中断",
                                 targets=["ups-main"])
    assert row.window_id == 1
    assert not [key for key in bureau_sink.keys() if key.startswith("outage:")]


def test_end_sends_no_progress_notice(service, bureau_sink):
    start = at("2026-12-05 14:00")
    service.outage.started("hotline:5", "hotline", start, "中继不可用")
    # No tick ran during the interruption; it ends after 34 minutes.
    service.outage.ended("hotline:5", start + 34 * MINUTE)
    assert bureau_sink.keys() == ["outage:hotline:5:first", "outage:hotline:5:recovery"]
