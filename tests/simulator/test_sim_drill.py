"""`hotline-monitor drill`: marked messages, drill-tagged readings, the archived report."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from mocks.wecom import WecomRobotMock

from hotline_monitor.notify.message import OutgoingMessage, Recipient
from hotline_monitor.reading import decode_line
from hotline_monitor.simulator.drill import DrillSink

SITE = """\
site: drill-site
state_dir: {state_dir}
ups:
  - id: ups-main
    name: 主机房 UPS
    snmp: {{host: 192.0.2.10, community: site-secret, timeout: 0.5s, retries: 0}}
    modbus: {{host: 192.0.2.10, map: generic, timeout: 0.5s, retries: 0}}
    interval: 1s
alerting:
  console: false
"""


def run_drill(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    config = tmp_path / "site.yaml"
    config.write_text(SITE.format(state_dir=tmp_path / "state"), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "hotline_monitor", "drill", "-c", str(config), *arguments],
                          capture_output=True, text=True, timeout=120)


def test_drill_writes_marked_messages_and_report(tmp_path):
    finished = run_drill(tmp_path, "--scenario", "mains-restored", "--speed", "60")
    assert finished.returncode == 0, finished.stderr[-2000:]

    folders = list((tmp_path / "state" / "archive" / "drills").iterdir())
    assert len(folders) == 1
    folder = folders[0]
    assert folder.name.endswith("-mains-restored")
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    html = (folder / "report.html").read_text(encoding="utf-8")
    record = json.loads((folder / "drill.json").read_text(encoding="utf-8"))

    messages = [json.loads(line) for line in (folder / "alerts.jsonl").read_text().splitlines()]
    assert len(messages) >= 2  # on battery, then mains back
    for message in messages:
        shown = message.get("headline") or message.get("title")
        assert shown.startswith("【演练】"), shown
        assert message["drill"] is True

    assert "# 应急演练报告：市电恢复" in markdown
    assert "【演练】" in markdown
    assert "【演练】" in html
    assert "<h2>各环节时延</h2>" in html
    # Two source changes (to battery at the start, back to mains at 60 s), each
    # detected within one 1 s poll interval plus the 2 s margin.
    assert [step["event"] for step in record["steps"]] == [
        "输出来源：逆变器供电（正常） → 电池供电", "输出来源：电池供电 → 逆变器供电（正常）"]
    for step in record["steps"]:
        assert step["detection_s"] is not None and step["detection_s"] <= 3.0
    assert record["passed"] is True
    assert "演练通过" in finished.stdout

    # The site's own state folder contains no alert state of the drill.
    assert not (tmp_path / "state" / "alerts.jsonl").exists()

    with sqlite3.connect(folder / "local_store.sqlite") as db:
        lines = [line for (line,) in db.execute("SELECT line FROM readings")]
    readings = [decode_line(line) for line in lines]
    assert readings
    assert {reading.tags.get("drill") for reading in readings} == {"1"}
    sources = {reading.tags.get("source") for reading in readings if reading.measurement == "ups"}
    assert sources == {"snmp", "modbus"}  # both paths pointed at the simulator


def test_drill_rejects_unknown_scenario_and_ups(tmp_path):
    finished = run_drill(tmp_path, "--scenario", "earthquake")
    assert finished.returncode == 2
    assert "场景 'earthquake' 不存在" in finished.stderr
    finished = run_drill(tmp_path, "--scenario", "bypass", "--ups", "ups-spare")
    assert finished.returncode == 2
    assert "没有 id 为 'ups-spare' 的 UPS" in finished.stderr


class RecordingSink:
    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    def enqueue(self, message: OutgoingMessage) -> bool:
        self.messages.append(message)
        return True


def message(kind: str, channel: str = "wecom") -> OutgoingMessage:
    return OutgoingMessage(key="k1", kind=kind, severity="critical", title="市电中断",
                           text="UPS 转电池供电", recipients=[Recipient(channel)])


def test_drill_sink_marks_and_holds_back_bureau_notices():
    inner = RecordingSink()
    sink = DrillSink(inner, notify_bureau=False, drill_id="d1")

    assert sink.enqueue(message("alert")) is True
    assert sink.enqueue(message("notice", "bureau-mail")) is True

    assert [sent.title for sent in inner.messages] == ["【演练】市电中断"]
    assert inner.messages[0].text.startswith("【演练】")
    assert inner.messages[0].drill is True
    assert inner.messages[0].key == "drill-d1-k1"
    assert len(sink.held_back) == 1


def test_drill_sink_leaves_marking_to_renderer():
    """Before the outbox the text stays as is: its renderer starts drill messages with 【演练】."""
    inner = RecordingSink()
    DrillSink(inner, notify_bureau=False, drill_id="d1", mark_text=False).enqueue(message("alert"))
    assert [sent.title for sent in inner.messages] == ["市电中断"]
    assert inner.messages[0].drill is True


def test_drill_sink_sends_bureau_notices_when_configured():
    inner = RecordingSink()
    DrillSink(inner, notify_bureau=True, drill_id="d1").enqueue(message("notice", "bureau-mail"))
    assert [sent.title for sent in inner.messages] == ["【演练】市电中断"]


ROBOT_SITE = """\
site: drill-site
state_dir: {state_dir}
ups:
  - id: ups-main
    name: 主机房 UPS
    snmp: {{host: 192.0.2.10, timeout: 0.5s, retries: 0}}
    interval: 1s
channels:
  group:
    type: wecom_robot
    key: drill-key
    base_url: {robot_url}
    rate_limit: 0
oncall:
  people:
    - {{id: zhang, name: 张三, phone: "13800000001", wecom: zhangsan}}
  default:
    早班: {{on_duty: zhang}}
    中班: {{on_duty: zhang}}
    夜班: {{on_duty: zhang}}
  escalation:
    default:
      - {{after: 0s, to: [on_duty], channels: [group]}}
alerting:
  console: false
"""


def test_drill_delivers_through_robot_channel(tmp_path):
    """Through the outbox to a mock WeCom robot: every message starts with 【演练】, the report has its result."""
    with WecomRobotMock({"drill-key"}, rate_limit=0) as robot:
        config = tmp_path / "site.yaml"
        config.write_text(ROBOT_SITE.format(state_dir=tmp_path / "state", robot_url=robot.base_url),
                          encoding="utf-8")
        finished = subprocess.run(
            [sys.executable, "-m", "hotline_monitor", "drill", "-c", str(config),
             "--scenario", "mains-restored", "--speed", "60"],
            capture_output=True, text=True, timeout=120)
        contents = [payload[payload["msgtype"]]["content"] for payload in robot.accepted]

    assert finished.returncode == 0, finished.stderr[-2000:]
    assert len(contents) >= 2  # the alert, then the recovery
    for content in contents:
        assert content.startswith("【演练】"), content
    folder = next((tmp_path / "state" / "archive" / "drills").iterdir())
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "| group：渠道已接受 |" in markdown
