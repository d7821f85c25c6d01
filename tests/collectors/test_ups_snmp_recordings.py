"""End to end: snmpsim serves the real recordings, `run --once` stores them in InfluxDB 1.x.

Every expected value below was worked out by hand from the `.snmprec` file
(OID|type|value) and the RFC 1628 units: upsEstimatedMinutesRemaining in
minutes (×60 → s), battery voltage/current, line currents and frequencies in
tenths, voltages in volts, power in watts, load in percent.
"""

from __future__ import annotations

import pytest
from servers import recordings_dir, snmpsim
from snmp_support import create_database, fields_by_series, run_once, ups_yaml, write_config

RECORDINGS = ("liebert_apm", "deltaups_rfc1628string", "eaton-mgeups_93ps", "huaweiups_ups2000",
              "istars", "netagent2")

NORMAL = {"output_source": 3.0, "on_battery": 0.0, "on_bypass": 0.0}  # upsOutputSource 1.4.1.0 = 3

EXPECTED_UPS = {
    "liebert_apm": {
        **NORMAL,
        "battery_status": 2.0,          # 1.2.1.0 = 2 batteryNormal
        "runtime_s": 4320.0,            # 1.2.3.0 = 72 min
        "output_frequency_hz": 49.9,    # 1.4.2.0 = 499
        "bypass_frequency_hz": 49.9,    # 1.5.1.0 = 499
        "alarms_present": 0.0,          # 1.6.1.0 = Gauge32 0
        "input_lines": 3.0,             # no 1.3.2.0; rows 1..3 of 1.3.3.1.3
        "output_lines": 3.0,            # no 1.4.3.0; rows 1..3 of 1.4.4.1.2
    },
    "deltaups_rfc1628string": {
        **NORMAL,
        "battery_status": 2.0,          # 1.2.1.0 = 2
        "seconds_on_battery": 0.0,      # 1.2.2.0 = 0
        "runtime_s": 20280.0,           # 1.2.3.0 = 338 min
        "charge_pct": 29.0,             # 1.2.4.0 = 29
        "battery_voltage_v": 55.4,      # 1.2.5.0 = 554 tenths
        "battery_temperature_c": 14.0,  # 1.2.7.0 = 14; 1.2.6.0 (current) is Null
        "output_frequency_hz": 50.0,    # 1.4.2.0 = 500
        "bypass_frequency_hz": 50.0,    # 1.5.1.0 = 500
        "input_frequency_hz": 50.0,     # 1.3.3.1.2.1 = 500
        "input_lines": 1.0,             # rows 2 and 3 hold only Null
        "output_lines": 1.0,
        "load_pct_max": 8.0,            # 1.4.4.1.5.1 = 8
    },
    "eaton-mgeups_93ps": {
        **NORMAL,
        "battery_status": 2.0,          # 1.2.1.0 = 2
        "seconds_on_battery": 0.0,      # 1.2.2.0 = 0
        "runtime_s": 8220.0,            # 1.2.3.0 = 137 min
        "charge_pct": 100.0,            # 1.2.4.0 = 100
        "battery_voltage_v": 417.0,     # 1.2.5.0 = 4170 tenths
        "battery_current_a": 0.0,       # 1.2.6.0 = 0
        "battery_temperature_c": 25.0,  # 1.2.7.0 = 25
        "output_frequency_hz": 50.0,    # 1.4.2.0 = 500
        "bypass_frequency_hz": 50.2,    # 1.5.1.0 = 502
        "input_frequency_hz": 50.2,     # 1.3.3.1.2.1 = 502
        "input_lines": 3.0,             # no 1.3.2.0; three rows
        "output_lines": 3.0,
        "load_pct_max": 29.0,           # max of 1.4.4.1.5.{1,2,3} = 7, 19, 29
    },
    "huaweiups_ups2000": {
        **NORMAL,
        "battery_status": 2.0,          # 1.2.1.0 = Gauge32 2
        "seconds_on_battery": 0.0,      # 1.2.2.0 = Gauge32 0
        # 1.2.3.0 = Gauge32 4294967295: unknown, no runtime_s
        "charge_pct": 100.0,            # 1.2.4.0 = Gauge32 100
        "battery_voltage_v": 270.7,     # 1.2.5.0 = Gauge32 2707 tenths
        "battery_current_a": 0.4,       # 1.2.6.0 = 4 tenths
        "battery_temperature_c": 21.0,  # 1.2.7.0 = 21
        "output_frequency_hz": 50.0,    # 1.4.2.0 = Gauge32 500
        "bypass_frequency_hz": 50.0,    # 1.5.1.0 = Gauge32 500
        "input_frequency_hz": 50.0,     # 1.3.3.1.2.1 = 500
        "input_lines": 1.0,
        "output_lines": 1.0,
        "load_pct_max": 27.0,           # 1.4.4.1.5.1 = 27
    },
    "istars": {
        **NORMAL,
        "battery_status": 2.0,          # 1.2.1.0 = 2
        "seconds_on_battery": 0.0,      # 1.2.2.0 = 0
        "runtime_s": 50880.0,           # 1.2.3.0 = 848 min
        "charge_pct": 100.0,            # 1.2.4.0 = 100
        "battery_voltage_v": 216.9,     # 1.2.5.0 = 2169 tenths
        "battery_current_a": 0.0,       # 1.2.6.0 = 0
        "battery_temperature_c": 35.0,  # 1.2.7.0 = 35
        "output_frequency_hz": 60.0,    # 1.4.2.0 = 600
        "bypass_frequency_hz": 60.0,    # 1.5.1.0 = 600
        "alarms_present": 0.0,          # 1.6.1.0 = 0
        # Line rows are indexed `…1.0`, so the declared counts (1.3.2.0 = 1,
        # 1.4.3.0 = 1) have no rows: no lines, counts, input frequency or load.
    },
    "netagent2": {
        "battery_voltage_v": 269.0,     # 1.2.5.0 = 2690 tenths; the rest sits in enterprise 935
        # 1.3.2.0 = 3 and 1.4.3.0 = 3 declare lines without any row: unknown.
    },
}

EXPECTED_LINES = {
    "liebert_apm": {
        # 1.3.3.1.3.n (V) and 1.3.3.1.4.n (0.1 A)
        ("input", "1"): {"voltage_v": 229.0, "current_a": 39.0},
        ("input", "2"): {"voltage_v": 229.0, "current_a": 40.0},
        ("input", "3"): {"voltage_v": 229.0, "current_a": 38.0},
        # 1.4.4.1.2.n (V) and 1.4.4.1.3.n (0.1 A)
        ("output", "1"): {"voltage_v": 229.0, "current_a": 35.0},
        ("output", "2"): {"voltage_v": 231.0, "current_a": 30.0},
        ("output", "3"): {"voltage_v": 229.0, "current_a": 28.0},
        # 1.5.3.1.2.n (V)
        ("bypass", "1"): {"voltage_v": 228.0},
        ("bypass", "2"): {"voltage_v": 228.0},
        ("bypass", "3"): {"voltage_v": 230.0},
    },
    "deltaups_rfc1628string": {
        # Voltages in tenths on this sysObjectID (1.3.6.1.4.1.2254.2.5):
        # 1.3.3.1.3.1 = 2360, 1.4.4.1.2.1 = 2300, 1.5.3.1.2.1 = 2350.
        ("input", "1"): {"frequency_hz": 50.0, "voltage_v": 236.0},
        ("output", "1"): {"voltage_v": 230.0, "current_a": 0.0, "power_w": 122.0, "load_pct": 8.0},
        ("bypass", "1"): {"voltage_v": 235.0, "current_a": 0.0, "power_w": 0.0},
    },
    "eaton-mgeups_93ps": {
        # Input true power 1.3.3.1.5.n = 0 W at 238 V × 4.8 A is not a measurement: left out.
        ("input", "1"): {"frequency_hz": 50.2, "voltage_v": 238.0, "current_a": 4.8},
        ("input", "2"): {"frequency_hz": 50.2, "voltage_v": 239.0, "current_a": 4.9},
        ("input", "3"): {"frequency_hz": 50.2, "voltage_v": 240.0, "current_a": 4.8},
        ("output", "1"): {"voltage_v": 230.0, "current_a": 2.2, "power_w": 400.0, "load_pct": 7.0},
        ("output", "2"): {"voltage_v": 230.0, "current_a": 5.6, "power_w": 1100.0,
                          "load_pct": 19.0},
        ("output", "3"): {"voltage_v": 230.0, "current_a": 8.6, "power_w": 1600.0,
                          "load_pct": 29.0},
        ("bypass", "1"): {"voltage_v": 238.0, "current_a": 0.0, "power_w": 0.0},
        ("bypass", "2"): {"voltage_v": 239.0, "current_a": 0.0, "power_w": 0.0},
        ("bypass", "3"): {"voltage_v": 239.0, "current_a": 0.0, "power_w": 0.0},
    },
    "huaweiups_ups2000": {
        ("input", "1"): {"frequency_hz": 50.0, "voltage_v": 233.0},
        # 1.4.4.1.4.1 = 1 W at 230 V × 7.2 A (1656 VA) is not plausible: left out.
        ("output", "1"): {"voltage_v": 230.0, "current_a": 7.2, "load_pct": 27.0},
        ("bypass", "1"): {"voltage_v": 233.0},
    },
    "istars": {},
    "netagent2": {},
}

EXPECTED_INFO = {
    "liebert_apm": None,
    "deltaups_rfc1628string": None,
    "eaton-mgeups_93ps": {"manufacturer": "EATON",
                          "agent_firmware": "Network Management Card V6.00 LD"},
    "huaweiups_ups2000": {"manufacturer": "HUAWEI", "model": "UPS2000 6kVA",
                          "firmware": "V100R001C00SPC602"},
    "istars": {"firmware": "R1.1.1", "agent_firmware": "iStars_SWV4.25"},
    "netagent2": {"manufacturer": "INVT CO., LTD", "agent_firmware": "2.48.DP520.WEST"},
}

# Unknown values per recording, counted by hand:
# delta 25 = battery current Null + input line 1 current and power Null
#   + 4 input, 4 output and 3 bypass Null columns on each of lines 2 and 3;
# eaton 3 = input power of lines 1-3; huawei 2 = runtime sentinel + output power;
# istars 14 = 11 row values indexed `…1.0` + 3 declared line counts without rows;
# netagent2 2 = the input and output line counts without rows.
EXPECTED_INVALID = 0 + 25 + 3 + 2 + 14 + 2

SENTINEL_VALUES = {65535.0, 6553.5, 4294967295.0, 429496729.5, 2147483647.0, -1.0, -0.1}


@pytest.fixture(scope="module", params=["2c", "1"], ids=["snmp-v2c", "snmp-v1"])
def stored(request, influxdb, tmp_path_factory):
    """Poll every recording once through the CLI with SNMP v2c or v1; return the database."""
    folder = recordings_dir()
    database_name = f"recordings_v{request.param}"
    database = create_database(influxdb, database_name)
    with snmpsim({ups: folder / f"{ups}.snmprec" for ups in RECORDINGS}) as agent:
        state = tmp_path_factory.mktemp(database_name)
        version = f", version: '{request.param}'"
        body = (f"influxdb: {{url: {influxdb.url}, api: v1, database: {database_name}}}\nups:\n"
                + "".join(ups_yaml(ups, agent.port, ups, version) for ups in RECORDINGS))
        result = run_once(write_config(state, body))
    assert result.returncode == 0, result.stderr
    return database


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_ups_fields(stored, name):
    ups = fields_by_series(stored, "ups", name)
    assert ups == {(): EXPECTED_UPS[name]}


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_line_fields(stored, name):
    lines = fields_by_series(stored, "ups_line", name, ("side", "line"))
    assert lines == EXPECTED_LINES[name]


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_identity(stored, name):
    info = fields_by_series(stored, "ups_info", name)
    expected = EXPECTED_INFO[name]
    assert info == ({(): expected} if expected else {})


def test_recordings_tags_and_no_alarms(stored):
    series = stored.query('SHOW SERIES FROM "ups"')
    keys = sorted(row[0] for item in series for row in item["values"])
    assert keys == sorted(f"ups,site=test-site,source=snmp,ups={name}" for name in RECORDINGS)
    assert stored.query('SELECT * FROM "ups_alarm"') == []


def test_recordings_every_target_up(stored):
    rows = stored.points('SELECT "up" FROM "target" GROUP BY "target"')
    assert {row["target"]: row["up"] for row in rows} == {name: 1.0 for name in RECORDINGS}


def test_recordings_invalid_values_counted(stored):
    rows = stored.points('SELECT "invalid_values" FROM "agent"')
    assert [row["invalid_values"] for row in rows] == [float(EXPECTED_INVALID)]


def test_recordings_store_no_sentinel(stored):
    for measurement in ("ups", "ups_line"):
        for row in stored.points(f'SELECT * FROM "{measurement}"'):
            numbers = {value for value in row.values() if isinstance(value, float)}
            assert not numbers & SENTINEL_VALUES, row
