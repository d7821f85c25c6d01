"""The Chinese text of alert lines and messages."""

from __future__ import annotations

import logging
from typing import Any

from hotline_monitor.alerting.config import SEVERITY_NAMES, RuleConfig
from hotline_monitor.timeutil import format_duration, local_text

log = logging.getLogger(__name__)


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "？"


def summary_text(rule: RuleConfig, series: str, value: float | None, detail: str,
                 extra: dict[str, Any]) -> str:
    """Fill a rule's summary template; a rule without one gets a generic line."""
    threshold = rule.above if rule.above is not None else rule.below
    values = _Values(extra)
    values.update(_series_tags(series))
    values["detail"] = detail
    values["count"] = rule.count
    if value is not None:
        values["value"] = value
        values["value_minutes"] = f"{value / 60:.0f} 分钟"
    if threshold is not None:
        values["threshold"] = threshold
        values["threshold_minutes"] = f"{threshold / 60:.0f} 分钟"
    template = rule.summary or _generic_summary(rule)
    try:
        return template.format_map(values)
    except (ValueError, TypeError) as err:
        log.warning("rule %s: summary template %r failed: %s", rule.name, template, err)
        return f"{rule.name}：{value}"


def _generic_summary(rule: RuleConfig) -> str:
    if rule.kind == "absence":
        return f"{rule.measurement} 已 {format_duration(rule.after or 0)} 没有数据"
    if rule.kind == "state":
        return f"{rule.field} 当前为 {{value:g}}"
    if rule.above is not None:
        return f"{rule.field} 为 {{value:g}}，高于 {{threshold:g}}"
    return f"{rule.field} 为 {{value:g}}，低于 {{threshold:g}}"


def _series_tags(series: str) -> dict[str, str]:
    _, _, tags = series.partition(":")
    pairs = (item.partition("=") for item in tags.split(",") if "=" in item)
    return {key: value for key, _, value in pairs}


def severity_name(severity: str) -> str:
    return SEVERITY_NAMES.get(severity, severity)


def alert_line(severity: str, summary: str, state: str, since_ns: int | None,
               resolved_ns: int | None = None) -> str:
    since = local_text(since_ns)[11:] if since_ns else ""
    if state == "resolved" and since_ns and resolved_ns:
        return f"· {summary}（已恢复，持续 {format_duration((resolved_ns - since_ns) / 1e9)}）"
    mark = "（已确认）" if state == "acknowledged" else ""
    return f"· 【{severity_name(severity)}】{summary}（{since} 起）{mark}"
