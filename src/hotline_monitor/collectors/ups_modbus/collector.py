"""`ModbusUpsCollector`: one UPS read over Modbus into `ups`, `ups_line` and `ups_info` readings.

The readings have the same measurements and field names as the SNMP
collector's, tagged `source=modbus`, so that both paths to one UPS can be
stored side by side and compared. A value the device marks unknown (a
sentinel) or that decodes outside its plausible range is left out and
counted; it never becomes 0.
"""

from __future__ import annotations

import logging

from hotline_monitor.collectors.base import PollResult
from hotline_monitor.collectors.ups_modbus import targets
from hotline_monitor.collectors.ups_modbus.client import ModbusExceptionError, ModbusLink
from hotline_monitor.collectors.ups_modbus.config import ModbusTarget
from hotline_monitor.collectors.ups_modbus.decode import DecodeError, decode_bit, decode_value
from hotline_monitor.collectors.ups_modbus.plan import ReadRequest, plan_requests
from hotline_monitor.collectors.ups_modbus.regmap import BIT_TABLES, ValueSpec, load_map
from hotline_monitor.config.model import UpsConfig
from hotline_monitor.reading import Reading, now_ns

log = logging.getLogger(__name__)

ILLEGAL_DATA_ADDRESS = 2


class ModbusUpsCollector:
    """Polls one UPS over Modbus TCP, RTU or RTU over TCP, as its register map says."""

    kind = "ups_modbus"

    def __init__(self, ups: UpsConfig, site: str) -> None:
        if not isinstance(ups.modbus, ModbusTarget):
            raise TypeError(f"UPS {ups.id} has no modbus section")
        self.ups = ups
        self.site = site
        self.target = ups.id
        self.interval = ups.modbus.interval or ups.interval
        self.regmap = load_map(ups.modbus.map).regmap
        self.requests = plan_requests(self.regmap)
        self.link = ModbusLink(ups.modbus, name=f"UPS {ups.id}")
        self._gapless = self.regmap.requests.max_gap == 0
        self._failing: set[str] = set()
        self._last_info: dict[str, str] = {}

    async def poll(self) -> PollResult:
        started_ns = now_ns()
        try:
            data = await self._read_all()
        except ModbusExceptionError as err:
            if err.code != ILLEGAL_DATA_ADDRESS or self._gapless or not self._has_gaps():
                raise
            # Some cards answer "illegal data address" for any unmapped register
            # inside a request: read only the mapped registers from now on.
            log.warning("%s: %s; reading without gaps from now on", self.link.name, err)
            self._gapless = True
            self.requests = plan_requests(self.regmap, max_gap=0)
            data = await self._read_all()

        values, invalid = self._decode_all(data)
        return PollResult(self._build_readings(values, started_ns), invalid)

    async def close(self) -> None:
        await self.link.close()

    async def _read_all(self) -> list[tuple[ReadRequest, list[int] | list[bool]]]:
        return [(request, await self.link.read(request)) for request in self.requests]

    def _has_gaps(self) -> bool:
        return any(
            request.count > sum(spec.register_count for spec in request.values)
            for request in self.requests
        )

    def _decode_all(
        self, data: list[tuple[ReadRequest, list[int] | list[bool]]]
    ) -> tuple[dict[str, float | str], int]:
        values: dict[str, float | str] = {}
        invalid = 0
        failing: set[str] = set()

        for request, raw in data:
            for spec in request.values:
                offset = self.regmap.pdu_address(spec) - request.start
                try:
                    decoded = self._decode_one(spec, raw, offset)
                except DecodeError as err:
                    invalid += 1
                    failing.update(spec.targets)
                    self._report_decode_failure(spec, err)
                    continue
                if not decoded:
                    invalid += 1
                values.update(decoded)

        recovered = self._failing - failing
        if recovered:
            log.info("%s: plausible again: %s", self.link.name, ", ".join(sorted(recovered)))
        self._failing = failing
        return values, invalid

    def _decode_one(self, spec: ValueSpec, raw: list[int] | list[bool],
                    offset: int) -> dict[str, float | str]:
        if spec.table in BIT_TABLES:
            return decode_bit(spec, bool(raw[offset])).values
        registers = [int(value) for value in raw[offset: offset + spec.register_count]]
        return decode_value(self.regmap, spec, registers).values

    def _report_decode_failure(self, spec: ValueSpec, err: DecodeError) -> None:
        if set(spec.targets) <= self._failing:
            log.debug("%s: still implausible: %s", self.link.name, err)
            return
        log.warning("%s: left out as unknown: %s (map %s, %s address %d)", self.link.name, err,
                    self.regmap.name, spec.table, spec.address)
        self.link.dump_frames(f"implausible {', '.join(spec.targets)}")

    def _build_readings(self, values: dict[str, float | str], time_ns: int) -> list[Reading]:
        tags = {"site": self.site, "ups": self.ups.id, "source": "modbus"}
        readings: list[Reading] = []

        ups_fields = {name: value for name, value in values.items()
                      if name in targets.UPS_FIELDS and isinstance(value, float)}
        lines = _line_fields(values)
        _derive(ups_fields, values, lines)
        if ups_fields:
            readings.append(Reading("ups", dict(tags), ups_fields, time_ns))

        for (side, line), fields in sorted(lines.items()):
            line_tags = {**tags, "side": side, "line": str(line)}
            readings.append(Reading("ups_line", line_tags, fields, time_ns))

        info = self._changed_info(values)
        if info:
            readings.append(Reading("ups_info", {"site": self.site, "ups": self.ups.id}, info,
                                    time_ns))
        return readings

    def _changed_info(self, values: dict[str, float | str]) -> dict[str, float | str]:
        info = {name.removeprefix("info."): value for name, value in values.items()
                if name in targets.INFO_FIELDS and isinstance(value, str) and value}
        if info == self._last_info:
            return {}
        self._last_info = dict(info)
        return dict(info)


def _line_fields(values: dict[str, float | str]) -> dict[tuple[str, int], dict[str, float | str]]:
    lines: dict[tuple[str, int], dict[str, float | str]] = {}
    for name, value in values.items():
        parts = targets.split_line_target(name)
        if parts is None or not isinstance(value, float):
            continue
        side, line, field = parts
        lines.setdefault((side, line), {})[field] = value
    return lines


def _derive(ups_fields: dict[str, float | str], values: dict[str, float | str],
            lines: dict[tuple[str, int], dict[str, float | str]]) -> None:
    """Fill fields the map does not read directly from those it does, as the SNMP path does."""
    source = ups_fields.get("output_source")
    if isinstance(source, float):
        ups_fields.setdefault(
            "on_battery", float(source == targets.RFC1628_OUTPUT_SOURCE_ON_BATTERY))
        ups_fields.setdefault("on_bypass", float(source == targets.RFC1628_OUTPUT_SOURCE_BYPASS))

    if "battery_status" not in ups_fields:
        depleted, low = values.get("battery_depleted"), values.get("battery_low")
        if depleted == 1.0:
            ups_fields["battery_status"] = float(targets.RFC1628_BATTERY_DEPLETED)
        elif low == 1.0:
            ups_fields["battery_status"] = float(targets.RFC1628_BATTERY_LOW)
        elif low == 0.0 and depleted in (0.0, None):
            ups_fields["battery_status"] = float(targets.RFC1628_BATTERY_NORMAL)

    if "load_pct_max" not in ups_fields:
        loads = [fields["load_pct"] for (side, _), fields in lines.items()
                 if side == "output" and isinstance(fields.get("load_pct"), float)]
        if loads:
            ups_fields["load_pct_max"] = max(float(load) for load in loads)
