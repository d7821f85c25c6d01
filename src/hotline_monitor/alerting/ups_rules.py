"""The first UPS alerts: on battery, bypass, battery low/depleted, runtime, overload.

Each rule reads one `ups` reading and returns True (condition holds), False
(condition clear) or None (the values it needs are unknown in this reading).
None neither raises nor clears an alert: a card that answers a sentinel must
not produce a false all-clear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hotline_monitor.config.model import UpsRulesConfig

# RFC 1628 upsOutputSource and upsBatteryStatus codes.
OUTPUT_SOURCE_BYPASS = 4
OUTPUT_SOURCE_BATTERY = 5
BATTERY_STATUS_LOW = 3
BATTERY_STATUS_DEPLETED = 4

Fields = dict[str, float | str]


@dataclass(frozen=True, slots=True)
class UpsRule:
    name: str
    severity: str
    check: Callable[[Fields, UpsRulesConfig], bool | None]
    describe: Callable[[Fields, UpsRulesConfig], str]


def _number(fields: Fields, key: str) -> float | None:
    value = fields.get(key)
    return value if isinstance(value, float) else None


def _on_battery(fields: Fields, _: UpsRulesConfig) -> bool | None:
    on_battery = _number(fields, "on_battery")
    if on_battery is not None:
        return on_battery == 1.0
    source = _number(fields, "output_source")
    return None if source is None else source == OUTPUT_SOURCE_BATTERY


def _on_bypass(fields: Fields, _: UpsRulesConfig) -> bool | None:
    on_bypass = _number(fields, "on_bypass")
    if on_bypass is not None:
        return on_bypass == 1.0
    source = _number(fields, "output_source")
    return None if source is None else source == OUTPUT_SOURCE_BYPASS


def _battery_low(fields: Fields, _: UpsRulesConfig) -> bool | None:
    status = _number(fields, "battery_status")
    return None if status is None else status == BATTERY_STATUS_LOW


def _battery_depleted(fields: Fields, _: UpsRulesConfig) -> bool | None:
    status = _number(fields, "battery_status")
    return None if status is None else status == BATTERY_STATUS_DEPLETED


def _runtime_low(fields: Fields, rules: UpsRulesConfig) -> bool | None:
    runtime = _number(fields, "runtime_s")
    return None if runtime is None else runtime < rules.runtime_warning


def _overload(fields: Fields, rules: UpsRulesConfig) -> bool | None:
    load = _number(fields, "load_pct_max")
    return None if load is None else load >= rules.overload_pct


def _minutes(fields: Fields, key: str) -> str:
    value = _number(fields, key)
    return "未知" if value is None else f"{value / 60:.0f} 分钟"


UPS_RULES: tuple[UpsRule, ...] = (
    UpsRule("ups_on_battery", "critical", _on_battery,
            lambda f, _: f"市电中断，UPS 转电池供电，剩余后备时间 {_minutes(f, 'runtime_s')}"),
    UpsRule("ups_on_bypass", "warning", _on_bypass,
            lambda f, _: "UPS 转旁路供电，负载失去电池保护"),
    UpsRule("ups_battery_low", "critical", _battery_low,
            lambda f, _: f"UPS 电池电量低，剩余后备时间 {_minutes(f, 'runtime_s')}"),
    UpsRule("ups_battery_depleted", "emergency", _battery_depleted,
            lambda f, _: "UPS 电池耗尽，即将断电"),
    UpsRule("ups_runtime_low", "critical", _runtime_low,
            lambda f, r: f"UPS 剩余后备时间 {_minutes(f, 'runtime_s')}，低于 {r.runtime_warning / 60:.0f} 分钟"),
    UpsRule("ups_overload", "critical", _overload,
            lambda f, r: f"UPS 输出过载：最大相负载 {_number(f, 'load_pct_max'):.0f}%，阈值 {r.overload_pct:.0f}%"),
)
