"""Emergency drills (应急演练): a scenario against the site's real alerting and channels.

The site's configuration is kept except the UPS under drill, which is pointed
at the simulator on loopback. The drill's own state (alert state, and the
local store where the site has no InfluxDB) lives in its archive folder, so a
drill never touches the site's open alerts. Every reading carries the tag
`drill=1`; every message starts with 【演练】 and is marked `drill`; the
bureau's notices are held back unless `drills.notify_bureau` is set.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hotline_monitor.collectors.ups_modbus.config import ModbusTarget
from hotline_monitor.config.model import Config, SnmpTarget, UpsConfig
from hotline_monitor.maintenance.config import BackupConfig
from hotline_monitor.reading import Reading
from hotline_monitor.simulator.harness import (
    DRILL_MARK,
    LiveRun,
    RecordingSink,
    free_port,
    install_sink,
    message_headline,
    message_time_ns,
)
from hotline_monitor.simulator.scenario import Scenario
from hotline_monitor.simulator.service import SimulatorOptions
from hotline_monitor.timeutil import SHANGHAI

log = logging.getLogger(__name__)

DELIVERY_WAIT_S = 30.0
"""Maximum wait after the scenario for the channels to finish delivering."""
WATCHED_KINDS = ("source", "battery", "reachable")
"""Simulated changes the agent is expected to detect."""


def drill_config(config: Config, ups: UpsConfig, snmp_port: int, modbus_port: int | None,
                 drill_dir: Path, speed: float = 1.0) -> Config:
    """Copy the site's configuration with the drilled UPS pointed at the simulator.

    The SNMP path always exists, and the simulator serves it as v2c with the
    community public. A Modbus path is kept when the site has one, with the
    simulator's map.
    Timeouts, retries and intervals stay the site's, so latencies are the site's.
    """
    site_snmp = ups.snmp or SnmpTarget(host="127.0.0.1")
    snmp = SnmpTarget(host="127.0.0.1", port=snmp_port, version="2c", community="public",
                      timeout=site_snmp.timeout, retries=site_snmp.retries)
    modbus = None
    if ups.modbus is not None and modbus_port is not None:
        modbus = ModbusTarget(host="127.0.0.1", port=modbus_port, map="simulator",
                              timeout=ups.modbus.timeout, retries=ups.modbus.retries,
                              interval=ups.modbus.interval)
    simulated = ups.model_copy(update={"snmp": snmp, "modbus": modbus})
    # A drill's agent keeps its ledger in the drill folder: it must neither send
    # that empty ledger's monthly report to the bureau nor rotate the site's backups.
    maintenance = config.maintenance.model_copy(update={"report_day": None,
                                                        "backup": BackupConfig()})
    # The drill must not take the site's acknowledgement port (the running agent
    # holds it) nor hand out ack numbers or links that name the site's real alerts;
    # its battery trend is read in scenario time.
    forecast = config.alerting.forecast.model_copy(update={"time_scale": speed})
    alerting = config.alerting.model_copy(update={"ack_listen": None, "ack_hints": False,
                                                  "forecast": forecast})
    return config.model_copy(update={"state_dir": drill_dir, "ups": [simulated],
                                     "maintenance": maintenance, "alerting": alerting})


def tag_drill(readings: list[Reading]) -> list[Reading]:
    return [dataclasses.replace(reading, tags={**reading.tags, "drill": "1"}) for reading in readings]


class DrillSink:
    """Wraps the engine's MessageSink: marks each message and holds back bureau notices.

    Every message gets `drill=True` and a key of its own. The delivery layer's
    renderer starts each drill message with 【演练】 on every channel, so the
    text is left alone there (`mark_text=False`). A sink without a renderer
    (the console and `alerts.jsonl`) gets the mark in the title and the text.
    """

    def __init__(self, inner: Any, notify_bureau: bool, drill_id: str,
                 mark_text: bool = True) -> None:
        self.inner = inner
        self.notify_bureau = notify_bureau
        self.drill_id = drill_id
        self.mark_text = mark_text
        self.held_back: list[Any] = []
        self.accepted: list[tuple[int, Any, bool]] = []

    def enqueue(self, message: Any) -> bool:
        if not self.notify_bureau and _is_bureau_notice(message):
            self.held_back.append(message)
            log.info("drill %s: bureau notice %s held back", self.drill_id, message.key)
            return True
        marked = dataclasses.replace(message, key=f"drill-{self.drill_id}-{message.key}", drill=True)
        if self.mark_text:
            marked = dataclasses.replace(marked, title=_mark(marked.title), text=_mark(marked.text))
        accepted = bool(self.inner.enqueue(marked))
        self.accepted.append((time.time_ns(), marked, accepted))
        return accepted

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class DrillAlertLog:
    """Wraps the first engine's AlertLog the same way (its messages have no title)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def send(self, message: Any) -> None:
        record = dataclasses.asdict(message)
        record["text"] = _mark(message.text)
        record["headline"] = _mark(message.headline())
        record["drill"] = True
        with self.inner.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        if self.inner.console:
            print(record["headline"], flush=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _mark(text: str) -> str:
    return text if text.startswith(DRILL_MARK) else f"{DRILL_MARK}{text}"


def _is_bureau_notice(message: Any) -> bool:
    if getattr(message, "kind", "") == "notice":
        return True
    return any("bureau" in getattr(recipient, "channel", "") for recipient in
               getattr(message, "recipients", []))


def install_drill_marking(run: LiveRun, config: Config, drill_id: str) -> DrillSink | None:
    """Put the drill wrappers around whichever message path the engine has."""
    engine = run.agent.engine
    if engine is None:
        return None
    if hasattr(engine, "sink"):
        # The outbox (it keeps `deliveries`) hands messages to the renderer, which marks drills.
        renders_mark = hasattr(engine.sink, "deliveries")
        sink = DrillSink(engine.sink, config.drills.notify_bureau, drill_id, mark_text=not renders_mark)
        install_sink(engine, sink)
        return sink
    if hasattr(engine, "alert_log"):
        engine.alert_log = DrillAlertLog(engine.alert_log)
    return None


@dataclass
class StepResult:
    """One simulated change, when the agent saw it, and the first message after it."""

    event_ns: int
    text: str
    detected_ns: int | None = None
    notified_ns: int | None = None
    notification: str = ""
    detection_target_s: float = 0.0
    notification_target_s: float = 0.0

    @property
    def detection_s(self) -> float | None:
        return None if self.detected_ns is None else (self.detected_ns - self.event_ns) / 1e9

    @property
    def notification_s(self) -> float | None:
        if self.notified_ns is None or self.detected_ns is None:
            return None
        return max(0.0, (self.notified_ns - self.detected_ns) / 1e9)

    @property
    def detection_ok(self) -> bool:
        return self.detection_s is not None and self.detection_s <= self.detection_target_s


@dataclass
class DrillResult:
    drill_id: str
    site: str
    ups_name: str
    scenario: Scenario
    speed: float
    interval_s: float
    started_ns: int
    ended_ns: int
    steps: list[StepResult] = field(default_factory=list)
    timeline: list[tuple[int, str, str]] = field(default_factory=list)
    """(time, source, text): simulated events and messages, in time order."""
    messages: list[dict] = field(default_factory=list)
    held_back: int = 0
    expected: list[str] = field(default_factory=list)
    interrupted: bool = False
    """Stopped (Ctrl-C) before the scenario ended: the drill cannot pass."""

    @property
    def passed(self) -> bool:
        if self.interrupted:
            return False
        notified_ok = all(step.notification_s is None or step.notification_s <= step.notification_target_s
                          for step in self.steps)
        first = self.first_notification_s
        first_ok = not self.expected or (first is not None and first <= self.steps[0].notification_target_s)
        return all(step.detection_ok for step in self.steps) and notified_ok and first_ok

    @property
    def first_notification_s(self) -> float | None:
        for step in self.steps:
            if step.notification_s is not None:
                return step.notification_s
        return None


def analyse(run: LiveRun, result: DrillResult, config: Config) -> None:
    """Match simulated changes with detections and messages; fill the result."""
    margin = config.drills.detection_margin_s
    target_notify = config.drills.notification_target_s
    messages = sorted(run.alerts.records, key=message_time_ns)
    result.messages = messages

    for event in run.simulator.events:
        result.timeline.append((event.wall_ns, "模拟", event.text))
        if event.kind not in WATCHED_KINDS:
            continue
        step = StepResult(event.wall_ns, event.text,
                          detection_target_s=result.interval_s + margin,
                          notification_target_s=target_notify)
        detection = next((found for found in run.detections
                          if found.kind == event.kind and found.value == event.detail
                          and found.wall_ns >= event.wall_ns), None)
        if detection is not None:
            step.detected_ns = detection.wall_ns
            message = next((record for record in messages
                            if message_time_ns(record) >= detection.wall_ns - 1_000_000_000), None)
            if message is not None:
                step.notified_ns = message_time_ns(message)
                step.notification = message_headline(message)
        result.steps.append(step)

    for record in messages:
        result.timeline.append((message_time_ns(record), "消息", message_headline(record)))
    result.timeline.sort(key=lambda item: item[0])


async def run_drill(config: Config, ups: UpsConfig, scenario: Scenario, speed: float,
                    archive_root: Path, stop: asyncio.Event) -> tuple[DrillResult, Path]:
    started = datetime.now(SHANGHAI)
    drill_id = f"{started:%Y%m%d-%H%M%S}-{scenario.name}"
    drill_dir = archive_root / drill_id
    drill_dir.mkdir(parents=True, exist_ok=True)

    options = SimulatorOptions(modbus_port=free_port(socket.SOCK_STREAM) if ups.modbus else None)
    run = LiveRun(lambda port: drill_config(config, ups, port, options.modbus_port, drill_dir, speed), speed,
                  simulator_options=options, on_readings=tag_drill)
    sink = install_drill_marking(run, run.config, drill_id)
    result = DrillResult(drill_id, config.site, ups.display_name, scenario, speed, ups.interval,
                         time.time_ns(), 0, expected=[f"{item.rule} {item.state}" for item in scenario.expect])
    # Time for the agent to poll the final state and send what follows from it.
    settle = 2 * ups.interval * (ups.snmp.retries + 1 if ups.snmp else 1) + 2.0

    async def collect_deliveries() -> None:
        # Wait (bounded) for the channels to deliver, then note each result
        # while the outbox is still open.
        if not isinstance(run.alerts, RecordingSink):
            return
        deadline = time.monotonic() + DELIVERY_WAIT_S
        while run.alerts.unfinished() and time.monotonic() < deadline and not stop.is_set():
            await asyncio.sleep(0.2)
        for record in run.alerts.records:
            record["delivery"] = run.alerts.delivery(record["key"])

    await run.play([(scenario, None)], stop, settle_s=settle, before_stop=collect_deliveries)
    result.ended_ns = time.time_ns()
    result.interrupted = stop.is_set()
    result.held_back = len(sink.held_back) if sink is not None else 0
    analyse(run, result, config)
    return result, drill_dir
