"""`maint` and `report` commands: exit codes and Chinese messages."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hotline_monitor.agent.cli import main
from hotline_monitor.maintenance import delivery
from hotline_monitor.timeutil import SHANGHAI

from .conftest import RecordingSink


def local_in(hours: float) -> str:
    """Asia/Shanghai wall time `hours` from now, to the minute, rounded up."""
    moment = datetime.now(SHANGHAI) + timedelta(hours=hours, minutes=1)
    return moment.strftime("%Y-%m-%d %H:%M")


def add_args(site_file, start: str, end: str, scope: str = "ups-main", *extra: str) -> list[str]:
    return ["maint", "add", "-c", str(site_file), "--kind", "线路检修", "--start", start,
            "--end", end, "--scope", scope, "--description", "更换光缆接头",
            "--impact", "电信中继中断约 30 分钟", "--contact", "张工 13800000000", *extra]


@pytest.fixture
def outbox(monkeypatch) -> RecordingSink:
    sink = RecordingSink()
    monkeypatch.setattr(delivery, "open_outbox", lambda config: (sink, sink.lookup, lambda: None))
    return sink


def test_bad_time_format_exit_2(site_file, capsys):
    code = main(add_args(site_file, "2026/12/10 1点", "2026-12-10 03:00"))
    assert code == 2
    err = capsys.readouterr().err
    assert "--start 的时间格式无效：'2026/12/10 1点'，应写作 2026-12-10 01:00（北京时间）" in err


def test_end_before_start_exit_2(site_file, capsys, outbox):
    code = main(add_args(site_file, local_in(100), local_in(99)))
    assert code == 2
    assert "不晚于开始时间" in capsys.readouterr().err
    assert outbox.messages == []


def test_unknown_scope_target_exit_2(site_file, capsys, outbox):
    code = main(add_args(site_file, local_in(100), local_in(102), "ups-main,trunk-nowhere"))
    assert code == 2
    err = capsys.readouterr().err
    assert "--scope 中的 'trunk-nowhere' 不是已配置的 UPS、中继、主机、检查或服务" in err
    assert "ups-main" in err


def test_short_notice_exit_2_with_missing_time(site_file, capsys, outbox):
    code = main(add_args(site_file, local_in(47), local_in(49)))
    assert code == 2
    err = capsys.readouterr().err
    assert "检修通知提前量不足：距开始仅 47 小时" in err
    assert "少于规定的 48 小时，还差" in err
    assert outbox.messages == []


def test_dry_run_prints_notice_and_sends_nothing(site_file, capsys, outbox, config):
    start = local_in(60)
    code = main(add_args(site_file, start, local_in(62), "ups-main", "--dry-run"))
    assert code == 0
    out = capsys.readouterr().out
    assert f"标题：【检修通知】{start} 线路检修（MW-1）" in out
    assert "收件人：mail:noc@bureau.example.cn、mail:duty@bureau.example.cn、bureau-group" in out
    assert "徐州市大数据局：" in out
    assert "（预览：未保存、未发送）" in out
    assert outbox.messages == []
    assert not (config.state_dir / "archive").exists()


def test_add_list_show_cancel(site_file, capsys, outbox):
    start = local_in(60)
    assert main(add_args(site_file, start, local_in(62))) == 0
    out = capsys.readouterr().out
    assert "已登记检修 MW-1：线路检修" in out
    assert "检修通知已进入发送队列" in out
    assert outbox.keys() == ["maint:1:notice"]

    assert main(["maint", "list", "-c", str(site_file)]) == 0
    listing = capsys.readouterr().out
    assert "MW-1" in listing
    assert "待开始" in listing

    assert main(["maint", "show", "-c", str(site_file), "MW-1"]) == 0
    shown = capsys.readouterr().out
    assert f"时间：{start}" in shown
    assert "检修通知  已进入发送队列，尚未确认送达" in shown

    assert main(["maint", "cancel", "-c", str(site_file), "1", "--reason", "方案调整"]) == 0
    assert outbox.keys() == ["maint:1:notice", "maint:1:cancel"]


def test_emergency_add_flagged(site_file, capsys, outbox):
    code = main(add_args(site_file, local_in(3), local_in(5), "hotline", "--emergency",
                         "--reason", "光缆被挖断"))
    assert code == 0
    assert "紧急检修，提前量不足，已标记为迟报" in capsys.readouterr().out


def test_show_unknown_window_exit_2(site_file, capsys):
    assert main(["maint", "show", "-c", str(site_file), "MW-9"]) == 2
    assert "检修编号 MW-9 不存在" in capsys.readouterr().err


def test_report_bad_month_exit_2(site_file, capsys):
    assert main(["report", "monthly", "-c", str(site_file), "--month", "2026-13"]) == 2
    assert "--month 格式无效：'2026-13'，应写作 2026-11" in capsys.readouterr().err


def test_report_monthly_writes_files(site_file, capsys, tmp_path):
    code = main(["report", "monthly", "-c", str(site_file), "--month", "2026-01",
                 "-o", str(tmp_path / "out")])
    assert code == 0
    out = capsys.readouterr().out
    assert "2026 年 1 月：可用率 100.000 %，中断 0 次，超时 0 次" in out
    assert (tmp_path / "out" / "report-monthly-2026-01.html").exists()
    assert (tmp_path / "out" / "report-monthly-2026-01.xlsx").exists()


def test_backup_and_restore_commands(site_file, capsys, tmp_path, outbox):
    assert main(add_args(site_file, local_in(60), local_in(62))) == 0
    assert main(["maint", "backup", "-c", str(site_file)]) == 0
    backup_file = next((tmp_path / "backup").glob("ledger-*.sqlite"))
    assert main(["maint", "restore", "-c", str(site_file), "--from", str(backup_file)]) == 0
    assert "台账已从" in capsys.readouterr().out
    assert main(["maint", "restore", "-c", str(site_file), "--from", str(tmp_path / "x")]) == 2


def test_report_send_enqueues_and_archives(site_file, capsys, tmp_path, outbox, config):
    code = main(["report", "yearly", "-c", str(site_file), "--year", "2025", "--send"])
    assert code == 0
    assert "报告已进入发送队列并存档" in capsys.readouterr().out
    assert outbox.keys() == ["report:yearly:2025"]
    message = outbox.by_key("report:yearly:2025")
    assert message.kind == "report"
    assert message.title == "【运行报告】12345 热线供电与通信运行年报（2025 年）"
    for path in message.context["attachments"]:
        assert path.startswith(str(config.state_dir / "archive"))


def test_report_future_period_exit_2(site_file, capsys):
    assert main(["report", "yearly", "-c", str(site_file), "--year", "2999"]) == 2
    assert "2999 年尚未开始，无法生成报告" in capsys.readouterr().err
