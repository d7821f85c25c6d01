"""What a window's scope may name: configured UPS, SIP trunks, hosts, checks and services."""

from __future__ import annotations

from typing import Any

SCOPE_KINDS = {
    "ups": "UPS",
    "sip_trunks": "中继",
    "hosts": "主机",
    "checks": "检查",
}


def known_targets(config: Any) -> dict[str, str]:
    """Map every id a scope may name to the Chinese name of its kind.

    Sections other parts add (`sip_trunks`, `hosts`, `checks`) are read when
    present; hosts are named by `name`, the others by `id`.
    """
    targets: dict[str, str] = {}
    for section, label in SCOPE_KINDS.items():
        for item in getattr(config, section, None) or []:
            name = getattr(item, "id", None) or getattr(item, "name", None)
            if name:
                targets[str(name)] = label
    for service in config.maintenance.services:
        targets[service] = "服务"
    alerting = getattr(config, "alerting", None)
    interruption = getattr(alerting, "interruption", None)
    service = getattr(interruption, "service", None)
    if isinstance(service, str):
        targets[service] = "服务"
    return targets


def parse_scope(text: str, known: dict[str, str]) -> tuple[list[str], list[str]]:
    """Split "ups-main,trunk-telecom"; return (scope, Chinese problems)."""
    scope = [part.strip() for part in text.split(",") if part.strip()]
    problems: list[str] = []
    if not scope:
        problems.append("--scope 不能为空：请列出受影响的 UPS、中继、主机、检查或服务的 id，"
                        "用逗号分隔")
    for name in scope:
        if name not in known:
            listed = "、".join(sorted(known)) or "（无）"
            problems.append(f"--scope 中的 {name!r} 不是已配置的 UPS、中继、主机、检查或服务；"
                            f"已配置的有：{listed}")
    return list(dict.fromkeys(scope)), problems
