"""One pass over the process table: state counts and the required processes.

The `processes` measurement counts processes by state as Telegraf's processes
input does. Each required process gets a `procstat_lookup` reading (pid_count,
running, result_code, as Telegraf's procstat input writes them), a `procstat`
reading per matching process, and a `check` reading (kind `process`) whose
`up` is what the "required process down" rule reads.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import psutil

from hotline_monitor.collectors.host.config import HostConfig, RequiredProcess
from hotline_monitor.reading import Reading

# psutil status -> Telegraf field (Telegraf's processes input maps ps state
# letters the same way: D blocked, R running, S sleeping, T stopped, Z zombies,
# X dead, I idle, W paging).
_STATE_FIELDS = {
    psutil.STATUS_RUNNING: "running",
    psutil.STATUS_SLEEPING: "sleeping",
    psutil.STATUS_DISK_SLEEP: "blocked",
    psutil.STATUS_STOPPED: "stopped",
    psutil.STATUS_TRACING_STOP: "stopped",
    psutil.STATUS_ZOMBIE: "zombies",
    psutil.STATUS_DEAD: "dead",
    psutil.STATUS_IDLE: "idle",
    psutil.STATUS_WAKING: "running",
    psutil.STATUS_PARKED: "sleeping",
}


@dataclass(slots=True)
class _Match:
    pid: int
    process_name: str
    memory_rss: float | None = None
    num_threads: float | None = None
    cpu_time_user: float | None = None
    cpu_time_system: float | None = None


@dataclass(slots=True)
class ProcessTable:
    states: Counter = field(default_factory=Counter)
    threads: int = 0
    total: int = 0
    matches: dict[str, list[_Match]] = field(default_factory=dict)


def scan(host: HostConfig) -> ProcessTable:
    """Walk /proc once through psutil, counting states and finding required processes."""
    table = ProcessTable(matches={required.name: [] for required in host.processes})
    patterns = {required.name: re.compile(required.pattern)
                for required in host.processes if required.pattern}
    attrs = ["name", "status", "num_threads"]
    if patterns:
        attrs.append("cmdline")

    for process in psutil.process_iter(attrs):
        info = process.info
        table.total += 1
        table.states[_STATE_FIELDS.get(info.get("status"), "unknown")] += 1
        table.threads += info.get("num_threads") or 0

        for required in host.processes:
            if _matches(required, info, patterns.get(required.name)):
                table.matches[required.name].append(_describe(process, info))
    return table


def _matches(required: RequiredProcess, info: dict, pattern: re.Pattern | None) -> bool:
    if pattern is not None:
        return bool(info.get("cmdline")) and pattern.search(" ".join(info["cmdline"])) is not None
    return info.get("name") == required.name


def _describe(process: psutil.Process, info: dict) -> _Match:
    match = _Match(process.pid, info.get("name") or "")
    try:
        with process.oneshot():
            match.memory_rss = float(process.memory_info().rss)
            times = process.cpu_times()
            match.cpu_time_user = times.user
            match.cpu_time_system = times.system
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        # The process ended, or belongs to another user, between listing and reading.
        pass
    if info.get("num_threads") is not None:
        match.num_threads = float(info["num_threads"])
    return match


def processes_reading(table: ProcessTable, tags: dict[str, str], time_ns: int) -> Reading:
    fields: dict[str, float | str] = {
        name: float(table.states.get(name, 0))
        for name in ("running", "sleeping", "blocked", "stopped", "zombies", "dead", "idle")
    }
    if table.states.get("unknown"):
        fields["unknown"] = float(table.states["unknown"])
    fields["total"] = float(table.total)
    fields["total_threads"] = float(table.threads)
    return Reading("processes", tags, fields, time_ns)


def required_readings(host: HostConfig, table: ProcessTable, tags: dict[str, str], site: str,
                      time_ns: int) -> list[Reading]:
    readings = []
    for required in host.processes:
        matches = table.matches.get(required.name, [])
        lookup_tags = {**tags, "name": required.name}
        if required.pattern:
            lookup_tags["pattern"] = required.pattern
        # Telegraf's procstat_lookup writes `running` with the same value as
        # pid_count; both are kept so its dashboards work.
        readings.append(Reading("procstat_lookup", lookup_tags,
                                {"pid_count": float(len(matches)),
                                 "running": float(len(matches)),
                                 "result_code": 0.0}, time_ns))

        for match in matches:
            fields = {"pid": float(match.pid)}
            for key in ("memory_rss", "num_threads", "cpu_time_user", "cpu_time_system"):
                value = getattr(match, key)
                if value is not None:
                    fields[key] = value
            readings.append(Reading("procstat", {**lookup_tags, "process_name": match.process_name},
                                    fields, time_ns))

        up = 1.0 if len(matches) >= required.min_count else 0.0
        readings.append(Reading("check", {"site": site, "check": f"{tags['host']}/{required.name}",
                                          "kind": "process", "host": tags["host"]},
                                {"up": up, "pid_count": float(len(matches))}, time_ns))
    return readings
