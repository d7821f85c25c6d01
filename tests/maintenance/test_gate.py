"""Suppression of pages during windows, and interruptions inside windows counted apart."""

from __future__ import annotations

from hotline_monitor.notify.message import OutgoingMessage, Recipient

from .conftest import MINUTE, at, request

ONCALL = [Recipient("oncall-sms", "13900000000")]


def alert(key: str, target: str, time_ns: int, kind: str = "alert", group: int = 1,
          drill: bool = False) -> OutgoingMessage:
    return OutgoingMessage(key=key, kind=kind, severity="critical", title=f"【严重】{target} 输入电压异常",
                           text=f"{target}：输入电压 180 V，低于 187 V", recipients=ONCALL,
                           context={"group_id": group, "target": target, "rule": "input_voltage"},
                           drill=drill, created_ns=time_ns)


def interruption(stage: str, start_ns: int, time_ns: int) -> OutgoingMessage:
    return OutgoingMessage(key=f"interruption:7:{stage}", kind="interruption", severity="emergency",
                           title="【紧急】热线通信中断", text="热线通信中断", recipients=ONCALL,
                           context={"service": "hotline", "stage": stage, "start_ns": start_ns,
                                    "cause": "全部中继不可用", "in_maintenance": False},
                           created_ns=time_ns)


def add_window(service, scope=("ups-main",)):
    service.add(request("2026-12-10 01:00", "2026-12-10 03:00", scope=list(scope)),
                at("2026-12-01 00:00"))


def test_alert_in_scope_held_but_kept(service, page_sink):
    add_window(service)
    gate = service.gate

    assert gate.enqueue(alert("a:1", "ups-main", at("2026-12-10 01:20")))

    assert page_sink.messages == []
    stored = service.ledger.alerts_in_window(1)
    assert [(row.target, row.paged_ns) for row in stored] == [("ups-main", None)]


def test_alert_outside_scope_pages(service, page_sink):
    add_window(service)
    service.gate.enqueue(alert("a:2", "ups-backup", at("2026-12-10 01:20"), group=2))
    assert page_sink.keys() == ["a:2"]
    assert service.ledger.alerts_in_window(1) == []


def test_alert_in_scope_outside_time_pages(service, page_sink):
    add_window(service)
    service.gate.enqueue(alert("a:3", "ups-main", at("2026-12-10 03:00"), group=3))
    assert page_sink.keys() == ["a:3"]


def test_recovered_alert_listed_in_completion_not_paged(service, bureau_sink, page_sink):
    add_window(service)
    gate = service.gate
    gate.enqueue(alert("a:1", "ups-main", at("2026-12-10 01:20")))
    gate.enqueue(alert("a:1:escalation:1", "ups-main", at("2026-12-10 01:35"), kind="escalation"))
    gate.enqueue(alert("a:1:recovery", "ups-main", at("2026-12-10 01:40"), kind="recovery"))
    bureau_sink.deliver_all()

    service.due_notices(at("2026-12-10 01:00"))
    assert service.due_notices(at("2026-12-10 03:00")) == ["maint:1:complete"]

    assert page_sink.messages == []
    completion = bureau_sink.by_key("maint:1:complete").text
    assert "检修期间共有 1 条告警按计划暂停呼叫（已记录）：" in completion
    assert "2026-12-10 01:20:00 ups-main 【严重】ups-main 输入电压异常" in completion
    assert "仍未恢复" not in completion


def test_alert_outliving_window_paged_at_end(service, bureau_sink, page_sink):
    add_window(service)
    service.gate.enqueue(alert("a:1", "ups-main", at("2026-12-10 02:30")))
    bureau_sink.deliver_all()

    for minute in range(0, 180):
        service.due_notices(at("2026-12-10 00:30") + minute * MINUTE)
        if page_sink.messages:
            break

    assert page_sink.keys() == ["a:1:after-maintenance"]
    released = page_sink.messages[0]
    assert released.created_ns == at("2026-12-10 03:00")
    assert released.title == "【检修结束仍未恢复】【严重】ups-main 输入电压异常"
    assert released.recipients == ONCALL
    assert "（检修结束时仍未恢复，已转为正常告警）" in bureau_sink.by_key("maint:1:complete").text

    # Later pages of the same alert go straight through, and its recovery too.
    service.gate.enqueue(alert("a:1:repeat:1", "ups-main", at("2026-12-10 03:20"), kind="repeat"))
    service.gate.enqueue(alert("a:1:recovery", "ups-main", at("2026-12-10 03:30"), kind="recovery"))
    assert page_sink.keys() == ["a:1:after-maintenance", "a:1:repeat:1", "a:1:recovery"]


def test_drill_alert_never_held(service, page_sink):
    add_window(service)
    service.gate.enqueue(alert("d:1", "ups-main", at("2026-12-10 01:20"), drill=True))
    assert page_sink.keys() == ["d:1"]


def test_interruption_inside_window_recorded_apart(service, bureau_sink, page_sink):
    add_window(service, scope=("hotline",))
    bureau_sink.deliver_all()
    service.due_notices(at("2026-12-10 01:00"))
    start = at("2026-12-10 01:30")

    service.gate.enqueue(interruption("start", start, start))
    service.gate.enqueue(interruption("10", start, start + 10 * MINUTE))
    service.gate.enqueue(interruption("end", start, at("2026-12-10 02:00")))
    service.due_notices(at("2026-12-10 03:00"))

    row = service.ledger.interruption(f"hotline:{start}")
    assert row.window_id == 1
    assert row.notices_from_ns is None
    assert row.end_ns == at("2026-12-10 02:00")
    assert page_sink.messages == []
    assert not [key for key in bureau_sink.keys() if key.startswith("outage:")]
    completion = bureau_sink.by_key("maint:1:complete").text
    assert "- 2026-12-10 01:30:00 至 2026-12-10 02:00:00，原因：全部中继不可用" in completion


def test_interruption_outliving_window_starts_notices_at_end(service, bureau_sink, page_sink):
    add_window(service, scope=("hotline",))
    bureau_sink.deliver_all()
    start = at("2026-12-10 02:40")
    service.gate.enqueue(interruption("start", start, start))
    assert page_sink.messages == []

    sent_at = {}
    for minute in range(0, 60):
        now = at("2026-12-10 02:41") + minute * MINUTE
        for key in service.due_notices(now):
            sent_at[key] = now
    service.gate.enqueue(interruption("end", start, at("2026-12-10 03:41")))

    source = f"outage:hotline:{start}"
    assert sent_at[f"{source}:first"] == at("2026-12-10 03:00")
    assert sent_at[f"{source}:progress:1"] == at("2026-12-10 03:30")
    # The on-call page the clock sent at the start was held and is released at the end.
    assert page_sink.keys() == ["interruption:7:start:after-maintenance", "interruption:7:end"]
    first = bureau_sink.by_key(f"{source}:first")
    assert "检修时段 MW-1 已于 2026-12-10 03:00:00 结束，中断仍未恢复，自此计时" in first.text
    recovery = bureau_sink.by_key(f"{source}:recovery")
    # Counted from the window's end: 03:00 to 03:41 = 41 min, over the 30-minute limit.
    assert "开始时间：2026-12-10 03:00:00" in recovery.text
    assert "持续时间：41分" in recovery.text
    assert "中断时长超过了合同规定的 30分 时限（超出 11分）。" in recovery.text


def test_ack_notice_records_ack_time(service, page_sink):
    fired = at("2026-12-05 10:00")
    service.gate.enqueue(alert("group:5:page", "ups-backup", fired, group=5))
    service.gate.enqueue(alert("group:5:ack", "ups-backup", fired + 3 * MINUTE, kind="escalation",
                               group=5))

    row = service.ledger.alert("group:5")
    assert row.fired_ns == fired
    assert row.acked_ns == fired + 3 * MINUTE
    assert page_sink.keys() == ["group:5:page", "group:5:ack"]


def test_page_after_window_releases_held_first(service, page_sink):
    add_window(service)
    service.gate.enqueue(alert("a:1", "ups-main", at("2026-12-10 02:30")))
    # The engine escalates right after the end, before the minute tick ran.
    service.gate.enqueue(alert("a:1:escalation:2", "ups-main", at("2026-12-10 03:00"),
                               kind="escalation"))

    assert page_sink.keys() == ["a:1:after-maintenance", "a:1:escalation:2"]
    assert service.due_notices(at("2026-12-10 03:01")) == ["maint:1:start", "maint:1:complete"]
    assert page_sink.keys() == ["a:1:after-maintenance", "a:1:escalation:2"]


def test_drill_interruption_recorded_as_drill(service, bureau_sink, page_sink):
    start = at("2026-12-05 14:00")
    drill = interruption("start", start, start)
    drill.drill = True
    service.gate.enqueue(drill)

    assert page_sink.keys() == ["interruption:7:start"]
    assert service.ledger.interruption(f"hotline:{start}").drill
    assert bureau_sink.messages == []
