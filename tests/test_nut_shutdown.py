"""Shutdown actions: grace period, cancellation, run once, record and announcement."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from hotline_monitor.alerting.notify import ConsoleSink
from hotline_monitor.config.model import UpsConfig
from hotline_monitor.notify.message import OutgoingMessage
from hotline_monitor.nut.config import ShutdownActionConfig
from hotline_monitor.nut.events import ShutdownEventLog
from hotline_monitor.nut.latest import LatestReadings
from hotline_monitor.nut.shutdown import ShutdownActions
from hotline_monitor.reading import Reading

NS = 1_000_000_000
START_NS = 1_800_000_000 * NS
UPS = [UpsConfig(id="ups-main", name="主机房 UPS", snmp={"host": "127.0.0.1"})]


class Clock:
    def __init__(self) -> None:
        self.now_ns = START_NS

    def __call__(self) -> int:
        return self.now_ns


class ListSink:
    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    def enqueue(self, message: OutgoingMessage) -> bool:
        self.messages.append(message)
        return True


class Harness:
    """Shutdown actions on a hand-driven clock, fed like the agent feeds them."""

    def __init__(self, state_dir: Path, action: dict, sink: ListSink | None = None) -> None:
        self.clock = Clock()
        self.latest = LatestReadings()
        self.state_dir = state_dir
        self.marker = state_dir / "ran"
        values = {"id": "db-host", "ups": "ups-main", "command": ["/usr/bin/touch", str(self.marker)],
                  "grace": 30}
        values.update(action)
        self.config = ShutdownActionConfig.model_validate(values)
        self.actions = self._build(sink)

    def _build(self, sink: ListSink | None) -> ShutdownActions:
        sink = sink or ConsoleSink(self.state_dir / "alerts.jsonl", console=False)
        return ShutdownActions([self.config], UPS, self.latest, ShutdownEventLog(self.state_dir),
                               sink, 15.0, clock=self.clock)

    def step(self, seconds: float, **fields: float) -> None:
        """Advance the clock, feed one `ups` reading (none if no fields) and evaluate."""
        self.clock.now_ns += int(seconds * NS)
        if fields:
            self.latest.observe([Reading("ups", {"ups": "ups-main", "source": "snmp"}, dict(fields),
                                         self.clock.now_ns)])
        asyncio.run(self.actions.evaluate())

    def events(self) -> list[str]:
        return [event for _, _, event, _ in self.actions.events.events()]

    def alerts(self) -> list[dict]:
        path = self.state_dir / "alerts.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_short_outage_cancels_within_grace(tmp_path):
    harness = Harness(tmp_path, {})
    harness.step(0, on_battery=0, charge_pct=100, runtime_s=3000)
    harness.step(5, on_battery=1, charge_pct=90, runtime_s=500)  # 500 s < 600 s: low battery
    harness.step(20, on_battery=1, charge_pct=85, runtime_s=480)
    harness.step(5, on_battery=0, charge_pct=85, runtime_s=480)  # 25 s into a 30 s grace
    harness.step(60, on_battery=0, charge_pct=86, runtime_s=500)

    assert not harness.marker.exists()
    assert harness.events() == ["pending", "cancelled"]
    alerts = harness.alerts()
    assert [alert["kind"] for alert in alerts] == ["alert", "recovery"]
    assert [alert["severity"] for alert in alerts] == ["critical", "info"]
    assert "30秒后将执行关机动作 db-host" in alerts[0]["text"]
    assert "市电已恢复" in alerts[1]["text"]


def test_low_battery_runs_command_once(tmp_path):
    harness = Harness(tmp_path, {})
    harness.step(0, on_battery=1, charge_pct=60, runtime_s=900)
    harness.step(5, on_battery=1, charge_pct=40, runtime_s=590)
    assert harness.events() == ["pending"]
    harness.step(29, on_battery=1, charge_pct=39, runtime_s=570)
    assert not harness.marker.exists()
    harness.step(1, on_battery=1, charge_pct=38, runtime_s=560)  # the 30 s grace is over
    assert harness.marker.exists()
    harness.marker.unlink()
    harness.step(60, on_battery=1, charge_pct=20, runtime_s=300)

    assert not harness.marker.exists(), "the command ran twice in one outage"
    assert harness.events() == ["pending", "executed"]
    assert "已执行" in harness.alerts()[-1]["text"]


def test_rearms_after_mains_return(tmp_path):
    harness = Harness(tmp_path, {"grace": 1})
    harness.step(0, on_battery=1, runtime_s=100)
    harness.step(1, on_battery=1, runtime_s=90)
    harness.step(1, on_battery=0, runtime_s=90)
    harness.step(1, on_battery=1, runtime_s=80)
    assert harness.events() == ["pending", "executed", "rearmed", "pending"]


def test_restart_in_same_outage_does_not_run_again(tmp_path):
    harness = Harness(tmp_path, {"grace": 1})
    harness.step(0, on_battery=1, runtime_s=100)
    harness.step(1, on_battery=1, runtime_s=90)
    harness.marker.unlink()
    harness.actions.events.close()

    restarted = Harness(tmp_path, {"grace": 1})
    restarted.step(0, on_battery=1, runtime_s=80)
    restarted.step(5, on_battery=1, runtime_s=70)

    assert not restarted.marker.exists()
    assert restarted.events() == ["pending", "executed"]


def test_on_battery_trigger_waits_its_time(tmp_path):
    harness = Harness(tmp_path, {"trigger": "on_battery", "on_battery_for": 120, "grace": 10})
    harness.step(0, on_battery=1, charge_pct=99, runtime_s=5000)
    harness.step(119, on_battery=1, charge_pct=95, runtime_s=4800)
    assert harness.events() == []
    harness.step(1, on_battery=1, charge_pct=95, runtime_s=4800)  # 120 s on battery
    harness.step(10, on_battery=1, charge_pct=94, runtime_s=4700)

    assert harness.events() == ["pending", "executed"]
    assert harness.marker.exists()


def test_stale_data_on_battery_counts_as_low(tmp_path):
    harness = Harness(tmp_path, {"grace": 5})
    harness.step(0, on_battery=1, charge_pct=80, runtime_s=2000)
    harness.step(16)  # no reading for 16 s: older than the 15 s max age
    harness.step(5)

    assert harness.events() == ["pending", "executed"]


def test_failed_command_is_announced(tmp_path):
    sink = ListSink()
    harness = Harness(tmp_path, {"grace": 1, "command": [sys.executable, "-c", "import sys; sys.exit(3)"]},
                      sink=sink)
    harness.step(0, on_battery=1, runtime_s=100)
    harness.step(1, on_battery=1, runtime_s=90)

    assert harness.events() == ["pending", "failed"]
    assert [message.severity for message in sink.messages] == ["critical", "emergency"]
    assert "退出码 3" in sink.messages[-1].text
    assert "请立即手动关闭相关主机" in sink.messages[-1].text


def test_missing_program_is_a_failure_not_a_crash(tmp_path):
    harness = Harness(tmp_path, {"grace": 1, "command": [str(tmp_path / "no-such-program")]})
    harness.step(0, on_battery=1, runtime_s=100)
    harness.step(1, on_battery=1, runtime_s=90)

    assert harness.events() == ["pending", "failed"]
    assert "无法启动命令" in harness.actions.events.events()[-1][3]


def test_announcement_reaches_person_on_shift(tmp_path):
    """With an on-call rota, shutdown messages go to the first emergency step's people."""
    from hotline_monitor.alerting.oncall import on_call_recipients
    from hotline_monitor.config.loader import parse_config

    path = tmp_path / "site.yaml"
    path.write_text(
        "site: s\n"
        "channels:\n  duty-sms: {type: sms_http, url: 'http://127.0.0.1:9/send', body_template: '{{ text }}'}\n"
        "oncall:\n"
        "  people:\n    - {id: zhang, name: 张三, phone: '13800000001'}\n"
        "  manager: zhang\n"
        "  default:\n    早班: {on_duty: zhang}\n    中班: {on_duty: zhang}\n    夜班: {on_duty: zhang}\n"
        "  escalation:\n    emergency:\n      - {after: 0s, to: [on_duty], channels: [duty-sms]}\n",
        encoding="utf-8")
    config = parse_config(path.read_text(encoding="utf-8"), path)

    recipients = on_call_recipients(config, "emergency")

    assert [(r.channel, r.address) for r in recipients] == [("duty-sms", "13800000001")]
