"""Times as technicians type them (Asia/Shanghai wall time) and notice lengths in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime

from hotline_monitor.timeutil import SHANGHAI

NS = 1_000_000_000
_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_local_time(text: str, option: str) -> int:
    """Parse "2026-12-10 01:00" as Asia/Shanghai wall time; return UTC nanoseconds.

    Raises ValueError with a Chinese message naming the option.
    """
    cleaned = " ".join(text.split())
    for pattern in _FORMATS:
        try:
            moment = datetime.strptime(cleaned, pattern)
        except ValueError:
            continue
        return int(moment.replace(tzinfo=SHANGHAI).timestamp()) * NS
    raise ValueError(f"{option} 的时间格式无效：{text!r}，应写作 2026-12-10 01:00（北京时间）")


def local_minutes(time_ns: int) -> str:
    """Format a UTC instant as Asia/Shanghai wall time to the minute: "2026-12-10 01:00"."""
    moment = datetime.fromtimestamp(time_ns / NS, tz=UTC).astimezone(SHANGHAI)
    return moment.strftime("%Y-%m-%d %H:%M")


def hours_minutes(minutes: int) -> str:
    """Format whole minutes as "47 小时 0 分", "1 小时" or "59 分"."""
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} 小时 {rest} 分"
    if hours:
        return f"{hours} 小时"
    return f"{rest} 分"


def notice_shortfall(now_ns: int, start_ns: int, notice_hours: float) -> str | None:
    """Explain in Chinese how much notice is missing, or return None when there is enough.

    Whole minutes are compared: the notice given is rounded down, so a start
    47 h 0 min 40 s away reads "仅 47 小时 0 分 … 还差 1 小时".
    """
    required_minutes = round(notice_hours * 60)
    given_minutes = max(0, (start_ns - now_ns) // (60 * NS))
    if start_ns - now_ns >= notice_hours * 3600 * NS:
        return None
    missing = required_minutes - given_minutes
    required_text = hours_minutes(required_minutes).replace(" 0 分", "")
    if given_minutes == 0 and start_ns <= now_ns:
        return f"开始时间已过（{local_minutes(start_ns)}），少于规定的 {required_text}"
    return (f"距开始仅 {_with_zero_minutes(given_minutes)}，少于规定的 {required_text}，"
            f"还差 {hours_minutes(missing)}")


def _with_zero_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} 小时 {rest} 分" if hours else f"{rest} 分"
