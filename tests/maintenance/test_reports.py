"""Report figures for a seeded month, checked against values worked out by hand."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from hotline_monitor.maintenance.agent_hook import build_maintenance
from hotline_monitor.maintenance.backup import backups
from hotline_monitor.reading import Reading
from hotline_monitor.reports import pdf
from hotline_monitor.reports.build import NO_PDF_ENGINE, build_report
from hotline_monitor.reports.figures import compute, month_period, year_period

from .conftest import MINUTE, at, request
from .test_gate import alert

SECOND = 1_000_000_000


def seed_november(service, bureau_sink) -> None:
    """Seed November 2026 (Asia/Shanghai) with interruptions, windows, battery and alerts."""
    outage = service.outage

    # E: 2026-10-31 23:50 to 2026-11-01 00:10, across the month's start.
    outage.started("E", "hotline", at("2026-10-31 23:50"), "联通中继不可用")
    outage.ended("E", at("2026-11-01 00:10"))
    # A: 12 minutes. B: 34 minutes, over the 30-minute limit.
    outage.started("A", "hotline", at("2026-11-03 10:00"), "电信中继不可用")
    outage.ended("A", at("2026-11-03 10:12"))
    outage.started("B", "hotline", at("2026-11-15 02:00"), "UPS 输出中断")
    outage.ended("B", at("2026-11-15 02:34"))
    # A drill interruption: listed apart, never counted.
    outage.started("drill", "hotline", at("2026-11-10 15:00"), "演练", drill=True)
    outage.ended("drill", at("2026-11-10 15:20"))

    # W1 with 72 hours' notice; C falls wholly inside it.
    service.add(request("2026-11-20 01:00", "2026-11-20 03:00", scope=["hotline"]),
                at("2026-11-17 01:00"))
    bureau_sink.deliver_all()
    service.due_notices(at("2026-11-20 01:00"))
    outage.started("C", "hotline", at("2026-11-20 01:30"), "割接中")
    outage.ended("C", at("2026-11-20 02:00"))
    service.due_notices(at("2026-11-20 03:00"))

    # W2, an emergency with 5 hours' notice; D outlives it by 10 minutes.
    service.add(request("2026-11-25 01:00", "2026-11-25 02:00", scope=["hotline"],
                        emergency=True, reason="光缆被挖断"), at("2026-11-24 20:00"))
    bureau_sink.deliver_all()
    service.due_notices(at("2026-11-25 01:00"))
    outage.started("D", "hotline", at("2026-11-25 01:50"), "光缆抢修")
    service.due_notices(at("2026-11-25 02:00"))
    outage.ended("D", at("2026-11-25 02:10"))

    # ups-main on battery 14:00:00 to 14:05:00; runtime 1800 s, 1500 s, 1650 s.
    service.observe([
        Reading("ups", {"ups": "ups-main"}, {"on_battery": 1.0, "runtime_s": 1800.0}, at("2026-11-08 14:00")),
        Reading("ups", {"ups": "ups-main"}, {"on_battery": 1.0, "runtime_s": 1500.0}, at("2026-11-08 14:02")),
        Reading("ups", {"ups": "ups-main"}, {"on_battery": 1.0, "runtime_s": 1650.0}, at("2026-11-08 14:04")),
        Reading("ups", {"ups": "ups-main"}, {"on_battery": 0.0, "runtime_s": 3600.0}, at("2026-11-08 14:05")),
    ])

    # Four alerts acknowledged after 60 s, 180 s, never, 300 s; one drill alert.
    gate = service.gate
    for group, fired, ack_s in ((1, "2026-11-03 10:01", 60), (2, "2026-11-15 02:01", 180),
                                (3, "2026-11-28 09:00", None), (4, "2026-11-29 09:00", 300)):
        gate.enqueue(alert(f"g{group}", "ups-backup", at(fired), group=group))
        if ack_s is not None:
            gate.record_ack(f"group:{group}", at(fired) + ack_s * SECOND)
    gate.enqueue(alert("drill", "ups-backup", at("2026-11-10 15:01"), group=9, drill=True))


def test_monthly_figures_match_hand_worked_values(service, bureau_sink):
    seed_november(service, bureau_sink)
    figures = compute(service.ledger, month_period("2026-11"), 1800.0, 48.0, at("2026-12-02 00:00"))

    # November has 30 days: 30 × 86,400 s = 2,592,000 s.
    assert figures.period.seconds == 2_592_000
    # Counted downtime: E's November part 00:00–00:10 = 600 s, A 720 s, B 2,040 s,
    # D after its window 02:00–02:10 = 600 s; C (inside W1) and the drill are not counted.
    # 600 + 720 + 2,040 + 600 = 3,960 s.
    assert figures.downtime_s == 3960
    # availability = 1 − 3,960 s / 2,592,000 s = 0.998472… = 99.847 %
    assert figures.availability == pytest.approx(1 - 3960 / 2_592_000)
    assert f"{figures.availability * 100:.3f}" == "99.847"
    assert [item.row.source_id for item in figures.interruptions] == ["E", "A", "B", "D"]
    # E lasted 20 min in all (1,200 s): under the limit. B, 2,040 s, is the longest and the one breach.
    assert [item.duration_s for item in figures.interruptions] == [1200, 720, 2040, 600]
    assert figures.longest.row.source_id == "B"
    assert [item.row.source_id for item in figures.breaches] == ["B"]
    assert sorted(item.row.source_id for item in figures.in_window) == ["C", "D"]
    # Battery: 14:00 to 14:05 = 300 s; the lowest runtime read was 1,500 s.
    assert [(figures.battery_seconds(e), e.min_runtime_s) for e in figures.battery] == [(300, 1500)]
    # W1 had 72 h of notice; W2 had 5 h (emergency), so it is the one late window.
    assert [(w.row.id, w.notice_hours, w.enough_notice) for w in figures.windows] == \
        [(1, 72.0, True), (2, 5.0, False)]
    # Acknowledgement times 60, 180, 300 s: median 180 s, max 300 s; four alerts in all.
    assert len(figures.alerts) == 4
    assert figures.alert_counts()["critical"] == 4
    assert figures.ack_median_s == 180
    assert figures.ack_max_s == 300
    assert len(figures.drills) == 2


def test_yearly_figures_match_hand_worked_values(service, bureau_sink):
    seed_november(service, bureau_sink)
    figures = compute(service.ledger, year_period("2026"), 1800.0, 48.0, at("2027-01-02 00:00"))

    # 2026 has 365 days: 31,536,000 s. E counts whole (1,200 s) since it began in 2026:
    # 1,200 + 720 + 2,040 + 600 = 4,560 s; availability = 1 − 4,560 / 31,536,000 = 99.986 %.
    assert figures.period.seconds == 31_536_000
    assert figures.downtime_s == 4560
    assert f"{figures.availability * 100:.3f}" == "99.986"


def test_report_files_written(service, bureau_sink, config, tmp_path):
    seed_november(service, bureau_sink)
    files = build_report(config, service.ledger, month_period("2026-11"), at("2026-12-03 09:00"),
                         tmp_path / "out")

    html = files.html.read_text(encoding="utf-8")
    assert "12345 热线供电与通信运行月报（2026 年 11 月）" in html
    assert "99.847 %" in html
    assert "<svg" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "紧急检修（迟报）：光缆被挖断" in html

    workbook = load_workbook(files.excel)
    summary = {row[0]: row[1] for row in workbook["概况"].iter_rows(values_only=True)}
    assert summary["中断秒数（计入）"] == 3960
    assert summary["可用率"] == pytest.approx(0.998472, abs=1e-6)
    assert summary["最长中断秒数"] == 2040
    assert summary["超时次数"] == 1
    assert summary["提前量不足或未送达的检修"] == 1
    rows = list(workbook["中断"].iter_rows(values_only=True))
    assert rows[0] == ("开始", "结束", "时长（秒）", "原因", "超时", "备注")
    assert [row[2] for row in rows[1:]] == [1200, 720, 2040, 600]
    assert [row[4] for row in rows[1:]] == ["否", "否", "是", "否"]
    windows = list(workbook["检修"].iter_rows(values_only=True))
    assert [(row[0], row[6]) for row in windows[1:]] == [("MW-1", "是"), ("MW-2", "否")]

    if pdf.find_engine() is None:
        assert files.notes == [NO_PDF_ENGINE]
        assert files.pdf is None
    else:
        assert files.pdf.read_bytes().startswith(b"%PDF")


def test_monthly_report_and_daily_backup_run_by_themselves(config, bureau_sink, page_sink,
                                                           tmp_path):
    service = build_maintenance(config, bureau_sink, bureau_sink.lookup, page_sink)
    try:
        seed_november(service, bureau_sink)
        report_at = None
        now = at("2026-12-01 00:00")
        while now < at("2026-12-05 00:00"):
            service.due_notices(now)
            if report_at is None and "report:monthly:2026-11" in bureau_sink.keys():
                report_at = now
            now += 10 * MINUTE
    finally:
        service.close()

    # Report day 3, hour 9: sent once, at the first tick from 2026-12-03 09:00.
    assert report_at == at("2026-12-03 09:00")
    assert bureau_sink.keys().count("report:monthly:2026-11") == 1
    report = bureau_sink.by_key("report:monthly:2026-11")
    assert report.kind == "report"
    assert "可用率：99.847 %" in report.text
    attachments = report.context["attachments"]
    assert any(path.endswith("report-monthly-2026-11.xlsx") for path in attachments)
    archive = config.state_dir / "archive" / "2026-12" / "report_monthly_2026-11"
    assert (archive / "report-monthly-2026-11.html").exists()
    assert (archive / "results.json").exists()

    # One backup a day at 03:00 on 12-01 … 12-04, of which the newest 3 are kept.
    kept = backups(tmp_path / "backup")
    assert [path.name for path in kept] == ["ledger-20261201T190000Z.sqlite",
                                            "ledger-20261202T190000Z.sqlite",
                                            "ledger-20261203T190000Z.sqlite"]


def test_open_battery_event_counts_until_now_not_period_end():
    """An outage still open counts up to the report's "now", never into the future."""
    from hotline_monitor.maintenance.ledger import BatteryRow
    from hotline_monitor.reports.figures import Period, ReportFigures

    hour = 3600 * 10**9
    period = Period("yearly", "2026", 0, 8760 * hour)
    figures = ReportFigures(period, 1800.0, 48.0, until_ns=100 * hour)
    event = BatteryRow(1, "ups-main", 99 * hour, None, None, False)

    # Open since hour 99, report made at hour 100: one hour, not 8,661.
    assert figures.battery_seconds(event) == 3600.0
