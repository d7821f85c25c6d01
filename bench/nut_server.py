"""Benchmark: LIST VAR served to 50 NUT clients, ours against Debian's upsd in the same run.

upsmon and most NUT clients poll every 5 s, so 50 clients send 10 requests a
second. Waiting out real 5 s rounds would measure mostly idle time, so the
rounds are compressed: each of 50 connected clients sends `LIST VAR` and
reads the whole reply, round after round without pause. The figures are
requests per second and the server's CPU time per request (user + system,
from /proc). The CPU share at 10 requests/s is computed from the latter.

Ours runs in its own process, fed a reading every 5 s as the agent would feed
it. upsd serves the same variables from a `.dev` file through its dummy-ups
driver; the driver's own CPU is reported apart.

    uv run python bench/nut_server.py [--rounds 200] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import free_port, upsd_dummy, wait_for  # noqa: E402

UPS_ID = "bench"
POLL_INTERVAL_S = 5.0

# The variables both servers serve, as our server maps the readings fed below.
FIELDS = {
    "on_battery": 0.0, "output_source": 3.0, "charge_pct": 95.0, "runtime_s": 1835.0,
    "battery_voltage_v": 409.6, "battery_current_a": 1.25, "battery_temperature_c": 24.5,
    "input_frequency_hz": 50.02, "output_frequency_hz": 50.0, "input_lines": 3.0,
    "output_lines": 3.0, "load_pct_max": 42.5,
}
LINES = {
    ("input", 1): {"voltage_v": 220.1, "current_a": 12.5},
    ("input", 2): {"voltage_v": 221.2, "current_a": 12.1},
    ("input", 3): {"voltage_v": 219.8, "current_a": 12.3},
    ("output", 1): {"voltage_v": 230.0, "load_pct": 40.0},
    ("output", 2): {"voltage_v": 229.5, "load_pct": 42.5},
    ("output", 3): {"voltage_v": 230.4, "load_pct": 38.0},
}

SERVE_OURS = """
import asyncio, sys, time
from hotline_monitor.config.model import UpsConfig
from hotline_monitor.nut.config import NutServerConfig
from hotline_monitor.nut.latest import LatestReadings
from hotline_monitor.nut.server import NutServer
from hotline_monitor.reading import Reading

FIELDS, LINES, PORT = {fields!r}, {lines!r}, {port}

async def main():
    latest = LatestReadings()
    config = NutServerConfig(port=PORT, anonymous_ups=["bench"])
    server = NutServer(config, [UpsConfig(id="bench", name="Bench UPS", snmp={{"host": "127.0.0.1"}})], latest)
    await server.start()
    while True:
        now = time.time_ns()
        readings = [Reading("ups", {{"ups": "bench", "source": "snmp"}}, dict(FIELDS), now)]
        readings += [Reading("ups_line", {{"ups": "bench", "side": side, "line": str(line)}}, dict(values), now)
                     for (side, line), values in LINES.items()]
        readings.append(Reading("ups_info", {{"ups": "bench"}}, {{"manufacturer": "ACME", "model": "UPS-100K"}}, now))
        latest.observe(readings)
        await asyncio.sleep({interval})

asyncio.run(main())
"""


def start_ours(port: int) -> subprocess.Popen:
    code = SERVE_OURS.format(fields=FIELDS, lines=LINES, port=port, interval=POLL_INTERVAL_S)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)


async def _fetch_vars(port: int) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"LIST VAR {UPS_ID}\n".encode())
    lines = []
    while True:
        line = (await reader.readline()).decode().rstrip("\n")
        lines.append(line)
        if line.startswith(("END LIST", "ERR")):
            break
    writer.close()
    return lines


def dev_file_from(port: int) -> str:
    """Write our server's variables as a dummy-ups .dev file, so upsd serves the same set."""
    lines = asyncio.run(_fetch_vars(port))
    dev = []
    for line in lines[1:-1]:
        _, _, name, value = line.split(" ", 3)
        if not name.startswith("driver."):  # dummy-ups sets its own driver.* variables
            dev.append(f"{name}: {value.strip(chr(34))}")
    return "\n".join(dev) + "\n"


async def _client(port: int, rounds: int, start: asyncio.Event) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await start.wait()
    replies = 0
    for _ in range(rounds):
        writer.write(f"LIST VAR {UPS_ID}\n".encode())
        await writer.drain()
        while True:
            line = await reader.readline()
            if line.startswith(b"END LIST"):
                replies += 1
                break
            if not line or line.startswith(b"ERR"):
                raise RuntimeError(f"LIST VAR failed: {line!r}")
    writer.write(b"LOGOUT\n")
    await writer.drain()
    writer.close()
    return replies


async def _load(port: int, clients: int, rounds: int) -> int:
    start = asyncio.Event()
    tasks = [asyncio.create_task(_client(port, rounds, start)) for _ in range(clients)]
    await asyncio.sleep(0.5)  # all connected before the clock starts
    start.set()
    return sum(await asyncio.gather(*tasks))


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def measure(name: str, port: int, pid: int, clients: int, rounds: int, driver_pid: int | None = None) -> dict:
    cpu_before = cpu_seconds(pid)
    driver_before = cpu_seconds(driver_pid) if driver_pid else 0.0
    started = time.perf_counter()
    requests = asyncio.run(_load(port, clients, rounds))
    elapsed = time.perf_counter() - started - 0.5
    cpu = cpu_seconds(pid) - cpu_before
    result = {
        "name": name,
        "requests": requests,
        "requests_per_s": requests / elapsed,
        "cpu_ms_per_request": cpu * 1000.0 / requests,
        # 50 clients every 5 s: 10 requests a second.
        "cpu_pct_at_poll_rate": cpu / requests * clients / POLL_INTERVAL_S * 100.0,
    }
    if driver_pid:
        result["driver_cpu_s"] = cpu_seconds(driver_pid) - driver_before
    return result


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return f"{os.cpu_count()} CPUs, {model}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    port = free_port()
    ours = start_ours(port)
    try:
        wait_for(lambda: asyncio.run(_fetch_vars(port))[0].startswith("BEGIN"), 15, "our NUT server")
        dev = dev_file_from(port)
        with upsd_dummy(dev, UPS_ID) as upsd:
            variables = len(dev.splitlines())
            results = [
                measure("hotline-monitor", port, ours.pid, args.clients, args.rounds),
                measure("upsd 2.8.0 + dummy-ups", upsd.port, upsd.upsd_pid, args.clients, args.rounds,
                        upsd.driver_pid),
            ]
    finally:
        ours.terminate()
        ours.wait(10)

    print(f"machine: {machine()}; {args.clients} clients x {args.rounds} rounds of LIST VAR "
          f"({variables} variables served by both)")
    for result in results:
        line = (f"{result['name']:>24}: {result['requests_per_s']:8.0f} requests/s, "
                f"{result['cpu_ms_per_request']:.3f} ms CPU per request, "
                f"{result['cpu_pct_at_poll_rate']:.3f} % of one CPU at 50 clients / 5 s")
        if "driver_cpu_s" in result:
            line += f" (dummy-ups used {result['driver_cpu_s']:.2f} s CPU meanwhile)"
        print(line)
    ours_result, upsd_result = results
    print(f"ratio ours/upsd: requests/s {ours_result['requests_per_s'] / upsd_result['requests_per_s']:.2f}, "
          f"CPU per request {ours_result['cpu_ms_per_request'] / upsd_result['cpu_ms_per_request']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
