"""The running simulator: model, scenario clock, SNMP agent, Modbus server and traps.

Simulated time runs `speed` times faster than the wall clock. `run()` ticks
the model on the event loop; tests that need exact control call `advance()`
instead and never start the clock. Every state change the UPS would signal
(output source, battery status, alarm rows added or removed, a finished self
test) is recorded as a `SimEvent` with its wall-clock time, and the matching
RFC 1628 trap is sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from hotline_monitor.simulator.modbus_server import ModbusUpsServer
from hotline_monitor.simulator.model import UpsModel
from hotline_monitor.simulator.recording import Oid, Value, load_recording
from hotline_monitor.simulator.scenario import Scenario, apply_change
from hotline_monitor.simulator.snmp_agent import SnmpAgent, V3User
from hotline_monitor.simulator.snmp_view import Identity, model_objects, served_objects
from hotline_monitor.simulator.traps import (
    TRAP_ALARM_ENTRY_ADDED,
    TRAP_ALARM_ENTRY_REMOVED,
    TRAP_ON_BATTERY,
    TRAP_TEST_COMPLETED,
    TrapReceiver,
    TrapSender,
    alarm_varbinds,
    on_battery_varbinds,
    test_completed_varbinds,
)

log = logging.getLogger(__name__)

STEADY = Scenario(name="steady", title="稳态运行", duration=10 * 365 * 86400.0)
"""The scenario when none is given: nothing happens, the UPS runs on mains."""

TICK_S = 0.05
MAX_SUBSTEP_S = 5.0
"""Maximum physics step, so a threshold crossing is placed within 5 simulated seconds."""

SOURCE_NAMES = {2: "无输出", 3: "逆变器供电（正常）", 4: "旁路供电", 5: "电池供电"}
BATTERY_NAMES = {2: "正常", 3: "电量低", 4: "耗尽"}
ALARM_NAMES = {
    "battery_bad": "电池故障", "on_battery": "电池供电", "low_battery": "电池电量低",
    "depleted_battery": "电池耗尽", "temp_bad": "温度异常", "input_bad": "输入异常",
    "output_bad": "输出异常", "output_overload": "输出过载", "on_bypass": "旁路供电",
}


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One thing that happened to the simulated UPS."""

    wall_ns: int
    sim_s: float
    kind: str
    """`step` (a scenario step), `source`, `battery`, `reachable`, `alarm_added`,
    `alarm_removed` or `test`; `detail` is the new value (code, OID or 0/1)."""
    text: str
    detail: str = ""


@dataclass
class SimulatorOptions:
    host: str = "127.0.0.1"
    snmp_port: int | None = None
    modbus_port: int | None = None
    communities: list[str] = field(default_factory=lambda: ["public"])
    v3_users: list[V3User] = field(default_factory=list)
    recording: Path | None = None
    trap_receivers: list[TrapReceiver] = field(default_factory=list)
    speed: float = 1.0


class SimulatedUps:
    """The simulator's services around one `UpsModel`."""

    def __init__(self, options: SimulatorOptions, model: UpsModel | None = None,
                 identity: Identity | None = None) -> None:
        self.options = options
        self.model = model or UpsModel()
        self.identity = identity or Identity()
        self.recording: dict[Oid, Value] | None = (
            load_recording(options.recording) if options.recording else None
        )
        self.reachable = True
        self.sim_s = 0.0
        self.events: list[SimEvent] = []
        self.traps = TrapSender(options.trap_receivers)
        self.snmp: SnmpAgent | None = None
        self.modbus: ModbusUpsServer | None = None
        self._pending_traps: set[asyncio.Task] = set()
        self._last_trap: asyncio.Task | None = None
        self.scenario = STEADY
        self._next_step = 0
        self._last = self._observed()

    # Serving ----------------------------------------------------------------

    def snmp_objects(self) -> list[tuple[Oid, Value]]:
        return served_objects(model_objects(self.model.snapshot(), self.identity), self.recording)

    async def start(self) -> None:
        """Open the SNMP and Modbus endpoints; raise OSError when a port is taken."""
        options = self.options
        if options.snmp_port:
            self.snmp = SnmpAgent(options.host, options.snmp_port, options.communities,
                                  options.v3_users, self.snmp_objects, lambda: self.reachable)
            # pysnmp opens its UDP endpoint in a task: give it a turn, then check.
            await asyncio.sleep(0.05)
        if options.modbus_port:
            self.modbus = ModbusUpsServer(options.host, options.modbus_port, self.model.snapshot)
            await self.modbus.start()

    async def stop(self) -> None:
        if self._pending_traps:
            await asyncio.wait(self._pending_traps, timeout=2)
        if self.snmp is not None:
            self.snmp.close()
            self.snmp = None
        if self.modbus is not None:
            await self.modbus.stop()
            self.modbus = None
        self.traps.close()

    # Scenario ---------------------------------------------------------------

    def begin(self, scenario: Scenario, keep_state: bool = False) -> None:
        """Start a scenario at simulated time 0; `keep_state` skips its initial state."""
        self.scenario = scenario
        self.sim_s = 0.0
        self._next_step = 0
        if not keep_state:
            self._apply(scenario.initial, record=None)
        self._last = self._observed()

    @property
    def finished(self) -> bool:
        return self.sim_s >= self.scenario.duration

    def advance(self, seconds: float) -> None:
        """Advance simulated time, applying due steps at their exact time."""
        target = min(self.sim_s + seconds, self.scenario.duration)
        steps = self.scenario.steps
        while True:
            due = steps[self._next_step].at if self._next_step < len(steps) else None
            until = target if due is None or due > target else due
            self._step_physics(until - self.sim_s)
            if due is None or due > target:
                break
            step = steps[self._next_step]
            self._next_step += 1
            self._apply(step.set, record=step.event)
        self._detect_changes()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Play the scenario in real time × speed until it ends or `stop` is set."""
        last = time.monotonic()
        while not self.finished and not (stop and stop.is_set()):
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self.advance((now - last) * self.options.speed)
            last = now

    def _step_physics(self, seconds: float) -> None:
        while seconds > 1e-9:
            chunk = min(seconds, MAX_SUBSTEP_S)
            self.model.step(chunk)
            self.sim_s += chunk
            seconds -= chunk
            self._detect_changes()

    def _apply(self, change, record: str | None) -> None:
        reachable = apply_change(self.model, change)
        if record is not None:
            self._record("step", record)
        if reachable is not None and reachable != self.reachable:
            self.reachable = reachable
            self._record("reachable", "网卡恢复应答" if reachable else "网卡停止应答",
                         "1" if reachable else "0")
            self._schedule(self._set_modbus_listening(reachable))
        if change.self_test is not None:
            snapshot = self.model.snapshot()
            self._record("test", f"电池自检完成：{snapshot.test_detail}")
            self._send_trap(TRAP_TEST_COMPLETED, test_completed_varbinds(snapshot))
        self._detect_changes()

    async def _set_modbus_listening(self, listening: bool) -> None:
        if self.modbus is None:
            return
        if listening:
            await self.modbus.start()
        else:
            await self.modbus.stop()

    # Change detection and traps -----------------------------------------------

    def _observed(self) -> tuple[int, int, dict[int, object]]:
        return (self.model.output_source, self.model.battery_status(),
                {alarm.alarm_id: alarm for alarm in self.model.alarms.values()})

    def _detect_changes(self) -> None:
        source, battery, alarms = self._observed()
        last_source, last_battery, last_alarms = self._last
        self._last = (source, battery, alarms)
        snapshot = None

        if source != last_source:
            self._record("source", f"输出来源：{SOURCE_NAMES.get(last_source)} → {SOURCE_NAMES.get(source)}",
                         str(source))
            if source == 5:
                snapshot = self.model.snapshot()
                self._send_trap(TRAP_ON_BATTERY, on_battery_varbinds(snapshot))
        if battery != last_battery:
            self._record("battery", f"电池状态：{BATTERY_NAMES.get(last_battery)} → {BATTERY_NAMES.get(battery)}",
                         str(battery))
        for alarm_id in sorted(set(alarms) - set(last_alarms)):
            alarm = alarms[alarm_id]
            self._record("alarm_added", f"告警表新增：{ALARM_NAMES.get(alarm.name, alarm.name)}", alarm.oid)
            self._send_trap(TRAP_ALARM_ENTRY_ADDED, alarm_varbinds(alarm))
        for alarm_id in sorted(set(last_alarms) - set(alarms)):
            alarm = last_alarms[alarm_id]
            self._record("alarm_removed", f"告警表移除：{ALARM_NAMES.get(alarm.name, alarm.name)}", alarm.oid)
            self._send_trap(TRAP_ALARM_ENTRY_REMOVED, alarm_varbinds(alarm))

    def _record(self, kind: str, text: str, detail: str = "") -> None:
        event = SimEvent(time.time_ns(), self.sim_s, kind, text, detail)
        self.events.append(event)
        log.info("simulated UPS at %.0f s: %s", self.sim_s, text)

    def _send_trap(self, trap_oid: str, varbinds: list) -> None:
        if not self.options.trap_receivers:
            return
        uptime = int(self.model.uptime_s * 100)
        previous = self._last_trap

        async def send_in_order() -> None:
            # Receivers see traps in the order the changes happened.
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            await self.traps.send(trap_oid, uptime, varbinds)

        self._last_trap = self._schedule(send_in_order())

    def _schedule(self, coroutine) -> asyncio.Task | None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # Called outside a loop (a test stepping the model): nothing to serve.
            coroutine.close()
            return None
        task = loop.create_task(coroutine)
        self._pending_traps.add(task)
        task.add_done_callback(self._pending_traps.discard)
        return task
