"""Latency from a UPS event to the first page a WeCom robot accepts: trap vs 5 s polling.

One agent runs in this process with 5 s polling, a trap receiver, the real
outbox and a wecom_robot channel pointed at the local WeCom robot mock. The
UPS is a scripted collector whose answer flips to "on battery" at the event.
- trap path: the event is the moment net-snmp's `snmptrap` is started with
  an RFC 1628 upsTrapOnBattery; the page is the mock's acceptance.
- polling path: the event flips at a random phase of the 5 s poll cycle and
  no trap is sent, so only the next poll can see it.
Between runs mains return and the recovery page is awaited. NUT's defaults
(30 s driver poll, upsmon every 5 s) are printed as the field's anchor.

    uv run python bench/trap_latency.py [--trap-runs 50] [--poll-runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from mocks.wecom import WecomRobotMock  # noqa: E402
from servers import free_port, require_binary  # noqa: E402

from hotline_monitor.agent.runner import Agent  # noqa: E402
from hotline_monitor.collectors.base import PollResult  # noqa: E402
from hotline_monitor.config.loader import parse_config  # noqa: E402
from hotline_monitor.reading import Reading  # noqa: E402

POLL_INTERVAL_S = 5.0
ROBOT_KEY = "bench-robot-key"

CONFIG = """\
site: bench
ups:
  - id: ups-main
    name: 主机房 UPS
    snmp: {{host: 127.0.0.1, port: 1}}
    interval: 5s
traps:
  listen: 127.0.0.1:{trap_port}
  communities: [trapcomm]
alerting:
  flapping: {{changes: 100, window: 60s, quiet: 1s}}
channels:
  ops:
    type: wecom_robot
    key: {key}
    base_url: {robot_url}
    # The channel keeps to WeCom's 20 messages a minute by queueing; 70 runs send
    # 140 pages, so the limit is off here or every 20th page would wait.
    rate_limit: 0
oncall:
  people:
    - {{id: zhang, name: 张三, phone: "13800000001", wecom: zhangsan}}
  manager: zhang
  default:
    早班: {{on_duty: zhang, lead: zhang}}
    中班: {{on_duty: zhang, lead: zhang}}
    夜班: {{on_duty: zhang, lead: zhang}}
  escalation:
    default:
      - {{after: 0s, to: [on_duty], channels: [ops]}}
"""


class SwitchableUps:
    """Answers polls with the current mains/battery state, like a card would."""

    kind = "ups_snmp"
    target = "ups-main"
    interval = POLL_INTERVAL_S

    def __init__(self) -> None:
        self.on_battery = False

    async def poll(self) -> PollResult:
        fields = {
            "on_battery": 1.0 if self.on_battery else 0.0,
            "output_source": 5.0 if self.on_battery else 3.0,
            "runtime_s": 3600.0,
            "charge_pct": 100.0,
        }
        return PollResult([Reading("ups", {"site": "bench", "ups": "ups-main", "source": "snmp"}, fields)])

    async def close(self) -> None:
        return None


async def wait_for_pages(robot: WecomRobotMock, count: int, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(robot.accepted) >= count:
            return time.monotonic()
        await asyncio.sleep(0.002)
    return None


async def run_bench(trap_runs: int, poll_runs: int) -> tuple[list[float], list[float]]:
    snmptrap = require_binary("snmptrap", "snmp")
    trap_port = free_port(socket.SOCK_DGRAM)
    robot = WecomRobotMock(keys={ROBOT_KEY}, rate_limit=10_000)
    trap_latencies: list[float] = []
    poll_latencies: list[float] = []

    with robot, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "site.yaml"
        path.write_text(CONFIG.format(trap_port=trap_port, key=ROBOT_KEY, robot_url=robot.base_url), encoding="utf-8")
        ups = SwitchableUps()
        agent = Agent(parse_config(path.read_text(encoding="utf-8"), path), collectors=[ups])
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run_forever(stop))
        await asyncio.sleep(POLL_INTERVAL_S + 1)

        for index in range(trap_runs + poll_runs):
            with_trap = index < trap_runs
            if not with_trap:
                await asyncio.sleep(random.uniform(0, POLL_INTERVAL_S))
            pages_before = len(robot.accepted)
            started = time.monotonic()
            ups.on_battery = True
            if with_trap:
                await asyncio.to_thread(subprocess.run, [snmptrap, "-v", "2c", "-c", "trapcomm", f"127.0.0.1:{trap_port}",
                                                         "", "1.3.6.1.2.1.33.2.1"], check=True, timeout=10)
            paged = await wait_for_pages(robot, pages_before + 1, timeout=3 * POLL_INTERVAL_S)
            if paged is None:
                raise RuntimeError(f"run {index}: no page within {3 * POLL_INTERVAL_S} s")
            (trap_latencies if with_trap else poll_latencies).append(paged - started)

            ups.on_battery = False
            if await wait_for_pages(robot, pages_before + 2, timeout=3 * POLL_INTERVAL_S) is None:
                raise RuntimeError(f"run {index}: no recovery page")

        stop.set()
        await task
    return trap_latencies, poll_latencies


def describe(latencies: list[float]) -> str:
    return f"median {statistics.median(latencies) * 1000:7.0f} ms, worst {max(latencies) * 1000:7.0f} ms, n={len(latencies)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trap-runs", type=int, default=50)
    parser.add_argument("--poll-runs", type=int, default=20)
    args = parser.parse_args()

    trap, poll = asyncio.run(run_bench(args.trap_runs, args.poll_runs))

    print(f"machine: {platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}")
    print(f"trap → page:          {describe(trap)}")
    print(f"5 s polling → page:   {describe(poll)}")
    print(f"ratio polling / trap (median): {statistics.median(poll) / statistics.median(trap):.1f}")
    print("trap latencies, ms: " + " ".join(f"{value * 1000:.0f}" for value in trap))
    print("poll latencies, ms: " + " ".join(f"{value * 1000:.0f}" for value in poll))
    # NUT defaults: the driver polls the card every 30 s and upsmon polls upsd every 5 s,
    # so an event waits on average 15 s + 2.5 s and at worst 35 s before upsmon sees it.
    print("NUT defaults (anchor): median ≈ 17500 ms, worst ≈ 35000 ms (30 s driver poll + 5 s upsmon poll)")
    print(f"ratio NUT anchor / trap (median): {17.5 / statistics.median(trap):.0f}")


if __name__ == "__main__":
    main()
