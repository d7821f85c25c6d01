"""Shutdown actions: run a command before the battery runs out, for hosts without a NUT client.

Each action waits for its trigger on its UPS (low battery as the NUT server
decides it, or on battery for a set time), then for its grace period. Mains
returning within the grace cancel it. Otherwise the command runs once; the
action re-arms only after mains have returned. Every step is logged, recorded
in the event table and announced in Chinese.

A UPS last seen on battery whose data then goes stale counts as low battery,
as upsmon counts a UPS on battery that stops responding as critical. The
monitor cannot tell whether the battery is fine, and a shutdown beats lost data.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from hotline_monitor.config.model import UpsConfig
from hotline_monitor.notify.message import MessageSink, OutgoingMessage, Recipient
from hotline_monitor.nut.config import ShutdownActionConfig
from hotline_monitor.nut.events import ShutdownEventLog
from hotline_monitor.nut.latest import LatestReadings, UpsLatest
from hotline_monitor.nut.variables import UpsView, build_view
from hotline_monitor.timeutil import format_duration

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 1.0
OUTPUT_TAIL_CHARS = 500


@dataclass(slots=True)
class _ActionState:
    config: ShutdownActionConfig
    state: str = "armed"
    """armed, pending (grace running) or done (ran, and waits for mains)."""
    deadline_ns: int = 0
    on_battery: bool = False
    """Last known: stays True while the data is stale."""


class ShutdownActions:
    """Evaluates every configured shutdown action once a second."""

    def __init__(
        self,
        actions: list[ShutdownActionConfig],
        ups: list[UpsConfig],
        latest: LatestReadings,
        events: ShutdownEventLog,
        sink: MessageSink,
        max_age_s: float,
        recipients: list[Recipient] | Callable[[], list[Recipient]] | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.latest = latest
        self.events = events
        self.sink = sink
        # A callable is asked at each announcement, so the person on shift at
        # that moment is reached; the default is the console.
        self.recipients = recipients or [Recipient("console")]
        self.max_age_s = max_age_s
        self.clock = clock
        self.names = {entry.id: entry.display_name for entry in ups}
        self.actions = [_ActionState(action) for action in actions]
        for action in self.actions:
            # Do not run again after a restart in the same outage.
            if events.last_event(action.config.id) in ("executed", "failed"):
                action.state = "done"
                action.on_battery = True
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="shutdown-actions")
        log.info("shutdown actions watching: %s",
                 ", ".join(f"{a.config.id} ({a.config.ups}, {a.config.trigger})" for a in self.actions))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.events.close()

    async def _loop(self) -> None:
        while True:
            await self.evaluate()
            await asyncio.sleep(CHECK_INTERVAL_S)

    async def evaluate(self) -> None:
        """Advance every action by what the latest readings show now."""
        for action in self.actions:
            try:
                await self._evaluate(action)
            except Exception:
                # One broken action must not stop the others from being watched.
                log.exception("shutdown action %s: evaluation failed", action.config.id)

    async def _evaluate(self, action: _ActionState) -> None:
        config = action.config
        now_ns = self.clock()
        latest = self.latest.get(config.ups)
        view = build_view(latest, now_ns, self.max_age_s, config.shutdown_threshold)
        mains_back = view is not None and not view.on_battery
        if view is not None:
            action.on_battery = view.on_battery

        if action.state == "done":
            if mains_back:
                action.state = "armed"
                self._record(action, now_ns, "rearmed", "市电已恢复")
                log.info("shutdown action %s re-armed: UPS %s back on mains", config.id, config.ups)
            return

        if action.state == "pending":
            if mains_back:
                action.state = "armed"
                self._record(action, now_ns, "cancelled", "宽限期内市电恢复")
                log.warning("shutdown action %s cancelled: UPS %s back on mains within the grace",
                            config.id, config.ups)
                self._announce(action, now_ns, "cancelled",
                               f"{self._ups_name(config)} 市电已恢复，关机动作 {config.id} 已取消，不会执行。")
            elif now_ns >= action.deadline_ns:
                action.state = "done"
                await self._run(action)
            return

        reason = self._trigger_reason(action, view, latest, now_ns)
        if reason is not None:
            action.state = "pending"
            action.deadline_ns = now_ns + int(config.grace * 1e9)
            self._record(action, now_ns, "pending", reason)
            log.warning("shutdown action %s pending: UPS %s %s, command runs in %g s unless mains return",
                        config.id, config.ups, reason, config.grace)
            self._announce(
                action, now_ns, "pending",
                f"{self._ups_name(config)} {reason}，{format_duration(config.grace)}后将执行关机动作 "
                f"{config.id}（{shlex.join(config.command)}）；在此之前市电恢复则自动取消。",
            )

    def _trigger_reason(self, action: _ActionState, view: UpsView | None, latest: UpsLatest | None,
                        now_ns: int) -> str | None:
        """Return the Chinese reason why the trigger is met now, or None."""
        config = action.config
        if view is None:
            if action.on_battery:
                return "使用电池供电时监测数据中断（无法确认电池余量）"
            return None
        if not view.on_battery:
            return None
        if config.trigger == "low_battery":
            if not view.low_battery:
                return None
            if view.remaining_s is None:
                return "电池电量低（UPS 报告）"
            return f"电池电量低：预计剩余 {format_duration(view.remaining_s)}"

        on_battery_s = _seconds_on_battery(latest, now_ns)
        assert config.on_battery_for is not None
        if on_battery_s < config.on_battery_for:
            return None
        return f"已使用电池供电 {format_duration(on_battery_s)}"

    async def _run(self, action: _ActionState) -> None:
        config = action.config
        log.warning("shutdown action %s: running %s", config.id, shlex.join(config.command))
        try:
            process = await asyncio.create_subprocess_exec(
                *config.command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
        except OSError as err:
            self._failed(action, f"无法启动命令：{err.strerror or err}")
            return

        try:
            output, _ = await asyncio.wait_for(process.communicate(), config.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            self._failed(action, f"命令 {format_duration(config.timeout)}内未结束，已强制终止")
            return

        tail = output.decode("utf-8", "replace")[-OUTPUT_TAIL_CHARS:].strip()
        now_ns = self.clock()
        if process.returncode != 0:
            self._failed(action, f"命令退出码 {process.returncode}：{tail}")
            return
        self._record(action, now_ns, "executed", f"退出码 0 {tail}".strip())
        log.warning("shutdown action %s: command finished with exit code 0", config.id)
        self._announce(action, now_ns, "executed",
                       f"{self._ups_name(config)} 关机动作 {config.id} 已执行（{shlex.join(config.command)}），命令已成功结束。")

    def _failed(self, action: _ActionState, detail: str) -> None:
        config = action.config
        now_ns = self.clock()
        self._record(action, now_ns, "failed", detail)
        log.error("shutdown action %s failed: %s", config.id, detail)
        self._announce(action, now_ns, "failed",
                       f"{self._ups_name(config)} 关机动作 {config.id} 执行失败：{detail}。请立即手动关闭相关主机！")

    def _ups_name(self, config: ShutdownActionConfig) -> str:
        return f"UPS {self.names.get(config.ups, config.ups)}"

    def _record(self, action: _ActionState, now_ns: int, event: str, detail: str) -> None:
        self.events.record(now_ns, action.config.id, action.config.ups, event, detail)

    def _announce(self, action: _ActionState, now_ns: int, event: str, text: str) -> None:
        severity = {"pending": "critical", "executed": "critical", "failed": "emergency"}.get(event, "info")
        self.sink.enqueue(OutgoingMessage(
            key=f"shutdown:{action.config.id}:{event}:{now_ns}",
            kind="recovery" if event == "cancelled" else "alert",
            severity=severity,
            title=f"关机动作 {action.config.id}",
            text=text,
            recipients=self.recipients() if callable(self.recipients) else list(self.recipients),
            context={"action": action.config.id, "ups": action.config.ups, "event": event},
            created_ns=now_ns,
        ))


def _seconds_on_battery(latest: UpsLatest | None, now_ns: int) -> float:
    """Seconds on battery: as the UPS counts them, or since the first on-battery reading seen."""
    counted = latest.fields.get("seconds_on_battery") if latest else None
    seen = now_ns / 1e9 - latest.history[0].time_s if latest and latest.history else 0.0
    if counted is not None and isinstance(counted[0], float):
        return max(counted[0], seen)
    return seen
