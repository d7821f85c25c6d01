"""The simulator's Modbus register map (documented in docs/simulator-modbus.md).

Holding registers (function 3), 0-based, big-endian words unless stated;
0xFFFF (0xFFFFFFFF for 32-bit values) means unknown:

    0 output_source      RFC 1628 code          1 battery_status   RFC 1628 code
    2 charge_pct         %                      3-4 runtime_s      uint32 ABCD, s
    5 battery_voltage    uint16, 0.1 V          6 battery_current  int16, 0.1 A (negative discharging)
    7 battery_temperature int16, 0.1 °C         8 input_frequency  0.1 Hz
    9 output_frequency   0.1 Hz                 10 bypass_frequency 0.1 Hz
    11 alarms_present                           12 input_lines     13 output_lines
    14-15 seconds_on_battery uint32 ABCD, s
    20-22 input voltage L1..L3, 0.1 V           23-25 input current L1..L3, 0.1 A
    26-28 output voltage L1..L3, 0.1 V          29-31 output current L1..L3, 0.1 A
    32-37 output power L1..L3, uint32 CDAB, W   38-40 output load L1..L3, %
    41-43 bypass voltage L1..L3, 0.1 V          44-45 battery_voltage float32 ABCD, V

Discrete inputs (function 2): 0 on_battery, 1 on_bypass, 2 battery_low, 3 battery_depleted.

A value a scenario marks as a fault (Null or sentinel alike) reads as the
unknown marker: Modbus has no Null. The float copy of the battery voltage
then reads as NaN.
"""

from __future__ import annotations

import math
import struct

from hotline_monitor.simulator.model import BATTERY_DEPLETED, BATTERY_LOW, Snapshot

HOLDING_REGISTER_COUNT = 46
DISCRETE_INPUT_COUNT = 4
UNKNOWN_16 = 0xFFFF
UNKNOWN_32 = 0xFFFFFFFF


def _u16(value: float) -> int:
    return max(0, min(0xFFFE, int(round(value))))


def _s16(value: float) -> int:
    return int(round(value)) & 0xFFFF


def _u32_abcd(value: int) -> list[int]:
    return [(value >> 16) & 0xFFFF, value & 0xFFFF]


def _u32_cdab(value: int) -> list[int]:
    # Word-swapped: the low word is sent first, each word still big-endian.
    #   value 0x00012345 -> registers [0x2345, 0x0001]
    return [value & 0xFFFF, (value >> 16) & 0xFFFF]


def _float32_abcd(value: float) -> list[int]:
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low]


def holding_registers(snapshot: Snapshot) -> list[int]:
    """Encode the snapshot as the 46 holding registers of the map."""
    faults = snapshot.faults
    registers = [0] * HOLDING_REGISTER_COUNT

    def put16(address: int, key: str, raw: int) -> None:
        registers[address] = UNKNOWN_16 if key in faults else raw

    def put32(address: int, key: str, raw: int, encode=_u32_abcd) -> None:
        registers[address:address + 2] = encode(UNKNOWN_32 if key in faults else raw)

    put16(0, "output_source", snapshot.output_source)
    put16(1, "battery_status", snapshot.battery_status)
    put16(2, "charge_pct", _u16(snapshot.charge_pct))
    put32(3, "runtime_s", int(round(snapshot.runtime_s)))
    put16(5, "battery_voltage", _u16(snapshot.battery_voltage * 10))
    put16(6, "battery_current", _s16(snapshot.battery_current * 10))
    put16(7, "battery_temperature", _s16(snapshot.battery_temperature * 10))
    put16(8, "input_frequency", _u16(snapshot.input_frequency * 10))
    put16(9, "output_frequency", _u16(snapshot.output_frequency * 10))
    put16(10, "bypass_frequency", _u16(snapshot.bypass_frequency * 10))
    put16(11, "alarms_present", len(snapshot.alarms))
    registers[12] = len(snapshot.lines)
    registers[13] = len(snapshot.lines)
    put32(14, "seconds_on_battery", int(snapshot.seconds_on_battery))

    for index, line in enumerate(snapshot.lines):
        put16(20 + index, "input_voltage", _u16(line.input_voltage * 10))
        put16(23 + index, "input_current", _u16(line.input_current * 10))
        put16(26 + index, "output_voltage", _u16(line.output_voltage * 10))
        put16(29 + index, "output_current", _u16(line.output_current * 10))
        put32(32 + 2 * index, "output_power", int(round(line.output_power)), _u32_cdab)
        put16(38 + index, "load_pct", _u16(line.load_pct))
        put16(41 + index, "bypass_voltage", _u16(line.bypass_voltage * 10))

    voltage = math.nan if "battery_voltage" in faults else snapshot.battery_voltage
    registers[44:46] = _float32_abcd(voltage)
    return registers


def discrete_inputs(snapshot: Snapshot) -> list[bool]:
    return [
        snapshot.on_battery,
        snapshot.on_bypass,
        snapshot.battery_status == BATTERY_LOW,
        snapshot.battery_status == BATTERY_DEPLETED,
    ]
