"""`hotline-monitor alerts …`: exit codes and Chinese output."""

from __future__ import annotations

import textwrap

import pytest
from alerting.helpers import BASE, FakeClock, make_engine, ups

from hotline_monitor.agent.cli import main
from hotline_monitor.config.loader import load_config


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(textwrap.dedent(BASE), encoding="utf-8")
    return path


def fire_mains_failure(path):
    clock = FakeClock()
    engine, _ = make_engine(load_config(path), clock)
    engine.observe([ups(clock, output_source=5.0, alarms_present=1.0)])
    engine.close()


def test_list_empty(site, capsys):
    assert main(["alerts", "list", "-c", str(site)]) == 0
    assert capsys.readouterr().out == "当前没有未恢复的告警。\n"


def test_list_shows_open_alerts(site, capsys):
    fire_mains_failure(site)
    assert main(["alerts", "list", "-c", str(site)]) == 0
    out = capsys.readouterr().out
    assert "#1 【严重】主机房 UPS：告警中，未确认，开始于 2026-12-04 08:30:00" in out
    assert "市电中断，UPS 转电池供电（08:30:00 起）" in out


def test_ack_then_list(site, capsys):
    fire_mains_failure(site)
    assert main(["alerts", "ack", "1", "-c", str(site), "--by", "张三"]) == 0
    assert "已确认告警 #1（主机房 UPS），确认人 张三，升级通知已停止" in capsys.readouterr().out

    assert main(["alerts", "list", "-c", str(site)]) == 0
    assert "已确认（张三，" in capsys.readouterr().out


def test_ack_unknown_id_exit_two(site, capsys):
    assert main(["alerts", "ack", "7", "-c", str(site)]) == 2
    assert "告警 #7 不存在" in capsys.readouterr().err


def test_ack_bad_id_exit_two(site, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["alerts", "ack", "abc", "-c", str(site)])
    assert exit_info.value.code == 2
    assert "无效的 int 值：'abc'" in capsys.readouterr().err


def test_silence_list_and_remove(site, capsys):
    code = main(["alerts", "silence", "ups-*", "-c", str(site), "--for", "2h",
                 "--reason", "更换电池", "--by", "李四"])
    assert code == 0
    assert "已添加静默 #1：ups-*" in capsys.readouterr().out

    assert main(["alerts", "silences", "-c", str(site)]) == 0
    out = capsys.readouterr().out
    assert "#1 ups-*：至" in out
    assert "原因：更换电池，操作人 李四" in out

    assert main(["alerts", "unsilence", "1", "-c", str(site)]) == 0
    assert main(["alerts", "silences", "-c", str(site)]) == 0
    assert "当前没有生效中的静默" in capsys.readouterr().out
    assert main(["alerts", "unsilence", "1", "-c", str(site)]) == 2


def test_silence_bad_duration_exit_two(site, capsys):
    code = main(["alerts", "silence", "ups-main", "-c", str(site), "--for", "soon",
                 "--reason", "x"])
    assert code == 2
    assert "--for：时长格式无效：'soon'" in capsys.readouterr().err


def test_missing_config_exit_two(tmp_path, capsys):
    assert main(["alerts", "list", "-c", str(tmp_path / "none.yaml")]) == 2
    assert "配置文件不存在" in capsys.readouterr().err


def test_list_shows_pending(site, capsys):
    clock = FakeClock()
    engine, _ = make_engine(load_config(site), clock)
    engine.observe([ups(clock, battery_temperature_c=45.0)])
    engine.close()

    assert main(["alerts", "list", "-c", str(site)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("待定（条件已满足，未到持续时间）【警告】主机房 UPS：电池温度 45 °C，高于 40 °C")


def test_list_shows_ongoing_interruption(site, capsys):
    from hotline_monitor.alerting.store import AlertStore

    store = AlertStore(tmp_state(site) / "alerts.sqlite")
    store.start_interruption("hotline", 1_796_344_200 * 10**9, "全部中继断开", False)
    store.close()

    assert main(["alerts", "list", "-c", str(site)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("【通信中断】hotline：自 2026-12-04 08:30:00 起已中断 ")
    assert out.rstrip().endswith("原因：全部中继断开")


def tmp_state(site):
    return site.parent / "state"


def test_example_config_is_valid(monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("HOTLINE_ACK_SECRET", "0123456789abcdef0123")
    monkeypatch.setenv("UPS_COMMUNITY", "public")
    example = Path(__file__).resolve().parents[2] / "examples" / "alerting.yaml"
    config = load_config(example)
    assert config.oncall.manager == "wang"
    assert [c.cause for c in config.alerting.interruption.conditions] == [
        "全部中继断开", "UPS 输出中断", "核心服务器不可达"]
