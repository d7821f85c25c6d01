"""The unit that flows from collectors to sinks and the alerting engine.

A `Reading` is one measurement at one instant. It is encoded as InfluxDB line
protocol (https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/)
for the spool, the database and MQTT payloads, and decoded back by the hub.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

FieldValue = float | str


def now_ns() -> int:
    """Return the current UTC time in nanoseconds since the epoch."""
    return time.time_ns()


@dataclass(slots=True)
class Reading:
    """One measurement: name, tags, fields and a UTC timestamp in nanoseconds.

    Numeric fields are always floats, so that one device's whole number and
    another's fraction never collide in one InfluxDB field. Unknown values are
    left out of `fields`, never stored as 0 or as a sentinel.
    """

    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    time_ns: int = field(default_factory=now_ns)

    def __post_init__(self) -> None:
        for key, value in self.fields.items():
            if isinstance(value, bool):
                self.fields[key] = 1.0 if value else 0.0
            elif isinstance(value, int):
                self.fields[key] = float(value)

    def to_line(self) -> str:
        """Encode as one line of InfluxDB line protocol."""
        return encode_line(self)


_MEASUREMENT_ESCAPE = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n"})
_KEY_ESCAPE = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n"})


def _format_field(value: FieldValue) -> str:
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if not math.isfinite(value):
        raise ValueError(f"field value {value!r} is not finite")
    # repr() keeps full precision; a float with no fraction still reads as
    # float in InfluxDB because line protocol treats unsuffixed numbers as floats.
    return repr(float(value))


def encode_line(reading: Reading) -> str:
    """Encode a reading as line protocol, tags sorted as InfluxDB recommends."""
    if not reading.fields:
        raise ValueError(f"reading {reading.measurement!r} has no fields")

    parts = [reading.measurement.translate(_MEASUREMENT_ESCAPE)]
    for key in sorted(reading.tags):
        value = reading.tags[key]
        if value == "":
            continue
        parts.append(f",{key.translate(_KEY_ESCAPE)}={str(value).translate(_KEY_ESCAPE)}")

    field_text = ",".join(
        f"{key.translate(_KEY_ESCAPE)}={_format_field(value)}"
        for key, value in sorted(reading.fields.items())
    )
    return f"{''.join(parts)} {field_text} {reading.time_ns}"


# Splits on characters that are not escaped by a backslash; quoted field
# strings are handled by the field scanner below.
_UNESCAPE = re.compile(r"\\(.)")


def _split_unescaped(text: str, separator: str) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if char == separator:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    pieces.append("".join(current))
    return pieces


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda match: "\n" if match.group(1) == "n" else match.group(1), text)


def _scan_fields(text: str) -> tuple[dict[str, FieldValue], str]:
    """Parse the field set, returning the fields and the text after it."""
    fields: dict[str, FieldValue] = {}
    index = 0
    while True:
        equals = index
        while text[equals] != "=" or text[equals - 1] == "\\":
            equals += 1
        key = _unescape(text[index:equals])
        index = equals + 1

        if text[index] == '"':
            index += 1
            value_chars: list[str] = []
            while text[index] != '"':
                if text[index] == "\\":
                    value_chars.append("\n" if text[index + 1] == "n" else text[index + 1])
                    index += 2
                else:
                    value_chars.append(text[index])
                    index += 1
            fields[key] = "".join(value_chars)
            index += 1
        else:
            end = index
            while end < len(text) and text[end] not in ", ":
                end += 1
            raw = text[index:end]
            if raw in ("t", "T", "true", "True", "TRUE"):
                fields[key] = 1.0
            elif raw in ("f", "F", "false", "False", "FALSE"):
                fields[key] = 0.0
            else:
                fields[key] = float(raw.rstrip("iu"))
            index = end

        if index >= len(text) or text[index] == " ":
            return fields, text[index:].strip()
        index += 1


def decode_line(line: str) -> Reading:
    """Decode one line of line protocol, as written by `encode_line` or Telegraf.

    Raises ValueError on a malformed line.
    """
    line = line.strip()
    try:
        head_end = 0
        while line[head_end] != " " or line[head_end - 1] == "\\":
            head_end += 1
        head = _split_unescaped(line[:head_end], ",")
        measurement = _unescape(head[0])
        tags: dict[str, str] = {}
        for pair in head[1:]:
            key, value = _split_unescaped(pair, "=")
            tags[_unescape(key)] = _unescape(value)

        fields, rest = _scan_fields(line[head_end + 1 :])
        time_ns = int(rest) if rest else now_ns()
    except (IndexError, ValueError) as err:
        raise ValueError(f"malformed line protocol: {line[:200]!r}") from err

    return Reading(measurement, tags, fields, time_ns)
