"""Unit rules of `normalise`: units from RFC 1628's UNITS clauses, and every kind of unknown."""

from __future__ import annotations

import pytest

from hotline_monitor.collectors.ups_snmp import ber
from hotline_monitor.collectors.ups_snmp.normalise import Tally, number, power_is_plausible, text
from hotline_monitor.collectors.ups_snmp.oids import LINE_COLUMNS, UPS_SCALARS, Number

BATTERY_STATUS = UPS_SCALARS["1.3.6.1.2.1.33.1.2.1.0"]
SECONDS_ON_BATTERY = UPS_SCALARS["1.3.6.1.2.1.33.1.2.2.0"]
MINUTES_REMAINING = UPS_SCALARS["1.3.6.1.2.1.33.1.2.3.0"]
CHARGE = UPS_SCALARS["1.3.6.1.2.1.33.1.2.4.0"]
BATTERY_VOLTAGE = UPS_SCALARS["1.3.6.1.2.1.33.1.2.5.0"]
BATTERY_CURRENT = UPS_SCALARS["1.3.6.1.2.1.33.1.2.6.0"]
TEMPERATURE = UPS_SCALARS["1.3.6.1.2.1.33.1.2.7.0"]
OUTPUT_SOURCE = UPS_SCALARS["1.3.6.1.2.1.33.1.4.1.0"]
OUTPUT_FREQUENCY = UPS_SCALARS["1.3.6.1.2.1.33.1.4.2.0"]
INPUT_VOLTAGE = LINE_COLUMNS["1.3.6.1.2.1.33.1.3.3.1.3"][1]
INPUT_POWER = LINE_COLUMNS["1.3.6.1.2.1.33.1.3.3.1.5"][1]
OUTPUT_CURRENT = LINE_COLUMNS["1.3.6.1.2.1.33.1.4.4.1.3"][1]
OUTPUT_LOAD = LINE_COLUMNS["1.3.6.1.2.1.33.1.4.4.1.5"][1]


def integer(value: int) -> ber.Value:
    return (ber.INTEGER, value)


def convert(value: ber.Value, spec: Number, divisor: int | None = None) -> tuple[float | None, int]:
    tally = Tally()
    return number(value, spec, tally, divisor), tally.invalid


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        (MINUTES_REMAINING, 25, 1500.0),     # upsEstimatedMinutesRemaining: minutes
        (SECONDS_ON_BATTERY, 300, 300.0),    # upsSecondsOnBattery: seconds
        (CHARGE, 87, 87.0),                  # upsEstimatedChargeRemaining: percent
        (BATTERY_VOLTAGE, 4380, 438.0),      # upsBatteryVoltage: 0.1 V DC
        (BATTERY_CURRENT, 48, 4.8),          # upsBatteryCurrent: 0.1 A DC
        (TEMPERATURE, 25, 25.0),             # upsBatteryTemperature: degrees Celsius
        (OUTPUT_FREQUENCY, 499, 49.9),       # upsOutputFrequency: 0.1 Hz
        (INPUT_VOLTAGE, 229, 229.0),         # upsInputVoltage: RMS volts
        (OUTPUT_CURRENT, 86, 8.6),           # upsOutputCurrent: 0.1 RMS A
        (INPUT_POWER, 24000, 24000.0),       # upsInputTruePower: watts
        (OUTPUT_LOAD, 73, 73.0),             # upsOutputPercentLoad: percent
    ],
)
def test_number_units(spec, raw, expected):
    assert convert(integer(raw), spec) == (expected, 0)


def test_number_is_float():
    value, _ = convert(integer(100), CHARGE)
    assert type(value) is float


@pytest.mark.parametrize("sentinel", [65535, 2147483647])
def test_integer_sentinel_unknown(sentinel):
    assert convert(integer(sentinel), TEMPERATURE) == (None, 1)


def test_gauge_sentinel_unknown():
    assert convert((ber.GAUGE32, 4294967295), MINUTES_REMAINING) == (None, 1)


def test_minus_one_unknown_where_unsigned():
    assert convert(integer(-1), CHARGE) == (None, 1)


def test_negative_power_unknown():
    assert convert(integer(-400), INPUT_POWER) == (None, 1)


def test_negative_line_current_unknown():
    assert convert(integer(-22), OUTPUT_CURRENT) == (None, 1)


def test_battery_current_negative_is_discharge():
    assert convert(integer(-1234), BATTERY_CURRENT) == (-123.4, 0)


def test_battery_current_minus_one_is_a_value():
    assert convert(integer(-1), BATTERY_CURRENT) == (-0.1, 0)


def test_temperature_below_zero_kept():
    assert convert(integer(-5), TEMPERATURE) == (-5.0, 0)


@pytest.mark.parametrize("tag", [ber.NULL, ber.OBJECT_IDENTIFIER, ber.TIMETICKS, ber.IP_ADDRESS])
def test_wrong_type_unknown(tag):
    payload = {ber.NULL: None, ber.OBJECT_IDENTIFIER: "1.3.6", ber.TIMETICKS: 100,
               ber.IP_ADDRESS: b"\x7f\x00\x00\x01"}[tag]
    assert convert((tag, payload), CHARGE) == (None, 1)


@pytest.mark.parametrize("tag", [ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW])
def test_absent_left_out_uncounted(tag):
    assert convert((tag, None), CHARGE) == (None, 0)


def test_missing_varbind_left_out():
    assert convert(None, CHARGE) == (None, 0)


@pytest.mark.parametrize(("tag", "raw"), [(ber.GAUGE32, 2), (ber.COUNTER32, 2)])
def test_unsigned_types_accepted_for_integer(tag, raw):
    assert convert((tag, raw), BATTERY_STATUS) == (2.0, 0)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(b"87", (87.0, 0)), (b" 87 ", (87.0, 0)), (b"87.5", (87.5, 0)), (b"abc", (None, 1)),
     (b"", (None, 1)), (b"65535", (None, 1))],
)
def test_octet_string_number(payload, expected):
    assert convert((ber.OCTET_STRING, payload), CHARGE) == expected


@pytest.mark.parametrize(("code", "known"), [(1, False), (2, True), (3, True), (4, True), (5, False)])
def test_battery_status_codes(code, known):
    # upsBatteryStatus: unknown(1), batteryNormal(2), batteryLow(3), batteryDepleted(4)
    assert convert(integer(code), BATTERY_STATUS) == ((float(code), 0) if known else (None, 1))


@pytest.mark.parametrize(("code", "known"), [(1, False), (2, True), (3, True), (4, True),
                                             (5, True), (7, True), (8, False)])
def test_output_source_codes(code, known):
    # upsOutputSource: other(1) .. reducer(7); other(1) says nothing about the power path.
    assert convert(integer(code), OUTPUT_SOURCE) == ((float(code), 0) if known else (None, 1))


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        (INPUT_VOLTAGE, 2360, (None, 1)),     # 2360 V: a card sending tenths
        (INPUT_VOLTAGE, 600, (600.0, 0)),
        (INPUT_VOLTAGE, 0, (0.0, 0)),         # mains out
        (OUTPUT_FREQUENCY, 0, (0.0, 0)),      # no output frequency while off
        (OUTPUT_FREQUENCY, 50, (None, 1)),    # 5.0 Hz: a card sending whole hertz
        (OUTPUT_FREQUENCY, 710, (None, 1)),
        (CHARGE, 101, (None, 1)),
        (OUTPUT_LOAD, 201, (None, 1)),
        (TEMPERATURE, 101, (None, 1)),
        (TEMPERATURE, -41, (None, 1)),
        (MINUTES_REMAINING, 10081, (None, 1)),  # over a week
    ],
)
def test_plausible_range(spec, raw, expected):
    assert convert(integer(raw), spec) == expected


def test_profile_divisor_applies():
    assert convert(integer(2360), INPUT_VOLTAGE, divisor=10) == (236.0, 0)


@pytest.mark.parametrize(
    ("volts", "amps", "watts", "plausible"),
    [
        (230.0, 7.2, 1.0, False),     # 1 W at 1656 VA
        (238.0, 4.8, 0.0, False),     # 0 W at 1142 VA
        (230.0, 8.6, 1600.0, True),   # power factor 0.81
        (230.0, 2.2, 700.0, False),   # more than V × A (506 VA)
        (230.0, 0.0, 122.0, True),    # under 100 VA: too small to judge
    ],
)
def test_power_plausibility(volts, amps, watts, plausible):
    assert power_is_plausible(volts, amps, watts) is plausible


@pytest.mark.parametrize(
    ("value", "expected"),
    [((ber.OCTET_STRING, b"EATON"), "EATON"), ((ber.OCTET_STRING, b"  "), None),
     ((ber.OCTET_STRING, b"UPS\x00"), "UPS"), ((ber.NULL, None), None), (None, None)],
)
def test_text(value, expected):
    assert text(value) == expected
