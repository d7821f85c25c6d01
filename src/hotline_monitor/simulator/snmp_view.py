"""The UPS state as RFC 1628 (UPS-MIB, 1.3.6.1.2.1.33) objects.

Units follow RFC 1628: voltages in volts, currents and frequencies in tenths,
battery voltage in tenths of a volt, battery temperature in whole °C, runtime
(upsEstimatedMinutesRemaining) in minutes, alarm times as sysUpTime ticks.

When a recording is given, its objects are served as the base: identity
(system group, upsIdent), vendor trees and quirks stay as recorded. An RFC 1628 object the model drives
takes the model's value, encoded with the recorded type (a card that answers
Gauge32 or a STRING for an Integer keeps doing so), unless the recording holds
Null or a sentinel there: that card never reports the value, so neither does
the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline_monitor.simulator.model import Snapshot
from hotline_monitor.simulator.recording import Oid, Value, parse_oid

INTEGER, OCTET_STRING, NULL, OBJECT_ID = 2, 4, 5, 6
COUNTER32, GAUGE32, TIME_TICKS = 65, 66, 67

SENTINELS = {65535, 4294967295, 2147483647, -1}
SENTINEL = 65535
"""What a faulty sensor's value reads as over SNMP (a common card sentinel)."""

UPS = parse_oid("1.3.6.1.2.1.33.1")
SYSTEM = parse_oid("1.3.6.1.2.1.1")
UPS_IDENT = parse_oid("1.3.6.1.2.1.33.1.1")
ALARM_TABLE = parse_oid("1.3.6.1.2.1.33.1.6.2")
SYS_DESCR = parse_oid("1.3.6.1.2.1.1.1.0")
SYS_OBJECT_ID = parse_oid("1.3.6.1.2.1.1.2.0")
SYS_UPTIME = parse_oid("1.3.6.1.2.1.1.3.0")
SYS_NAME = parse_oid("1.3.6.1.2.1.1.5.0")
TEST_NO_TESTS = parse_oid("1.3.6.1.2.1.33.1.7.7.1")
TEST_QUICK_BATTERY = parse_oid("1.3.6.1.2.1.33.1.7.7.4")


@dataclass(frozen=True, slots=True)
class Identity:
    manufacturer: str = "Hotline Simulator"
    model: str = "SIM-100K3"
    firmware: str = "1.0"
    agent_version: str = "hotline-monitor simulator"
    name: str = "simulated-ups"
    sys_descr: str = "Simulated 100 kVA three-phase UPS (hotline-monitor)"
    # upsMIB itself: generic RFC 1628 cards report it, and it matches no vendor profile.
    sys_object_id: str = "1.3.6.1.2.1.33"


def _tenths(value: float) -> int:
    return int(round(value * 10))


def _entry(column: Oid, *index: int) -> Oid:
    return UPS + column + index


def model_objects(snapshot: Snapshot, identity: Identity) -> dict[Oid, Value]:
    """Map every object the model drives to (tag, value), faults applied."""
    objects: dict[Oid, Value] = {
        SYS_DESCR: (OCTET_STRING, identity.sys_descr),
        SYS_OBJECT_ID: (OBJECT_ID, parse_oid(identity.sys_object_id)),
        SYS_UPTIME: (TIME_TICKS, snapshot.uptime_cs),
        SYS_NAME: (OCTET_STRING, identity.name),
        _entry((1, 1, 0)): (OCTET_STRING, identity.manufacturer),
        _entry((1, 2, 0)): (OCTET_STRING, identity.model),
        _entry((1, 3, 0)): (OCTET_STRING, identity.firmware),
        _entry((1, 4, 0)): (OCTET_STRING, identity.agent_version),
        _entry((1, 5, 0)): (OCTET_STRING, identity.name),
    }
    faults = snapshot.faults

    def put(oid: Oid, key: str, tag: int, value: int) -> None:
        fault = faults.get(key)
        if fault == "null":
            objects[oid] = (NULL, None)
        elif fault == "sentinel":
            objects[oid] = (tag, SENTINEL)
        else:
            objects[oid] = (tag, value)

    # upsBattery (1.2)
    put(_entry((2, 1, 0)), "battery_status", INTEGER, snapshot.battery_status)
    put(_entry((2, 2, 0)), "seconds_on_battery", INTEGER, int(snapshot.seconds_on_battery))
    put(_entry((2, 3, 0)), "runtime_s", INTEGER, int(snapshot.runtime_s // 60))
    put(_entry((2, 4, 0)), "charge_pct", INTEGER, int(round(snapshot.charge_pct)))
    put(_entry((2, 5, 0)), "battery_voltage", INTEGER, _tenths(snapshot.battery_voltage))
    put(_entry((2, 6, 0)), "battery_current", INTEGER, _tenths(snapshot.battery_current))
    put(_entry((2, 7, 0)), "battery_temperature", INTEGER, int(round(snapshot.battery_temperature)))

    # upsInput (1.3): line bads, number of lines, then the table by column.
    objects[_entry((3, 1, 0))] = (COUNTER32, snapshot.input_line_bads)
    objects[_entry((3, 2, 0))] = (INTEGER, len(snapshot.lines))
    for index, line in enumerate(snapshot.lines, start=1):
        objects[_entry((3, 3, 1, 1), index)] = (INTEGER, index)
        put(_entry((3, 3, 1, 2), index), "input_frequency", INTEGER, _tenths(snapshot.input_frequency))
        put(_entry((3, 3, 1, 3), index), "input_voltage", INTEGER, int(round(line.input_voltage)))
        put(_entry((3, 3, 1, 4), index), "input_current", INTEGER, _tenths(line.input_current))
        put(_entry((3, 3, 1, 5), index), "input_power", INTEGER, int(round(line.input_power)))

    # upsOutput (1.4)
    put(_entry((4, 1, 0)), "output_source", INTEGER, snapshot.output_source)
    put(_entry((4, 2, 0)), "output_frequency", INTEGER, _tenths(snapshot.output_frequency))
    objects[_entry((4, 3, 0))] = (INTEGER, len(snapshot.lines))
    for index, line in enumerate(snapshot.lines, start=1):
        objects[_entry((4, 4, 1, 1), index)] = (INTEGER, index)
        put(_entry((4, 4, 1, 2), index), "output_voltage", INTEGER, int(round(line.output_voltage)))
        put(_entry((4, 4, 1, 3), index), "output_current", INTEGER, _tenths(line.output_current))
        put(_entry((4, 4, 1, 4), index), "output_power", INTEGER, int(round(line.output_power)))
        put(_entry((4, 4, 1, 5), index), "load_pct", INTEGER, int(round(line.load_pct)))

    # upsBypass (1.5)
    put(_entry((5, 1, 0)), "bypass_frequency", INTEGER, _tenths(snapshot.bypass_frequency))
    objects[_entry((5, 2, 0))] = (INTEGER, len(snapshot.lines))
    for index, line in enumerate(snapshot.lines, start=1):
        objects[_entry((5, 3, 1, 1), index)] = (INTEGER, index)
        put(_entry((5, 3, 1, 2), index), "bypass_voltage", INTEGER, int(round(line.bypass_voltage)))
        put(_entry((5, 3, 1, 3), index), "bypass_current", INTEGER, _tenths(line.bypass_current))
        put(_entry((5, 3, 1, 4), index), "bypass_power", INTEGER, int(round(line.bypass_power)))

    # upsAlarm (1.6): the count always equals the rows of the table.
    put(_entry((6, 1, 0)), "alarms_present", GAUGE32, len(snapshot.alarms))
    for alarm in snapshot.alarms:
        objects[_entry((6, 2, 1, 1), alarm.alarm_id)] = (INTEGER, alarm.alarm_id)
        objects[_entry((6, 2, 1, 2), alarm.alarm_id)] = (OBJECT_ID, parse_oid(alarm.oid))
        objects[_entry((6, 2, 1, 3), alarm.alarm_id)] = (TIME_TICKS, alarm.uptime_cs)

    # upsTest (1.7)
    tested = snapshot.test_result != 6
    objects[_entry((7, 1, 0))] = (OBJECT_ID, TEST_QUICK_BATTERY if tested else TEST_NO_TESTS)
    objects[_entry((7, 2, 0))] = (INTEGER, snapshot.test_id)
    objects[_entry((7, 3, 0))] = (INTEGER, snapshot.test_result)
    objects[_entry((7, 4, 0))] = (OCTET_STRING, snapshot.test_detail)

    # upsConfig (1.9): nominal values of the unit; upsConfigLowBattTime in minutes.
    objects[_entry((9, 1, 0))] = (INTEGER, 220)
    objects[_entry((9, 2, 0))] = (INTEGER, 500)
    objects[_entry((9, 3, 0))] = (INTEGER, 220)
    objects[_entry((9, 4, 0))] = (INTEGER, 500)
    objects[_entry((9, 5, 0))] = (INTEGER, 100_000)
    objects[_entry((9, 6, 0))] = (INTEGER, 90_000)
    objects[_entry((9, 7, 0))] = (INTEGER, 5)
    return objects


def served_objects(model: dict[Oid, Value], recording: dict[Oid, Value] | None,
                   ) -> list[tuple[Oid, Value]]:
    """Merge the model's objects over a recording; return them sorted by OID."""
    if not recording:
        return sorted(model.items())

    # The alarm table and sysUpTime always come from the model: recorded rows
    # would describe alarms that the simulated state does not have.
    merged = {oid: value for oid, value in recording.items() if oid[:len(ALARM_TABLE)] != ALARM_TABLE}
    has_ups_data = _has_ups_data(recording)
    for oid, value in model.items():
        recorded = recording.get(oid)
        if oid[:len(ALARM_TABLE)] == ALARM_TABLE or oid == SYS_UPTIME:
            merged[oid] = value
        elif recorded is None:
            # An RFC 1628 object the card does not have stays absent.
            if oid[:len(UPS)] != UPS or not has_ups_data:
                merged[oid] = value
        elif _is_identity(oid):
            merged[oid] = recorded
        else:
            merged[oid] = _keep_quirks(recorded, value)
    return sorted(merged.items())


def _is_identity(oid: Oid) -> bool:
    return oid[:len(SYSTEM)] == SYSTEM or oid[:len(UPS_IDENT)] == UPS_IDENT


def _has_ups_data(recording: dict[Oid, Value]) -> bool:
    return any(oid[:len(UPS)] == UPS for oid in recording)


def _keep_quirks(recorded: Value, modelled: Value) -> Value:
    recorded_tag, recorded_value = recorded
    tag, value = modelled
    if recorded_tag == NULL or recorded_value in SENTINELS:
        return recorded
    if tag == NULL or recorded_tag == tag:
        return modelled
    if recorded_tag == OCTET_STRING and isinstance(value, int):
        return (OCTET_STRING, str(value))
    if recorded_tag in (INTEGER, GAUGE32, COUNTER32) and isinstance(value, int):
        if recorded_tag != INTEGER and value < 0:
            return recorded
        return (recorded_tag, value)
    return modelled
