"""Every shipped scenario drives the agent to the alerts the scenario expects.

The simulator runs in its own thread; the test advances simulated time in
fixed steps and polls the agent after each, so the run is fast and the same
every time.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sim_helpers import simulator_thread

from hotline_monitor.agent.runner import Agent
from hotline_monitor.config.model import Config
from hotline_monitor.simulator.scenario import load_scenario, scenario_names

POLL_EVERY_S = 15.0
"""Simulated seconds between polls."""


def site_config(state_dir: Path, snmp_port: int) -> Config:
    return Config.model_validate({
        "site": "test-site",
        "state_dir": state_dir,
        "agent_id": "agent-1",
        "ups": [{
            "id": "ups-main",
            "name": "主机房 UPS",
            "snmp": {"host": "127.0.0.1", "port": snmp_port, "timeout": 0.3, "retries": 0},
            "interval": 5,
        }],
        "alerting": {"console": False},
    })


def play(scenario_name: str, state_dir: Path) -> list[dict]:
    """Play a scenario against a fresh agent; return the alert log's records."""
    scenario = load_scenario(scenario_name)
    with simulator_thread(modbus_port=None) as sim:
        sim.call(lambda: sim.simulator.begin(scenario))
        agent = Agent(site_config(state_dir, sim.simulator.options.snmp_port))

        async def run() -> None:
            while True:
                for poller in agent.pollers:
                    await agent.poll_target(poller)
                if sim.call(lambda: sim.simulator.finished):
                    break
                sim.call(lambda: sim.simulator.advance(POLL_EVERY_S))
            await agent.writer.flush()
            await agent.close()

        asyncio.run(run())
    log = state_dir / "alerts.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.parametrize("name", scenario_names())
def test_scenario_raises_expected_alerts(name, tmp_path):
    scenario = load_scenario(name)
    records = play(name, tmp_path)
    events = [(record["rule"], record["state"]) for record in records]

    expected = [(item.rule, item.state) for item in scenario.expect]
    assert events == expected


def test_mains_failure_never_sends_all_clear(tmp_path):
    """While the mains stay off, no alert of the run is resolved."""
    records = play("mains-failure", tmp_path)
    assert [record for record in records if record["state"] == "resolved"] == []
