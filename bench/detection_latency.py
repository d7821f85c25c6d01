"""Detection latency: simulated mains failure → first notification accepted by a channel.

Each run starts the simulator and an agent polling it every 5 s over SNMP,
fails the mains at a random moment relative to the poll schedule, and waits
for the first message to be accepted. This tree has no channel layer with a
mock robot yet, so "accepted" means appended to the alert log (`alerts.jsonl`),
the agent's only message path. The benchmark watches that file every 10 ms.

The anchor is NUT with its default polling: the snmp-ups driver polls every
30 s (`pollfreq`) and upsmon polls upsd every 5 s (`POLLFREQ`), so a mains
failure at a random instant reaches upsmon's NOTIFYCMD after U(0, 30) +
U(0, 5) s: median about 17.5 s (sampled below), worst 35 s. NUT is not run
here; the anchor is that arithmetic.

    uv run python bench/detection_latency.py [--runs 20] [--interval 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import tempfile
import time
from pathlib import Path

from hotline_monitor.config.model import Config
from hotline_monitor.simulator.harness import LiveRun
from hotline_monitor.simulator.scenario import Scenario, StateChange, Step

NUT_DRIVER_POLL_S = 30.0
NUT_UPSMON_POLL_S = 5.0


def config_for(state_dir: Path, interval: float):
    def build(port: int) -> Config:
        return Config.model_validate({
            "site": "bench",
            "state_dir": state_dir,
            "agent_id": "bench",
            "log_level": "error",
            "ups": [{"id": "ups-main", "interval": interval,
                     "snmp": {"host": "127.0.0.1", "port": port, "timeout": 1, "retries": 0}}],
            "alerting": {"console": False},
        })
    return build


async def one_run(interval: float, rng: random.Random) -> float:
    """Return seconds from the mains failure to the first accepted message."""
    fail_at = interval + rng.uniform(0.0, interval)
    scenario = Scenario(name="bench", title="市电中断", duration=fail_at + 3 * interval,
                        steps=[Step(at=fail_at, set=StateChange(mains=False), event="市电中断")])
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as folder:
        run = LiveRun(config_for(Path(folder), interval), speed=1.0)
        stop = asyncio.Event()
        accepted_ns: list[int] = []

        async def watch() -> None:
            while not accepted_ns:
                if run.alerts.poll():
                    accepted_ns.append(time.time_ns())
                    stop.set()
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        await run.play([(scenario, None)], stop, settle_s=0.0)
        watcher.cancel()

    failure = next(event for event in run.simulator.events if event.kind == "source")
    if not accepted_ns:
        raise RuntimeError("no message within the run")
    return (accepted_ns[0] - failure.wall_ns) / 1e9


def nut_anchor(rng: random.Random, samples: int = 100_000) -> tuple[float, float]:
    """Median and worst latency of NUT's default polling, by sampling the two uniform delays."""
    values = sorted(rng.uniform(0, NUT_DRIVER_POLL_S) + rng.uniform(0, NUT_UPSMON_POLL_S)
                    for _ in range(samples))
    return values[len(values) // 2], NUT_DRIVER_POLL_S + NUT_UPSMON_POLL_S


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)

    rng = random.Random(12345)
    latencies = []
    for index in range(args.runs):
        latency = asyncio.run(one_run(args.interval, rng))
        latencies.append(latency)
        print(f"run {index + 1:2d}: {latency:6.2f} s", flush=True)

    median = statistics.median(latencies)
    worst = max(latencies)
    nut_median, nut_worst = nut_anchor(rng)
    print(f"ours ({args.interval:g} s polling): median {median:.2f} s, worst {worst:.2f} s")
    print(f"NUT defaults (30 s driver + 5 s upsmon), computed: median {nut_median:.2f} s, "
          f"worst {nut_worst:.2f} s")
    print(f"ratio ours / NUT: median {median / nut_median:.3f}, worst {worst / nut_worst:.3f}")


if __name__ == "__main__":
    main()
