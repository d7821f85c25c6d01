"""Turn accepted traps into readings, claims and immediate confirming polls."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from hotline_monitor.collectors.snmp_traps.catalogue import UPS_ALARM_DESCR, TrapEvent, lookup
from hotline_monitor.collectors.snmp_traps.config import TrapsConfig
from hotline_monitor.collectors.snmp_traps.receiver import ReceivedTrap
from hotline_monitor.config.model import Config
from hotline_monitor.reading import Reading

log = logging.getLogger(__name__)

# RFC 1628 upsWellKnownAlarms (1.3.6.1.2.1.33.1.6.3.N) by N.
WELL_KNOWN_ALARMS = {
    1: "upsAlarmBatteryBad", 2: "upsAlarmOnBattery", 3: "upsAlarmLowBattery",
    4: "upsAlarmDepletedBattery", 5: "upsAlarmTempBad", 6: "upsAlarmInputBad",
    7: "upsAlarmOutputBad", 8: "upsAlarmOutputOverload", 9: "upsAlarmOnBypass",
    10: "upsAlarmBypassBad", 11: "upsAlarmOutputOffAsRequested", 12: "upsAlarmUpsOffAsRequested",
    13: "upsAlarmChargerFailed", 14: "upsAlarmUpsOutputOff", 15: "upsAlarmUpsSystemOff",
    16: "upsAlarmFanFailure", 17: "upsAlarmFuseFailure", 18: "upsAlarmGeneralFault",
    19: "upsAlarmDiagnosticTestFailed", 20: "upsAlarmCommunicationsLost",
    21: "upsAlarmAwaitingPower", 22: "upsAlarmShutdownPending", 23: "upsAlarmShutdownImminent",
    24: "upsAlarmTestInProgress",
}
_WELL_KNOWN_PREFIX = "1.3.6.1.2.1.33.1.6.3."

# What each event asserts, as `ups` fields (RFC 1628 codes: output source 5 battery,
# 4 bypass; battery status 3 low). Events that assert nothing numeric only
# trigger a confirming poll: a trap alone never clears an alert.
_ASSERTED_FIELDS: dict[TrapEvent, dict[str, float]] = {
    TrapEvent.ON_BATTERY: {"on_battery": 1.0, "output_source": 5.0},
    TrapEvent.ON_BYPASS: {"on_bypass": 1.0, "output_source": 4.0},
    TrapEvent.BATTERY_LOW: {"battery_status": 3.0},
}


@dataclass(slots=True)
class TrapAction:
    """What to do with one trap: readings to submit, a claim, a UPS to poll now."""

    ups: str
    trap_name: str
    readings: list[Reading]
    claimed_fields: dict[str, float]


class TrapHandler:
    def __init__(self, config: Config, traps: TrapsConfig,
                 act: Callable[[TrapAction], None]) -> None:
        self.site = config.site
        self.act = act
        self.by_source = _source_map(config, traps)
        self.unknown_sources = 0
        self.unknown_traps = 0
        self.handled = 0

    def __call__(self, trap: ReceivedTrap) -> None:
        ups = self.by_source.get(trap.source)
        if ups is None:
            self.unknown_sources += 1
            if self.unknown_sources == 1 or self.unknown_sources % 100 == 0:
                log.warning("ignored a trap from %s: no UPS is configured with that address "
                            "(%d such traps so far); add it under traps.sources if it is a UPS",
                            trap.source, self.unknown_sources)
            return

        definition = lookup(trap.trap_oid)
        if definition is None:
            self.unknown_traps += 1
            log.debug("%s: trap %s from %s is not one we act on", ups, trap.trap_oid, trap.source)
            return

        self.handled += 1
        log.info("%s: trap %s from %s", ups, definition.name, trap.source)
        claimed = _ASSERTED_FIELDS.get(definition.event, {})
        readings = []
        tags = {"site": self.site, "ups": ups, "source": "snmp"}
        if claimed:
            readings.append(Reading("ups", tags, dict(claimed), trap.received_ns))
        if definition.event in (TrapEvent.ALARM_ADDED, TrapEvent.ALARM_REMOVED):
            alarm = _alarm_name(trap)
            if alarm:
                active = 1.0 if definition.event == TrapEvent.ALARM_ADDED else 0.0
                readings.append(Reading("ups_alarm", {"site": self.site, "ups": ups, "alarm": alarm},
                                        {"active": active}, trap.received_ns))
        self.act(TrapAction(ups, definition.name, readings, claimed))


def _alarm_name(trap: ReceivedTrap) -> str | None:
    for oid, value in trap.varbinds.items():
        if oid.startswith(UPS_ALARM_DESCR) and isinstance(value, str):
            if value.startswith(_WELL_KNOWN_PREFIX):
                code = value.removeprefix(_WELL_KNOWN_PREFIX)
                return WELL_KNOWN_ALARMS.get(int(code), value) if code.isdigit() else value
            return value
    return None


def _source_map(config: Config, traps: TrapsConfig) -> dict[str, str]:
    """Map sender IP addresses to UPS ids: each UPS's SNMP host, plus `traps.sources`."""
    mapping: dict[str, str] = {}
    for ups in config.ups:
        if ups.snmp is None:
            continue
        try:
            for info in socket.getaddrinfo(ups.snmp.host, None, type=socket.SOCK_DGRAM):
                mapping[str(info[4][0])] = ups.id
        except socket.gaierror as err:
            log.warning("%s: cannot resolve %s to match its traps: %s", ups.id, ups.snmp.host, err)
    for source, ups_id in traps.sources.items():
        mapping[source] = ups_id
    return mapping
