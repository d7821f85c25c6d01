"""A maintenance window as requested on the command line, its checks and its notice context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hotline_monitor.maintenance.ledger import WindowRow
from hotline_monitor.maintenance.timeinput import NS, hours_minutes, local_minutes
from hotline_monitor.timeutil import format_duration

STATE_NAMES = {
    "scheduled": "待开始",
    "active": "进行中",
    "completed": "已完成",
    "cancelled": "已取消",
}


@dataclass(frozen=True, slots=True)
class WindowRequest:
    """What `maint add` was asked for, times already in UTC nanoseconds."""

    kind: str
    start_ns: int
    end_ns: int
    scope: list[str]
    description: str
    impact: str
    contact: str
    emergency: bool = False
    reason: str = ""


def request_problems(request: WindowRequest, kinds: tuple[str, ...]) -> list[str]:
    """Return Chinese problems with the request itself (notice length is checked apart)."""
    problems = []
    if request.kind not in kinds:
        problems.append(f"--kind {request.kind!r} 不是可用的检修类别；可用：{'、'.join(kinds)}"
                        "（其他类别请在配置 maintenance.kinds 中添加）")
    if request.end_ns <= request.start_ns:
        problems.append(f"结束时间 {local_minutes(request.end_ns)} 不晚于开始时间 "
                        f"{local_minutes(request.start_ns)}，请检查 --start 和 --end")
    for option, value in (("--description", request.description), ("--impact", request.impact),
                          ("--contact", request.contact)):
        if not value.strip():
            problems.append(f"{option} 不能为空")
    if request.emergency and not request.reason.strip():
        problems.append("紧急检修（--emergency）必须用 --reason 说明无法提前通知的原因")
    if request.reason and not request.emergency:
        problems.append("--reason 只用于紧急检修，请同时加上 --emergency")
    return problems


def window_context(window: WindowRow, names: dict[str, str]) -> dict[str, Any]:
    """Values the notice templates show for one window, in Asia/Shanghai time."""
    scope_text = "、".join(f"{names[item]} {item}" if item in names else item
                          for item in window.scope)
    notice_text = ""
    if window.notice_hours is not None:
        notice_text = hours_minutes(int(window.notice_hours * 60))
    return {
        "id": window.id,
        "kind": window.kind,
        "start": local_minutes(window.start_ns),
        "end": local_minutes(window.end_ns),
        "duration": format_duration((window.end_ns - window.start_ns) / NS),
        "scope": list(window.scope),
        "scope_text": scope_text,
        "description": window.description,
        "impact": window.impact,
        "contact": window.contact,
        "emergency": window.emergency,
        "reason": window.reason,
        "notice_text": notice_text,
        "state": STATE_NAMES.get(window.state, window.state),
    }
