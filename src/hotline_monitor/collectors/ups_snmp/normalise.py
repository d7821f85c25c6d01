"""Turn raw SNMP values into stored floats, or into "unknown".

An unknown value is left out of the reading and counted, never stored as 0
or as the card's sentinel. Unknown are:

- the sentinels 65535, 2147483647 and 4294967295, and any negative value of an
  object the MIB declares non-negative (so -1 there);
- Null, and types that cannot carry the number (OID, IpAddress, TimeTicks);
- an OctetString that does not hold a decimal number (one that does is parsed);
- an enumeration code without a meaning for the alarms, such as
  upsBatteryStatus unknown(1);
- a value outside the object's plausible range (see `oids`).

Gauge32 and Counter32 where the MIB defines INTEGER are accepted. noSuchObject,
noSuchInstance and endOfMibView mean that the card does not implement the
object: the value is left out but not counted, because it is absent on every
poll and says nothing about the card's health.
"""

from __future__ import annotations

import re

from hotline_monitor.collectors.ups_snmp import ber
from hotline_monitor.collectors.ups_snmp.oids import Number

SENTINELS = frozenset({65535, 2147483647, 4294967295})
_ABSENT_TAGS = frozenset({ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW})
_INTEGER_TAGS = frozenset({ber.INTEGER, ber.GAUGE32, ber.COUNTER32})
_DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")


class Tally:
    """Counts the unknown values of one poll."""

    __slots__ = ("invalid",)

    def __init__(self) -> None:
        self.invalid = 0


def is_absent(value: ber.Value) -> bool:
    return value[0] in _ABSENT_TAGS


def raw_number(value: ber.Value) -> int | float | None:
    """Return the number a value carries, or None when it carries none."""
    tag, payload = value
    if tag in _INTEGER_TAGS:
        return payload  # type: ignore[return-value]
    if tag == ber.OCTET_STRING:
        text = payload.decode("ascii", "replace").strip()  # type: ignore[union-attr]
        if _DECIMAL.match(text):
            return float(text) if "." in text else int(text)
    return None


def number(value: ber.Value | None, spec: Number, tally: Tally, divisor: int | None = None) -> float | None:
    """Return the stored value of a numeric object, or None when unknown or absent."""
    if value is None or value[0] in _ABSENT_TAGS:
        return None

    raw = raw_number(value)
    if raw is None or raw in SENTINELS or (raw < 0 and not spec.signed):
        tally.invalid += 1
        return None
    if spec.codes is not None and raw not in spec.codes:
        tally.invalid += 1
        return None

    # Divide by an integer rather than multiply by 0.1, so that 48 tenths
    # is stored as 4.8 and not as 4.800000000000001.
    result = raw * spec.multiplier / (divisor or spec.divisor)
    if not (spec.low <= result <= spec.high or (result == 0 and spec.zero_ok)):
        tally.invalid += 1
        return None
    return float(result)


def text(value: ber.Value | None) -> str | None:
    """Return a DisplayString's text, or None when absent, empty or not a string."""
    if value is None or value[0] != ber.OCTET_STRING:
        return None
    decoded = value[1].decode("utf-8", "replace").strip("\x00 \t\r\n")  # type: ignore[union-attr]
    return decoded or None


# A line's true power below this share of its apparent power (V × A) is not
# plausible for a UPS. A card that sends 1 W at 230 V and 7.2 A, or 0 W at
# 238 V and 4.8 A, is not measuring power. A share above 1 is impossible, and
# the margin above it covers the rounding of tenths of amps.
MIN_POWER_FACTOR = 0.2
MAX_POWER_FACTOR = 1.2
MIN_APPARENT_VA = 100.0


def power_is_plausible(voltage_v: float, current_a: float, power_w: float) -> bool:
    apparent = voltage_v * current_a
    if apparent < MIN_APPARENT_VA:
        return True
    return MIN_POWER_FACTOR * apparent <= power_w <= MAX_POWER_FACTOR * apparent
