"""The SNMP UPS collector: one poll is one GETBULK on v2c/v3 (GET and GETNEXTs on v1)."""

from __future__ import annotations

import logging

from hotline_monitor.collectors.base import PollResult
from hotline_monitor.collectors.ups_snmp.client import CommunityClient, SnmpClient
from hotline_monitor.collectors.ups_snmp.interpret import PollData, interpret
from hotline_monitor.collectors.ups_snmp.oids import MAX_LINES, SCALAR_OIDS, TABLE_COLUMNS
from hotline_monitor.collectors.ups_snmp.walk import read_ups
from hotline_monitor.config.model import SnmpTarget, UpsConfig
from hotline_monitor.reading import Reading, now_ns

log = logging.getLogger(__name__)


def build_client(snmp: SnmpTarget) -> SnmpClient:
    if snmp.version == "3":
        # Imported here: it imports pysnmp's key and cipher code, about 0.2 s
        # of CPU that v1/v2c-only agents need not pay.
        from hotline_monitor.collectors.ups_snmp.client_usm import UsmClient

        return UsmClient(snmp)
    return CommunityClient(snmp.host, snmp.port, snmp.version, snmp.community, snmp.timeout,
                           snmp.retries)


class SnmpUpsCollector:
    """Polls one UPS network card; remembers alarms and identity to write only changes."""

    kind = "ups_snmp"

    def __init__(self, ups: UpsConfig, site: str) -> None:
        assert ups.snmp is not None
        self.target = ups.id
        self.interval = ups.interval
        self.site = site
        self.snmp = ups.snmp
        self._client = build_client(ups.snmp)
        self._active_alarms: set[str] = set()
        self._last_info: dict[str, str] = {}
        self._profile_name: str | None = None

    async def poll(self) -> PollResult:
        time_ns = now_ns()
        scalars, tables = await read_ups(self._client, SCALAR_OIDS, TABLE_COLUMNS, MAX_LINES + 1,
                                         self.snmp.max_repetitions)

        data = interpret(scalars, tables, self.snmp.profile)
        self._log_profile(data)
        readings = self._readings(data, time_ns)
        return PollResult(readings, data.invalid)

    def _readings(self, data: PollData, time_ns: int) -> list[Reading]:
        base = {"site": self.site, "ups": self.target}
        tagged = {**base, "source": "snmp"}
        readings = []

        if data.ups:
            readings.append(Reading("ups", tagged, data.ups, time_ns))
        for (side, line), fields in sorted(data.lines.items()):
            readings.append(Reading("ups_line", {**tagged, "side": side, "line": str(line)},
                                    fields, time_ns))
        readings += self._alarm_changes(data.alarms, base, time_ns)
        if data.info and data.info != self._last_info:
            readings.append(Reading("ups_info", base, dict(data.info), time_ns))
            self._last_info = data.info
        return readings

    def _alarm_changes(self, alarms: set[str] | None, base: dict[str, str],
                       time_ns: int) -> list[Reading]:
        """Return `ups_alarm` readings for alarms that appeared or cleared since the last poll."""
        if alarms is None:
            # The alarm table was unreadable: no clear is written on a guess.
            return []
        changes = [(name, 1.0) for name in sorted(alarms - self._active_alarms)]
        changes += [(name, 0.0) for name in sorted(self._active_alarms - alarms)]
        self._active_alarms = alarms
        for name, active in changes:
            log.info("UPS %s alarm %s %s", self.target, name, "present" if active else "cleared")
        return [Reading("ups_alarm", {**base, "alarm": name}, {"active": active}, time_ns)
                for name, active in changes]

    def _log_profile(self, data: PollData) -> None:
        name = data.profile.name if data.profile else None
        if name != self._profile_name:
            log.info("UPS %s: vendor profile %s", self.target, name or "none (RFC 1628 units)")
            self._profile_name = name

    async def close(self) -> None:
        await self._client.close()
