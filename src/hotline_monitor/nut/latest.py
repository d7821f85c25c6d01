"""The latest readings of each UPS, kept for the NUT server and the shutdown actions.

The agent hands every batch of readings to `LatestReadings.observe`. Each field
keeps its own time, so that a value one source (SNMP or Modbus) stopped
sending can age out while the other source keeps the UPS current. While a UPS
is on battery, its charge and reported runtime are kept as a history for the
discharge forecast. The history starts again at each outage.

Readings made during a drill (`drill=1`) are ignored: a drill must never make
upsmon shut real servers down.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from hotline_monitor.nut.lowbattery import BatterySample
from hotline_monitor.reading import Reading

# RFC 1628 upsOutputSource: 3 normal, 4 bypass, 5 battery, 6 booster, 7 reducer.
OUTPUT_SOURCE_BYPASS = 4.0
OUTPUT_SOURCE_BATTERY = 5.0
OUTPUT_SOURCES_ON_MAINS = (3.0, 4.0, 6.0, 7.0)

MAX_HISTORY = 2000
"""On-battery samples kept per UPS: almost three hours at a 5 s poll interval."""

TimedValue = tuple[float | str, int]


@dataclass(slots=True)
class UpsLatest:
    """Latest values of one UPS, each with the UTC time (ns) it was read."""

    fields: dict[str, TimedValue] = field(default_factory=dict)
    lines: dict[tuple[str, int], dict[str, TimedValue]] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    alarms: dict[str, bool] = field(default_factory=dict)
    updated_ns: int = 0
    """Time of the newest `ups` reading."""
    history: list[BatterySample] = field(default_factory=list)
    """Samples of the current on-battery period, oldest first, and empty on mains."""


def on_battery_of(fields: dict[str, float | str]) -> bool | None:
    """Tell from one set of `ups` fields whether the load runs on battery (None if unknown)."""
    flag = fields.get("on_battery")
    if isinstance(flag, float):
        return flag == 1.0
    source = fields.get("output_source")
    if isinstance(source, float):
        if source == OUTPUT_SOURCE_BATTERY:
            return True
        if source in OUTPUT_SOURCES_ON_MAINS:
            return False
    return None


class LatestReadings:
    """Latest values per UPS id, fed with every reading the agent handles."""

    def __init__(self) -> None:
        self.by_ups: dict[str, UpsLatest] = {}

    def get(self, ups_id: str) -> UpsLatest | None:
        return self.by_ups.get(ups_id)

    def observe(self, readings: list[Reading]) -> None:
        for reading in readings:
            ups_id = reading.tags.get("ups")
            if not ups_id or reading.tags.get("drill") == "1":
                continue
            latest = self.by_ups.setdefault(ups_id, UpsLatest())
            if reading.measurement == "ups":
                self._observe_ups(latest, reading)
            elif reading.measurement == "ups_line":
                self._observe_line(latest, reading)
            elif reading.measurement == "ups_info":
                latest.info.update({k: v for k, v in reading.fields.items() if isinstance(v, str)})
            elif reading.measurement == "ups_alarm":
                active = reading.fields.get("active")
                if isinstance(active, float):
                    latest.alarms[reading.tags.get("alarm", "")] = active == 1.0

    @staticmethod
    def _observe_ups(latest: UpsLatest, reading: Reading) -> None:
        _merge(latest.fields, reading.fields, reading.time_ns)
        latest.updated_ns = max(latest.updated_ns, reading.time_ns)

        on_battery = on_battery_of(reading.fields)
        if on_battery is False:
            latest.history.clear()
        elif on_battery is True:
            charge = reading.fields.get("charge_pct")
            runtime = reading.fields.get("runtime_s")
            sample = BatterySample(
                reading.time_ns / 1e9,
                charge if isinstance(charge, float) else None,
                runtime if isinstance(runtime, float) else None,
            )
            # Two sources may deliver slightly out of order: keep the history sorted.
            bisect.insort(latest.history, sample, key=lambda item: item.time_s)
            del latest.history[:-MAX_HISTORY]

    @staticmethod
    def _observe_line(latest: UpsLatest, reading: Reading) -> None:
        try:
            key = (reading.tags["side"], int(reading.tags["line"]))
        except (KeyError, ValueError):
            return
        _merge(latest.lines.setdefault(key, {}), reading.fields, reading.time_ns)


def _merge(target: dict[str, TimedValue], fields: dict[str, float | str], time_ns: int) -> None:
    """Store each field unless a newer value of it is already known."""
    for name, value in fields.items():
        known = target.get(name)
        if known is None or known[1] <= time_ns:
            target[name] = (value, time_ns)
