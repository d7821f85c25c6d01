"""The agent: polls every target on its schedule, writes readings, evaluates alerts.

APScheduler drives each target at its own interval. Each poll runs as its own
asyncio job, so a slow device never delays the others; `max_instances=1`
keeps polls of one device from overlapping, and `coalesce` turns runs missed
while a poll was stuck into one run instead of a burst.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hotline_monitor.agent.poller import Poller
from hotline_monitor.agent.sinks.factory import build_sink
from hotline_monitor.agent.writer import BufferedWriter
from hotline_monitor.alerting.crosscheck import CrossCheck
from hotline_monitor.alerting.engine import AlertEngine
from hotline_monitor.alerting.notify import AlertLog
from hotline_monitor.collectors.base import Collector
from hotline_monitor.collectors.registry import build_collectors
from hotline_monitor.config.model import Config
from hotline_monitor.reading import Reading

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0
SELF_REPORT_INTERVAL_S = 60.0


class Agent:
    def __init__(self, config: Config, collectors: list[Collector] | None = None) -> None:
        self.config = config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.pollers = [
            Poller(collector, config.site, config.agent_id)
            for collector in (collectors if collectors is not None else build_collectors(config))
        ]
        self.sink = build_sink(config)
        batch_size = config.influxdb.batch_size if config.influxdb else 5000
        self.writer = BufferedWriter(self.sink, batch_size=batch_size)
        self.alert_log = AlertLog(config.state_dir / "alerts.jsonl", console=config.alerting.console)
        self.engine = AlertEngine(config, self.alert_log) if config.role != "agent" else None
        crosscheck = CrossCheck(config, self.alert_log.send)
        self.crosscheck = crosscheck if crosscheck.active and config.role != "agent" else None
        self.invalid_values = 0
        self._poll_ms_total = 0.0
        self._polls_since_report = 0

    async def poll_target(self, poller: Poller) -> None:
        started = time.perf_counter()
        result = await poller.poll()
        self._poll_ms_total += (time.perf_counter() - started) * 1000.0
        self._polls_since_report += 1
        if result.invalid_values:
            self.invalid_values += result.invalid_values
            log.debug("%s: %d unknown values left out", poller.collector.target,
                      result.invalid_values)
        self.submit(result.readings)

    def submit(self, readings: list[Reading]) -> None:
        """Hand readings to storage and to the alerting engine."""
        self.store(readings)
        if self.engine is not None:
            self.engine.observe(readings)
        if self.crosscheck is not None:
            self.crosscheck.observe(readings)

    def store(self, readings: list[Reading]) -> None:
        """Hand readings to storage only."""
        self.writer.add([reading.to_line() for reading in readings])

    def self_reading(self) -> Reading:
        polls = self._polls_since_report
        fields: dict[str, float | str] = {
            "spool_rows": float(self.writer.pending),
            "dropped": float(self.writer.dropped + self.writer.rejected),
            "invalid_values": float(self.invalid_values),
            "errors": float(sum(poller.errors for poller in self.pollers)),
        }
        if polls:
            fields["poll_ms"] = self._poll_ms_total / polls
        self._poll_ms_total = 0.0
        self._polls_since_report = 0
        return Reading("agent", {"site": self.config.site, "agent": self.config.agent_id}, fields)

    async def run_once(self) -> int:
        """Poll every target once, flush, evaluate alerts; return the exit code."""
        await asyncio.gather(*(self.poll_target(poller) for poller in self.pollers))
        self.submit([self.self_reading()])
        flushed = await self.writer.flush()
        await self.close()
        if not flushed:
            log.error("readings could not be written to %s", self.sink.name)
        return 0 if flushed else 1

    async def run_forever(self, stop: asyncio.Event) -> int:
        scheduler = AsyncIOScheduler(timezone="UTC")
        start = datetime.now().astimezone()
        for index, poller in enumerate(self.pollers):
            interval = poller.collector.interval
            scheduler.add_job(
                self.poll_target,
                "interval",
                args=[poller],
                seconds=interval,
                # Spread first polls so that many targets do not fire together.
                next_run_time=start + timedelta(seconds=(index * 0.05) % interval),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(interval)),
                id=f"poll:{poller.collector.kind}:{poller.collector.target}",
            )
        scheduler.add_job(self.writer.flush, "interval", seconds=FLUSH_INTERVAL_S,
                          max_instances=1, coalesce=True, id="flush")
        scheduler.add_job(lambda: self.submit([self.self_reading()]), "interval",
                          seconds=SELF_REPORT_INTERVAL_S, id="self-report")
        traps = None
        if self.config.traps is not None:
            from hotline_monitor.agent.traps import TrapService

            traps = TrapService(self, self.config.traps)
            await traps.start()
        scheduler.start()
        log.info("agent started: site %s, %d targets, writing to %s", self.config.site,
                 len(self.pollers), self.sink.name)

        await stop.wait()
        scheduler.shutdown(wait=False)
        if traps is not None:
            await traps.close()
        log.info("agent stopping: flushing %d pending readings", self.writer.pending)
        flushed = await self.writer.flush()
        await self.close()
        return 0 if flushed else 1

    async def close(self) -> None:
        for poller in self.pollers:
            await poller.collector.close()
        await self.sink.close()
