"""Line protocol encoding and decoding, checked against InfluxDB's documented syntax."""

import pytest

from hotline_monitor.reading import Reading, decode_line, encode_line


def test_encode_sorts_tags_and_writes_floats():
    reading = Reading("ups", {"ups": "ups-main", "site": "xz"}, {"charge_pct": 87, "on_battery": True}, 1_700_000_000_000_000_000)

    assert encode_line(reading) == "ups,site=xz,ups=ups-main charge_pct=87.0,on_battery=1.0 1700000000000000000"


def test_encode_escapes_spaces_commas_and_equals():
    reading = Reading("ups info", {"name": "主机房 UPS,A=1"}, {"model": 'say "hi"'}, 5)

    assert encode_line(reading) == r'ups\ info,name=主机房\ UPS\,A\=1 model="say \"hi\"" 5'


def test_encode_drops_empty_tag_values():
    reading = Reading("cpu", {"host": "", "site": "xz"}, {"usage_idle": 99.5}, 1)

    assert encode_line(reading) == "cpu,site=xz usage_idle=99.5 1"


def test_encode_rejects_empty_and_nan_fields():
    with pytest.raises(ValueError, match="no fields"):
        encode_line(Reading("ups", {}, {}, 1))
    with pytest.raises(ValueError, match="not finite"):
        encode_line(Reading("ups", {}, {"charge_pct": float("nan")}, 1))


def test_decode_round_trip_keeps_everything():
    original = Reading("ups_line", {"site": "x z", "side": "output", "line": "1"},
                       {"voltage_v": 230.1, "note": "a,b c=\"d\""}, 1_234)

    decoded = decode_line(encode_line(original))

    assert decoded.measurement == "ups_line"
    assert decoded.tags == {"site": "x z", "side": "output", "line": "1"}
    assert decoded.fields == {"voltage_v": 230.1, "note": 'a,b c="d"'}
    assert decoded.time_ns == 1_234


def test_decode_reads_telegraf_integers_and_booleans():
    decoded = decode_line("mem,host=a used=1024i,active=t,free=7u 99")

    assert decoded.fields == {"used": 1024.0, "active": 1.0, "free": 7.0}


def test_decode_rejects_malformed_line():
    with pytest.raises(ValueError, match="malformed"):
        decode_line("ups,site=x")
