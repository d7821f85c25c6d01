"""Benchmark the durable spool against a direct batched write with no spool.

    uv run python bench/spool.py [--targets 200] [--polls 720]

Measures, on a real InfluxDB 1.x started on loopback:
1. spool write rate: readings per second committed, one transaction per poll
   (synchronous=FULL, as configured by default);
2. replay of a 1-hour outage's backlog through the spool and sender, against
   the same points written directly in batches of 5000 with no spool, as a
   ratio of rates. The backlog has two readings per target and poll: a
   `target` line and a 12-field `ups` line;
3. the agent process's RSS while the backlog grows with InfluxDB away,
   against the in-memory BufferedWriter that the spool replaced.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

BATCH = 5000
T0_NS = 1_780_000_000_000_000_000


def backlog_lines(targets: int, polls: int) -> list[str]:
    return list(iter_backlog_lines(targets, polls))


def iter_backlog_lines(targets: int, polls: int) -> Iterator[str]:
    """Two readings per target and poll, 5 s apart, as an outage would leave them."""
    for poll in range(polls):
        time_ns = T0_NS + poll * 5_000_000_000
        for target in range(targets):
            yield (f"target,agent=bench,kind=ups_snmp,site=bench,target=ups-{target:03d} "
                   f"poll_ms=12.5,up=1.0 {time_ns + target}")
            yield (
                f"ups,site=bench,source=snmp,ups=ups-{target:03d} battery_status=2.0,"
                f"battery_voltage_v=409.6,charge_pct=100.0,input_frequency_hz=50.0,"
                f"input_lines=3.0,load_pct_max=37.0,on_battery=0.0,on_bypass=0.0,"
                f"output_frequency_hz=50.0,output_lines=3.0,output_source=3.0,"
                f"runtime_s={3000.0 + poll!r} {time_ns + target}")


def measure_write_rate(directory: Path, lines: list[str], per_commit: int) -> float:
    from hotline_monitor.agent.spool import Spool

    spool = Spool(directory / f"write-{per_commit}.sqlite", max_bytes=10**12)
    count = min(len(lines), 20_000)
    started = time.perf_counter()
    for start in range(0, count, per_commit):
        spool.append(lines[start:start + per_commit])
    elapsed = time.perf_counter() - started
    spool.close()
    return count / elapsed


async def replay_through_spool(url: str, database: str, directory: Path, lines: list[str]) -> float:
    from hotline_monitor.agent.sender import Sender
    from hotline_monitor.agent.sinks.influxdb_v1 import InfluxV1Sink
    from hotline_monitor.agent.spool import Spool
    from hotline_monitor.config.model import InfluxDBConfig

    directory.mkdir(parents=True, exist_ok=True)
    spool = Spool(directory / "replay.sqlite", max_bytes=10**12)
    for start in range(0, len(lines), BATCH):
        spool.append(lines[start:start + BATCH])
    sink = InfluxV1Sink(InfluxDBConfig(url=url, database=database, timeout=60))
    sender = Sender(spool, sink, batch_size=BATCH)
    started = time.perf_counter()
    result = await sender.drain()
    elapsed = time.perf_counter() - started
    await sink.close()
    assert result.ok and result.sent == len(lines), result
    spool.close()
    return len(lines) / elapsed


async def direct_write(url: str, database: str, lines: list[str]) -> float:
    from hotline_monitor.agent.sinks.influxdb_v1 import InfluxV1Sink
    from hotline_monitor.config.model import InfluxDBConfig

    sink = InfluxV1Sink(InfluxDBConfig(url=url, database=database, timeout=60))
    started = time.perf_counter()
    for start in range(0, len(lines), BATCH):
        await sink.write(lines[start:start + BATCH])
    elapsed = time.perf_counter() - started
    await sink.close()
    return len(lines) / elapsed


def create_database(url: str, name: str) -> None:
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(
        f"{url}/query", data=urllib.parse.urlencode({"q": f'CREATE DATABASE "{name}"'}).encode())
    urllib.request.urlopen(request, timeout=10).read()


def memory_child(kind: str, targets: int, polls: int) -> None:
    """Grow a backlog with the sink away; print RSS (MiB) at each quarter as JSON."""
    import psutil

    from hotline_monitor.agent.sinks.influxdb_v1 import InfluxV1Sink
    from hotline_monitor.agent.spool import Spool
    from hotline_monitor.agent.writer import BufferedWriter
    from hotline_monitor.config.model import InfluxDBConfig
    from servers import free_port

    process = psutil.Process()
    lines = iter_backlog_lines(targets, polls)
    per_poll = targets * 2
    directory = Path(tempfile.mkdtemp(prefix="bench-spool-"))
    sink = InfluxV1Sink(InfluxDBConfig(url=f"http://127.0.0.1:{free_port()}", database="x",
                                       timeout=1))
    spool = Spool(directory / "memory.sqlite", max_bytes=10**12) if kind == "spool" else None
    writer = BufferedWriter(sink, max_buffered=10**9) if kind == "memory" else None

    async def grow() -> list[float]:
        samples = [process.memory_info().rss / 2**20]
        for poll in range(polls):
            batch = [next(lines) for _ in range(per_poll)]
            if spool is not None:
                spool.append(batch)
            else:
                writer.add(batch)
            if (poll + 1) % (polls // 4) == 0:
                samples.append(process.memory_info().rss / 2**20)
        return samples

    samples = asyncio.run(grow())
    print(json.dumps(samples))


def measure_memory(kind: str, targets: int, polls: int) -> list[float]:
    output = subprocess.run(
        [sys.executable, __file__, "--memory-child", kind, "--targets", str(targets),
         "--polls", str(polls)], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--polls", type=int, default=720)
    parser.add_argument("--memory-child", choices=["spool", "memory"])
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.targets, args.polls)
        return

    from servers import influxdb_v1

    lines = backlog_lines(args.targets, args.polls)
    directory = Path(tempfile.mkdtemp(prefix="bench-spool-"))
    print(f"backlog: {args.targets} targets × {args.polls} polls = {len(lines)} readings, "
          f"{sum(map(len, lines)) / 2**20:.1f} MiB of line protocol")

    per_poll_rate = measure_write_rate(directory, lines, per_commit=args.targets * 2 // 10)
    bulk_rate = measure_write_rate(directory, lines, per_commit=BATCH)
    print(f"spool write, {args.targets * 2 // 10} readings per commit: {per_poll_rate:,.0f} readings/s")
    print(f"spool write, {BATCH} readings per commit: {bulk_rate:,.0f} readings/s")

    # Two alternating rounds, each into a fresh database, best of each, so
    # that neither side gains from running second on a warm server.
    direct = replay = 0.0
    with influxdb_v1("bench_direct_0") as influx:
        for round_number in range(2):
            create_database(influx.url, f"bench_direct_{round_number}")
            create_database(influx.url, f"bench_spool_{round_number}")
            direct = max(direct, asyncio.run(
                direct_write(influx.url, f"bench_direct_{round_number}", lines)))
            replay = max(replay, asyncio.run(replay_through_spool(
                influx.url, f"bench_spool_{round_number}", directory / str(round_number), lines)))
    print(f"direct batched write (no spool): {direct:,.0f} readings/s")
    print(f"replay through the spool:        {replay:,.0f} readings/s")
    print(f"ratio spool replay / direct: {replay / direct:.2f}")
    print(f"1-hour backlog cleared in {len(lines) / replay:.1f} s (direct: {len(lines) / direct:.1f} s)")

    for kind in ("spool", "memory"):
        samples = measure_memory(kind, args.targets, args.polls)
        label = "spool (SQLite)" if kind == "spool" else "in-memory BufferedWriter"
        shown = " → ".join(f"{value:.0f}" for value in samples)
        print(f"RSS while the backlog grows, {label}: {shown} MiB "
              f"(growth {samples[-1] - samples[0]:+.0f} MiB)")


if __name__ == "__main__":
    main()
