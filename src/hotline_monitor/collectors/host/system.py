"""Read CPU, memory, swap, disks, disk I/O, network and load with psutil.

Field names and meanings follow Telegraf's cpu, mem, swap, disk, diskio, net
and system inputs, so dashboards built for Telegraf read these readings as they
are. Every value is a float; a value psutil cannot provide is left out.
"""

from __future__ import annotations

import os
import time
from typing import Any

import psutil

from hotline_monitor.collectors.host.config import HostConfig
from hotline_monitor.reading import Reading

Fields = dict[str, float | str]

# psutil's cpu_times name -> Telegraf's field.
_CPU_FIELDS = {
    "user": "usage_user",
    "system": "usage_system",
    "idle": "usage_idle",
    "nice": "usage_nice",
    "iowait": "usage_iowait",
    "irq": "usage_irq",
    "softirq": "usage_softirq",
    "steal": "usage_steal",
    "guest": "usage_guest",
    "guest_nice": "usage_guest_nice",
}


class CpuUsage:
    """Turns cumulative CPU times into usage percentages between two polls, as Telegraf does."""

    def __init__(self) -> None:
        self._previous = self._sample()

    @staticmethod
    def _sample() -> dict[str, Any]:
        per_cpu = psutil.cpu_times(percpu=True)
        sample = {f"cpu{index}": times for index, times in enumerate(per_cpu)}
        sample["cpu-total"] = psutil.cpu_times()
        return sample

    def read(self) -> dict[str, Fields]:
        """Return usage_* fields per cpu tag value since the previous call."""
        current = self._sample()
        previous, self._previous = self._previous, current
        usage: dict[str, Fields] = {}
        for cpu, times in current.items():
            before = previous.get(cpu)
            if before is None:
                continue
            # proc(5) warns that iowait can decrease; a counter that stepped back
            # counts as no time, so no part goes below 0 % or above 100 %.
            deltas = {
                name: max(0.0, getattr(times, name) - getattr(before, name))
                for name in _CPU_FIELDS
                if hasattr(times, name)
            }
            total = _busy_and_idle(deltas)
            if total <= 0:
                continue
            usage[cpu] = {_CPU_FIELDS[name]: 100.0 * delta / total for name, delta in deltas.items()}
        return usage


def _busy_and_idle(deltas: dict[str, float]) -> float:
    # On Linux the kernel counts guest time inside user and guest_nice inside
    # nice (proc(5), /proc/stat), so they are taken out of the total.
    total = sum(deltas.values())
    return total - deltas.get("guest", 0.0) - deltas.get("guest_nice", 0.0)


def memory_fields() -> Fields:
    memory = psutil.virtual_memory()
    fields: Fields = {
        "total": memory.total,
        "available": memory.available,
        "free": memory.free,
        "available_percent": 100.0 * memory.available / memory.total,
    }
    for source, target in (("active", "active"), ("inactive", "inactive"), ("buffers", "buffered"),
                           ("cached", "cached"), ("shared", "shared"), ("slab", "slab")):
        if hasattr(memory, source):
            fields[target] = getattr(memory, source)

    # Telegraf (through gopsutil) counts used as total - free - buffers - cached
    # on Linux; psutil's own `used` has changed definition between versions.
    used = memory.total - memory.free - getattr(memory, "buffers", 0) - getattr(memory, "cached", 0)
    fields["used"] = used
    fields["used_percent"] = 100.0 * used / memory.total
    return {key: float(value) for key, value in fields.items()}


def swap_fields() -> Fields:
    swap = psutil.swap_memory()
    fields: Fields = {
        "total": float(swap.total),
        "used": float(swap.used),
        "free": float(swap.free),
        "in": float(swap.sin),
        "out": float(swap.sout),
    }
    if swap.total:
        fields["used_percent"] = 100.0 * swap.used / swap.total
    return fields


def disk_readings(host: HostConfig, tags: dict[str, str], time_ns: int) -> list[Reading]:
    """Read one `disk` reading per mounted file system that the configuration selects."""
    readings = []
    seen: set[str] = set()
    for partition in psutil.disk_partitions(all=False):
        path = partition.mountpoint
        if path in seen or not _disk_selected(host, path, partition.fstype):
            continue
        seen.add(path)
        try:
            usage = psutil.disk_usage(path)
            inodes = os.statvfs(path)
        except OSError:
            # A mount that vanished or is not readable (a stale NFS mount) is skipped this poll.
            continue

        # Like df and Telegraf, used_percent is used / (used + free): the
        # blocks reserved for root are neither used nor available to users.
        usable = usage.used + usage.free
        fields: Fields = {
            "total": float(usage.total),
            "free": float(usage.free),
            "used": float(usage.used),
            "used_percent": 100.0 * usage.used / usable if usable else 0.0,
            "inodes_total": float(inodes.f_files),
            "inodes_free": float(inodes.f_ffree),
            "inodes_used": float(inodes.f_files - inodes.f_ffree),
        }
        if inodes.f_files:
            inodes_used = inodes.f_files - inodes.f_ffree
            fields["inodes_used_percent"] = 100.0 * inodes_used / inodes.f_files
        disk_tags = {**tags, "path": path, "device": partition.device.removeprefix("/dev/"),
                     "fstype": partition.fstype,
                     "mode": "ro" if "ro" in partition.opts.split(",") else "rw"}
        readings.append(Reading("disk", disk_tags, fields, time_ns))
    return readings


def _disk_selected(host: HostConfig, path: str, fstype: str) -> bool:
    if path in host.exclude_disks:
        return False
    if host.disks:
        return path in host.disks
    return fstype not in host.ignore_fstypes


def diskio_readings(tags: dict[str, str], time_ns: int) -> list[Reading]:
    counters = psutil.disk_io_counters(perdisk=True) or {}
    readings = []
    for name, counter in counters.items():
        fields: Fields = {
            "reads": float(counter.read_count),
            "writes": float(counter.write_count),
            "read_bytes": float(counter.read_bytes),
            "write_bytes": float(counter.write_bytes),
            "read_time": float(counter.read_time),
            "write_time": float(counter.write_time),
        }
        for source, target in (("busy_time", "io_time"), ("read_merged_count", "merged_reads"),
                               ("write_merged_count", "merged_writes")):
            if hasattr(counter, source):
                fields[target] = float(getattr(counter, source))
        readings.append(Reading("diskio", {**tags, "name": name}, fields, time_ns))
    return readings


def net_readings(host: HostConfig, tags: dict[str, str], time_ns: int) -> list[Reading]:
    counters = psutil.net_io_counters(pernic=True)
    readings = []
    for interface, counter in counters.items():
        if host.interfaces:
            if interface not in host.interfaces:
                continue
        elif interface == "lo":
            continue
        fields: Fields = {
            "bytes_sent": float(counter.bytes_sent),
            "bytes_recv": float(counter.bytes_recv),
            "packets_sent": float(counter.packets_sent),
            "packets_recv": float(counter.packets_recv),
            "err_in": float(counter.errin),
            "err_out": float(counter.errout),
            "drop_in": float(counter.dropin),
            "drop_out": float(counter.dropout),
        }
        readings.append(Reading("net", {**tags, "interface": interface}, fields, time_ns))
    return readings


def system_fields() -> Fields:
    load1, load5, load15 = os.getloadavg()
    fields: Fields = {
        "load1": load1,
        "load5": load5,
        "load15": load15,
        "uptime": time.time() - psutil.boot_time(),
    }
    cpus = psutil.cpu_count()
    if cpus:
        fields["n_cpus"] = float(cpus)
    try:
        fields["n_users"] = float(len(psutil.users()))
    except OSError:
        pass
    return fields
