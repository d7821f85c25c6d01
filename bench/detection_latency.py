"""Detection latency: simulated mains failure → first notification accepted by a channel.

Each run starts the simulator and an agent polling it every 5 s over SNMP,
fails the mains at a random moment relative to the poll schedule, and waits
for the first message to be accepted by a local mock of the WeCom group robot
(the project's test mock, HTTP on 127.0.0.1). Messages reach the robot through
the delivery layer: the outbox, its dispatcher and the `wecom_robot` channel.
Where the alerting engine still writes only its alert log, the benchmark
forwards each new line of that log to the outbox; it looks every 10 ms, so
that adds up to 10 ms.

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
import dataclasses
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hotline_monitor.config.model import Config
from hotline_monitor.notify.message import OutgoingMessage, Recipient
from hotline_monitor.notify.service import build_notifier
from hotline_monitor.simulator.harness import LiveRun, RecordingSink, message_headline
from hotline_monitor.simulator.scenario import Scenario, StateChange, Step

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mocks.wecom import WecomRobotMock  # noqa: E402

ROBOT_KEY = "bench-robot-key"


class TimedRobot(WecomRobotMock):
    """The WeCom robot mock, noting when it accepted each message."""

    def __init__(self) -> None:
        super().__init__({ROBOT_KEY}, rate_limit=0)
        self.accepted_ns: list[int] = []

    def handle(self, method, path, query, headers, raw_query, body):
        reply = super().handle(method, path, query, headers, raw_query, body)
        if len(self.accepted) > len(self.accepted_ns):
            self.accepted_ns.append(time.time_ns())
        return reply

NUT_DRIVER_POLL_S = 30.0
NUT_UPSMON_POLL_S = 5.0


def config_for(state_dir: Path, interval: float, robot_url: str):
    def build(port: int) -> Config:
        return Config.model_validate({
            "site": "bench",
            "state_dir": state_dir,
            "agent_id": "bench",
            "log_level": "error",
            "ups": [{"id": "ups-main", "interval": interval,
                     "snmp": {"host": "127.0.0.1", "port": port, "timeout": 1, "retries": 0}}],
            "alerting": {"console": False},
            "channels": {"ops": {"type": "wecom_robot", "key": ROBOT_KEY, "base_url": robot_url,
                                 "rate_limit": 0}},
        })
    return build


class ToRobot:
    """A MessageSink that sends every message to the robot channel `ops`."""

    def __init__(self, outbox) -> None:
        self.outbox = outbox

    def enqueue(self, message: OutgoingMessage) -> bool:
        return self.outbox.enqueue(dataclasses.replace(message, recipients=[Recipient("ops")]))


def forward(record: dict, outbox) -> None:
    """Hand a message from the first engine's alert log to the outbox, for the robot."""
    outbox.enqueue(OutgoingMessage(key=f"bench-{record.get('time_ns', time.time_ns())}",
                                   kind="alert", severity=record.get("severity", "critical"),
                                   title=message_headline(record), text=record.get("text", ""),
                                   recipients=[Recipient("ops")]))


async def one_run(interval: float, rng: random.Random, robot: TimedRobot) -> float:
    """Return seconds from the mains failure to the first message the robot accepted."""
    fail_at = interval + rng.uniform(0.0, interval)
    scenario = Scenario(name="bench", title="市电中断", duration=fail_at + 3 * interval,
                        steps=[Step(at=fail_at, set=StateChange(mains=False), event="市电中断")])
    first_before = len(robot.accepted_ns)
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as folder:
        run = LiveRun(config_for(Path(folder), interval, robot.base_url), speed=1.0)
        notifier = build_notifier(run.config)
        await notifier.start()
        if isinstance(run.alerts, RecordingSink):
            # The engine hands its messages to a MessageSink: make that the outbox,
            # addressed to the robot whatever the (absent) on-call table says.
            run.alerts.inner = ToRobot(notifier.outbox)
        stop = asyncio.Event()

        async def watch() -> None:
            while len(robot.accepted_ns) == first_before:
                for record in run.alerts.poll():
                    if not isinstance(run.alerts, RecordingSink):
                        forward(record, notifier.outbox)
                await asyncio.sleep(0.01)
            stop.set()

        watcher = asyncio.create_task(watch())
        await run.play([(scenario, None)], stop, settle_s=0.0)
        watcher.cancel()
        await notifier.stop()

    failure = next(event for event in run.simulator.events if event.kind == "source")
    if len(robot.accepted_ns) == first_before:
        raise RuntimeError("the robot accepted no message within the run")
    return (robot.accepted_ns[first_before] - failure.wall_ns) / 1e9


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
    with TimedRobot() as robot:
        for index in range(args.runs):
            latency = asyncio.run(one_run(args.interval, rng, robot))
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
