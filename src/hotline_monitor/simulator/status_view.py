"""The demo's live Chinese status view, drawn from what the agent read.

On a terminal the screen is redrawn in place every second. Without one (a
pipe, CI, `make demo > file`) the view prints a status line every few seconds
and each new alert message once, so the output reads as a log.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from hotline_monitor.reading import Reading
from hotline_monitor.simulator.harness import LiveRun, message_headline, message_time_ns
from hotline_monitor.timeutil import format_duration, local_text

SOURCES = {1: "其他", 2: "无输出", 3: "逆变器（正常）", 4: "旁路", 5: "电池"}
BATTERY = {1: "未知", 2: "正常", 3: "电量低", 4: "耗尽"}
PLAIN_STATUS_EVERY_S = 10.0


def _value(reading: Reading | None, key: str, fmt: str = "{:.0f}", unit: str = "") -> str:
    if reading is None:
        return "—"
    value = reading.fields.get(key)
    if not isinstance(value, float):
        return "未知"
    return fmt.format(value) + unit


def _code(reading: Reading | None, key: str, names: dict[int, str]) -> str:
    if reading is None:
        return "—"
    value = reading.fields.get(key)
    return names.get(int(value), f"代码 {value:.0f}") if isinstance(value, float) else "未知"


def status_lines(run: LiveRun, title: str) -> list[str]:
    ups = run.ups_reading()
    simulator = run.simulator
    lines = [
        f"12345 热线监测演示 — {title}    模拟时间 {format_duration(simulator.sim_s)}"
        f"（{simulator.options.speed:g} 倍速）",
        "",
        f"UPS 输出来源：{_code(ups, 'output_source', SOURCES)}    电池状态：{_code(ups, 'battery_status', BATTERY)}",
        f"电量：{_value(ups, 'charge_pct', unit='%')}    剩余后备时间：{_runtime(ups)}    "
        f"电池电压：{_value(ups, 'battery_voltage_v', '{:.1f}', ' V')}    "
        f"电池电流：{_value(ups, 'battery_current_a', '{:.1f}', ' A')}",
        "",
        "相别    输入电压    输出电压    输出电流    负载",
    ]
    inputs = run.line_readings("input")
    outputs = run.line_readings("output")
    for line in (1, 2, 3):
        lines.append(
            f"L{line}     {_value(inputs.get(line), 'voltage_v', unit=' V'):<10}  "
            f"{_value(outputs.get(line), 'voltage_v', unit=' V'):<10}  "
            f"{_value(outputs.get(line), 'current_a', '{:.1f}', ' A'):<10}  "
            f"{_value(outputs.get(line), 'load_pct', unit='%')}"
        )
    lines += ["", f"中断计时：{interruption_text(run)}", "", "未恢复的告警："]
    open_alerts = run.open_alerts()
    lines += [f"  · {text}" for text in open_alerts] or ["  （无）"]
    lines += ["", "告警时间线："]
    lines += [f"  {message_headline(record)}" for record in run.alerts.records[-8:]] or ["  （尚无告警消息）"]
    return lines


def _runtime(ups: Reading | None) -> str:
    value = ups.fields.get("runtime_s") if ups else None
    return format_duration(value) if isinstance(value, float) else ("—" if ups is None else "未知")


def interruption_text(run: LiveRun) -> str:
    """Describe the interruption clock, where the alerting engine keeps one."""
    if run.agent_stopped:
        return "演示已停止"
    engine = run.agent.engine
    clock = getattr(engine, "clock_of_interruption", None) if engine else None
    store = getattr(engine, "store", None)
    if clock is None or store is None or not hasattr(store, "open_interruption"):
        return "未配置"
    current = store.open_interruption(clock.config.service)
    if current is None:
        return "未中断"
    return f"已中断 {format_duration((time.time_ns() - current.start_ns) / 1e9)}（{current.cause}）"


class StatusView:
    """Draws the status on a terminal, or prints log lines when there is none."""

    def __init__(self, run: LiveRun, stream: TextIO = sys.stdout) -> None:
        self.run = run
        self.stream = stream
        self.tty = stream.isatty()
        self.title = ""
        self._printed_alerts = 0
        self._printed_events = 0
        self._last_plain = 0.0

    def update(self) -> None:
        self.run.alerts.poll()
        if self.tty:
            self.stream.write("\x1b[H\x1b[2J" + "\n".join(status_lines(self.run, self.title)) + "\n")
            self.stream.flush()
            return
        self._print_new_lines()

    def _print_new_lines(self) -> None:
        for event in self.run.simulator.events[self._printed_events:]:
            self.stream.write(f"{local_text(event.wall_ns)} [模拟] {event.text}\n")
        self._printed_events = len(self.run.simulator.events)
        for record in self.run.alerts.records[self._printed_alerts:]:
            self.stream.write(f"{local_text(message_time_ns(record))} [告警] {message_headline(record)}\n")
        self._printed_alerts = len(self.run.alerts.records)

        now = time.monotonic()
        if now - self._last_plain >= PLAIN_STATUS_EVERY_S:
            self._last_plain = now
            ups = self.run.ups_reading()
            self.stream.write(
                f"{local_text(time.time_ns())} [状态] 模拟时间 {format_duration(self.run.simulator.sim_s)}，"
                f"输出来源 {_code(ups, 'output_source', SOURCES)}，电量 {_value(ups, 'charge_pct', unit='%')}，"
                f"后备时间 {_runtime(ups)}，未恢复告警 {len(self.run.open_alerts())} 条\n")
        self.stream.flush()
