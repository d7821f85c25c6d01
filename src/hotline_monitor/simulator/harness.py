"""Run the simulator and the agent together in one event loop (demo, drill, benchmark).

`LiveRun` starts a `SimulatedUps` on free loopback ports, an `Agent` whose
configuration points at it, and plays scenarios in real time × speed. It
keeps the latest readings the agent produced and the messages written to the
alert log, which the status view, the drill report and the benchmark read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline_monitor.agent.runner import Agent
from hotline_monitor.config.model import Config
from hotline_monitor.reading import Reading
from hotline_monitor.simulator.scenario import Scenario
from hotline_monitor.simulator.service import SimulatedUps, SimulatorOptions

log = logging.getLogger(__name__)

DRILL_MARK = "【演练】"
UNFINISHED_STATES = ("pending", "sending")
DELIVERY_STATES = {"pending": "待发送", "sending": "发送中", "sent": "渠道已接受", "failed": "失败"}
"""The outbox's delivery states, as a report shows them."""


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(slots=True)
class Detection:
    """The first reading that showed a change, with its time."""

    wall_ns: int
    kind: str
    """`source`, `battery` or `reachable`, as in `SimEvent.kind`."""
    value: str
    """The new value as `SimEvent.detail` writes it."""


@dataclass
class AlertLogTail:
    """Reads the lines appended to `alerts.jsonl` since the run began."""

    path: Path
    offset: int = 0
    records: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def poll(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.offset += len(complete)
        new = []
        for line in complete.decode("utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            record.setdefault("seen_ns", time.time_ns())
            new.append(record)
        self.records += new
        return new


class RecordingSink:
    """Wraps the engine's MessageSink and keeps each accepted message as a record.

    The records have the fields of `OutgoingMessage` plus `accepted_ns`, the
    time the sink accepted the message. `poll()` returns the records added since
    its last call, as `AlertLogTail.poll` does.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.records: list[dict] = []
        self._polled = 0

    def enqueue(self, message: Any) -> bool:
        accepted = bool(self.inner.enqueue(message))
        if accepted:
            record = dataclasses.asdict(message)
            record["accepted_ns"] = time.time_ns()
            self.records.append(record)
        return accepted

    def poll(self) -> list[dict]:
        new = self.records[self._polled:]
        self._polled = len(self.records)
        return new

    def delivery_rows(self, key: str) -> list[Any] | None:
        """Return the outbox's deliveries of a message, or None when the sink keeps none."""
        deliveries = getattr(self.inner, "deliveries", None)
        if deliveries is None:
            return None
        try:
            return list(deliveries(key))
        except Exception as err:  # noqa: BLE001 - a closed outbox must not break a report
            log.warning("delivery state of %s unavailable: %s", key, err)
            return None

    def unfinished(self) -> int:
        """Count deliveries of the recorded messages still waiting to be sent."""
        return sum(1 for record in self.records for row in self.delivery_rows(record["key"]) or []
                   if row.state in UNFINISHED_STATES)

    def delivery(self, key: str) -> str:
        """Describe what became of a message: the outbox's delivery states, where there is one."""
        rows = self.delivery_rows(key)
        if rows is None:
            return "已写入告警日志" if not hasattr(self.inner, "deliveries") else "投递状态不可用"
        if not rows:
            return "无投递对象"
        return "；".join(f"{row.channel}{('→' + row.address) if row.address else ''}："
                        f"{DELIVERY_STATES.get(row.state, row.state)}"
                        + (f"（{row.last_error}）" if row.last_error else "") for row in rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install_sink(engine: Any, sink: Any) -> None:
    """Put `sink` in place of the engine's MessageSink, wherever the engine keeps it."""
    engine.sink = sink
    for holder in (getattr(engine, "dispatcher", None), getattr(engine, "clock_of_interruption", None)):
        if holder is not None and hasattr(holder, "sink"):
            holder.sink = sink


def message_headline(record: dict) -> str:
    """Format a message from the alert log as one line, whichever engine wrote it."""
    if record.get("headline"):
        return str(record["headline"])
    title = str(record.get("title", "")).strip()
    text = str(record.get("text", "")).strip().splitlines()
    first = text[0] if text else ""
    if title.startswith(DRILL_MARK) and first.startswith(DRILL_MARK):
        # A drill marks title and text alike (a channel may show only one); once is enough here.
        first = first[len(DRILL_MARK):]
    if record.get("drill") and not title.startswith(DRILL_MARK):
        # Marked by the channels' renderer when sent; shown the same way here.
        title = DRILL_MARK + title
    return f"{title} {first}".strip() if first and first not in title else title or first


def message_time_ns(record: dict) -> int:
    for key in ("accepted_ns", "time_ns", "created_ns", "seen_ns"):
        if isinstance(record.get(key), int):
            return record[key]
    return time.time_ns()


class LiveRun:
    """The simulator and an agent reading it, in the current event loop."""

    def __init__(self, config_for: Callable[[int], Config], speed: float,
                 simulator_options: SimulatorOptions | None = None,
                 on_readings: Callable[[list[Reading]], list[Reading]] | None = None) -> None:
        options = simulator_options or SimulatorOptions()
        options.speed = speed
        options.snmp_port = options.snmp_port or free_port()
        self.simulator = SimulatedUps(options)
        self.config = config_for(options.snmp_port)
        self.agent = Agent(self.config)
        engine = self.agent.engine
        self.alerts: AlertLogTail | RecordingSink
        if engine is not None and hasattr(engine, "sink"):
            self.alerts = RecordingSink(engine.sink)
            install_sink(engine, self.alerts)
        else:
            # The first engine writes only its alert log.
            self.alerts = AlertLogTail(self.config.state_dir / "alerts.jsonl")
        self.latest: dict[tuple[str, ...], Reading] = {}
        self.detections: list[Detection] = []
        self.readings_written = 0
        self._on_readings = on_readings
        self.agent_stopped = False
        self._last_open_alerts: list[str] = []
        self._last_source: float | None = None
        self._last_battery: float | None = None
        self._reachable: bool | None = None
        self._wrap_submit()

    def _wrap_submit(self) -> None:
        submit = self.agent.submit

        def observed_submit(readings: list[Reading]) -> None:
            if self._on_readings is not None:
                readings = self._on_readings(readings)
            self._observe(readings)
            submit(readings)

        self.agent.submit = observed_submit  # type: ignore[method-assign]

        # Readings the engine derives (alert_event, service) bypass `submit`.
        engine = self.agent.engine
        write = getattr(engine, "write", None)
        if self._on_readings is not None and callable(write):
            on_readings = self._on_readings
            engine.write = lambda readings: write(on_readings(readings))

    def _observe(self, readings: list[Reading]) -> None:
        now = time.time_ns()
        self.readings_written += len(readings)
        for reading in readings:
            key = (reading.measurement, *(f"{k}={v}" for k, v in sorted(reading.tags.items())))
            self.latest[key] = reading
            if reading.measurement == "ups" and reading.tags.get("source", "snmp") == "snmp":
                self._detect_ups(reading, now)
            elif reading.measurement == "target" and reading.tags.get("kind", "").startswith("ups"):
                up = reading.fields.get("up") == 1.0
                if self._reachable is not None and up != self._reachable:
                    self.detections.append(Detection(now, "reachable", "1" if up else "0"))
                self._reachable = up

    def _detect_ups(self, reading: Reading, now: int) -> None:
        source = reading.fields.get("output_source")
        battery = reading.fields.get("battery_status")
        # The first reading counts too: a scenario's initial state (already on
        # battery, say) is detected when the agent first reads it.
        if isinstance(source, float) and source != self._last_source:
            self.detections.append(Detection(now, "source", f"{source:.0f}"))
            self._last_source = source
        if isinstance(battery, float) and battery != self._last_battery:
            self.detections.append(Detection(now, "battery", f"{battery:.0f}"))
            self._last_battery = battery

    def ups_reading(self) -> Reading | None:
        return next((reading for key, reading in self.latest.items() if key[0] == "ups"), None)

    def line_readings(self, side: str) -> dict[int, Reading]:
        lines = {}
        for key, reading in self.latest.items():
            if key[0] == "ups_line" and reading.tags.get("side") == side:
                try:
                    lines[int(reading.tags.get("line", "0"))] = reading
                except ValueError:
                    continue
        return lines

    def open_alerts(self) -> list[str]:
        """Return the texts of the engine's open alerts, whichever engine it is.

        After the agent has stopped (its store is closed), the last answer is returned.
        """
        if self.agent_stopped:
            return self._last_open_alerts
        self._last_open_alerts = self._read_open_alerts()
        return self._last_open_alerts

    def _read_open_alerts(self) -> list[str]:
        engine = self.agent.engine
        if engine is None:
            return []
        if hasattr(engine, "open_alerts"):
            return [firing.text for _, _, firing in engine.open_alerts()]
        store = getattr(engine, "store", None)
        if store is not None and hasattr(store, "open_alerts"):
            return [getattr(alert, "summary", None) or getattr(alert, "rule", "")
                    for alert in store.open_alerts() if getattr(alert, "state", "") != "pending"]
        return []

    async def play(self, scenarios: list[tuple[Scenario, float | None]], stop: asyncio.Event,
                   settle_s: float, before_stop: Callable[[], Any] | None = None) -> None:
        """Play scenarios in turn (each cut at its limit, in simulated seconds), then settle.

        The first scenario sets its initial state; the next ones continue from
        where the previous one left the UPS.
        """
        agent_stop = asyncio.Event()
        await self.simulator.start()
        agent_task = asyncio.create_task(self.agent.run_forever(agent_stop))
        try:
            for index, (scenario, limit) in enumerate(scenarios):
                if stop.is_set():
                    break
                self.simulator.begin(scenario, keep_state=index > 0)
                await self._run_until(limit, stop)
            if not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=settle_s)
                except TimeoutError:
                    pass
            if before_stop is not None:
                await before_stop()
        finally:
            self.open_alerts()
            self.agent_stopped = True
            agent_stop.set()
            await agent_task
            await self.simulator.stop()
            self.alerts.poll()

    async def _run_until(self, limit: float | None, stop: asyncio.Event) -> None:
        if limit is None:
            await self.simulator.run(stop)
            return
        cut = asyncio.Event()

        async def watch() -> None:
            while self.simulator.sim_s < limit and not stop.is_set():
                await asyncio.sleep(0.05)
            cut.set()

        watcher = asyncio.create_task(watch())
        await self.simulator.run(cut)
        watcher.cancel()
