"""Shared pieces of the alerting tests: a fake clock, a recording sink, configurations."""

from __future__ import annotations

import textwrap
from pathlib import Path

from hotline_monitor.alerting.engine import AlertEngine
from hotline_monitor.config.loader import parse_config
from hotline_monitor.config.model import Config
from hotline_monitor.notify.message import OutgoingMessage
from hotline_monitor.reading import Reading

NS = 1_000_000_000
# 2026-12-04 08:30:00 Asia/Shanghai, inside the day shift.
START_NS = 1_796_344_200 * NS

BASE = """
site: xz
ups:
  - id: ups-main
    name: 主机房 UPS
    snmp: {host: 127.0.0.1}
    battery_replace_due: "2027-01-10"
oncall:
  people:
    - {id: zhang, name: 张三, phone: "13800000001", wecom: zhangsan}
    - {id: li, name: 李四, phone: "13800000002", wecom: lisi}
    - {id: wang, name: 王五, phone: "13800000003", wecom: wangwu}
  manager: wang
  default:
    早班: {on_duty: zhang, lead: li}
    中班: {on_duty: li, lead: zhang}
    夜班: {on_duty: li, lead: zhang}
  escalation:
    default:
      - {after: 0s, to: [on_duty], channels: [wecom]}
      - {after: 10m, to: [on_duty, lead], channels: [sms]}
      - {after: 20m, to: [manager], channels: [sms]}
"""


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start_ns: int = START_NS) -> None:
        self.now_ns = start_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> int:
        self.now_ns += int(seconds * NS)
        return self.now_ns


class ListSink:
    """A `MessageSink` that keeps messages in a list and ignores known keys, as the outbox does."""

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []
        self.keys: set[str] = set()

    def enqueue(self, message: OutgoingMessage) -> bool:
        if message.key in self.keys:
            return False
        self.keys.add(message.key)
        self.messages.append(message)
        return True

    def kinds(self) -> list[str]:
        return [message.kind for message in self.messages]


def make_config(tmp_path: Path, extra: str = "", base: str = BASE) -> Config:
    text = textwrap.dedent(base) + textwrap.dedent(extra)
    return parse_config(text, tmp_path / "site.yaml")


def make_engine(config: Config, clock: FakeClock, sink: ListSink | None = None,
                **kwargs: object) -> tuple[AlertEngine, ListSink]:
    sink = sink or ListSink()
    return AlertEngine(config, sink, clock=clock, **kwargs), sink  # type: ignore[arg-type]


def ups(clock: FakeClock, ups_id: str = "ups-main", **fields: float) -> Reading:
    return Reading("ups", {"site": "xz", "ups": ups_id, "source": "snmp"}, dict(fields),
                   clock.now_ns)


def line(clock: FakeClock, number: int, ups_id: str = "ups-main", side: str = "output",
         **fields: float) -> Reading:
    tags = {"site": "xz", "ups": ups_id, "source": "snmp", "side": side, "line": str(number)}
    return Reading("ups_line", tags, dict(fields), clock.now_ns)


def target(clock: FakeClock, name: str, up: float, kind: str = "ups_snmp") -> Reading:
    tags = {"site": "xz", "agent": "a1", "target": name, "kind": kind}
    return Reading("target", tags, {"up": up, "poll_ms": 10.0}, clock.now_ns)
