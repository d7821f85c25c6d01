"""Helpers for the delivery tests: configuration from YAML text, a running notifier."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from hotline_monitor.config.loader import parse_config
from hotline_monitor.config.model import Config
from hotline_monitor.notify.message import OutgoingMessage, Recipient
from hotline_monitor.notify.outbox import DeliveryRow
from hotline_monitor.notify.service import build_notifier

FAST_NOTIFY = """
notify:
  retry_initial: 50ms
  retry_max: 200ms
  deadlines: {info: 3s, warning: 3s, critical: 3s, emergency: 3s}
"""


def make_config(tmp_path: Path, channels: str, notify: str = FAST_NOTIFY) -> Config:
    """Build a Config with the given `channels:` body (YAML, indented or not)."""
    text = (f"site: test-site\nstate_dir: {tmp_path / 'state'}\nchannels:\n"
            + textwrap.indent(textwrap.dedent(channels).strip("\n"), "  ") + "\n"
            + textwrap.dedent(notify))
    return parse_config(text, tmp_path / "site.yaml")


def alert(key: str, *recipients: Recipient, title: str = "主机房 UPS 转为电池供电",
          text: str = "市电中断，UPS 由电池供电，剩余 42 分钟。", severity: str = "critical",
          kind: str = "alert", drill: bool = False) -> OutgoingMessage:
    return OutgoingMessage(key=key, kind=kind, severity=severity, title=title, text=text,
                           recipients=list(recipients), drill=drill)


async def deliver(config: Config, messages: list[OutgoingMessage],
                  timeout: float = 10.0) -> list[DeliveryRow]:
    """Enqueue messages, run the dispatcher until idle, stop; return the stored deliveries."""
    notifier = build_notifier(config)
    for message in messages:
        notifier.outbox.enqueue(message)
    await notifier.start()
    idle = await notifier.drain(timeout)
    rows = notifier.outbox.deliveries()
    await notifier.stop()
    assert idle, "deliveries still pending when the test's time ran out"
    return rows


def reopen_rows(config: Config):
    """Return the stored deliveries, read through a fresh outbox."""
    notifier = build_notifier(config)
    rows = notifier.outbox.deliveries()
    asyncio.run(notifier.stop())
    return rows


@pytest.fixture
def run():
    """Run a coroutine to completion in a fresh event loop."""
    return asyncio.run
