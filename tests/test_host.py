"""The host collector on this test machine, checked against df and /proc."""

from __future__ import annotations

import asyncio
import logging
import math
import subprocess
import time
from pathlib import Path

import pytest

from hotline_monitor.collectors.host.collector import HostCollector
from hotline_monitor.collectors.host.config import HostConfig
from hotline_monitor.collectors.host.forecast import FillForecast
from hotline_monitor.collectors.host.systemd import systemd_running


def poll(host: HostConfig) -> list:
    collector = HostCollector(host, "test-site")
    time.sleep(0.2)  # let the CPU counters advance past the constructor's first sample
    return asyncio.run(collector.poll()).readings


def by_measurement(readings, measurement: str) -> list:
    return [reading for reading in readings if reading.measurement == measurement]


def df_rows() -> dict[str, dict[str, int]]:
    """Parse `df -P -B1` (POSIX format, sizes in bytes) by mount point."""
    output = subprocess.run(["df", "-P", "-B1"], capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in output.splitlines()[1:]:
        device, size, used, available, capacity, mount = line.split(None, 5)
        rows[mount] = {"size": int(size), "used": int(used), "available": int(available),
                       "capacity": int(capacity.rstrip("%"))}
    return rows


@pytest.fixture(scope="module")
def readings():
    return poll(HostConfig(id="test-host"))


def test_every_field_is_float_and_tagged(readings):
    assert readings
    for reading in readings:
        assert reading.tags["site"] == "test-site"
        assert reading.tags["host"] == "test-host"
        for name, value in reading.fields.items():
            assert isinstance(value, float), (reading.measurement, name, value)
            assert math.isfinite(value), (reading.measurement, name)


def test_disks_match_df(readings):
    disks = by_measurement(readings, "disk")
    assert disks, "no disk reading on this machine"
    df = df_rows()
    compared = 0
    for disk in disks:
        row = df.get(disk.tags["path"])
        if row is None:
            continue
        compared += 1
        # df and the collector read statvfs at slightly different moments;
        # 64 MiB absorbs what the rest of the machine writes in between.
        slack = 64 * 1024 * 1024
        assert disk.fields["total"] == row["size"]
        assert abs(disk.fields["used"] - row["used"]) <= slack
        assert abs(disk.fields["free"] - row["available"]) <= slack
        # df rounds its Capacity column up to a whole percent.
        assert abs(math.ceil(disk.fields["used_percent"]) - row["capacity"]) <= 1
        assert disk.tags["fstype"]
        assert disk.tags["mode"] in ("rw", "ro")
        inodes_used = disk.fields["inodes_total"] - disk.fields["inodes_free"]
        assert disk.fields["inodes_used"] == inodes_used
    assert compared >= 1
    assert "/" in {disk.tags["path"] for disk in disks}


def test_pseudo_filesystems_left_out(readings):
    fstypes = {disk.tags["fstype"] for disk in by_measurement(readings, "disk")}
    assert not fstypes & {"tmpfs", "devtmpfs", "proc", "sysfs"}


def test_disk_exclude_and_include():
    excluded = poll(HostConfig(id="test-host", exclude_disks=["/"], count_processes=False))
    assert "/" not in {disk.tags["path"] for disk in by_measurement(excluded, "disk")}
    only_root = poll(HostConfig(id="test-host", disks=["/"], count_processes=False))
    assert [disk.tags["path"] for disk in by_measurement(only_root, "disk")] == ["/"]


def test_memory_matches_proc_meminfo(readings):
    meminfo = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, value = line.split(":", 1)
        meminfo[key] = int(value.split()[0]) * 1024
    (mem,) = by_measurement(readings, "mem")
    assert mem.fields["total"] == meminfo["MemTotal"]
    assert abs(mem.fields["available"] - meminfo["MemAvailable"]) < 256 * 1024 * 1024
    assert 0.0 < mem.fields["used_percent"] < 100.0
    assert mem.fields["used"] + mem.fields["free"] <= mem.fields["total"]
    (swap,) = by_measurement(readings, "swap")
    assert swap.fields["total"] == meminfo["SwapTotal"]


def test_system_matches_proc(readings):
    (system,) = by_measurement(readings, "system")
    load1, load5, load15 = (float(value) for value in Path("/proc/loadavg").read_text().split()[:3])
    assert abs(system.fields["load1"] - load1) < 0.5
    assert abs(system.fields["load5"] - load5) < 0.3
    assert abs(system.fields["load15"] - load15) < 0.2
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    assert abs(system.fields["uptime"] - uptime) < 60.0
    processors = [line for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("processor")]
    assert system.fields["n_cpus"] == len(processors)


def test_cpu_usage_per_cpu(readings):
    cpus = {reading.tags["cpu"]: reading.fields for reading in by_measurement(readings, "cpu")}
    (system,) = by_measurement(readings, "system")
    expected = {"cpu-total"} | {f"cpu{index}" for index in range(int(system.fields["n_cpus"]))}
    assert set(cpus) == expected
    total = cpus["cpu-total"]
    parts = ("usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait", "usage_irq",
             "usage_softirq", "usage_steal")
    assert abs(sum(total[name] for name in parts) - 100.0) < 0.01
    for name in parts:
        assert 0.0 <= total[name] <= 100.0


def test_net_and_diskio_counters_match_proc():
    before_net = {}
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        name, values = line.split(":", 1)
        before_net[name.strip()] = int(values.split()[0])
    devices = {line.split()[2] for line in Path("/proc/diskstats").read_text().splitlines()}

    readings = poll(HostConfig(id="test-host", count_processes=False))

    nets = {reading.tags["interface"]: reading.fields
            for reading in by_measurement(readings, "net")}
    assert "lo" not in nets, "loopback is left out unless listed"
    assert set(nets) == set(before_net) - {"lo"}
    for interface, fields in nets.items():
        assert fields["bytes_recv"] >= before_net[interface]
    names = {reading.tags["name"] for reading in by_measurement(readings, "diskio")}
    assert names
    assert names <= devices


def test_process_counts_match_proc(readings):
    (processes,) = by_measurement(readings, "processes")
    pids = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    assert abs(processes.fields["total"] - len(pids)) <= 10
    assert processes.fields["total_threads"] >= processes.fields["total"]
    states = ("running", "sleeping", "blocked", "stopped", "zombies", "dead", "idle", "unknown")
    assert sum(processes.fields.get(state, 0.0) for state in states) == processes.fields["total"]


def test_required_processes():
    sleeper = subprocess.Popen(["sleep", "3017.25"])
    try:
        host = HostConfig(id="test-host", count_processes=False, processes=[
            {"name": "sleep-3017", "pattern": r"^sleep 3017\.25$"},
            {"name": "no-such-daemon"},
            {"name": "sleep", "min_count": 1},
        ])
        readings = poll(host)
    finally:
        sleeper.terminate()
        sleeper.wait()

    lookups = {reading.tags["name"]: reading
               for reading in by_measurement(readings, "procstat_lookup")}
    assert lookups["sleep-3017"].fields["pid_count"] == 1.0
    assert lookups["sleep-3017"].fields["running"] == 1.0
    assert lookups["sleep-3017"].tags["pattern"] == r"^sleep 3017\.25$"
    assert lookups["no-such-daemon"].fields["pid_count"] == 0.0
    assert lookups["sleep"].fields["pid_count"] >= 1.0

    procstats = [reading for reading in by_measurement(readings, "procstat")
                 if reading.tags["name"] == "sleep-3017"]
    assert [reading.fields["pid"] for reading in procstats] == [float(sleeper.pid)]
    assert procstats[0].tags["process_name"] == "sleep"
    assert procstats[0].fields["memory_rss"] > 0.0

    checks = {reading.tags["check"]: reading for reading in by_measurement(readings, "check")}
    assert checks["test-host/sleep-3017"].fields["up"] == 1.0
    assert checks["test-host/sleep-3017"].tags["kind"] == "process"
    assert checks["test-host/no-such-daemon"].fields["up"] == 0.0


def test_required_process_gone_after_exit():
    sleeper = subprocess.Popen(["sleep", "3018.5"])
    host = HostConfig(id="test-host", count_processes=False,
                      processes=[{"name": "sleeper", "pattern": r"^sleep 3018\.5$"}])
    collector = HostCollector(host, "test-site")
    try:
        running = asyncio.run(collector.poll()).readings
    finally:
        sleeper.terminate()
        sleeper.wait()
    stopped = asyncio.run(collector.poll()).readings

    def up(readings):
        (check,) = by_measurement(readings, "check")
        return check.fields["up"]

    assert up(running) == 1.0
    assert up(stopped) == 0.0


@pytest.mark.skipif(systemd_running(), reason="systemd runs here: the skip path does not apply")
def test_systemd_units_skipped_without_systemd(caplog):
    caplog.set_level(logging.INFO, logger="hotline_monitor.collectors.host.collector")
    readings = poll(HostConfig(id="test-host", count_processes=False,
                               systemd_units=["kamailio.service"]))
    assert not by_measurement(readings, "check")
    assert "systemd is not running here" in caplog.text
    assert "the 1 systemd unit checks of host test-host are skipped" in caplog.text


def test_poll_does_not_block_event_loop():
    """A host poll runs in a thread, so a 10 ms timer on the loop still fires on time."""
    collector = HostCollector(HostConfig(id="test-host"), "test-site")

    async def scenario():
        loop = asyncio.get_running_loop()
        delays = []

        async def ticker():
            for _ in range(5):
                started = loop.time()
                await asyncio.sleep(0.01)
                delays.append(loop.time() - started)

        await asyncio.gather(collector.poll(), ticker())
        return delays

    delays = asyncio.run(scenario())
    assert max(delays) < 0.5, delays


def test_failing_section_left_out(monkeypatch, caplog):
    """An unreadable section is logged once and the rest of the poll is kept."""
    import psutil

    def unreadable(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/proc/self/mounts")

    monkeypatch.setattr(psutil, "disk_partitions", unreadable)
    caplog.set_level(logging.DEBUG, logger="hotline_monitor.collectors.host.collector")
    collector = HostCollector(HostConfig(id="test-host", count_processes=False), "test-site")
    first = asyncio.run(collector.poll()).readings
    second = asyncio.run(collector.poll()).readings

    for readings in (first, second):
        assert not by_measurement(readings, "disk")
        assert len(by_measurement(readings, "mem")) == 1
        assert len(by_measurement(readings, "system")) == 1
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "reading disk failed" in errors[0].getMessage()


def test_disk_forecast_projection():
    """Used grows 1 GiB an hour with 10 GiB free: full in 10 hours (36,000 s)."""
    gib = 1024.0**3
    forecast = FillForecast(window=6 * 3600.0, min_span=1800.0)
    assert forecast.add("/data", 0.0, 50 * gib, 10 * gib) == {}
    assert forecast.add("/data", 900.0, 50.25 * gib, 9.75 * gib) == {}, "under min_span"
    fields = forecast.add("/data", 1800.0, 50.5 * gib, 9.5 * gib)
    assert fields["fill_rate_bps"] == pytest.approx(gib / 3600.0)
    assert fields["time_to_full_s"] == pytest.approx(9.5 * 3600.0)


def test_disk_forecast_not_filling_and_window():
    forecast = FillForecast(window=3600.0, min_span=600.0)
    for minute in range(0, 61, 10):
        fields = forecast.add("/", minute * 60.0, 100.0 - minute, 900.0 + minute)
    assert fields["fill_rate_bps"] == pytest.approx(-1.0 / 60.0)
    assert fields["time_to_full_s"] == 365 * 86400.0, "a shrinking disk reads as the one-year cap"

    # Samples older than the window are dropped: after an hour of steady
    # growth, the earlier shrinking no longer counts.
    for minute in range(70, 131, 10):
        fields = forecast.add("/", minute * 60.0, 40.0 + 2 * (minute - 70), 960.0)
    assert fields["fill_rate_bps"] == pytest.approx(2.0 / 60.0)
    assert fields["time_to_full_s"] == pytest.approx(960.0 / (2.0 / 60.0))
