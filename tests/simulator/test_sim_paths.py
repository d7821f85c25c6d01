"""The project's own collectors read the simulator alike over SNMP and over Modbus."""

from __future__ import annotations

import asyncio

import pytest
from sim_helpers import simulator_thread
from test_sim_snmp import on_battery_model

from hotline_monitor.collectors.registry import build_collectors
from hotline_monitor.config.model import Config


def read_both(tmp_path) -> dict[str, dict]:
    with simulator_thread(on_battery_model()) as sim:
        options = sim.simulator.options
        config = Config.model_validate({
            "site": "paths", "state_dir": tmp_path,
            "ups": [{"id": "ups-main",
                     "snmp": {"host": "127.0.0.1", "port": options.snmp_port, "timeout": 1},
                     "modbus": {"host": "127.0.0.1", "port": options.modbus_port, "map": "simulator",
                                "timeout": 1}}],
        })

        async def poll_all():
            collectors = build_collectors(config)
            try:
                return [await collector.poll() for collector in collectors]
            finally:
                for collector in collectors:
                    await collector.close()

        results = asyncio.run(poll_all())
    by_source: dict[str, dict] = {}
    for result in results:
        for reading in result.readings:
            source = reading.tags.get("source")
            if reading.measurement == "ups":
                by_source.setdefault(source, {})["ups"] = reading.fields
            elif reading.measurement == "ups_line":
                key = f"{reading.tags['side']}{reading.tags['line']}"
                by_source.setdefault(source, {})[key] = reading.fields
    return by_source


def test_snmp_and_modbus_paths_agree(tmp_path):
    """Values from `on_battery_model`, worked out by hand there, through both collectors."""
    paths = read_both(tmp_path)
    snmp, modbus = paths["snmp"], paths["modbus"]

    for fields in (snmp["ups"], modbus["ups"]):
        assert fields["output_source"] == 5.0
        assert fields["on_battery"] == 1.0
        assert fields["battery_status"] == 2.0
        assert fields["charge_pct"] == 80.0
        assert fields["seconds_on_battery"] == 600.0
        assert fields["battery_voltage_v"] == pytest.approx(497.2, abs=0.05)
        assert fields["battery_current_a"] == pytest.approx(-93.5, abs=0.05)
        assert fields["output_frequency_hz"] == 50.0
        assert fields["alarms_present"] == 2.0
    assert snmp["ups"]["runtime_s"] == 2400.0  # RFC 1628 reports whole minutes: 40 min
    assert modbus["ups"]["runtime_s"] == 2440.0  # the map carries seconds
    for line, load in ((1, 50.0), (2, 60.0), (3, 40.0)):
        assert snmp[f"output{line}"]["load_pct"] == load
        assert modbus[f"output{line}"]["load_pct"] == load
        assert snmp[f"output{line}"]["voltage_v"] == 220.0
        assert modbus[f"output{line}"]["voltage_v"] == 220.0
    assert snmp["output2"]["power_w"] == 18000.0
    assert modbus["output2"]["power_w"] == 18000.0
