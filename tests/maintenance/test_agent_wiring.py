"""The agent runs the maintenance tick and records on-battery events from its readings."""

from __future__ import annotations

from hotline_monitor.agent.runner import Agent
from hotline_monitor.reading import Reading

from .conftest import at


def test_agent_builds_maintenance_and_ticks(config):
    agent = Agent(config, collectors=[])
    try:
        assert agent.maintenance is not None
        agent.submit([
            Reading("ups", {"site": "xuzhou-12345", "ups": "ups-main", "source": "snmp"},
                    {"on_battery": 1.0, "runtime_s": 2400.0}, at("2026-12-05 10:00")),
            Reading("ups", {"site": "xuzhou-12345", "ups": "ups-main", "source": "snmp"},
                    {"on_battery": 0.0, "runtime_s": 3600.0}, at("2026-12-05 10:03")),
        ])
        agent.maintenance_tick()
        events = agent.maintenance.ledger.battery_events(at("2026-12-01 00:00"),
                                                         at("2027-01-01 00:00"))
        jobs = [job_id for _, _, job_id in agent.extra_jobs]
        engine_sink = agent.engine.sink
        gate = agent.maintenance.gate
        notice_sink = agent.maintenance.sender.sink
        outbox = agent.notifier.outbox
        page_sink = gate.inner
    finally:
        agent.maintenance.close()
        agent.spool.close()
        agent.notifier.outbox.close()
    assert "maintenance" in jobs
    # Pages pass the gate on their way to the outbox; bureau notices go to the outbox directly.
    assert engine_sink is gate
    assert page_sink is outbox
    assert notice_sink is outbox
    assert [(event.start_ns, event.end_ns, event.min_runtime_s) for event in events] == \
        [(at("2026-12-05 10:00"), at("2026-12-05 10:03"), 2400.0)]
