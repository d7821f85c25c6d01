"""Rule evaluation throughput: readings per second through the built-in UPS pack.

The site has 200 UPS and 500 other targets (hosts and service checks). Each
UPS poll gives one `ups` reading, three input and three output `ups_line`
readings and one `target` reading; each other target gives a `cpu` reading
and a `target` reading. The peer is a loop that only parses the same lines
with `decode_line`; ours parses them too and then runs `AlertEngine.observe`
on each poll's batch, with state in a temporary SQLite file. Both run on one
core in this process. Values are normal (no alert fires), the steady state of
a site; a second round puts 10 % of the UPS on battery to include the cost of
firing, grouping and storing.

    uv run python bench/rules.py [--rounds 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import textwrap
import time
from pathlib import Path

from hotline_monitor.alerting.engine import AlertEngine
from hotline_monitor.config.loader import parse_config
from hotline_monitor.notify.message import OutgoingMessage
from hotline_monitor.reading import Reading, decode_line

UPS_COUNT = 200
OTHER_COUNT = 500
START_NS = 1_796_344_200_000_000_000


class DiscardSink:
    def __init__(self) -> None:
        self.count = 0

    def enqueue(self, message: OutgoingMessage) -> bool:
        self.count += 1
        return True


def ups_poll(index: int, time_ns: int, on_battery: bool) -> list[str]:
    ups_id = f"ups-{index:03d}"
    base = {"site": "bench", "ups": ups_id, "source": "snmp"}
    readings = [Reading("ups", base, {
        "output_source": 5.0 if on_battery else 3.0, "battery_status": 2.0,
        "runtime_s": 2400.0, "charge_pct": 100.0, "battery_temperature_c": 25.0,
        "alarms_present": 1.0 if on_battery else 0.0, "load_pct_max": 52.0,
    }, time_ns)]
    for side in ("input", "output"):
        for line in ("1", "2", "3"):
            tags = {**base, "side": side, "line": line}
            readings.append(Reading("ups_line", tags, {
                "voltage_v": 220.0, "current_a": 80.0, "load_pct": 50.0 + int(line)}, time_ns))
    readings.append(Reading("target", {"site": "bench", "agent": "a1", "target": ups_id,
                                       "kind": "ups_snmp"}, {"up": 1.0, "poll_ms": 30.0}, time_ns))
    return [reading.to_line() for reading in readings]


def other_poll(index: int, time_ns: int) -> list[str]:
    host = f"host-{index:03d}"
    return [
        Reading("cpu", {"site": "bench", "host": host, "cpu": "cpu-total"},
                {"usage_idle": 80.0, "usage_system": 5.0, "usage_user": 15.0}, time_ns).to_line(),
        Reading("target", {"site": "bench", "agent": "a1", "target": host, "kind": "host"},
                {"up": 1.0, "poll_ms": 4.0}, time_ns).to_line(),
    ]


def build_polls(rounds: int, battery_share: float) -> list[list[str]]:
    polls: list[list[str]] = []
    on_battery = int(UPS_COUNT * battery_share)
    for round_number in range(rounds):
        time_ns = START_NS + round_number * 5_000_000_000
        polls += [ups_poll(i, time_ns, i < on_battery) for i in range(UPS_COUNT)]
        polls += [other_poll(i, time_ns) for i in range(OTHER_COUNT)]
    return polls


def make_engine(state_dir: Path) -> AlertEngine:
    ups_lines = "".join(f"  - {{id: ups-{i:03d}, snmp: {{host: 127.0.0.1}}}}\n"
                        for i in range(UPS_COUNT))
    text = textwrap.dedent(f"""
        site: bench
        state_dir: {state_dir}
        alerting: {{console: false}}
        ups:
        """) + ups_lines
    config = parse_config(text, state_dir / "bench.yaml")
    clock = [START_NS]
    return AlertEngine(config, DiscardSink(), clock=lambda: clock[0])


def run_baseline(polls: list[list[str]]) -> float:
    started = time.perf_counter()
    for poll in polls:
        for line in poll:
            decode_line(line)
    return time.perf_counter() - started


def run_engine(polls: list[list[str]], engine: AlertEngine) -> float:
    started = time.perf_counter()
    for poll in polls:
        engine.observe([decode_line(line) for line in poll])
    return time.perf_counter() - started


def measure(rounds: int, battery_share: float, repeats: int) -> tuple[int, float, float]:
    """Return the reading count and the best of `repeats` times for the peer and for ours."""
    polls = build_polls(rounds, battery_share)
    count = sum(len(poll) for poll in polls)
    baseline = ours = float("inf")
    for _ in range(repeats):
        baseline = min(baseline, run_baseline(polls))
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(Path(folder))
            ours = min(ours, run_engine(polls, engine))
            engine.close()
    return count, baseline, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="poll rounds of the whole site")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args()
    # Firing alerts log a warning each; the bench measures rules, not logging.
    logging.getLogger("hotline_monitor").setLevel(logging.ERROR)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    for label, share in (("steady (no alert)", 0.0), ("10% of UPS on battery", 0.1)):
        count, baseline, ours = measure(args.rounds, share, args.repeats)
        print(f"{label}: {count} readings; parse only {count / baseline:,.0f}/s, "
              f"parse + rules {count / ours:,.0f}/s, ratio {ours / baseline:.2f}x the parse time")


if __name__ == "__main__":
    main()
