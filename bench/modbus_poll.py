"""Polls per second of a 60-register UPS map: ModbusUpsCollector against a plain pymodbus loop.

A pymodbus TCP server runs in a separate process on 127.0.0.1 with the
simulator's register layout extended to 60 holding registers plus 4 discrete
inputs. Both clients read exactly the same registers per poll (holding
0..59 in one request and discrete inputs 0..3 in another):

- ours: `ModbusUpsCollector.poll()`, which also decodes, checks ranges and
  builds the readings;
- peer: a plain `AsyncModbusTcpClient` loop issuing the two reads and
  nothing else.

Each side runs for a fixed time (3 s by default, `--seconds`) split into
alternating rounds (`--rounds`); the script
prints both rates and the ratio ours / peer.

    uv run python bench/modbus_poll.py
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import tempfile
import time
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

REGISTERS = 60

EXTRA_VALUES = """\
  - {field: input.1.power_w, table: holding, address: 46, type: uint32, order: CDAB}
  - {field: input.2.power_w, table: holding, address: 48, type: uint32, order: CDAB}
  - {field: input.3.power_w, table: holding, address: 50, type: uint32, order: CDAB}
  - {field: input.1.load_pct, table: holding, address: 52, type: uint16, range: [0, 200]}
  - {field: input.2.load_pct, table: holding, address: 53, type: uint16, range: [0, 200]}
  - {field: input.3.load_pct, table: holding, address: 54, type: uint16, range: [0, 200]}
  - {field: bypass.1.current_a, table: holding, address: 55, type: uint16, scale: 0.1}
  - {field: bypass.2.current_a, table: holding, address: 56, type: uint16, scale: 0.1}
  - {field: bypass.3.current_a, table: holding, address: 57, type: uint16, scale: 0.1}
  - {field: bypass.1.load_pct, table: holding, address: 58, type: uint16, range: [0, 200]}
  - {field: bypass.2.load_pct, table: holding, address: 59, type: uint16, range: [0, 200]}
"""


def registers() -> list[int]:
    values = [0] * REGISTERS
    values[0:4] = [3, 2, 100, 0]
    values[4] = 7200
    values[5:14] = [5460, 0xFFEC, 253, 500, 499, 500, 0, 3, 3]
    for index in range(20, 32):
        values[index] = 2300
    values[32:38] = [0x62D4, 0, 0x5E38, 0, 0x6180, 0]
    values[38:44] = [76, 72, 75, 2302, 2299, 2301]
    values[44:46] = [0x4408, 0x8000]
    values[46:52] = [0x62D4, 0, 0x5E38, 0, 0x6180, 0]
    values[52:60] = [70, 70, 70, 10, 10, 10, 5, 5]
    return values


def serve(port: int, ready) -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    device = SimDevice(1, simdata=(
        [SimData(0, values=[False], datatype=DataType.BITS)],
        [SimData(0, values=[False] * 4, datatype=DataType.BITS)],
        [SimData(0, values=registers(), datatype=DataType.REGISTERS)],
        [SimData(0, values=[0], datatype=DataType.REGISTERS)],
    ))

    async def main() -> None:
        server = ModbusTcpServer(device, address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        ready.set()
        await asyncio.sleep(3600)

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_map(folder: Path) -> Path:
    from hotline_monitor.collectors.ups_modbus.regmap import MAPS_DIR

    text = (MAPS_DIR / "simulator.yaml").read_text(encoding="utf-8").replace(
        "name: simulator", "name: bench-60")
    text = text.replace("  - {field: on_battery, table: discrete_inputs",
                        EXTRA_VALUES + "  - {field: on_battery, table: discrete_inputs")
    path = folder / "bench-60.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def ours(port: int, map_path: Path, seconds: float) -> tuple[int, float, int]:
    from hotline_monitor.collectors.ups_modbus.collector import ModbusUpsCollector
    from hotline_monitor.config.model import UpsConfig

    ups = UpsConfig.model_validate({"id": "bench", "modbus": {
        "host": "127.0.0.1", "port": port, "map": str(map_path), "retries": 0}})
    collector = ModbusUpsCollector(ups, site="bench")
    spans = [(request.table, request.start, request.count) for request in collector.requests]
    assert spans == [("discrete_inputs", 0, 4), ("holding", 0, REGISTERS)], spans
    await collector.poll()

    polls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        result = await collector.poll()
        polls += 1
    elapsed = time.perf_counter() - started
    await collector.close()
    fields = sum(len(reading.fields) for reading in result.readings)
    return polls, elapsed, fields


async def peer(port: int, seconds: float) -> tuple[int, float]:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0)
    await client.connect()
    polls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        bits = await client.read_discrete_inputs(0, count=4, device_id=1)
        holding = await client.read_holding_registers(0, count=REGISTERS, device_id=1)
        assert not bits.isError()
        assert not holding.isError()
        polls += 1
    elapsed = time.perf_counter() - started
    client.close()
    return polls, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each side, s")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    args = parser.parse_args()

    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(10):
            print("pymodbus server did not start", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory() as folder:
            map_path = write_map(Path(folder))
            # Alternate the two sides in rounds so that a warm-up or a slow
            # moment of the machine does not favour either.
            peer_polls = our_polls = 0
            peer_elapsed = our_elapsed = 0.0
            for _ in range(args.rounds):
                polls, elapsed = asyncio.run(peer(port, args.seconds / args.rounds))
                peer_polls, peer_elapsed = peer_polls + polls, peer_elapsed + elapsed
                polls, elapsed, fields = asyncio.run(
                    ours(port, map_path, args.seconds / args.rounds))
                our_polls, our_elapsed = our_polls + polls, our_elapsed + elapsed
    finally:
        server.terminate()
        server.join(5)

    peer_rate = peer_polls / peer_elapsed
    our_rate = our_polls / our_elapsed
    print(f"map: {REGISTERS} holding registers + 4 discrete inputs, 2 requests per poll, "
          f"{fields} fields decoded per poll")
    print(f"peer (plain pymodbus loop):  {peer_rate:8.1f} polls/s ({peer_polls} polls)")
    print(f"ours (ModbusUpsCollector):   {our_rate:8.1f} polls/s ({our_polls} polls)")
    print(f"ratio ours / peer: {our_rate / peer_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
