"""The RFC 1628 UPS-MIB objects the collector reads, as data.

Each entry names the stored field, the unit conversion from the MIB's UNITS
clause, and the plausible range in stored units. A value outside that range is
unknown (see `normalise`). OIDs are under upsMIB 1.3.6.1.2.1.33 (RFC 1628,
"UPS Management Information Base", May 1994).
"""

from __future__ import annotations

from dataclasses import dataclass

UPS_MIB = "1.3.6.1.2.1.33"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric object: stored value = raw × multiplier / divisor, kept within [low, high].

    `signed` objects may be negative, so -1 is a value there, not the "unknown"
    sentinel. `codes` lists the enumerated values that carry a meaning; other
    codes (such as `unknown(1)`) are unknown. `zero_ok` accepts 0 below `low`
    (a frequency of 0 Hz while the mains is out).
    """

    field: str
    multiplier: int = 1
    divisor: int = 1
    low: float = 0.0
    high: float = float("inf")
    signed: bool = False
    codes: frozenset[int] | None = None
    zero_ok: bool = False


@dataclass(frozen=True, slots=True)
class Text:
    """A DisplayString stored as a string field of `ups_info`."""

    field: str


# Plausible ranges in stored units. They are wider than any 1-3 phase UPS of
# up to a few hundred kVA reports, and narrow enough to catch a value in the
# wrong unit (2360 "V" from a card that sends tenths) or a counter wrap.
VOLTS = dict(low=0.0, high=600.0)
AMPS = dict(divisor=10, low=0.0, high=2000.0)
WATTS = dict(low=0.0, high=1_000_000.0)
HERTZ = dict(divisor=10, low=40.0, high=70.0, zero_ok=True)
LINES = dict(low=1.0, high=3.0)

# upsIdent group (1.3.6.1.2.1.33.1.1): strings for `ups_info`.
IDENTITY: dict[str, Text] = {
    "1.3.6.1.2.1.33.1.1.1.0": Text("manufacturer"),    # upsIdentManufacturer
    "1.3.6.1.2.1.33.1.1.2.0": Text("model"),           # upsIdentModel
    "1.3.6.1.2.1.33.1.1.3.0": Text("firmware"),        # upsIdentUPSSoftwareVersion
    "1.3.6.1.2.1.33.1.1.4.0": Text("agent_firmware"),  # upsIdentAgentSoftwareVersion
}

# Scalars of the `ups` measurement.
UPS_SCALARS: dict[str, Number] = {
    # upsBatteryStatus: unknown(1), batteryNormal(2), batteryLow(3), batteryDepleted(4)
    "1.3.6.1.2.1.33.1.2.1.0": Number("battery_status", codes=frozenset({2, 3, 4})),
    # upsSecondsOnBattery: seconds, 0 when on mains; a week is the plausible limit.
    "1.3.6.1.2.1.33.1.2.2.0": Number("seconds_on_battery", high=7 * 86400.0),
    # upsEstimatedMinutesRemaining: minutes.
    "1.3.6.1.2.1.33.1.2.3.0": Number("runtime_s", multiplier=60, high=7 * 86400.0),
    # upsEstimatedChargeRemaining: percent.
    "1.3.6.1.2.1.33.1.2.4.0": Number("charge_pct", high=100.0),
    # upsBatteryVoltage: 0.1 V DC.
    "1.3.6.1.2.1.33.1.2.5.0": Number("battery_voltage_v", divisor=10, high=1000.0),
    # upsBatteryCurrent: 0.1 A DC, Integer32, negative while discharging.
    "1.3.6.1.2.1.33.1.2.6.0": Number("battery_current_a", divisor=10, low=-2000.0, high=2000.0,
                                     signed=True),
    # upsBatteryTemperature: degrees Celsius, Integer32.
    "1.3.6.1.2.1.33.1.2.7.0": Number("battery_temperature_c", low=-40.0, high=100.0, signed=True),
    # upsOutputSource: other(1), none(2), normal(3), bypass(4), battery(5), booster(6),
    # reducer(7). other(1) does not tell the power path, so it is unknown.
    "1.3.6.1.2.1.33.1.4.1.0": Number("output_source", codes=frozenset({2, 3, 4, 5, 6, 7})),
    # upsOutputFrequency, upsBypassFrequency: 0.1 Hz.
    "1.3.6.1.2.1.33.1.4.2.0": Number("output_frequency_hz", **HERTZ),
    "1.3.6.1.2.1.33.1.5.1.0": Number("bypass_frequency_hz", **HERTZ),
    # upsAlarmsPresent: Gauge32.
    "1.3.6.1.2.1.33.1.6.1.0": Number("alarms_present", high=1000.0),
}

# upsInputNumLines, upsOutputNumLines, upsBypassNumLines.
LINE_COUNTS: dict[str, tuple[str, Number]] = {
    "1.3.6.1.2.1.33.1.3.2.0": ("input", Number("input_lines", **LINES)),
    "1.3.6.1.2.1.33.1.4.3.0": ("output", Number("output_lines", **LINES)),
    # Not stored: only checked against the rows of the bypass table.
    "1.3.6.1.2.1.33.1.5.2.0": ("bypass", Number("bypass_lines", **LINES)),
}

SCALAR_OIDS: tuple[str, ...] = (SYS_DESCR, SYS_OBJECT_ID, *IDENTITY, *UPS_SCALARS, *LINE_COUNTS)

# Line tables: column OID -> (side, field). Rows are indexed by line number 1..3.
LINE_COLUMNS: dict[str, tuple[str, Number]] = {
    # upsInputTable 1.3.6.1.2.1.33.1.3.3.1
    "1.3.6.1.2.1.33.1.3.3.1.2": ("input", Number("frequency_hz", **HERTZ)),
    "1.3.6.1.2.1.33.1.3.3.1.3": ("input", Number("voltage_v", **VOLTS)),
    "1.3.6.1.2.1.33.1.3.3.1.4": ("input", Number("current_a", **AMPS)),
    "1.3.6.1.2.1.33.1.3.3.1.5": ("input", Number("power_w", **WATTS)),  # upsInputTruePower
    # upsOutputTable 1.3.6.1.2.1.33.1.4.4.1
    "1.3.6.1.2.1.33.1.4.4.1.2": ("output", Number("voltage_v", **VOLTS)),
    "1.3.6.1.2.1.33.1.4.4.1.3": ("output", Number("current_a", **AMPS)),
    "1.3.6.1.2.1.33.1.4.4.1.4": ("output", Number("power_w", **WATTS)),
    "1.3.6.1.2.1.33.1.4.4.1.5": ("output", Number("load_pct", high=200.0)),  # upsOutputPercentLoad
    # upsBypassTable 1.3.6.1.2.1.33.1.5.3.1
    "1.3.6.1.2.1.33.1.5.3.1.2": ("bypass", Number("voltage_v", **VOLTS)),
    "1.3.6.1.2.1.33.1.5.3.1.3": ("bypass", Number("current_a", **AMPS)),
    "1.3.6.1.2.1.33.1.5.3.1.4": ("bypass", Number("power_w", **WATTS)),
}

# upsAlarmDescr (1.3.6.1.2.1.33.1.6.2.1.2): rows indexed by upsAlarmId, value an OID.
ALARM_DESCR_COLUMN = "1.3.6.1.2.1.33.1.6.2.1.2"
TABLE_COLUMNS: tuple[str, ...] = (*LINE_COLUMNS, ALARM_DESCR_COLUMN)

# upsWellKnownAlarms 1.3.6.1.2.1.33.1.6.3: the names RFC 1628 gives them.
WELL_KNOWN_ALARMS_PREFIX = "1.3.6.1.2.1.33.1.6.3."
WELL_KNOWN_ALARMS: dict[str, str] = {
    f"{WELL_KNOWN_ALARMS_PREFIX}{number}": name
    for number, name in enumerate(
        (
            "upsAlarmBatteryBad",
            "upsAlarmOnBattery",
            "upsAlarmLowBattery",
            "upsAlarmDepletedBattery",
            "upsAlarmTempBad",
            "upsAlarmInputBad",
            "upsAlarmOutputBad",
            "upsAlarmOutputOverload",
            "upsAlarmOnBypass",
            "upsAlarmBypassBad",
            "upsAlarmOutputOffAsRequested",
            "upsAlarmUpsOffAsRequested",
            "upsAlarmChargerFailed",
            "upsAlarmUpsOutputOff",
            "upsAlarmUpsSystemOff",
            "upsAlarmFanFailure",
            "upsAlarmFuseFailure",
            "upsAlarmGeneralFault",
            "upsAlarmDiagnosticTestFailed",
            "upsAlarmCommunicationsLost",
            "upsAlarmAwaitingPower",
            "upsAlarmShutdownPending",
            "upsAlarmShutdownImminent",
            "upsAlarmTestInProgress",
        ),
        start=1,
    )
}

MAX_LINES = 3
