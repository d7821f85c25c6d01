"""Every shipped scenario drives the agent to the alerts the scenario expects.

The simulator runs in its own thread. The test advances simulated time in
fixed steps and polls the agent after each, with the agent's clock following
simulated time. Rules that wait (`for`) or project a trend see the scenario's
time, and the run takes seconds.
"""

from __future__ import annotations

import asyncio
import sys
import time
import types
from pathlib import Path

import pytest
from sim_helpers import alert_events, simulator_thread

from hotline_monitor.agent.runner import Agent
from hotline_monitor.config.model import Config
from hotline_monitor.simulator.scenario import load_scenario, scenario_names

POLL_INTERVAL_S = 5.0
STEPS_PER_SCENARIO = 100
"""Polls per scenario; long scenarios poll less often in simulated time, to keep the test short."""
START_NS = 1_800_000_000 * 10**9


class VirtualClock:
    def __init__(self) -> None:
        self.now_ns = START_NS

    def time_ns(self) -> int:
        return self.now_ns


def follow_clock(clock: VirtualClock, agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stamp readings and run the engine on the virtual clock."""
    fake_time = types.SimpleNamespace(time_ns=clock.time_ns, perf_counter=time.perf_counter,
                                      monotonic=time.monotonic, time=lambda: clock.now_ns / 1e9)
    monkeypatch.setattr("hotline_monitor.agent.poller.time", fake_time)
    for name, module in list(sys.modules.items()):
        if name.startswith("hotline_monitor.collectors.") and hasattr(module, "now_ns"):
            monkeypatch.setattr(module, "now_ns", clock.time_ns)
    if agent.engine is not None and hasattr(agent.engine, "clock"):
        agent.engine.clock = clock.time_ns


def site_config(state_dir: Path, snmp_port: int) -> Config:
    return Config.model_validate({
        "site": "test-site",
        "state_dir": state_dir,
        "agent_id": "agent-1",
        "ups": [{
            "id": "ups-main",
            "name": "主机房 UPS",
            "snmp": {"host": "127.0.0.1", "port": snmp_port, "timeout": 0.1, "retries": 0},
            "interval": POLL_INTERVAL_S,
        }],
        "alerting": {"console": False},
    })


def play(scenario_name: str, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Play a scenario against a fresh agent; return the alert events."""
    scenario = load_scenario(scenario_name)
    step_s = max(POLL_INTERVAL_S, scenario.duration / STEPS_PER_SCENARIO)
    clock = VirtualClock()
    with simulator_thread(modbus_port=None) as sim:
        sim.call(lambda: sim.simulator.begin(scenario))
        agent = Agent(site_config(state_dir, sim.simulator.options.snmp_port))
        follow_clock(clock, agent, monkeypatch)

        async def run() -> None:
            while True:
                for poller in agent.pollers:
                    await agent.poll_target(poller)
                if hasattr(agent.engine, "tick"):
                    agent.engine.tick()
                if sim.call(lambda: sim.simulator.finished):
                    break
                sim.call(lambda: sim.simulator.advance(step_s))
                clock.now_ns += int(step_s * 1e9)
            if hasattr(agent, "drain"):
                await agent.drain()  # the spool-based agent
            else:
                await agent.writer.flush()
            await agent.close()

        asyncio.run(run())
    return alert_events(state_dir)


RULE_ALIASES = {"ups_overload": "ups_output_overload"}
"""Rule names of the first alerting engine, mapped to the rule pack's names."""

CASES = scenario_names()


@pytest.mark.parametrize("name", CASES)
def test_scenario_alerts(name, tmp_path, monkeypatch):
    """The scenario's rules fire and resolve in the expected order, each once.

    Rules the scenario does not name (a count of alarm rows, say) may come and
    go; a resolution of a named rule that the scenario does not expect is a
    false all-clear and fails the comparison.
    """
    scenario = load_scenario(name)
    expected = [(item.rule, item.state) for item in scenario.expect]
    events = [(RULE_ALIASES.get(rule, rule), state) for rule, state in play(name, tmp_path, monkeypatch)]

    watched = {rule for rule, _ in expected}
    assert [event for event in events if event[0] in watched] == expected
    firing = [rule for rule, state in events if state == "firing"]
    resolved = [rule for rule, state in events if state == "resolved"]
    for rule in set(firing):
        assert firing.count(rule) <= resolved.count(rule) + 1, f"{rule} fired twice while open"


def test_sensor_faults_raise_nothing(tmp_path, monkeypatch):
    """Null and sentinel values neither raise nor clear any alert."""
    assert play("sensor-faults", tmp_path, monkeypatch) == []
