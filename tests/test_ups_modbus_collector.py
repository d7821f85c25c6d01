"""ModbusUpsCollector against real pymodbus servers on loopback and on a pseudo-terminal pair.

Every register value below is worked out by hand from the value it encodes;
the comments show the arithmetic.
"""

from __future__ import annotations

import asyncio
import logging
import textwrap
import time
from pathlib import Path

import pytest
from modbus_server import (
    build_device,
    closing_tcp_server,
    pty_pair,
    serial_server,
    silent_tcp_server,
    tcp_server,
)
from pymodbus import FramerType
from pymodbus.pdu import ExceptionResponse

from hotline_monitor.collectors.ups_modbus.client import ModbusExceptionError, ModbusTimeout
from hotline_monitor.collectors.ups_modbus.collector import ModbusUpsCollector
from hotline_monitor.config.model import UpsConfig
from hotline_monitor.errors import DeviceUnreachable

pytestmark = pytest.mark.timeout(60)


def make_collector(modbus: dict, tmp_path: Path | None = None, map_text: str | None = None,
                   ) -> ModbusUpsCollector:
    if map_text is not None:
        assert tmp_path is not None
        map_path = tmp_path / "test-map.yaml"
        map_path.write_text(textwrap.dedent(map_text), encoding="utf-8")
        modbus = {**modbus, "map": str(map_path)}
    ups = UpsConfig.model_validate({"id": "ups-test", "name": "测试 UPS", "modbus": modbus})
    return ModbusUpsCollector(ups, site="test-site")


def by_measurement(readings, measurement, **tags):
    return [reading for reading in readings if reading.measurement == measurement
            and all(reading.tags.get(key) == value for key, value in tags.items())]


def run(coroutine):
    return asyncio.run(coroutine)


# --- data types and word orders -------------------------------------------------------

TYPES_MAP = """\
name: types-{order}
title: 数据类型测试
source: 手工计算的测试数据
models: [test]
address_base: 0
defaults: {{order: {order}}}
values:
  - {{field: alarms_present, table: holding, address: 0, type: uint16}}
  - {{field: battery_current_a, table: holding, address: 1, type: int16, scale: 0.1}}
  - {{field: runtime_s, table: holding, address: 2, type: uint32}}
  - {{field: seconds_on_battery, table: holding, address: 4, type: int32, offset: 200000}}
  - {{field: battery_voltage_v, table: holding, address: 6, type: float32}}
  - {{field: battery_temperature_c, table: holding, address: 8, type: float64}}
  - {{field: info.model, table: holding, address: 12, type: string, length: 4}}
  - {{field: battery_low, table: holding, address: 16, type: bit, bit: 6}}
  - {{field: on_battery, table: discrete_inputs, address: 0, type: bit}}
  - {{field: on_bypass, table: coils, address: 3, type: bit}}
"""

# Values and their bytes, most significant first:
#   uint16 4660      = 0x1234
#   int16  -200      = 0xFF38             (x 0.1 = -20.0 A)
#   uint32 123456    = 0x0001 E240
#   int32  -123456   = 0xFFFE 1DC0        (+ offset 200000 = 76544)
#   float32 230.5    = 0x4366 8000        (1.80078125 x 2^7, exponent 134 = 0x86)
#   float64 -12.25   = 0xC028 8000 0000 0000 (-1.53125 x 2^3, exponent 1026 = 0x402)
#   string "UPS2000A" = 0x5550 5332 3030 3041
#   bit 6 set        = 0x0040
REGISTERS_BY_ORDER = {
    "ABCD": [0x1234, 0xFF38, 0x0001, 0xE240, 0xFFFE, 0x1DC0, 0x4366, 0x8000,
             0xC028, 0x8000, 0x0000, 0x0000, 0x5550, 0x5332, 0x3030, 0x3041, 0x0040],
    # words swapped; 16-bit values and strings keep their byte order
    "CDAB": [0x1234, 0xFF38, 0xE240, 0x0001, 0x1DC0, 0xFFFE, 0x8000, 0x4366,
             0x0000, 0x0000, 0x8000, 0xC028, 0x5550, 0x5332, 0x3030, 0x3041, 0x0040],
    # bytes swapped inside each word
    "BADC": [0x3412, 0x38FF, 0x0100, 0x40E2, 0xFEFF, 0xC01D, 0x6643, 0x0080,
             0x28C0, 0x0080, 0x0000, 0x0000, 0x5055, 0x3253, 0x3030, 0x4130, 0x4000],
    # little-endian: words reversed and bytes swapped
    "DCBA": [0x3412, 0x38FF, 0x40E2, 0x0100, 0xC01D, 0xFEFF, 0x0080, 0x6643,
             0x0000, 0x0000, 0x0080, 0x28C0, 0x5055, 0x3253, 0x3030, 0x4130, 0x4000],
}


@pytest.mark.parametrize("order", list(REGISTERS_BY_ORDER))
def test_collector_decodes_every_type(order, tmp_path):
    device = build_device(holding={0: REGISTERS_BY_ORDER[order]},
                          discrete={0: [True, False]}, coils={0: [False, False, False, True]})

    async def scenario():
        async with tcp_server(device) as port:
            collector = make_collector({"host": "127.0.0.1", "port": port}, tmp_path,
                                       TYPES_MAP.format(order=order))
            try:
                return await collector.poll()
            finally:
                await collector.close()

    result = run(scenario())
    (ups,) = by_measurement(result.readings, "ups", source="modbus")
    assert ups.tags == {"site": "test-site", "ups": "ups-test", "source": "modbus"}
    assert ups.fields["alarms_present"] == 4660.0
    assert ups.fields["battery_current_a"] == pytest.approx(-20.0)
    assert ups.fields["runtime_s"] == 123456.0
    assert ups.fields["seconds_on_battery"] == 76544.0
    assert ups.fields["battery_voltage_v"] == 230.5
    assert ups.fields["battery_temperature_c"] == -12.25
    assert ups.fields["on_battery"] == 1.0
    assert ups.fields["on_bypass"] == 1.0
    # battery_low set and no battery_status register: RFC 1628 batteryLow (3)
    assert ups.fields["battery_status"] == 3.0
    (info,) = by_measurement(result.readings, "ups_info")
    assert info.fields == {"model": "UPS2000A"}
    assert result.invalid_values == 0


WRONG_ORDER_MAP = """\
name: wrong-order
title: 字序错误
source: 测试
models: [test]
address_base: 0
values:
  - {field: battery_voltage_v, table: holding, address: 0, type: float32, order: CDAB,
     unit: V, range: [0, 1000]}
  - {field: charge_pct, table: holding, address: 2, type: uint16, range: [0, 100]}
"""


def test_wrong_word_order_rejected_by_range(tmp_path, caplog):
    # The device sends 230.5 V as ABCD (0x4366 0x8000); the map wrongly states CDAB, so
    # the bytes are read as 0x8000 4366: sign set, exponent 0, a tiny negative
    # number (about -2.4e-41) that no battery voltage can be.
    device = build_device(holding={0: [0x4366, 0x8000, 87]})

    async def scenario():
        async with tcp_server(device) as port:
            collector = make_collector({"host": "127.0.0.1", "port": port}, tmp_path,
                                       WRONG_ORDER_MAP)
            try:
                return await collector.poll()
            finally:
                await collector.close()

    with caplog.at_level(logging.DEBUG, logger="hotline_monitor.collectors.ups_modbus"):
        result = run(scenario())
    (ups,) = by_measurement(result.readings, "ups")
    assert "battery_voltage_v" not in ups.fields
    assert ups.fields["charge_pct"] == 87.0
    assert result.invalid_values == 1
    assert "outside the plausible range 0..1000" in caplog.text
    # the raw frames are dumped at DEBUG: the response carries 43 66 80 00 as sent
    assert "43 66 80 00" in caplog.text


# --- the simulator's register layout --------------------------------------------------

def simulator_registers() -> list[int]:
    registers = [0xFFFF] * 46
    registers[0] = 3            # output source: normal (RFC 1628)
    registers[1] = 2            # battery status: normal
    registers[2] = 100          # charge 100 %
    registers[3:5] = [0x0000, 0x1C20]   # runtime 7200 s
    registers[5] = 5460         # battery 546.0 V
    registers[6] = 0xFFEC       # -20 x 0.1 = -2.0 A (discharging)
    registers[7] = 253          # 25.3 °C
    registers[8] = 500          # input 50.0 Hz
    registers[9] = 499          # output 49.9 Hz
    # 10 bypass frequency left 0xFFFF: unknown
    registers[11] = 0           # no alarms
    registers[12] = 3
    registers[13] = 3
    registers[14:16] = [0x0000, 0x0000]  # 0 s on battery
    registers[20:23] = [2301, 2298, 2305]   # input 230.1 / 229.8 / 230.5 V
    registers[23:26] = [1203, 1187, 1210]   # input 120.3 / 118.7 / 121.0 A
    registers[26:29] = [2300, 2300, 2300]   # output 230.0 V
    registers[29:32] = [1100, 1050, 1080]   # output 110.0 / 105.0 / 108.0 A
    # output power CDAB: 25300 W = 0x0000 62D4 -> sent as 62D4 0000
    registers[32:38] = [0x62D4, 0x0000, 0x5E38, 0x0000, 0x6180, 0x0000]  # 25300, 24120, 24960 W
    registers[38:41] = [76, 72, 75]         # load %
    registers[41:44] = [2302, 2299, 2301]   # bypass 230.2 / 229.9 / 230.1 V
    registers[44:46] = [0x4408, 0x8000]     # float32 546.0 V (mapped? no: duplicate of 5)
    return registers


def test_simulator_map_full_poll():
    device = build_device(holding={0: simulator_registers()},
                          discrete={0: [False, False, False, False]})

    async def scenario():
        async with tcp_server(device) as port:
            collector = make_collector({"host": "127.0.0.1", "port": port, "map": "simulator"})
            try:
                return await collector.poll()
            finally:
                await collector.close()

    result = run(scenario())
    (ups,) = by_measurement(result.readings, "ups")
    assert ups.fields["output_source"] == 3.0
    assert ups.fields["battery_status"] == 2.0
    assert ups.fields["runtime_s"] == 7200.0
    assert ups.fields["battery_voltage_v"] == pytest.approx(546.0)
    assert ups.fields["battery_current_a"] == pytest.approx(-2.0)
    assert ups.fields["battery_temperature_c"] == pytest.approx(25.3)
    assert ups.fields["output_frequency_hz"] == pytest.approx(49.9)
    assert "bypass_frequency_hz" not in ups.fields        # 0xFFFF means unknown
    assert ups.fields["on_battery"] == 0.0
    assert ups.fields["load_pct_max"] == 76.0              # derived from the line loads
    assert result.invalid_values == 1

    (output_1,) = by_measurement(result.readings, "ups_line", side="output", line="1")
    assert output_1.fields["power_w"] == 25300.0
    assert output_1.fields["voltage_v"] == pytest.approx(230.0)
    (output_3,) = by_measurement(result.readings, "ups_line", side="output", line="3")
    assert output_3.fields["power_w"] == 24960.0
    (input_2,) = by_measurement(result.readings, "ups_line", side="input", line="2")
    assert input_2.fields["current_a"] == pytest.approx(118.7)
    assert len(by_measurement(result.readings, "ups_line")) == 9


# --- failures ---------------------------------------------------------------------------

ONE_VALUE_MAP = """\
name: one
title: 单值
source: 测试
models: [test]
address_base: 0
values:
  - {field: charge_pct, table: holding, address: 0, type: uint16}
"""


@pytest.mark.parametrize("code, name", [
    (1, "illegal function"), (2, "illegal data address"), (3, "illegal data value"),
    (4, "server device failure"), (6, "server device busy"),
    (0x0A, "gateway path unavailable"), (0x0B, "gateway target device failed to respond"),
])
def test_exception_code_becomes_unreachable(code, name, tmp_path):
    device = build_device(holding={0: [55]})

    def answer_with_exception(sending, pdu):
        if sending:
            return ExceptionResponse(pdu.function_code, exception_code=code,
                                     device_id=pdu.dev_id, transaction=pdu.transaction_id)
        return pdu

    async def scenario():
        async with tcp_server(device, trace_pdu=answer_with_exception) as port:
            collector = make_collector({"host": "127.0.0.1", "port": port}, tmp_path,
                                       ONE_VALUE_MAP)
            try:
                await collector.poll()
            finally:
                await collector.close()

    with pytest.raises(ModbusExceptionError, match=f"0x{code:02X} \\({name}\\)") as caught:
        run(scenario())
    assert caught.value.code == code
    assert isinstance(caught.value, DeviceUnreachable)
    assert "holding registers fc 3 0x0000..0x0000" in str(caught.value)


def test_timeout_becomes_unreachable(tmp_path):
    async def scenario():
        async with silent_tcp_server() as port:
            collector = make_collector(
                {"host": "127.0.0.1", "port": port, "timeout": "300ms", "retries": 0},
                tmp_path, ONE_VALUE_MAP)
            try:
                await collector.poll()
            finally:
                await collector.close()

    started = time.monotonic()
    with pytest.raises(ModbusTimeout, match="no answer within 0.3 s"):
        run(scenario())
    assert time.monotonic() - started < 5


def test_server_closing_connection_becomes_unreachable(tmp_path):
    async def scenario():
        async with closing_tcp_server() as port:
            collector = make_collector(
                {"host": "127.0.0.1", "port": port, "timeout": "500ms", "retries": 0},
                tmp_path, ONE_VALUE_MAP)
            try:
                await collector.poll()
            finally:
                await collector.close()

    with pytest.raises(DeviceUnreachable, match="closed the connection during a read"):
        run(scenario())


def test_refused_connection_becomes_unreachable(tmp_path):
    from servers import free_port

    async def scenario():
        collector = make_collector({"host": "127.0.0.1", "port": free_port(), "timeout": "1s"},
                                   tmp_path, ONE_VALUE_MAP)
        try:
            await collector.poll()
        finally:
            await collector.close()

    with pytest.raises(DeviceUnreachable, match="cannot connect to 127.0.0.1"):
        run(scenario())


def test_collector_reconnects_after_server_restart(tmp_path):
    from servers import free_port

    port = free_port()
    device = build_device(holding={0: [64]})

    async def scenario():
        collector = make_collector(
            {"host": "127.0.0.1", "port": port, "timeout": "500ms", "retries": 0},
            tmp_path, ONE_VALUE_MAP)
        outcomes = []
        try:
            async with tcp_server(device, port=port):
                outcomes.append((await collector.poll()).readings[0].fields["charge_pct"])
            try:
                await collector.poll()
            except DeviceUnreachable:
                outcomes.append("down")
            async with tcp_server(device, port=port):
                outcomes.append((await collector.poll()).readings[0].fields["charge_pct"])
        finally:
            await collector.close()
        return outcomes

    assert run(scenario()) == [64.0, "down", 64.0]


GAP_MAP = """\
name: gap
title: 跨空隙读取
source: 测试
models: [test]
address_base: 1
requests: {max_gap: 8}
values:
  - {field: charge_pct, table: holding, address: 1, type: uint16}
  - {field: alarms_present, table: holding, address: 11, type: uint16}
"""


def test_gap_illegal_address_reads_exactly(tmp_path):
    # 1-based map addresses 1 and 11 are protocol addresses 0 and 10; the device
    # defines only those, so the bridged read 0..10 gets exception 2.
    device = build_device(holding={0: [81], 10: [2]})

    async def scenario():
        async with tcp_server(device) as port:
            collector = make_collector({"host": "127.0.0.1", "port": port}, tmp_path, GAP_MAP)
            try:
                first = await collector.poll()
                second = await collector.poll()
                return first, second, collector.requests
            finally:
                await collector.close()

    first, second, requests = run(scenario())
    for result in (first, second):
        (ups,) = by_measurement(result.readings, "ups")
        assert ups.fields["charge_pct"] == 81.0
        assert ups.fields["alarms_present"] == 2.0
    assert [(request.start, request.count) for request in requests] == [(0, 1), (10, 1)]


def test_pause_between_requests(tmp_path):
    map_text = GAP_MAP.replace("{max_gap: 8}", "{max_gap: 0}")
    device = build_device(holding={0: [81], 10: [2]})

    async def scenario():
        async with tcp_server(device) as port:
            collector = make_collector({"host": "127.0.0.1", "port": port, "pause": "200ms"},
                                       tmp_path, map_text)
            try:
                await collector.poll()          # connects; the first request needs no pause
                started = time.monotonic()
                await collector.poll()
                return time.monotonic() - started
            finally:
                await collector.close()

    # two requests a poll: the second waits 200 ms, and the first of the next
    # poll waits only what is left of 200 ms since the last request.
    assert run(scenario()) >= 0.2


# --- RTU -------------------------------------------------------------------------------

def test_rtu_over_tcp_gateway(tmp_path):
    device = build_device(holding={0: [0x4366, 0x8000, 87]}, unit=7)
    map_text = WRONG_ORDER_MAP.replace("order: CDAB", "order: ABCD")

    async def scenario():
        async with tcp_server(device, framer=FramerType.RTU) as port:
            collector = make_collector(
                {"transport": "rtu_over_tcp", "host": "127.0.0.1", "port": port, "unit_id": 7},
                tmp_path, map_text)
            try:
                return await collector.poll()
            finally:
                await collector.close()

    (ups,) = by_measurement(run(scenario()).readings, "ups")
    assert ups.fields["battery_voltage_v"] == 230.5
    assert ups.fields["charge_pct"] == 87.0


def test_rtu_over_serial_pty(tmp_path):
    device = build_device(holding={0: simulator_registers()},
                          discrete={0: [True, False, True, False]}, unit=3)

    async def scenario(server_port: str, client_port: str):
        async with serial_server(device, server_port, baudrate=19200):
            collector = make_collector(
                {"transport": "rtu", "device": client_port, "baudrate": 19200, "unit_id": 3,
                 "map": "simulator", "timeout": "1s"})
            try:
                return await collector.poll()
            finally:
                await collector.close()

    with pty_pair() as (server_port, client_port):
        result = run(scenario(server_port, client_port))
    (ups,) = by_measurement(result.readings, "ups")
    assert ups.fields["runtime_s"] == 7200.0
    assert ups.fields["on_battery"] == 1.0
    # battery_status comes from holding register 1 (normal), not from the low flag
    assert ups.fields["battery_status"] == 2.0
    (output_2,) = by_measurement(result.readings, "ups_line", side="output", line="2")
    assert output_2.fields["power_w"] == 24120.0


def test_missing_serial_device_becomes_unreachable(tmp_path):
    async def scenario():
        collector = make_collector(
            {"transport": "rtu", "device": str(tmp_path / "ttyUSB-missing"), "timeout": "500ms"},
            tmp_path, ONE_VALUE_MAP)
        try:
            await collector.poll()
        finally:
            await collector.close()

    with pytest.raises(DeviceUnreachable, match="check that the serial device exists"):
        run(scenario())


def test_run_once_stores_modbus_readings(tmp_path):
    import sqlite3
    import threading

    from hotline_monitor.agent.cli import main

    port_box: list[int] = []
    ready, stop = threading.Event(), threading.Event()
    device = build_device(holding={0: simulator_registers()},
                          discrete={0: [False, False, False, False]})

    def serve() -> None:
        async def scenario():
            async with tcp_server(device) as port:
                port_box.append(port)
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.05)

        asyncio.run(scenario())

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        assert ready.wait(10)
        config = tmp_path / "site.yaml"
        config.write_text(textwrap.dedent(f"""\
            site: test-site
            ups:
              - id: ups-main
                modbus: {{host: 127.0.0.1, port: {port_box[0]}, map: simulator}}
            """), encoding="utf-8")
        assert main(["run", "-c", str(config), "--once"]) == 0
    finally:
        stop.set()
        server.join(10)

    with sqlite3.connect(tmp_path / "state" / "local_store.sqlite") as database:
        lines = [row[0] for row in database.execute("SELECT line FROM readings")]
    ups_lines = [line for line in lines if line.startswith("ups,")]
    assert len(ups_lines) == 1
    assert "source=modbus" in ups_lines[0]
    assert "runtime_s=7200.0" in ups_lines[0]
    assert sum(line.startswith("ups_line,") for line in lines) == 9
    (target,) = [line for line in lines if line.startswith("target,")]
    assert "kind=ups_modbus" in target
    assert "up=1.0" in target
