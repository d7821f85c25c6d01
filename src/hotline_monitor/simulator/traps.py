"""RFC 1628 notifications (upsTraps, 1.3.6.1.2.1.33.2) sent as SNMPv2c traps.

Each trap carries the objects RFC 1628 lists for it, so a receiver needs no
follow-up GET to see why it was sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    send_notification,
)
from pysnmp.proto import rfc1902

from hotline_monitor.simulator.model import Alarm, Snapshot
from hotline_monitor.simulator.recording import parse_oid

log = logging.getLogger(__name__)

UPS = "1.3.6.1.2.1.33"
TRAP_ON_BATTERY = f"{UPS}.2.1"
TRAP_TEST_COMPLETED = f"{UPS}.2.2"
TRAP_ALARM_ENTRY_ADDED = f"{UPS}.2.3"
TRAP_ALARM_ENTRY_REMOVED = f"{UPS}.2.4"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"


@dataclass(frozen=True, slots=True)
class TrapReceiver:
    host: str
    port: int
    community: str = "public"


def on_battery_varbinds(snapshot: Snapshot) -> list[tuple[str, object]]:
    return [
        (f"{UPS}.1.2.3.0", rfc1902.Integer32(int(snapshot.runtime_s // 60))),
        (f"{UPS}.1.2.2.0", rfc1902.Integer32(int(snapshot.seconds_on_battery))),
        (f"{UPS}.1.9.7.0", rfc1902.Integer32(5)),
    ]


def alarm_varbinds(alarm: Alarm) -> list[tuple[str, object]]:
    return [
        (f"{UPS}.1.6.2.1.1.{alarm.alarm_id}", rfc1902.Integer32(alarm.alarm_id)),
        (f"{UPS}.1.6.2.1.2.{alarm.alarm_id}", rfc1902.ObjectIdentifier(parse_oid(alarm.oid))),
    ]


def test_completed_varbinds(snapshot: Snapshot) -> list[tuple[str, object]]:
    return [
        (f"{UPS}.1.7.1.0", rfc1902.ObjectIdentifier(parse_oid(f"{UPS}.1.7.7.4"))),
        (f"{UPS}.1.7.2.0", rfc1902.Integer32(snapshot.test_id)),
        (f"{UPS}.1.7.3.0", rfc1902.Integer32(snapshot.test_result)),
        (f"{UPS}.1.7.4.0", rfc1902.OctetString(snapshot.test_detail.encode("utf-8"))),
        (f"{UPS}.1.7.5.0", rfc1902.TimeTicks(snapshot.uptime_cs)),
        (f"{UPS}.1.7.6.0", rfc1902.Integer32(10)),
    ]


class TrapSender:
    """Sends SNMPv2c traps to every configured receiver; failures are logged, not raised."""

    def __init__(self, receivers: list[TrapReceiver]) -> None:
        self.receivers = receivers
        self.sent = 0
        self._engine: SnmpEngine | None = None

    async def send(self, trap_oid: str, uptime_cs: int, varbinds: list[tuple[str, object]]) -> None:
        if not self.receivers:
            return
        if self._engine is None:
            self._engine = SnmpEngine()
        objects = [
            ObjectType(ObjectIdentity(SYS_UPTIME), rfc1902.TimeTicks(uptime_cs)),
            ObjectType(ObjectIdentity(SNMP_TRAP_OID), rfc1902.ObjectIdentifier(parse_oid(trap_oid))),
            *(ObjectType(ObjectIdentity(oid), value) for oid, value in varbinds),
        ]
        for receiver in self.receivers:
            try:
                target = await UdpTransportTarget.create((receiver.host, receiver.port),
                                                         timeout=1, retries=0)
                error_indication, _, _, _ = await send_notification(
                    self._engine, CommunityData(receiver.community, mpModel=1), target,
                    ContextData(), "trap", *objects, lookupMib=False)
            except Exception as err:  # noqa: BLE001 - a bad receiver must not stop the simulator
                log.warning("trap %s to %s:%d failed: %s", trap_oid, receiver.host,
                            receiver.port, err)
                continue
            if error_indication:
                log.warning("trap %s to %s:%d failed: %s", trap_oid, receiver.host,
                            receiver.port, error_indication)
            else:
                self.sent += 1
                log.debug("trap %s sent to %s:%d", trap_oid, receiver.host, receiver.port)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None
