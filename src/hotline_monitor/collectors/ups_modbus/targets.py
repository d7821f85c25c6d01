"""The schema fields a register-map value may fill, and their units.

The names are those of the stored schema (`ups`, `ups_line`, `ups_info`), so a
Modbus reading and an SNMP reading of one UPS can be compared field by field.
"""

from __future__ import annotations

UPS_FIELDS = frozenset({
    "output_source", "on_battery", "on_bypass", "battery_status", "seconds_on_battery",
    "runtime_s", "charge_pct", "battery_voltage_v", "battery_current_a",
    "battery_temperature_c", "input_frequency_hz", "output_frequency_hz",
    "bypass_frequency_hz", "input_lines", "output_lines", "load_pct_max", "alarms_present",
})

FLAG_FIELDS = frozenset({"battery_low", "battery_depleted"})
"""Flags that are not stored themselves; they set `battery_status` when the map has no
register for it (depleted: 4, low: 3, neither: 2, as RFC 1628 upsBatteryStatus codes)."""

LINE_SIDES = ("input", "output", "bypass")
LINE_FIELDS = {
    "input": ("voltage_v", "current_a", "power_w", "load_pct", "frequency_hz"),
    "output": ("voltage_v", "current_a", "power_w", "load_pct"),
    "bypass": ("voltage_v", "current_a", "power_w", "load_pct"),
}
MAX_LINES = 3

INFO_FIELDS = frozenset({"info.manufacturer", "info.model", "info.firmware"})
"""String values, written to `ups_info` when they change."""

_UNIT_BY_SUFFIX = {"_v": "V", "_a": "A", "_hz": "Hz", "_pct": "%", "_s": "s", "_c": "°C",
                   "_w": "W"}
_SECONDS_FIELDS = {"seconds_on_battery"}

RFC1628_OUTPUT_SOURCE_ON_BATTERY = 5
RFC1628_OUTPUT_SOURCE_BYPASS = 4
RFC1628_BATTERY_NORMAL = 2
RFC1628_BATTERY_LOW = 3
RFC1628_BATTERY_DEPLETED = 4


def is_known_target(name: str) -> bool:
    """Tell whether a map may write to this field name."""
    if name in UPS_FIELDS or name in FLAG_FIELDS or name in INFO_FIELDS:
        return True
    return split_line_target(name) is not None


def split_line_target(name: str) -> tuple[str, int, str] | None:
    """Split `output.2.voltage_v` into ("output", 2, "voltage_v"); None when not a line field."""
    parts = name.split(".")
    if len(parts) != 3 or parts[0] not in LINE_SIDES or not parts[1].isdigit():
        return None
    side, line, field = parts[0], int(parts[1]), parts[2]
    if not 1 <= line <= MAX_LINES or field not in LINE_FIELDS[side]:
        return None
    return side, line, field


def expected_unit(name: str) -> str | None:
    """Return the unit a target's name states (`battery_voltage_v` -> V), or None."""
    if name in _SECONDS_FIELDS:
        return "s"
    for suffix, unit in _UNIT_BY_SUFFIX.items():
        if name.endswith(suffix):
            return unit
    return None


def describe_targets() -> str:
    """List the accepted target names for an error message."""
    lines = "、".join(f"{side}.1..3.{{{','.join(LINE_FIELDS[side])}}}" for side in LINE_SIDES)
    return (f"{', '.join(sorted(UPS_FIELDS))}；标志 {', '.join(sorted(FLAG_FIELDS))}；"
            f"分相 {lines}；字符串 {', '.join(sorted(INFO_FIELDS))}")
