"""Shared pieces of the maintenance tests: a site configuration, a recording sink, a clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline_monitor.config import load_config
from hotline_monitor.maintenance.service import MaintenanceService
from hotline_monitor.maintenance.timeinput import parse_local_time
from hotline_monitor.maintenance.windows import WindowRequest
from hotline_monitor.notify.message import OutgoingMessage

MINUTE = 60 * 1_000_000_000
HOUR = 60 * MINUTE

SITE_YAML = """\
site: xuzhou-12345
state_dir: {state}
ups:
  - id: ups-main
    name: 主机房 100kVA UPS
    snmp: {{host: 127.0.0.1, port: 161}}
  - id: ups-backup
    name: 备用机房 UPS
    snmp: {{host: 127.0.0.1, port: 162}}
maintenance:
  services: [hotline]
  kinds: [空调检修]
  backup: {{folder: {backup}, keep: 3, at_hour: 3}}
  report_day: 3
  report_hour: 9
channels:
  mail:
    type: email
    host: 127.0.0.1
    port: 2525
    security: none
    from_address: monitor@hotline.example
  bureau-group:
    type: console
notify:
  operator:
    - {{channel: mail, address: ops@hotline.example.cn}}
bureau:
  name: 徐州市大数据局
  email_channel: mail
  emails: [noc@bureau.example.cn, duty@bureau.example.cn]
  wecom_channel: bureau-group
"""


def at(text: str) -> int:
    """Asia/Shanghai wall time → UTC ns, e.g. at("2026-12-10 01:00")."""
    return parse_local_time(text, "test")


class RecordingSink:
    """A MessageSink that keeps every message and can mark deliveries as sent."""

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []
        self.results: dict[str, list[dict]] = {}

    def enqueue(self, message: OutgoingMessage) -> bool:
        if any(known.key == message.key for known in self.messages):
            return False
        self.messages.append(message)
        self.results[message.key] = [{"channel": r.channel, "address": r.address,
                                      "state": "pending"} for r in message.recipients]
        return True

    def deliver_all(self) -> None:
        for results in self.results.values():
            for result in results:
                result["state"] = "sent"

    def lookup(self, key: str) -> list[dict]:
        return [dict(result) for result in self.results.get(key, [])]

    def keys(self) -> list[str]:
        return [message.key for message in self.messages]

    def by_key(self, key: str) -> OutgoingMessage:
        return next(message for message in self.messages if message.key == key)


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(SITE_YAML.format(state=tmp_path / "state", backup=tmp_path / "backup"),
                    encoding="utf-8")
    return path


@pytest.fixture
def config(site_file: Path):
    return load_config(site_file)


@pytest.fixture
def bureau_sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def page_sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def service(config, bureau_sink, page_sink):
    service = MaintenanceService(config, bureau_sink, bureau_sink.lookup, page_sink)
    yield service
    service.close()


def request(start: str, end: str, scope: list[str] | None = None, **extra) -> WindowRequest:
    values = dict(kind="线路检修", start_ns=at(start), end_ns=at(end),
                  scope=scope or ["ups-main"], description="更换电信中继光缆接头",
                  impact="电信中继中断约 30 分钟，联通中继承接全部来电", contact="张工 13800000000")
    values.update(extra)
    return WindowRequest(**values)
