"""Run an agent or a hub with numbered fake collectors, for the kill -9 tests.

    python tests/fake_node.py CONFIG agent PER_POLL INTERVAL
    python tests/fake_node.py CONFIG hub

The agent appends the highest number it has committed to the spool to
`committed.log` in its state folder after every poll, and resumes after the
last number logged, so a restart makes the same points again.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from spool_support import NumberedCollector  # noqa: E402

from hotline_monitor.agent.runner import Agent  # noqa: E402
from hotline_monitor.config import load_config  # noqa: E402
from hotline_monitor.reading import Reading  # noqa: E402


def last_committed(log_path: Path) -> int:
    if not log_path.exists():
        return 0
    numbers = [int(line) for line in log_path.read_text().splitlines() if line.strip().isdigit()]
    return max(numbers, default=0)


class LoggingAgent(Agent):
    def submit(self, readings: list[Reading]) -> None:
        super().submit(readings)
        numbers = [reading.fields["n"] for reading in readings if reading.measurement == "seq"]
        if numbers:
            with self.committed_log.open("a") as handle:
                handle.write(f"{int(max(numbers))}\n")


async def main() -> int:
    config = load_config(sys.argv[1])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    if sys.argv[2] == "hub":
        from hotline_monitor.agent.mqtt.hub import Hub

        return await Hub(config).run_forever(stop)

    config.state_dir.mkdir(parents=True, exist_ok=True)
    log_path = config.state_dir / "committed.log"
    collector = NumberedCollector("t1", config.site, per_poll=int(sys.argv[3]),
                                  interval=float(sys.argv[4]), first=last_committed(log_path) + 1)
    agent = LoggingAgent(config, collectors=[collector])
    agent.committed_log = log_path
    return await agent.run_forever(stop)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
