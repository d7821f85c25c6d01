"""The `host` collector: one poll reads the whole machine in a worker thread."""

from __future__ import annotations

import asyncio
import logging

import psutil

from hotline_monitor.collectors.base import PollResult
from hotline_monitor.collectors.host import processes, system, systemd
from hotline_monitor.collectors.host.config import HostConfig
from hotline_monitor.collectors.host.forecast import FillForecast
from hotline_monitor.reading import Reading, now_ns

log = logging.getLogger(__name__)


class HostCollector:
    kind = "host"

    def __init__(self, host: HostConfig, site: str) -> None:
        self.host = host
        self.site = site
        self.target = host.id
        self.interval = host.interval
        self._cpu = system.CpuUsage()
        self._failed_sections: set[str] = set()
        self._forecast = FillForecast(host.forecast_window, host.forecast_min_span)
        self._systemd = systemd.systemd_running()
        if host.systemd_units and not self._systemd:
            log.info("systemd is not running here (PID 1 is %s): the %d systemd unit checks of "
                     "host %s are skipped; list the services under processes instead",
                     systemd.init_process_name(), len(host.systemd_units), host.id)

    async def poll(self) -> PollResult:
        # psutil reads /proc synchronously; a thread keeps SIP probes and
        # other polls on the event loop from waiting for it.
        readings = await asyncio.to_thread(self.read)
        if self.host.systemd_units and self._systemd:
            readings += await self._unit_readings()
        return PollResult(readings)

    def read(self) -> list[Reading]:
        """Read every host measurement once (blocking).

        A section that fails (a /proc file unreadable, a psutil error) is
        logged and left out; the other sections are still returned.
        """
        time_ns = now_ns()
        tags = {"site": self.site, "host": self.host.id}
        sections = [
            ("cpu", lambda: [Reading("cpu", {**tags, "cpu": cpu}, fields, time_ns)
                             for cpu, fields in self._cpu.read().items()]),
            ("mem", lambda: [Reading("mem", dict(tags), system.memory_fields(), time_ns)]),
            ("swap", lambda: [Reading("swap", dict(tags), system.swap_fields(), time_ns)]),
            ("disk", lambda: self._disk_readings(tags, time_ns)),
            ("diskio", lambda: system.diskio_readings(tags, time_ns)),
            ("net", lambda: system.net_readings(self.host, tags, time_ns)),
            ("system", lambda: [Reading("system", dict(tags), system.system_fields(), time_ns)]),
        ]
        if self.host.count_processes or self.host.processes:
            sections.append(("processes", lambda: self._process_readings(tags, time_ns)))

        readings: list[Reading] = []
        for name, read_section in sections:
            try:
                readings += read_section()
            except (OSError, psutil.Error) as err:
                self._section_failed(name, err)
            else:
                self._failed_sections.discard(name)
        return readings

    def _disk_readings(self, tags: dict[str, str], time_ns: int) -> list[Reading]:
        disks = system.disk_readings(self.host, tags, time_ns)
        forecasts = []
        for disk in disks:
            fields = self._forecast.add(disk.tags["path"], time_ns / 1e9, disk.fields["used"],
                                        disk.fields["free"])
            if fields:
                forecast_tags = {**tags, "path": disk.tags["path"]}
                forecasts.append(Reading("disk_forecast", forecast_tags, fields, time_ns))
        self._forecast.forget_except({disk.tags["path"] for disk in disks})
        return disks + forecasts

    def _process_readings(self, tags: dict[str, str], time_ns: int) -> list[Reading]:
        table = processes.scan(self.host)
        readings = []
        if self.host.count_processes:
            readings.append(processes.processes_reading(table, dict(tags), time_ns))
        readings += processes.required_readings(self.host, table, tags, self.site, time_ns)
        return readings

    def _section_failed(self, name: str, err: Exception) -> None:
        if name in self._failed_sections:
            log.debug("host %s: %s still unreadable: %s", self.host.id, name, err)
            return
        self._failed_sections.add(name)
        log.error("host %s: reading %s failed, left out of this poll: %s", self.host.id, name, err)

    async def _unit_readings(self) -> list[Reading]:
        time_ns = now_ns()
        states = await systemd.unit_states(self.host.systemd_units)
        readings = []
        for unit, state in states.items():
            if state != "active":
                log.debug("host %s: systemd unit %s is %s", self.host.id, unit, state)
            readings.append(Reading(
                "check",
                {"site": self.site, "check": f"{self.host.id}/{unit}", "kind": "process",
                 "host": self.host.id, "unit": unit},
                {"up": 1.0 if state == "active" else 0.0},
                time_ns,
            ))
        return readings

    async def close(self) -> None:
        return None
