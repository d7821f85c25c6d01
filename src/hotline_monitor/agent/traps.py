"""Wire the trap receiver into a running agent.

A trap's readings reach the alerting engine at once (the alert does not wait
for a poll), and the trap asks for an immediate poll of that UPS. Poll
readings then pass through a `TrapGate`, so that a card which updates its
values late does not produce a false all-clear; a claim contradicted by
`confirm_polls` polls in a row is withdrawn with one message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from hotline_monitor.alerting.crosscheck import OUTPUT_SOURCE_NAMES
from hotline_monitor.alerting.trap_gate import TrapGate, Withdrawal
from hotline_monitor.collectors.snmp_traps.config import TrapsConfig
from hotline_monitor.collectors.snmp_traps.handler import TrapAction, TrapHandler
from hotline_monitor.collectors.snmp_traps.receiver import TrapReceiver
from hotline_monitor.reading import Reading

if TYPE_CHECKING:
    from hotline_monitor.agent.runner import Agent

log = logging.getLogger(__name__)


class GatedEngine:
    """The alerting engine with poll readings filtered through a TrapGate."""

    def __init__(self, inner: Any, gate: TrapGate) -> None:
        self.inner = inner
        self.gate = gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def observe(self, readings: list[Reading]) -> Any:
        passed, withdrawals = self.gate.filter(readings)

        # Withdraw before the engine sees the contradicting reading, which
        # would otherwise resolve the alert with a false all-clear.
        for withdrawal in withdrawals:
            self.inner.withdraw(withdrawal.ups, list(withdrawal.fields), _withdrawal_text(withdrawal))
        return self.inner.observe(passed)

    def observe_trap(self, readings: list[Reading]) -> Any:
        return self.inner.observe(readings)


class TrapService:
    def __init__(self, agent: Agent, config: TrapsConfig) -> None:
        self.agent = agent
        self.gate = TrapGate(config.confirm_polls)
        self.handler = TrapHandler(agent.config, config, self._act)
        self.receiver = TrapReceiver(config, self.handler)
        if agent.engine is not None:
            agent.engine = GatedEngine(agent.engine, self.gate)
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        await self.receiver.start()

    async def close(self) -> None:
        await self.receiver.close()

    def _act(self, action: TrapAction) -> None:
        if action.claimed_fields:
            self.gate.claim(action.ups, action.trap_name, action.claimed_fields,
                            action.readings[0].time_ns)

        self.agent.store(action.readings)
        engine = self.agent.engine
        if isinstance(engine, GatedEngine):
            engine.observe_trap(action.readings)

        self._poll_now(action.ups)

    def _poll_now(self, ups: str) -> None:
        for poller in self.agent.pollers:
            if poller.collector.target != ups or not poller.collector.kind.startswith("ups"):
                continue
            if poller.busy:
                # The poll already running serves as the confirmation.
                continue
            task = asyncio.get_running_loop().create_task(self.agent.poll_target(poller))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


# The fields a trap can claim (see TrapHandler), as on-call staff read them.
# upsBatteryStatus codes are from RFC 1628.
_CLAIMED_FIELD_LABELS = {"on_battery": "电池供电", "on_bypass": "旁路供电", "output_source": "输出来源",
                         "battery_status": "电池状态"}
_BATTERY_STATUS_NAMES = {1: "未知", 2: "正常", 3: "电量低", 4: "耗尽"}


def _show_polled_value(field: str, value: float) -> str:
    if field in ("on_battery", "on_bypass"):
        return "是" if value == 1.0 else "否"
    if field == "output_source":
        return f"{OUTPUT_SOURCE_NAMES.get(int(value), '未知')}（{int(value)}）"
    if field == "battery_status":
        return f"{_BATTERY_STATUS_NAMES.get(int(value), '未知')}（{int(value)}）"
    return f"{value:g}"


def _withdrawal_text(withdrawal: Withdrawal) -> str:
    polled = "，".join(f"{_CLAIMED_FIELD_LABELS.get(key, key)}为{_show_polled_value(key, value)}"
                       for key, value in withdrawal.polled.items())
    return (f"撤回告警：陷阱 {withdrawal.trap_name} 报告的状态未被轮询证实"
            f"（随后连续轮询读数为 {polled}），判断为误报")
