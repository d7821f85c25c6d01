"""Maintenance windows: the 48-hour rule, notices to the bureau, reminders and completion."""

from __future__ import annotations

import json

import pytest

from hotline_monitor.errors import ConfigError
from hotline_monitor.maintenance.timeinput import notice_shortfall

from .conftest import MINUTE, at, request


def test_window_with_47_hours_notice_rejected(service, bureau_sink):
    now = at("2026-12-08 02:00")
    with pytest.raises(ConfigError) as caught:
        service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), now)

    problem = caught.value.problems[0]
    assert "距开始仅 47 小时 0 分，少于规定的 48 小时，还差 1 小时" in problem
    assert "--emergency" in problem
    assert service.ledger.windows() == []
    assert bureau_sink.messages == []


def test_window_with_49_hours_notice_accepted(service, bureau_sink):
    now = at("2026-12-08 00:00")
    window = service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), now)

    assert window.id == 1
    assert window.state == "scheduled"
    assert window.notice_hours == pytest.approx(49.0)
    assert not window.emergency
    assert bureau_sink.keys() == ["maint:1:notice"]
    notice = bureau_sink.messages[0]
    assert notice.kind == "notice"
    assert notice.title == "【检修通知】2026-12-10 01:00 线路检修（MW-1）"
    assert "提前 49 小时发出（规定不少于 48 小时）" in notice.text
    assert "联系人：张工 13800000000\n\n本通知提前 49 小时发出" in notice.text
    assert "主机房" not in notice.title
    recipients = {(r.channel, r.address) for r in notice.recipients}
    assert recipients == {("mail", "noc@bureau.example.cn"), ("mail", "duty@bureau.example.cn"),
                          ("bureau-group", "")}


def test_notice_archived_with_send_results(service, bureau_sink, config):
    now = at("2026-12-01 10:00")
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), now)
    folder = config.state_dir / "archive" / "2026-12" / "maint_1_notice"

    text = (folder / "notice.txt").read_text(encoding="utf-8")
    assert "徐州市大数据局：" in text
    assert "更换电信中继光缆接头" in text
    assert json.loads((folder / "results.json").read_text(encoding="utf-8"))["results"] == []

    bureau_sink.deliver_all()
    service.due_notices(now + MINUTE)
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))["results"]
    assert [result["state"] for result in results] == ["sent", "sent", "sent"]
    assert service.ledger.notices(window_id=1)[0].delivered_ns == now + MINUTE


def test_emergency_window_flagged_late(service, bureau_sink):
    now = at("2026-12-09 20:00")
    window = service.add(request("2026-12-10 01:00", "2026-12-10 03:00", emergency=True,
                                 reason="电信光缆被施工挖断，须立即抢修"), now)

    assert window.emergency
    assert window.late
    assert window.notice_hours == pytest.approx(5.0)
    text = bureau_sink.by_key("maint:1:notice").text
    assert "本次为紧急检修，提前 5 小时通知，不足规定的 48 小时。" in text
    assert "紧急原因：电信光缆被施工挖断，须立即抢修" in text


def test_emergency_without_reason_rejected(service):
    with pytest.raises(ConfigError) as caught:
        service.add(request("2026-12-10 01:00", "2026-12-10 03:00", emergency=True),
                    at("2026-12-09 20:00"))
    assert caught.value.problems == ["紧急检修（--emergency）必须用 --reason 说明无法提前通知的原因"]


def test_end_before_start_and_unknown_kind_rejected(service):
    with pytest.raises(ConfigError) as caught:
        service.add(request("2026-12-10 03:00", "2026-12-10 01:00", kind="打扫卫生"),
                    at("2026-12-01 00:00"))
    problems = caught.value.problems
    assert any("--kind '打扫卫生' 不是可用的检修类别" in problem for problem in problems)
    assert any("结束时间 2026-12-10 01:00 不晚于开始时间 2026-12-10 03:00" in problem
               for problem in problems)


def test_site_defined_kind_accepted(service):
    window = service.add(request("2026-12-10 01:00", "2026-12-10 03:00", kind="空调检修"),
                         at("2026-12-01 00:00"))
    assert window.kind == "空调检修"


@pytest.mark.parametrize(("now", "start", "expected"), [
    ("2026-12-08 02:00", "2026-12-10 01:00", "距开始仅 47 小时 0 分，少于规定的 48 小时，还差 1 小时"),
    ("2026-12-08 01:30", "2026-12-10 01:00", "距开始仅 47 小时 30 分，少于规定的 48 小时，还差 30 分"),
    ("2026-12-09 23:50", "2026-12-10 01:00", "距开始仅 1 小时 10 分，少于规定的 48 小时，还差 46 小时 50 分"),
    ("2026-12-10 00:59", "2026-12-10 01:00", "距开始仅 1 分，少于规定的 48 小时，还差 47 小时 59 分"),
])
def test_shortfall_wording(now, start, expected):
    assert notice_shortfall(at(now), at(start), 48.0) == expected


def test_shortfall_none_at_exactly_48_hours():
    assert notice_shortfall(at("2026-12-08 01:00"), at("2026-12-10 01:00"), 48.0) is None


def test_reminders_and_completion_through_a_month(service, bureau_sink):
    """Tick every minute through December; each notice goes at the first tick it is due."""
    added = at("2026-12-01 00:00")
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), added)
    service.add(request("2026-12-20 22:00", "2026-12-21 06:00", scope=["hotline"]), added)
    bureau_sink.deliver_all()

    sent_at: dict[str, int] = {}
    now = added
    while now < at("2027-01-01 00:00"):
        for key in service.due_notices(now):
            sent_at[key] = now
        bureau_sink.deliver_all()
        now += MINUTE

    # Reminder 24 h before the start, start notice at the start, completion at the end.
    assert sent_at == {
        "maint:1:remind": at("2026-12-09 01:00"),
        "maint:1:start": at("2026-12-10 01:00"),
        "maint:1:complete": at("2026-12-10 03:00"),
        "maint:2:remind": at("2026-12-19 22:00"),
        "maint:2:start": at("2026-12-20 22:00"),
        "maint:2:complete": at("2026-12-21 06:00"),
    }
    assert [window.state for window in service.ledger.windows()] == ["completed", "completed"]
    assert [window.violation for window in service.ledger.windows()] == ["", ""]
    reminder = bureau_sink.by_key("maint:1:remind")
    assert reminder.title == "【检修提醒】线路检修（MW-1）将于 2026-12-10 01:00 开始"
    assert "距今约 24 小时" in reminder.text
    assert "检修期间没有产生告警。" in bureau_sink.by_key("maint:1:complete").text


def test_window_started_without_delivered_notice_is_violation(service, bureau_sink):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), at("2026-12-01 00:00"))

    # Nothing is ever marked delivered: the channels never got it out.
    service.due_notices(at("2026-12-10 01:00"))

    window = service.ledger.window(1)
    assert window.state == "active"
    assert window.violation == "检修开始时，检修通知尚未确认送达徐州市大数据局"
    assert "注意：检修开始时，检修通知尚未确认送达徐州市大数据局" in \
        bureau_sink.by_key("maint:1:start").text


def test_emergency_window_gets_no_24h_reminder(service, bureau_sink):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00", emergency=True,
                        reason="光缆被挖断"), at("2026-12-09 20:00"))
    for minute in range(0, 8 * 60):
        service.due_notices(at("2026-12-09 20:00") + minute * MINUTE)
    assert bureau_sink.keys() == ["maint:1:notice", "maint:1:start", "maint:1:complete"]


def test_extend_moves_completion_and_sends_notice(service, bureau_sink):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), at("2026-12-01 00:00"))
    service.due_notices(at("2026-12-10 01:00"))
    window = service.extend(1, at("2026-12-10 04:30"), "熔接点重做", at("2026-12-10 02:40"))

    assert window.end_ns == at("2026-12-10 04:30")
    assert window.planned_end_ns == at("2026-12-10 03:00")
    extend = bureau_sink.by_key("maint:1:extend:1")
    assert extend.title == "【检修延期】线路检修（MW-1）结束时间延至 2026-12-10 04:30"
    assert "由 2026-12-10 03:00 延至 2026-12-10 04:30" in extend.text

    assert service.due_notices(at("2026-12-10 03:00")) == []
    assert service.due_notices(at("2026-12-10 04:30")) == ["maint:1:complete"]


def test_cancel_sends_notice_and_frees_scope(service, bureau_sink):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), at("2026-12-01 00:00"))
    service.cancel(1, "割接方案调整", at("2026-12-05 10:00"))

    assert bureau_sink.keys() == ["maint:1:notice", "maint:1:cancel"]
    assert "取消原因：割接方案调整" in bureau_sink.by_key("maint:1:cancel").text
    assert not service.calendar.is_in_maintenance("ups-main", at("2026-12-10 02:00"))
    assert service.due_notices(at("2026-12-10 02:00")) == []


def test_cancel_of_started_window_rejected(service):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), at("2026-12-01 00:00"))
    service.due_notices(at("2026-12-10 01:00"))
    with pytest.raises(ConfigError, match="已开始，不能取消"):
        service.cancel(1, "不做了", at("2026-12-10 01:30"))


def test_preview_matches_sent_notice(service, bureau_sink):
    now = at("2026-12-01 00:00")
    preview = service.preview(request("2026-12-10 01:00", "2026-12-10 03:00"), now)
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), now)

    sent = bureau_sink.by_key("maint:1:notice")
    assert (preview.title, preview.text) == (sent.title, sent.text)


def test_calendar_covers_scope_only_inside_window(service):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), at("2026-12-01 00:00"))
    calendar = service.calendar
    assert calendar.is_in_maintenance("ups-main", at("2026-12-10 01:00"))
    assert calendar.is_in_maintenance("ups-main", at("2026-12-10 02:59"))
    assert not calendar.is_in_maintenance("ups-main", at("2026-12-10 03:00"))
    assert not calendar.is_in_maintenance("ups-main", at("2026-12-10 00:59"))
    assert not calendar.is_in_maintenance("ups-backup", at("2026-12-10 02:00"))
    assert [w.id for w in calendar.active_windows(at("2026-12-10 02:00"))] == [1]


def test_undelivered_notice_warns_operator_at_reminder(service, bureau_sink):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), at("2026-12-01 00:00"))

    sent = service.due_notices(at("2026-12-09 01:00"))

    assert sent == ["maint:1:remind", "maint:1:undelivered"]
    warning = bureau_sink.by_key("maint:1:undelivered")
    assert warning.kind == "operator"
    assert [(r.channel, r.address) for r in warning.recipients] == [("mail", "ops@hotline.example.cn")]
    assert warning.title == "检修 MW-1 的检修通知尚未送达大数据局"
    assert "距今约 24 小时" in warning.text


def test_delivered_notice_sends_no_warning(service, bureau_sink):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00"), at("2026-12-01 00:00"))
    bureau_sink.deliver_all()
    assert service.due_notices(at("2026-12-09 01:00")) == ["maint:1:remind"]
