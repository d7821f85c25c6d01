"""Turn raw registers and bits into numbers: data types, word orders, scale, sentinels.

Word and byte orders name the bytes of a 32-bit value A (most significant)
to D (least significant) in the order the registers carry them:

    ABCD  reg0 = A B, reg1 = C D   big-endian (Modbus's own order)
    CDAB  reg0 = C D, reg1 = A B   words swapped
    BADC  reg0 = B A, reg1 = D C   bytes swapped inside each word
    DCBA  reg0 = D C, reg1 = B A   little-endian

64-bit values extend the same rule to four registers; 16-bit values only
honour the byte swap (BADC, DCBA).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from hotline_monitor.collectors.ups_modbus.regmap import RegisterMap, ValueSpec, WordOrder

_FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f",
            "float64": ">d"}


class DecodeError(ValueError):
    """A value could not be decoded into something plausible; it is left out as unknown."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """One value of the map after decoding: target field -> number (or text)."""

    values: dict[str, float | str]


def normalise(registers: list[int], order: WordOrder) -> bytes:
    """Return the value's bytes most significant first, whatever order the device uses."""
    words = [register.to_bytes(2, "big") for register in registers]
    if order in ("BADC", "DCBA"):
        words = [word[::-1] for word in words]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    return b"".join(words)


def decode_raw(spec: ValueSpec, registers: list[int], order: WordOrder) -> tuple[float, int]:
    """Return (raw number, raw bit pattern as unsigned integer) of a numeric value."""
    data = normalise(registers, order)
    (number,) = struct.unpack(_FORMATS[spec.type], data)
    return float(number), int.from_bytes(data, "big")


def decode_string(registers: list[int], order: WordOrder) -> str:
    """Decode two ASCII characters per register, dropping NULs and padding spaces."""
    byte_swapped = order in ("BADC", "DCBA")
    data = b"".join(
        register.to_bytes(2, "little" if byte_swapped else "big") for register in registers
    )
    return data.replace(b"\x00", b"").decode("ascii", errors="replace").strip()


def decode_value(regmap: RegisterMap, spec: ValueSpec, registers: list[int]) -> Decoded:
    """Decode one register value of the map; raise DecodeError when it is not plausible."""
    order = regmap.order_of(spec)
    if spec.type == "string":
        assert spec.field is not None
        return Decoded({spec.field: decode_string(registers, order)})

    if spec.type == "bit":
        assert spec.bit is not None
        word = int.from_bytes(normalise(registers[:1], order), "big")
        raw_bit = (word >> spec.bit) & 1
        return Decoded(_bit_values(spec, raw_bit))

    raw, pattern = decode_raw(spec, registers, order)
    if _is_sentinel(regmap, spec, raw, pattern):
        return Decoded({})
    if spec.bits:
        return Decoded(_bits_of(spec, pattern))
    return Decoded(_scaled(spec, raw))


def decode_bit(spec: ValueSpec, bit: bool) -> Decoded:
    """Decode a coil or discrete input."""
    return Decoded(_bit_values(spec, int(bit)))


def _bit_values(spec: ValueSpec, raw_bit: int) -> dict[str, float | str]:
    if spec.bits:
        return _bits_of(spec, raw_bit)
    assert spec.field is not None
    if spec.enum is not None:
        return _scaled(spec, float(raw_bit))
    return {spec.field: float(raw_bit)}


def _is_sentinel(regmap: RegisterMap, spec: ValueSpec, raw: float, pattern: int) -> bool:
    if math.isnan(raw):
        return True
    if regmap.defaults.unknown_all_ones and spec.type not in ("float32", "float64"):
        if pattern == (1 << (16 * spec.register_count)) - 1:
            return True
    # A sentinel may be written as the raw bit pattern (0xFFFF) or as the signed value (-1).
    return any(sentinel in (raw, float(pattern)) for sentinel in spec.unknown)


def _bits_of(spec: ValueSpec, pattern: int) -> dict[str, float | str]:
    values: dict[str, float | str] = {}
    # Mappings are in priority order: once a set bit has chosen a field's
    # value, later bits for the same field do not change it.
    chosen: set[str] = set()
    for mapping in spec.bits or []:
        if mapping.field in chosen:
            continue
        is_set = (pattern >> mapping.bit) & 1
        if is_set:
            values[mapping.field] = mapping.set
            chosen.add(mapping.field)
        elif mapping.clear is not None:
            values[mapping.field] = mapping.clear
    return values


def _scaled(spec: ValueSpec, raw: float) -> dict[str, float | str]:
    assert spec.field is not None
    if spec.enum is not None:
        if int(raw) not in spec.enum:
            known = ", ".join(str(key) for key in sorted(spec.enum))
            raise DecodeError(
                f"{spec.field}: raw value {int(raw)} is not in the map's enum ({known})")
        return {spec.field: spec.enum[int(raw)]}

    value = raw * spec.scale + spec.offset
    if not math.isfinite(value):
        raise DecodeError(f"{spec.field}: value {value!r} is not finite")
    if spec.range is not None and not spec.range[0] <= value <= spec.range[1]:
        raise DecodeError(
            f"{spec.field}: value {value:.6g} outside the plausible range "
            f"{spec.range[0]:g}..{spec.range[1]:g} (raw {raw:.6g})"
        )
    return {spec.field: value}
