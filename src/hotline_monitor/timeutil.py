"""Durations as written in configuration, and times as shown to people."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | int | float) -> float:
    """Parse "5s", "1m30s", "2h", "500ms" or a bare number of seconds into seconds.

    Raises ValueError with a Chinese message on anything else.
    """
    if isinstance(text, bool):
        raise ValueError(f"时长格式无效：{text!r}，应写作 5s、1m30s、2h 或秒数")
    if isinstance(text, int | float):
        return float(text)

    compact = text.strip().replace(" ", "")
    position = 0
    total = 0.0
    for match in _DURATION.finditer(compact):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(compact) or not compact:
        raise ValueError(f"时长格式无效：{text!r}，应写作 5s、1m30s、2h 或秒数")
    return total


def format_duration(seconds: float) -> str:
    """Format seconds for people, in Chinese: "1小时5分", "12分30秒", "8秒"."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    if minutes:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分"
    return f"{secs}秒"


def local_text(time_ns: int | float | datetime) -> str:
    """Format a UTC instant as Asia/Shanghai wall time, "2026-12-04 20:15:03"."""
    if isinstance(time_ns, datetime):
        moment = time_ns
    else:
        moment = datetime.fromtimestamp(time_ns / 1e9, tz=UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
