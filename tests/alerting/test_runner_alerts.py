"""The runner hands readings to the engine; role `agent` has no engine."""

from __future__ import annotations

import asyncio
import json
import textwrap

from hotline_monitor.agent.runner import Agent
from hotline_monitor.agent.sinks.local_store import LocalStore
from hotline_monitor.collectors.base import PollResult
from hotline_monitor.config.loader import parse_config
from hotline_monitor.reading import Reading

SITE = """
site: xz
role: {role}
ups:
  - id: ups-main
    snmp: {{host: 127.0.0.1}}
alerting:
  console: false
"""


class OnBatteryUps:
    target = "ups-main"
    kind = "ups_snmp"
    interval = 5.0

    async def poll(self) -> PollResult:
        tags = {"site": "xz", "ups": "ups-main", "source": "snmp"}
        return PollResult([Reading("ups", tags, {"output_source": 5.0, "runtime_s": 2400.0})])

    async def close(self) -> None:
        return None


def run_once(tmp_path, role):
    config = parse_config(textwrap.dedent(SITE.format(role=role)), tmp_path / "site.yaml")
    agent = Agent(config, collectors=[OnBatteryUps()])
    return agent, asyncio.run(agent.run_once())


def test_run_once_writes_alert_message(tmp_path):
    agent, code = run_once(tmp_path, "all")
    assert code == 0
    lines = (tmp_path / "state" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    message = json.loads(lines[0])
    assert message["kind"] == "alert"
    assert "市电中断，UPS 转电池供电" in message["text"]
    assert message["recipients"] == [{"channel": "console", "address": "", "mention": ""}]

    store = LocalStore(tmp_path / "state" / "local_store.sqlite", 86400.0)
    events = store.readings("alert_event")
    assert [(e.tags["rule"], e.fields["state"]) for e in events] == [("ups_on_battery", "firing")]


def test_agent_role_has_no_engine(tmp_path):
    agent, code = run_once(tmp_path, "agent")
    assert code == 0
    assert agent.engine is None
    assert not (tmp_path / "state" / "alerts.jsonl").exists()
