"""hotline-monitor run polls a Modbus UPS and serves it to Debian's upsc over NUT.

The UPS is a pymodbus server holding the simulator map's registers. Expected
values are the register values with the map's scales applied by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator

from modbus_server import build_device, tcp_server
from servers import free_port, require_binary, wait_for


def registers() -> list[int]:
    values = [0xFFFF] * 44
    values[0] = 3                          # output source: normal
    values[1] = 2                          # battery status: normal
    values[2] = 100                        # charge 100 %
    values[3:5] = [0x0000, 0x1C20]         # runtime 7200 s
    values[5] = 5460                       # battery 546.0 V
    values[6] = 0xFFEC                     # -2.0 A
    values[7] = 253                        # 25.3 °C
    values[8] = 500                        # input 50.0 Hz
    values[9] = 499                        # output 49.9 Hz
    values[11] = 0
    values[12:14] = [3, 3]
    values[14:16] = [0, 0]
    values[20:23] = [2301, 2298, 2305]     # input V x 0.1
    values[23:26] = [1203, 1187, 1210]     # input A x 0.1
    values[26:29] = [2300, 2300, 2300]     # output V x 0.1
    values[29:32] = [1100, 1050, 1080]     # output A x 0.1
    values[32:38] = [0x62D4, 0x0000, 0x5E38, 0x0000, 0x6180, 0x0000]  # 25300, 24120, 24960 W (CDAB)
    values[38:41] = [76, 72, 75]           # load %
    values[41:44] = [2302, 2299, 2301]     # bypass V x 0.1
    return values


@contextlib.contextmanager
def modbus_ups() -> Iterator[int]:
    """Serve the registers from a pymodbus server in a thread; yield its port."""
    device = build_device(holding={0: registers()}, discrete={0: [False, False, False, False]})
    loop = asyncio.new_event_loop()
    ready: asyncio.Future[int] = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        async with tcp_server(device) as port:
            ready.set_result(port)
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(ready), 10), loop).result(10)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def test_run_serves_modbus_readings_to_upsc(tmp_path):
    upsc = require_binary("upsc", "nut-client")
    nut_port = free_port()
    with modbus_ups() as modbus_port:
        config = tmp_path / "site.yaml"
        config.write_text(f"""\
site: test-site
ups:
  - id: ups-main
    name: Main UPS
    modbus: {{host: 127.0.0.1, port: {modbus_port}, map: simulator}}
    interval: 1s
nut_server:
  port: {nut_port}
  anonymous_ups: [ups-main]
""", encoding="utf-8")
        agent = subprocess.Popen([sys.executable, "-m", "hotline_monitor", "run", "-c", str(config)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            def served() -> dict[str, str]:
                result = subprocess.run([upsc, f"ups-main@127.0.0.1:{nut_port}"], capture_output=True,
                                        text=True, timeout=10)
                return dict(line.split(": ", 1) for line in result.stdout.splitlines())

            wait_for(lambda: agent.poll() is not None or "ups.status" in served(), 20,
                     "ups-main served over NUT")
            assert agent.poll() is None, agent.communicate()[0]
            variables = served()
        finally:
            agent.terminate()
            output, _ = agent.communicate(timeout=15)

    expected = {
        "ups.status": "OL",
        "battery.charge": "100",
        "battery.runtime": "7200",
        "battery.voltage": "546",
        "battery.current": "-2",
        "battery.temperature": "25.3",
        "input.frequency": "50",
        "output.frequency": "49.9",
        "input.phases": "3",
        "input.voltage": "230.1",
        "input.L1-N.voltage": "230.1",
        "input.L2-N.voltage": "229.8",
        "input.L3-N.voltage": "230.5",
        "input.L2.current": "118.7",
        "output.voltage": "230",
        "output.L3.current": "108",
        "output.L1.realpower": "25300",
        "output.L2.realpower": "24120",
        "output.L1.power.percent": "76",
        "output.L2.power.percent": "72",
        "input.bypass.L2-N.voltage": "229.9",
        "ups.load": "76",
    }
    assert {name: variables.get(name) for name in expected} == expected, output
    assert "input.bypass.frequency" not in variables  # 0xFFFF: unknown, so not served
