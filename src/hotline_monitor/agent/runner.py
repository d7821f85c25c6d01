"""The agent: polls every target on its schedule, spools readings, evaluates alerts.

APScheduler drives each target at its own interval. Each poll runs as its own
asyncio job, so a slow device never delays the others. `max_instances=1`
keeps polls of one device from overlapping, and `coalesce` turns runs missed
while a poll was stuck into one run instead of a burst.

Every reading is committed to the spool before its poll counts as done; the
sender drains the spool to InfluxDB or the local store (role `all`, `hub`) or
to the MQTT broker (role `agent`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hotline_monitor.agent.pages import recipients_for
from hotline_monitor.agent.poller import Poller
from hotline_monitor.agent.sdnotify import SystemdNotifier
from hotline_monitor.agent.sender import DrainResult, Sender
from hotline_monitor.agent.sinks.base import Sink
from hotline_monitor.agent.sinks.factory import build_sink
from hotline_monitor.agent.spool import Spool
from hotline_monitor.agent.spool_alerts import SpoolAlerts
from hotline_monitor.alerting.ack_server import AckServer, parse_listen
from hotline_monitor.alerting.crosscheck import CrossCheck
from hotline_monitor.alerting.engine import AlertEngine
from hotline_monitor.alerting.notify import AlertRouter, ConsoleSink
from hotline_monitor.collectors.base import Collector
from hotline_monitor.collectors.registry import build_collectors
from hotline_monitor.config.model import Config
from hotline_monitor.errors import StartupError, describe_os_error
from hotline_monitor.maintenance.agent_hook import build_maintenance
from hotline_monitor.maintenance.delivery import outbox_lookup
from hotline_monitor.maintenance.service import MaintenanceService
from hotline_monitor.notify.message import MessageSink
from hotline_monitor.nut.latest import LatestReadings
from hotline_monitor.reading import Reading

log = logging.getLogger(__name__)

SELF_REPORT_INTERVAL_S = 60.0
MAINTENANCE_TICK_S = 60.0
HOUSEKEEPING_INTERVAL_S = 1.0
ALERT_TICK_INTERVAL_S = 1.0
# How long `run --once` waits for the channels to deliver what the run enqueued.
ONCE_DELIVERY_TIMEOUT_S = 10.0
# How long `run --once` waits for the broker before leaving readings spooled.
ONCE_CONNECT_TIMEOUT_S = 10.0

Job = tuple[Callable[[], object], float, str]


def open_spool(config: Config) -> Spool:
    return Spool(config.spool_path, config.spool.max_bytes, config.spool.max_rows,
                 config.spool.synchronous)


def build_destination(config: Config) -> Sink:
    """Build the sink the spool drains to: the MQTT broker for role `agent`, else the database."""
    if config.role == "agent":
        from hotline_monitor.agent.mqtt.publisher import MqttPublisher

        assert config.mqtt is not None  # the config model requires it for role agent
        return MqttPublisher(config.mqtt, config.site, config.agent_id)
    return build_sink(config)


_SINK_NAMES = {"influxdb": " InfluxDB", "local_store": "本地存储", "mqtt": " MQTT 代理"}


class Agent:
    def __init__(self, config: Config, collectors: list[Collector] | None = None,
                 message_sink: MessageSink | None = None) -> None:
        self.config = config
        try:
            config.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StartupError(f"无法创建状态目录：{describe_os_error(err)}；"
                               "请检查 state_dir 的路径和运行用户的写权限") from err
        self.pollers = [
            Poller(collector, config.site, config.agent_id)
            for collector in (collectors if collectors is not None else build_collectors(config))
        ]
        self.notifier = None
        if message_sink is None and config.channels:
            from hotline_monitor.notify.service import build_notifier

            self.notifier = build_notifier(config)
            message_sink = self.notifier.outbox
        self.message_sink = message_sink or ConsoleSink(config.state_dir / "alerts.jsonl",
                                                        console=config.alerting.console)
        # Pages pass the maintenance gate, which keeps back those about targets
        # under maintenance. Bureau notices go straight to the outbox.
        self.maintenance = self._build_maintenance() if config.role != "agent" else None
        # Readings the engine derives (service, alert_event) go to the spool only.
        self.engine = None
        if self.maintenance is not None:
            self.engine = AlertEngine(config, self.maintenance.gate, write=self.store,
                                      is_in_maintenance=self.maintenance.calendar.is_in_maintenance)
        elif config.role != "agent":
            self.engine = AlertEngine(config, self.message_sink, write=self.store)
        # Alerts found outside the rules (spool, hub liveness, SNMP/Modbus
        # disagreement) join the engine's state; without an engine they are sent as they come.
        page_to = recipients_for(config.mqtt.page_channels) if config.mqtt else []
        self.alert_log = AlertRouter(self.engine, self.message_sink, page_to)
        self.latest = LatestReadings()
        crosscheck = CrossCheck(config, self.alert_log.send)
        self.crosscheck = crosscheck if crosscheck.active and self.engine is not None else None

        self.spool = open_spool(config)
        self.spool_alerts = SpoolAlerts(self.spool, self.alert_log, config.agent_id)
        self.sink = build_destination(config)
        batch_size = config.spool.batch_size or (
            config.influxdb.batch_size if config.influxdb else 5000)
        self.sender = Sender(self.spool, self.sink, batch_size, config.spool.flush_interval,
                             config.spool.retry_max, on_quarantine=self.spool_alerts.quarantined)
        self.systemd = SystemdNotifier()
        self.extra_jobs: list[Job] = []
        """Periodic jobs added by the hub or the MQTT publisher: (function, seconds, id)."""
        self.started = time.monotonic()
        if self.maintenance is not None:
            self.extra_jobs.append((self.maintenance_tick, MAINTENANCE_TICK_S, "maintenance"))

        self.invalid_values = 0
        self._poll_ms_total = 0.0
        self._polls_since_report = 0
        self._setup_publisher()

    def _build_maintenance(self) -> MaintenanceService:
        if self.notifier is not None:
            outbox = self.notifier.outbox
            return build_maintenance(self.config, outbox, outbox_lookup(outbox),
                                     page_sink=self.message_sink)
        return build_maintenance(self.config, page_sink=self.message_sink)

    @property
    def targets(self) -> list[str]:
        return [poller.collector.target for poller in self.pollers]

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
        """Commit readings to the spool, then hand them to the alerting engine."""
        self.store(readings)
        self.latest.observe(readings)
        if self.engine is not None:
            self.engine.observe(readings)
        if self.crosscheck is not None:
            self.crosscheck.observe(readings)
        if self.maintenance is not None:
            self.maintenance.observe(readings)

    def maintenance_tick(self) -> None:
        """Send due maintenance and outage notices; store the windows' events."""
        if self.maintenance is None:
            return
        self.maintenance.due_notices(time.time_ns())
        events, self.maintenance.readings = self.maintenance.readings, []
        self.store(events)

    def store(self, readings: list[Reading]) -> None:
        """Commit readings to the spool only."""
        dropped = self.spool.append([reading.to_line() for reading in readings])
        if dropped:
            self.spool_alerts.dropped(dropped)

    async def _alert_tick(self) -> None:
        # A coroutine, so that APScheduler runs it on the event loop's thread,
        # the thread that owns the engine's SQLite connection.
        if self.engine is not None:
            self.engine.tick()

    def self_reading(self) -> Reading:
        polls = self._polls_since_report
        fields: dict[str, float | str] = {
            "spool_rows": float(self.spool.rows),
            "spool_bytes": float(self.spool.bytes),
            "dropped": float(self.spool.dropped),
            "invalid_values": float(self.invalid_values),
            "errors": float(sum(poller.errors for poller in self.pollers)),
        }
        if polls:
            fields["poll_ms"] = self._poll_ms_total / polls
        self._poll_ms_total = 0.0
        self._polls_since_report = 0
        return Reading("agent", {"site": self.config.site, "agent": self.config.agent_id}, fields)

    async def drain(self) -> DrainResult:
        """Send everything spooled now (used by `run --once` and `spool replay`)."""
        if hasattr(self.sink, "wait_connected"):
            await self.sink.wait_connected(ONCE_CONNECT_TIMEOUT_S)
        result = await self.sender.drain()
        self.spool_alerts.check_resolved()
        return result

    async def run_once(self) -> int:
        """Poll every target once, drain the spool, evaluate alerts; return the exit code."""
        await asyncio.gather(*(self.poll_target(poller) for poller in self.pollers))
        self.submit([self.self_reading()])
        if self.engine is not None:
            self.engine.tick()
        # A site that runs `run --once` from cron still gets its reminders and reports.
        self.maintenance_tick()
        result = await self.drain()
        if self.notifier is not None:
            await self.notifier.start()
            if not await self.notifier.drain(ONCE_DELIVERY_TIMEOUT_S):
                log.warning("messages not yet delivered after %.0f s stay in the outbox for the next run",
                            ONCE_DELIVERY_TIMEOUT_S)
        await self.close()
        if not result.ok:
            log.error("readings could not be written to %s; %d stay in the spool %s: %s",
                      self.sink.name, self.spool.rows, self.spool.path, result.error)
        print("\n".join(self.once_summary(result.ok)), flush=True)
        return 0 if result.ok else 1

    def once_summary(self, stored: bool) -> list[str]:
        """Describe a `run --once` in Chinese: targets that answered, those that failed, storage."""
        failed = [poller for poller in self.pollers if poller.last_error is not None]
        lines = [f"本次轮询 {len(self.pollers)} 个目标：正常 {len(self.pollers) - len(failed)} 个，失败 {len(failed)} 个"]
        for poller in failed:
            lines.append(f"  {poller.collector.target}（{poller.collector.kind}）：{poller.last_error}")
        if stored:
            lines.append(f"读数已写入{_SINK_NAMES.get(self.sink.name, self.sink.name)}")
        else:
            lines.append(f"读数写入{_SINK_NAMES.get(self.sink.name, self.sink.name)}失败，"
                         f"{self.spool.rows} 条留在缓存 {self.spool.path}，下次运行时补发")
        return lines

    async def run_forever(self, stop: asyncio.Event) -> int:
        scheduler = AsyncIOScheduler(timezone="UTC")
        self._schedule_polls(scheduler)
        scheduler.add_job(lambda: self.submit([self.self_reading()]), "interval",
                          seconds=SELF_REPORT_INTERVAL_S, id="self-report")
        scheduler.add_job(self.spool_alerts.check_resolved, "interval",
                          seconds=HOUSEKEEPING_INTERVAL_S, id="spool-alerts")
        if self.systemd.watchdog_interval_s:
            scheduler.add_job(self.systemd.watchdog, "interval",
                              seconds=self.systemd.watchdog_interval_s, id="systemd-watchdog")
        if self.engine is not None:
            scheduler.add_job(self._alert_tick, "interval", seconds=ALERT_TICK_INTERVAL_S,
                              max_instances=1, coalesce=True, id="alert-tick")
        for function, seconds, job_id in self.extra_jobs:
            scheduler.add_job(function, "interval", seconds=seconds, id=job_id,
                              max_instances=1, coalesce=True)
        if hasattr(self.sink, "start"):
            self.sink.start()
        traps = None
        if self.config.traps is not None:
            from hotline_monitor.agent.traps import TrapService

            traps = TrapService(self, self.config.traps)
            await traps.start()
        if self.notifier is not None:
            await self.notifier.start()
        ack_server = await self._start_ack_server()
        scheduler.start()
        sender_task = asyncio.create_task(self.sender.run(stop), name="spool-sender")
        log.info("%s started: site %s, %d targets, spool %s (%d readings waiting), sending to %s",
                 self.config.role, self.config.site, len(self.pollers), self.spool.path,
                 self.spool.rows, self.sink.name)
        self.systemd.ready(f"{len(self.pollers)} targets")

        await stop.wait()
        self.systemd.stopping()
        scheduler.shutdown(wait=False)
        if traps is not None:
            await traps.close()
        if ack_server is not None:
            await ack_server.close()
        await sender_task
        log.info("%s stopping: a last drain of %d spooled readings", self.config.role,
                 self.spool.rows)
        result = await self.sender.drain()
        if not result.ok:
            # Nothing is lost: the spool is on disk and the next start sends it.
            log.warning("%s stopped with %d readings still spooled in %s; they are sent at the next start",
                        self.config.role, self.spool.rows, self.config.spool_path)
        await self.close()
        return 0 if result.ok else 1

    def _schedule_polls(self, scheduler: AsyncIOScheduler) -> None:
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

    def _setup_publisher(self) -> None:
        """For role `agent`: publish status and heartbeat, and page when the hub is silent."""
        if self.config.role != "agent" or self.config.mqtt is None:
            return
        from hotline_monitor.agent.mqtt.liveness import HubSilence

        publisher = self.sink
        publisher.targets = lambda: self.targets
        silence = HubSilence(self.config.site, self.config.agent_id,
                             self.config.mqtt.hub_silent_after, self.config.mqtt.page_channels)

        def check_hub() -> None:
            page = silence.check(publisher.hub_silent_for(self.started, time.monotonic()))
            if page is not None:
                self.message_sink.enqueue(page)

        self.extra_jobs.append((publisher.publish_heartbeat,
                                self.config.mqtt.heartbeat_interval, "mqtt-heartbeat"))
        self.extra_jobs.append((check_hub, 1.0, "hub-silence"))

    async def _start_ack_server(self) -> AckServer | None:
        alerting = self.config.alerting
        if self.engine is None or not alerting.ack_listen or not alerting.ack_secret:
            return None
        server = AckServer(self.engine.store, alerting.ack_secret)
        await server.start(*parse_listen(alerting.ack_listen))
        return server

    async def close(self) -> None:
        if self.maintenance is not None:
            self.maintenance.close()
        for poller in self.pollers:
            await poller.collector.close()
        await self.sink.close()
        self.spool.close()
        if self.engine is not None:
            self.engine.close()
        if self.notifier is not None:
            await self.notifier.stop()
