"""Map the latest readings of a UPS to NUT's variable names and units.

Names follow NUT's docs/nut-names.txt (NUT 2.8): `battery.runtime` in
seconds, voltages in V, currents in A, `ups.load` in % of the rated load,
per-phase values as `input.L1-N.voltage`, `output.L2.current` and so on.
`input.voltage` and `output.voltage` carry line 1, which is what single-phase
clients read; the per-phase names are served when a side has several lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from hotline_monitor import __version__
from hotline_monitor.nut.latest import OUTPUT_SOURCE_BYPASS, UpsLatest, on_battery_of
from hotline_monitor.nut.lowbattery import is_low_battery, remaining_runtime_s
from hotline_monitor.timeutil import SHANGHAI

# RFC 1628 upsBatteryStatus: 3 batteryLow, 4 batteryDepleted.
BATTERY_STATUS_LOW = (3.0, 4.0)

# NUT variable <- `ups` field.
UPS_FIELD_VARIABLES = (
    ("battery.charge", "charge_pct"),
    ("battery.runtime", "runtime_s"),
    ("battery.voltage", "battery_voltage_v"),
    ("battery.current", "battery_current_a"),
    ("battery.temperature", "battery_temperature_c"),
    ("input.frequency", "input_frequency_hz"),
    ("output.frequency", "output_frequency_hz"),
    ("input.bypass.frequency", "bypass_frequency_hz"),
    ("ups.load", "load_pct_max"),
    ("input.phases", "input_lines"),
    ("output.phases", "output_lines"),
)

# (side, `ups_line` field) -> NUT name for one phase ({n} is the line number)
# and for line 1 alone.
LINE_FIELD_VARIABLES = {
    ("input", "voltage_v"): ("input.L{n}-N.voltage", "input.voltage"),
    ("input", "current_a"): ("input.L{n}.current", "input.current"),
    ("input", "power_w"): ("input.L{n}.realpower", "input.realpower"),
    ("output", "voltage_v"): ("output.L{n}-N.voltage", "output.voltage"),
    ("output", "current_a"): ("output.L{n}.current", "output.current"),
    ("output", "power_w"): ("output.L{n}.realpower", "output.realpower"),
    ("output", "load_pct"): ("output.L{n}.power.percent", None),
    ("bypass", "voltage_v"): ("input.bypass.L{n}-N.voltage", "input.bypass.voltage"),
    ("bypass", "current_a"): ("input.bypass.L{n}.current", "input.bypass.current"),
}

INFO_VARIABLES = (
    ("manufacturer", ("ups.mfr", "device.mfr")),
    ("model", ("ups.model", "device.model")),
    ("firmware", ("ups.firmware",)),
)

STRING_VARIABLES = frozenset(
    {"ups.status", "ups.mfr", "ups.model", "ups.firmware", "device.mfr", "device.model",
     "device.type", "driver.name", "driver.version"}
)


@dataclass(frozen=True, slots=True)
class UpsView:
    """A UPS as NUT clients see it at one instant (ups.status without FSD)."""

    on_battery: bool
    low_battery: bool
    status: str
    variables: dict[str, str]
    remaining_s: float | None


def format_number(value: float) -> str:
    """Format like NUT drivers do: whole numbers without a fraction, others to 0.01."""
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _alarm_active(latest: UpsLatest, name: str) -> bool:
    """Tell whether an alarm is active, named as RFC 1628 does (upsAlarmBatteryBad) or plainly."""
    for alarm, active in latest.alarms.items():
        if active and alarm.lower().removeprefix("upsalarm").replace("_", "") == name:
            return True
    return False


def build_view(
    latest: UpsLatest | None,
    now_ns: int,
    max_age_s: float,
    shutdown_threshold_s: float,
    battery_replace_due: date | None = None,
) -> UpsView | None:
    """Build the UPS's current NUT view, or None when its data is stale or its status unknown."""
    if latest is None or now_ns - latest.updated_ns > max_age_s * 1e9:
        return None
    oldest_ns = now_ns - int(max_age_s * 1e9)
    fields = {name: value for name, (value, time_ns) in latest.fields.items() if time_ns >= oldest_ns}
    on_battery = on_battery_of(fields)
    if on_battery is None:
        return None

    low_battery = fields.get("battery_status") in BATTERY_STATUS_LOW or (
        on_battery and is_low_battery(latest.history, shutdown_threshold_s)
    )
    status = _status(latest, fields, on_battery, low_battery, battery_replace_due, now_ns)

    variables = {
        "device.type": "ups",
        "driver.name": "hotline-monitor",
        "driver.version": __version__,
        "battery.runtime.low": format_number(round(shutdown_threshold_s)),
        "ups.status": status,
    }
    _add_ups_fields(variables, fields)
    _add_line_fields(variables, latest, oldest_ns)
    for info_field, names in INFO_VARIABLES:
        if latest.info.get(info_field):
            variables.update(dict.fromkeys(names, latest.info[info_field]))

    remaining = remaining_runtime_s(latest.history) if on_battery else None
    ordered = dict(sorted(variables.items(), key=lambda item: item[0].lower()))
    return UpsView(on_battery, low_battery, status, ordered, remaining)


def _status(
    latest: UpsLatest,
    fields: dict[str, float | str],
    on_battery: bool,
    low_battery: bool,
    battery_replace_due: date | None,
    now_ns: int,
) -> str:
    tokens = ["OB" if on_battery else "OL"]
    if fields.get("on_bypass") == 1.0 or fields.get("output_source") == OUTPUT_SOURCE_BYPASS:
        tokens.append("BYPASS")
    if low_battery:
        tokens.append("LB")

    today = datetime.fromtimestamp(now_ns / 1e9, tz=UTC).astimezone(SHANGHAI).date()
    replace_due = battery_replace_due is not None and today >= battery_replace_due
    if replace_due or _alarm_active(latest, "batterybad"):
        tokens.append("RB")

    load = fields.get("load_pct_max")
    if _alarm_active(latest, "outputoverload") or (isinstance(load, float) and load >= 100.0):
        tokens.append("OVER")
    return " ".join(tokens)


def _add_ups_fields(variables: dict[str, str], fields: dict[str, float | str]) -> None:
    for name, field_name in UPS_FIELD_VARIABLES:
        value = fields.get(field_name)
        if not isinstance(value, float):
            continue
        if name == "battery.runtime":
            value = float(round(value))
        variables[name] = format_number(value)


def _add_line_fields(variables: dict[str, str], latest: UpsLatest, oldest_ns: int) -> None:
    lines_per_side: dict[str, int] = {}
    for side, _ in latest.lines:
        lines_per_side[side] = lines_per_side.get(side, 0) + 1

    for (side, line), line_fields in sorted(latest.lines.items()):
        for field_name, (value, time_ns) in line_fields.items():
            names = LINE_FIELD_VARIABLES.get((side, field_name))
            if names is None or not isinstance(value, float) or time_ns < oldest_ns:
                continue
            per_phase, single = names
            if lines_per_side[side] > 1:
                variables[per_phase.format(n=line)] = format_number(value)
            if line == 1 and single is not None:
                variables[single] = format_number(value)
