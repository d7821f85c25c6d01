"""Compare what SNMP and Modbus report for one UPS, and warn when they disagree (数据不一致).

Where a UPS is configured with both paths, the two cards read the same UPS
controller, so their output source, on-battery state, charge and runtime
should agree. A disagreement that lasts `polls` Modbus polls in a row (three
by default) means one path is wrong: a wrong register map, a stale card, a
wrong scale. That is worth a warning naming both values, because alerts are
only as good as the readings they read. One poll of disagreement is normal:
the two paths are polled at different instants, just as the UPS switches.

The component receives the same readings as the alerting engine. Its state
is kept in memory only, so after a restart it counts again from zero.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from hotline_monitor.alerting.notify import AlertMessage
from hotline_monitor.config.model import Config, UpsConfig
from hotline_monitor.reading import FieldValue, Reading
from hotline_monitor.timeutil import format_duration

log = logging.getLogger(__name__)

DEFAULT_POLLS = 3
RULE_PREFIX = "ups_data_mismatch"

# RFC 1628 upsOutputSource codes, as people read them.
OUTPUT_SOURCE_NAMES = {1: "其他", 2: "无输出", 3: "市电（逆变）", 4: "旁路", 5: "电池", 6: "升压",
                   7: "降压"}


@dataclass(frozen=True, slots=True)
class Quantity:
    """One compared field: how it reads, and how far apart two readings may be."""

    field: str
    label: str
    absolute: float = 0.0
    relative: float = 0.0

    def agrees(self, snmp: float, modbus: float) -> bool:
        allowed = max(self.absolute, self.relative * max(abs(snmp), abs(modbus)))
        return abs(snmp - modbus) <= allowed

    def show(self, value: float) -> str:
        if self.field == "output_source":
            return f"{OUTPUT_SOURCE_NAMES.get(int(value), '未知')}（{int(value)}）"
        if self.field == "on_battery":
            return "是" if value == 1.0 else "否"
        if self.field == "charge_pct":
            return f"{value:g}%"
        return format_duration(value)


# Charge: both cards round differently, so 5 percentage points are tolerated.
# Runtime: it is an estimate each card may recompute at its own moment, so 10 %
# (at least 2 minutes) is tolerated.
QUANTITIES = (
    Quantity("output_source", "输出来源"),
    Quantity("on_battery", "电池供电"),
    Quantity("charge_pct", "电池电量", absolute=5.0),
    Quantity("runtime_s", "后备时间", absolute=120.0, relative=0.10),
)


class CrossCheck:
    """Fed with readings; emits an alert message when SNMP and Modbus disagree for long."""

    def __init__(self, config: Config, emit: Callable[[AlertMessage], None],
                 polls: int = DEFAULT_POLLS) -> None:
        self.emit = emit
        self.polls = polls
        self.ups = {ups.id: ups for ups in config.ups
                    if ups.snmp is not None and ups.modbus is not None}
        self._latest_snmp: dict[str, Reading] = {}
        self._streaks: dict[tuple[str, str], tuple[int, int]] = {}
        """(consecutive disagreeing polls, time of the first of them) per UPS and field."""
        self._firing: dict[tuple[str, str], int] = {}

    @property
    def active(self) -> bool:
        return bool(self.ups)

    def observe(self, readings: list[Reading]) -> list[AlertMessage]:
        """Take new readings; return (and emit) the warnings and recoveries they cause."""
        messages: list[AlertMessage] = []
        for reading in readings:
            ups_id = reading.tags.get("ups", "")
            if reading.measurement != "ups" or ups_id not in self.ups:
                continue
            source = reading.tags.get("source")
            if source == "snmp":
                self._latest_snmp[ups_id] = reading
            elif source == "modbus":
                messages += self._compare(self.ups[ups_id], reading)

        for message in messages:
            self.emit(message)
        return messages

    def _compare(self, ups: UpsConfig, modbus: Reading) -> list[AlertMessage]:
        snmp = self._latest_snmp.get(ups.id)
        if snmp is None or not self._fresh(ups, snmp, modbus):
            return []

        messages = []
        for quantity in QUANTITIES:
            snmp_value = _number(snmp.fields.get(quantity.field))
            modbus_value = _number(modbus.fields.get(quantity.field))
            if snmp_value is None or modbus_value is None:
                # Unknown on one side: neither a disagreement nor proof of agreement.
                continue
            message = self._update(ups, quantity, snmp_value, modbus_value, modbus.time_ns)
            if message is not None:
                messages.append(message)
        return messages

    def _fresh(self, ups: UpsConfig, snmp: Reading, modbus: Reading) -> bool:
        modbus_interval = getattr(ups.modbus, "interval", None) or ups.interval
        limit_ns = int(3 * max(ups.interval, modbus_interval) * 1e9)
        return abs(modbus.time_ns - snmp.time_ns) <= limit_ns

    def _update(self, ups: UpsConfig, quantity: Quantity, snmp: float, modbus: float,
                time_ns: int) -> AlertMessage | None:
        key = (ups.id, quantity.field)
        rule = f"{RULE_PREFIX}.{quantity.field}"

        if quantity.agrees(snmp, modbus):
            self._streaks.pop(key, None)
            since = self._firing.pop(key, None)
            if since is None:
                return None
            duration = max(0.0, (time_ns - since) / 1e9)
            text = (f"{ups.display_name}：{quantity.label}数据恢复一致（SNMP 与 Modbus 均为 "
                    f"{quantity.show(modbus)}），不一致持续 {format_duration(duration)}")
            log.info("UPS %s: SNMP and Modbus agree again on %s", ups.id, quantity.field)
            return AlertMessage(rule, ups.id, "warning", "resolved", text, time_ns, duration)

        streak, first_ns = self._streaks.get(key, (0, time_ns))
        streak += 1
        self._streaks[key] = (streak, first_ns)
        if streak < self.polls or key in self._firing:
            return None
        self._firing[key] = first_ns
        text = (f"{ups.display_name}：数据不一致：{quantity.label} SNMP 为 {quantity.show(snmp)}，"
                f"Modbus 为 {quantity.show(modbus)}，已连续 {streak} 次轮询不一致；"
                "请核对寄存器表与 SNMP 卡")
        log.warning("UPS %s: SNMP and Modbus disagree on %s for %d polls: %s vs %s", ups.id,
                    quantity.field, streak, snmp, modbus)
        return AlertMessage(rule, ups.id, "warning", "firing", text, time_ns)


def _number(value: FieldValue | None) -> float | None:
    return value if isinstance(value, float) else None
