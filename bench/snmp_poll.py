"""CPU time of one full UPS poll: our collector vs prometheus-snmp-exporter.

Both poll the same snmpsim agent serving one UPS (the Eaton 93PS recording
when ../shared/recordings is present, else the project's 100 kVA fixture).
Our cost is this process's CPU time (time.process_time) over N polls of
`SnmpUpsCollector.poll()`, after warm-up. The exporter is a long-running Go
process: its cost is the utime+stime growth in /proc/PID/stat over N scrapes
of a module that walks 1.3.6.1.2.1.33 and exports every UPS-MIB object.
The simulator's own CPU is in neither figure, so wall time is not compared.

    uv run python bench/snmp_poll.py [--polls 300] [--version 2c|1|3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import servers  # noqa: E402

from hotline_monitor.collectors.ups_snmp.collector import SnmpUpsCollector  # noqa: E402
from hotline_monitor.collectors.ups_snmp.oids import (  # noqa: E402
    IDENTITY,
    LINE_COLUMNS,
    LINE_COUNTS,
    UPS_SCALARS,
)
from hotline_monitor.config.model import UpsConfig  # noqa: E402

V3_USER = {"user": "bench", "auth-key": "bench-auth-1", "auth-proto": "SHA256",
           "priv-key": "bench-priv-1", "priv-proto": "AES"}


def _recording() -> tuple[str, Path]:
    for candidate in servers._recordings_candidates():
        path = candidate / "eaton-mgeups_93ps.snmprec"
        if path.exists():
            return "eaton", path
    return "fixture", REPO / "tests" / "collectors" / "fixtures" / "ups100k_on_battery.snmprec"


def _exporter_auth(community: str, version: str) -> str:
    if version != "3":
        number = 1 if version == "1" else 2
        return f"  version: {number}\n  auth: {{community: {community}}}\n"
    return ("  version: 3\n  auth:\n    username: bench\n    security_level: authPriv\n"
            "    password: bench-auth-1\n    auth_protocol: SHA256\n"
            "    priv_protocol: AES\n    priv_password: bench-priv-1\n"
            f"    context_name: {community}\n")


def _exporter_module(community: str, version: str) -> str:
    """Write a snmp.yml (0.21 format) module that walks the UPS-MIB, every object a metric."""
    metrics = []
    for oid, spec in IDENTITY.items():
        metrics.append(f"      - {{name: ident_{spec.field}, oid: {oid[:-2]}, type: DisplayString}}")
    for oid, spec in {**UPS_SCALARS, **{o: s for o, (_, s) in LINE_COUNTS.items()}}.items():
        metrics.append(f"      - {{name: ups_{spec.field}, oid: {oid[:-2]}, type: gauge}}")
    for oid, (side, spec) in LINE_COLUMNS.items():
        metrics.append(f"      - {{name: {side}_{spec.field}, oid: {oid}, type: gauge, "
                       "indexes: [{labelname: line, type: gauge}]}")
    metrics.append("      - {name: alarm_descr, oid: 1.3.6.1.2.1.33.1.6.2.1.2, type: OctetString, "
                   "indexes: [{labelname: alarm, type: gauge}]}")
    return ("ups:\n  walk: [1.3.6.1.2.1.33]\n  max_repetitions: 25\n  retries: 0\n"
            "  timeout: 5s\n" + _exporter_auth(community, version) + "  metrics:\n"
            + "\n".join(metrics) + "\n")


def _process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def measure_exporter(port: int, community: str, version: str, polls: int) -> float:
    binary = servers.require_binary("prometheus-snmp-exporter", "prometheus-snmp-exporter")
    folder = Path(tempfile.mkdtemp(prefix="snmp-exporter-"))
    config = folder / "snmp.yml"
    config.write_text(_exporter_module(community, version))
    listen = servers.free_port()
    process = subprocess.Popen([binary, f"--config.file={config}",
                                f"--web.listen-address=127.0.0.1:{listen}", "--log.level=warn"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{listen}/snmp?target=127.0.0.1:{port}&module=ups"
    try:
        servers.wait_for(lambda: urllib.request.urlopen(url, timeout=5).status == 200, 20,
                         "prometheus-snmp-exporter")
        body = urllib.request.urlopen(url, timeout=5).read().decode()
        if "ups_output_source" not in body and "ups_battery_voltage_v" not in body:
            raise RuntimeError(f"exporter scrape has no UPS metrics:\n{body[:2000]}")
        for _ in range(20):
            urllib.request.urlopen(url, timeout=5).read()
        before = _process_cpu_s(process.pid)
        for _ in range(polls):
            urllib.request.urlopen(url, timeout=5).read()
        return (_process_cpu_s(process.pid) - before) / polls
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _measure_ours(ups: UpsConfig, polls: int) -> tuple[float, int]:
    collector = SnmpUpsCollector(ups, site="bench")
    try:
        result = await collector.poll()
        for _ in range(20):
            await collector.poll()
        started = time.process_time()
        for _ in range(polls):
            await collector.poll()
        return (time.process_time() - started) / polls, len(result.readings)
    finally:
        await collector.close()


def ups_config(port: int, community: str, version: str) -> UpsConfig:
    snmp: dict = {"host": "127.0.0.1", "port": port, "community": community, "version": version,
                  "timeout": 5}
    if version == "3":
        snmp.update(user="bench", auth_protocol="SHA256", auth_key="bench-auth-1",
                    priv_protocol="AES", priv_key="bench-priv-1", context=community)
    return UpsConfig(id="bench-ups", snmp=snmp)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=300, help="polls per measurement round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--version", default="2c", choices=["1", "2c", "3"],
                        help="SNMP version of both clients")
    args = parser.parse_args()

    community, recording = _recording()
    exporter_version = args.version
    with servers.snmpsim({community: recording}, v3_users=[V3_USER]) as agent:
        ours, exporter = [], []
        for _ in range(args.rounds):
            cpu, readings = asyncio.run(_measure_ours(ups_config(agent.port, community,
                                                                 args.version), args.polls))
            ours.append(cpu)
            exporter.append(measure_exporter(agent.port, community, exporter_version,
                                             args.polls))

    ours_ms = statistics.median(ours) * 1000
    exporter_ms = statistics.median(exporter) * 1000
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}")
    print(f"UPS: {recording.name}, {readings} readings per poll, {args.polls} polls x "
          f"{args.rounds} rounds (median)")
    print(f"hotline-monitor SNMP v{args.version} collector: {ours_ms:.3f} ms CPU per poll")
    print(f"prometheus-snmp-exporter (v{exporter_version} walk): {exporter_ms:.3f} ms CPU per scrape")
    print(f"ratio ours/exporter: {ours_ms / exporter_ms:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
