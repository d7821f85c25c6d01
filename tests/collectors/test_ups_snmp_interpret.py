"""`interpret` and the collector's change tracking, on varbinds built by hand."""

from __future__ import annotations

import asyncio
import socket

import pytest

from hotline_monitor.collectors.ups_snmp import ber
from hotline_monitor.collectors.ups_snmp.collector import SnmpUpsCollector
from hotline_monitor.collectors.ups_snmp.interpret import interpret
from hotline_monitor.config.model import UpsConfig

UPS = "1.3.6.1.2.1.33.1"
OUTPUT_LOAD = f"{UPS}.4.4.1.5"
INPUT_VOLTAGE = f"{UPS}.3.3.1.3"
ALARM_DESCR = f"{UPS}.6.2.1.2"


def integer(value: int) -> ber.Value:
    return (ber.INTEGER, value)


def oid(value: str) -> ber.Value:
    return (ber.OBJECT_IDENTIFIER, value)


def test_on_battery_derived():
    data = interpret({f"{UPS}.4.1.0": integer(5)}, {})
    assert (data.ups["on_battery"], data.ups["on_bypass"]) == (1.0, 0.0)


def test_on_bypass_derived():
    data = interpret({f"{UPS}.4.1.0": integer(4)}, {})
    assert (data.ups["on_battery"], data.ups["on_bypass"]) == (0.0, 1.0)


def test_unknown_source_derives_nothing():
    data = interpret({f"{UPS}.4.1.0": integer(1)}, {})
    assert data.ups == {}
    assert data.invalid == 1


def test_load_max_over_all_lines():
    tables = {OUTPUT_LOAD: [("1", integer(60)), ("2", integer(66)), ("3", integer(73))]}
    data = interpret({f"{UPS}.4.3.0": integer(3)}, tables)
    assert data.ups["load_pct_max"] == 73.0
    assert data.ups["output_lines"] == 3.0


def test_load_max_unknown_when_a_line_unknown():
    # Line 3 answers the 65535 sentinel: the maximum of lines 1 and 2 could hide an overload.
    tables = {OUTPUT_LOAD: [("1", integer(60)), ("2", integer(66)), ("3", integer(65535))]}
    data = interpret({f"{UPS}.4.3.0": integer(3)}, tables)
    assert "load_pct_max" not in data.ups
    assert data.invalid == 1


def test_line_count_from_rows():
    tables = {INPUT_VOLTAGE: [("1", integer(230)), ("2", integer(231))]}
    data = interpret({}, tables)
    assert data.ups["input_lines"] == 2.0


def test_declared_count_without_rows_unknown():
    data = interpret({f"{UPS}.3.2.0": integer(3)}, {})
    assert "input_lines" not in data.ups
    assert data.invalid == 1


def test_row_index_with_zero_suffix_unknown():
    data = interpret({}, {INPUT_VOLTAGE: [("1.0", integer(224))]})
    assert data.lines == {}
    assert data.invalid == 1


def test_row_index_beyond_three_unknown():
    data = interpret({}, {INPUT_VOLTAGE: [("4", integer(224))]})
    assert data.lines == {}
    assert data.invalid == 1


def test_delta_profile_by_sys_object_id():
    scalars = {"1.3.6.1.2.1.1.2.0": oid("1.3.6.1.4.1.2254.2.5")}
    data = interpret(scalars, {INPUT_VOLTAGE: [("1", integer(2360))]})
    assert data.profile is not None and data.profile.name == "delta-mini-snmp"
    assert data.lines == {("input", 1): {"voltage_v": 236.0}}


def test_configured_profile_overrides_match():
    scalars = {"1.3.6.1.2.1.1.2.0": oid("1.3.6.1.4.1.2254.2.5")}
    data = interpret(scalars, {INPUT_VOLTAGE: [("1", integer(2360))]}, "rfc1628")
    assert data.lines == {}
    assert data.invalid == 1


def test_alarms_named_by_rfc1628():
    tables = {ALARM_DESCR: [("1", oid(f"{UPS}.6.3.2")), ("7", oid("1.3.6.1.4.1.935.10.1"))]}
    data = interpret({f"{UPS}.6.1.0": (ber.GAUGE32, 2)}, tables)
    assert data.alarms == {"upsAlarmOnBattery", "1.3.6.1.4.1.935.10.1"}


def test_alarms_none_when_count_zero():
    assert interpret({f"{UPS}.6.1.0": (ber.GAUGE32, 0)}, {}).alarms == set()


def test_alarms_unknown_without_count():
    assert interpret({}, {}).alarms is None


class ScriptedClient:
    """Answers GET and GETBULK from a dict of OID -> value, like an agent would."""

    supports_bulk = True

    def __init__(self, values: dict[str, ber.Value]) -> None:
        self.values = values

    async def get(self, oids):
        return [(name, self.values.get(name, (ber.NO_SUCH_OBJECT, None))) for name in oids]

    def _next(self, cursor: str) -> ber.VarBind:
        key = tuple(map(int, cursor.split(".")))
        following = sorted((name for name in self.values
                            if tuple(map(int, name.split("."))) > key),
                           key=lambda name: tuple(map(int, name.split("."))))
        if not following:
            return (cursor, (ber.END_OF_MIB_VIEW, None))
        return (following[0], self.values[following[0]])

    async def get_bulk(self, oids, max_repetitions, non_repeaters=0):
        rows = [self._next(oid) for oid in oids[:non_repeaters]]
        cursors = list(oids[non_repeaters:])
        for _ in range(max_repetitions):
            for position, cursor in enumerate(cursors):
                name, value = self._next(cursor)
                cursors[position] = name
                rows.append((name, value))
        return rows

    async def close(self):
        pass


def poll_with(collector: SnmpUpsCollector, values: dict[str, ber.Value]):
    collector._client = ScriptedClient(values)
    return asyncio.run(collector.poll())


def alarm_changes(result) -> list[tuple[str, float]]:
    return [(reading.tags["alarm"], reading.fields["active"])
            for reading in result.readings if reading.measurement == "ups_alarm"]


def make_collector() -> SnmpUpsCollector:
    ups = UpsConfig(id="ups-main", snmp={"host": "127.0.0.1", "port": 16100})
    return SnmpUpsCollector(ups, site="test-site")


ON_BATTERY_ALARM = {f"{UPS}.6.1.0": (ber.GAUGE32, 1), f"{ALARM_DESCR}.1": oid(f"{UPS}.6.3.2")}
NO_ALARM = {f"{UPS}.6.1.0": (ber.GAUGE32, 0)}


def test_alarm_written_when_it_appears_and_clears():
    collector = make_collector()
    assert alarm_changes(poll_with(collector, ON_BATTERY_ALARM)) == [("upsAlarmOnBattery", 1.0)]
    assert alarm_changes(poll_with(collector, ON_BATTERY_ALARM)) == []
    assert alarm_changes(poll_with(collector, NO_ALARM)) == [("upsAlarmOnBattery", 0.0)]


def test_alarm_not_cleared_when_table_unknown():
    collector = make_collector()
    poll_with(collector, ON_BATTERY_ALARM)
    # upsAlarmsPresent answers -1 and the table is empty: nothing is known.
    unknown = {f"{UPS}.6.1.0": integer(-1)}
    assert alarm_changes(poll_with(collector, unknown)) == []
    assert alarm_changes(poll_with(collector, NO_ALARM)) == [("upsAlarmOnBattery", 0.0)]


def test_identity_written_on_change():
    collector = make_collector()
    first = {f"{UPS}.1.1.0": (ber.OCTET_STRING, b"EATON"), f"{UPS}.1.3.0": (ber.OCTET_STRING, b"1")}
    second = {**first, f"{UPS}.1.3.0": (ber.OCTET_STRING, b"2")}

    def info(result):
        return [reading.fields for reading in result.readings if reading.measurement == "ups_info"]

    assert info(poll_with(collector, first)) == [{"manufacturer": "EATON", "firmware": "1"}]
    assert info(poll_with(collector, first)) == []
    assert info(poll_with(collector, second)) == [{"manufacturer": "EATON", "firmware": "2"}]


def test_readings_tags():
    collector = make_collector()
    values = {f"{UPS}.4.1.0": integer(3), f"{INPUT_VOLTAGE}.2": integer(231)}
    readings = {reading.measurement: reading for reading in poll_with(collector, values).readings}
    assert readings["ups"].tags == {"site": "test-site", "ups": "ups-main", "source": "snmp"}
    assert readings["ups_line"].tags == {"site": "test-site", "ups": "ups-main", "source": "snmp",
                                         "side": "input", "line": "2"}


def test_long_alarm_table_continues():
    # Ten alarms: more rows than the first GETBULK's 4 repetitions, so the
    # walk continues with max_repetitions (25 by default) from its cursor.
    values = {f"{UPS}.6.1.0": (ber.GAUGE32, 10)}
    values.update({f"{ALARM_DESCR}.{row}": oid(f"{UPS}.6.3.{row}") for row in range(1, 11)})
    changes = alarm_changes(poll_with(make_collector(), values))
    assert [name for name, _ in changes] == sorted([
        "upsAlarmBatteryBad", "upsAlarmOnBattery", "upsAlarmLowBattery",
        "upsAlarmDepletedBattery", "upsAlarmTempBad", "upsAlarmInputBad", "upsAlarmOutputBad",
        "upsAlarmOutputOverload", "upsAlarmOnBypass", "upsAlarmBypassBad"])
    assert {active for _, active in changes} == {1.0}


def test_closed_port_unreachable():
    from servers import free_port

    from hotline_monitor.errors import DeviceUnreachable

    port = free_port(socket.SOCK_DGRAM)
    ups = UpsConfig(id="ups-main", snmp={"host": "127.0.0.1", "port": port, "timeout": 1,
                                         "retries": 0})
    collector = SnmpUpsCollector(ups, site="test-site")
    with pytest.raises(DeviceUnreachable, match=f"127.0.0.1:{port}"):
        asyncio.run(collector.poll())
