"""The simulator's Modbus TCP server, read by a plain pymodbus client."""

from __future__ import annotations

import asyncio
import struct

import pytest
from pymodbus.client import AsyncModbusTcpClient
from sim_helpers import simulator_thread
from test_sim_snmp import on_battery_model

from hotline_monitor.simulator.model import UpsModel


def read(port: int, function: str, address: int, count: int):
    async def go():
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        try:
            if not await client.connect():
                raise ConnectionError(f"no Modbus server on port {port}")
            reader = getattr(client, function)
            return await reader(address, count=count, device_id=1)
        finally:
            client.close()
    return asyncio.run(go())


def test_holding_registers_on_battery():
    """Every register of the map, worked out by hand (see `on_battery_model`)."""
    with simulator_thread(on_battery_model(), snmp_port=None) as sim:
        registers = read(sim.simulator.options.modbus_port, "read_holding_registers", 0, 46).registers

    assert registers[0] == 5  # output source: battery
    assert registers[1] == 2  # battery normal
    assert registers[2] == 80  # charge %
    assert registers[3:5] == [0, 2440]  # runtime 2440 s, uint32 ABCD
    assert registers[5] == 4972  # 497.2 V
    assert registers[6] == 0x10000 - 935  # -93.5 A as int16
    assert registers[7] == 274  # 27.4 °C
    assert registers[8] == 0  # no mains: input frequency 0
    assert registers[9] == 500  # output 50.0 Hz
    assert registers[10] == 0  # bypass fed by the same mains
    assert registers[11] == 2  # on battery, input bad
    assert registers[12:14] == [3, 3]
    assert registers[14:16] == [0, 600]  # seconds on battery, uint32 ABCD
    assert registers[20:23] == [0, 0, 0]  # input voltage
    assert registers[26:29] == [2200, 2200, 2200]  # 220.0 V
    assert registers[29:32] == [758, 909, 606]  # 75.8, 90.9, 60.6 A
    assert registers[32:38] == [15000, 0, 18000, 0, 12000, 0]  # W, uint32 CDAB: low word first
    assert registers[38:41] == [50, 60, 40]
    assert registers[41:44] == [0, 0, 0]
    voltage = struct.unpack(">f", struct.pack(">HH", *registers[44:46]))[0]
    assert voltage == pytest.approx(497.17, abs=0.01)


def test_discrete_inputs_follow_state():
    with simulator_thread(on_battery_model(), snmp_port=None) as sim:
        port = sim.simulator.options.modbus_port
        on_battery = read(port, "read_discrete_inputs", 0, 4).bits[:4]
        sim.call(lambda: sim.simulator.model.set_mains(True))
        sim.call(lambda: setattr(sim.simulator.model, "bypass_requested", True))
        on_bypass = read(port, "read_discrete_inputs", 0, 4).bits[:4]

    assert on_battery == [True, False, False, False]
    assert on_bypass == [False, True, False, False]


def test_faults_read_as_unknown_marker():
    model = UpsModel()
    model.faults.update({"runtime_s": "sentinel", "load_pct": "null", "output_source": "null"})
    with simulator_thread(model, snmp_port=None) as sim:
        registers = read(sim.simulator.options.modbus_port, "read_holding_registers", 0, 46).registers

    assert registers[0] == 0xFFFF
    assert registers[3:5] == [0xFFFF, 0xFFFF]
    assert registers[38:41] == [0xFFFF] * 3
    assert registers[2] == 100  # untouched values still read


def test_read_past_map_is_illegal_address():
    with simulator_thread(UpsModel(), snmp_port=None) as sim:
        response = read(sim.simulator.options.modbus_port, "read_holding_registers", 40, 10)
    assert response.isError()
    assert response.exception_code == 2  # ILLEGAL DATA ADDRESS


def test_unreachable_refuses_connections():
    with simulator_thread(UpsModel(), snmp_port=None) as sim:
        port = sim.simulator.options.modbus_port
        sim.run_async(sim.simulator.modbus.stop())
        with pytest.raises(ConnectionError):
            read(port, "read_holding_registers", 0, 2)
        sim.run_async(sim.simulator.modbus.start())
        assert read(port, "read_holding_registers", 0, 2).registers == [3, 2]
