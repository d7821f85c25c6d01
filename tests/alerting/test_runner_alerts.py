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
    from servers import free_port

    text = SITE.format(role="agent") + f"mqtt: {{host: 127.0.0.1, port: {free_port()}}}\n"
    config = parse_config(textwrap.dedent(text), tmp_path / "site.yaml")
    agent = Agent(config, collectors=[OnBatteryUps()])
    asyncio.run(agent.close())

    assert agent.engine is None
    assert agent.crosscheck is None
    assert not (tmp_path / "state" / "alerts.sqlite").exists()


LIVE_SITE = """
site: xz
public_url: http://127.0.0.1:{port}
ups:
  - id: ups-main
    snmp: {{host: 127.0.0.1}}
alerting:
  console: false
  ack_listen: 127.0.0.1:{port}
  ack_secret: 0123456789abcdef0123
"""


async def wait_until(check, timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.05)


def test_run_forever_serves_ack_link_and_ticks(tmp_path):
    import httpx
    from servers import free_port

    port = free_port()
    config = parse_config(textwrap.dedent(LIVE_SITE.format(port=port)), tmp_path / "site.yaml")
    log_path = tmp_path / "state" / "alerts.jsonl"

    def messages():
        if not log_path.exists():
            return []
        return [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]

    async def scenario():
        agent = Agent(config, collectors=[OnBatteryUps()])
        stop = asyncio.Event()
        running = asyncio.create_task(agent.run_forever(stop))
        try:
            await wait_until(lambda: len(messages()) >= 1, 10.0)
            link = next(line for line in messages()[0]["text"].splitlines() if "http://" in line)
            url = link.split("：", 1)[1]
            async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
                page = await client.get(url)
                query = dict(httpx.URL(url).params)
                done = await client.post(f"http://127.0.0.1:{port}/ack",
                                         data={**query, "by": "张三"})
            # The once-a-second tick sends the acknowledgement notice.
            await wait_until(lambda: len(messages()) >= 2, 5.0)
        finally:
            stop.set()
            code = await running
        return page, done, code

    page, done, code = asyncio.run(scenario())
    assert page.status_code == 200
    assert done.status_code == 200
    assert code == 0
    assert messages()[1]["title"] == "【已确认】ups-main（#1）"
    assert "张三" in messages()[1]["text"]


def test_run_once_pages_through_outbox(tmp_path, capsys):
    from hotline_monitor.notify.outbox import Outbox

    text = SITE.format(role="all") + textwrap.dedent("""
        channels:
          duty: {type: console}
        oncall:
          escalation:
            default:
              - {after: 0s, to: [on_duty], channels: [duty]}
        """)
    config = parse_config(textwrap.dedent(text), tmp_path / "site.yaml")
    agent = Agent(config, collectors=[OnBatteryUps()])
    assert asyncio.run(agent.run_once()) == 0

    outbox = Outbox(tmp_path / "state" / "outbox.sqlite", lambda severity: 600.0)
    deliveries = outbox.deliveries()
    outbox.close()
    assert [(d.message_key, d.channel, d.state) for d in deliveries] == [
        ("group:1:alert:1", "duty", "sent")]
    assert not (tmp_path / "state" / "alerts.jsonl").exists()
    assert "市电中断，UPS 转电池供电" in capsys.readouterr().out
