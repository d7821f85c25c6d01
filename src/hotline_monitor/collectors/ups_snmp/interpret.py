"""Turn one poll's raw varbinds into the fields of `ups`, `ups_line`, `ups_info`.

The steps: choose the vendor profile, read identity and scalars, read the
line tables (rows must be indexed 1..3), drop implausible line power, settle
the line counts, derive the summary fields and read the alarm table. Every
unknown value is counted in `PollData.invalid`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline_monitor.collectors.ups_snmp import ber
from hotline_monitor.collectors.ups_snmp.normalise import (
    Tally,
    is_absent,
    number,
    power_is_plausible,
    text,
)
from hotline_monitor.collectors.ups_snmp.oids import (
    ALARM_DESCR_COLUMN,
    IDENTITY,
    LINE_COLUMNS,
    LINE_COUNTS,
    MAX_LINES,
    SYS_OBJECT_ID,
    UPS_SCALARS,
    WELL_KNOWN_ALARMS,
)
from hotline_monitor.collectors.ups_snmp.profiles import PROFILES, VendorProfile, match_profile
from hotline_monitor.collectors.ups_snmp.walk import Rows

# RFC 1628 upsOutputSource codes.
OUTPUT_SOURCE_BYPASS = 4
OUTPUT_SOURCE_BATTERY = 5
SIDES = ("input", "output", "bypass")


@dataclass(slots=True)
class PollData:
    ups: dict[str, float] = field(default_factory=dict)
    lines: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    """(side, line number) -> fields of `ups_line`."""
    info: dict[str, str] = field(default_factory=dict)
    alarms: set[str] | None = None
    """Names of the alarms present, or None when the alarm table could not be read."""
    profile: VendorProfile | None = None
    invalid: int = 0


def interpret(scalars: dict[str, ber.Value], tables: Rows,
              profile_name: str | None = None) -> PollData:
    data = PollData()
    tally = Tally()

    data.info = _identity(scalars)
    data.profile = _profile(scalars, data.info, profile_name)

    for oid, spec in UPS_SCALARS.items():
        value = number(scalars.get(oid), spec, tally)
        if value is not None:
            data.ups[spec.field] = value

    data.lines = _lines(tables, data.profile, tally)
    _drop_implausible_power(data.lines, tally)
    _line_counts(scalars, data, tally)
    _derive(data)
    data.alarms = _alarms(tables.get(ALARM_DESCR_COLUMN, []), data.ups.get("alarms_present"),
                          tally)

    data.invalid = tally.invalid
    return data


def _identity(scalars: dict[str, ber.Value]) -> dict[str, str]:
    info = {}
    for oid, spec in IDENTITY.items():
        value = text(scalars.get(oid))
        if value is not None:
            info[spec.field] = value
    return info


def _profile(scalars: dict[str, ber.Value], info: dict[str, str],
             profile_name: str | None) -> VendorProfile | None:
    if profile_name:
        return PROFILES[profile_name]
    sys_object_id = scalars.get(SYS_OBJECT_ID)
    oid = sys_object_id[1] if sys_object_id and sys_object_id[0] == ber.OBJECT_IDENTIFIER else None
    return match_profile(oid, info.get("manufacturer"))  # type: ignore[arg-type]


def _lines(tables: Rows, profile: VendorProfile | None,
           tally: Tally) -> dict[tuple[str, int], dict[str, float]]:
    divisors = profile.line_divisors if profile else {}
    lines: dict[tuple[str, int], dict[str, float]] = {}

    for column, (side, spec) in LINE_COLUMNS.items():
        divisor = divisors.get((side, spec.field))
        for suffix, value in tables.get(column, []):
            # RFC 1628 indexes each line table by the line number alone; a row
            # such as `…1.0` is not one of its rows, whatever it holds.
            if not suffix.isdigit() or not 1 <= int(suffix) <= MAX_LINES:
                if not is_absent(value):
                    tally.invalid += 1
                continue
            result = number(value, spec, tally, divisor)
            if result is not None:
                lines.setdefault((side, int(suffix)), {})[spec.field] = result
    return lines


def _drop_implausible_power(lines: dict[tuple[str, int], dict[str, float]], tally: Tally) -> None:
    for fields in lines.values():
        if {"voltage_v", "current_a", "power_w"} <= fields.keys() and not power_is_plausible(
            fields["voltage_v"], fields["current_a"], fields["power_w"]
        ):
            del fields["power_w"]
            tally.invalid += 1


def _line_counts(scalars: dict[str, ber.Value], data: PollData, tally: Tally) -> None:
    """Set input_lines/output_lines from the declared count, else from the rows present.

    A declared count with no row of that table is not believed: the card
    claims lines it does not describe.
    """
    for oid, (side, spec) in LINE_COUNTS.items():
        declared = number(scalars.get(oid), spec, tally)
        present = sum(1 for line_side, _ in data.lines if line_side == side)
        if declared is not None and present == 0:
            tally.invalid += 1
            declared = None
        if side == "bypass":
            continue
        if declared is not None:
            data.ups[spec.field] = declared
        elif present:
            data.ups[spec.field] = float(present)


def _derive(data: PollData) -> None:
    source = data.ups.get("output_source")
    if source is not None:
        data.ups["on_battery"] = 1.0 if source == OUTPUT_SOURCE_BATTERY else 0.0
        data.ups["on_bypass"] = 1.0 if source == OUTPUT_SOURCE_BYPASS else 0.0

    for (side, _), fields in sorted(data.lines.items()):
        if side == "input" and "frequency_hz" in fields:
            data.ups["input_frequency_hz"] = fields["frequency_hz"]
            break

    # The maximum is known only when every output line's load is: a missing
    # line might be the overloaded one, and a partial maximum could clear an
    # overload alert falsely.
    output_lines = int(data.ups.get("output_lines", 0))
    loads = [fields["load_pct"] for (side, _), fields in data.lines.items()
             if side == "output" and "load_pct" in fields]
    if loads and len(loads) >= output_lines:
        data.ups["load_pct_max"] = max(loads)


def _alarms(rows: list[tuple[str, ber.Value]], alarms_present: float | None,
            tally: Tally) -> set[str] | None:
    """Return the names of the alarms in upsAlarmTable, or None when unknown."""
    names = set()
    for _, value in rows:
        if value[0] != ber.OBJECT_IDENTIFIER:
            if not is_absent(value):
                tally.invalid += 1
            continue
        oid = str(value[1]).strip(".")
        names.add(WELL_KNOWN_ALARMS.get(oid, oid))

    if names:
        return names
    # An empty table means "no alarm" only when upsAlarmsPresent is 0.
    return set() if alarms_present == 0 else None
