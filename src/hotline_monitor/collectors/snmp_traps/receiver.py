"""Receive SNMP v1/v2c traps, informs and v3 notifications with pysnmp.

pysnmp checks communities and USM credentials; a notification that fails
them never reaches us. We read pysnmp's own counters (snmpInBadCommunityNames,
usmStats*) once a second, count the failures and log them, so a card with a
wrong community is visible but never acted on.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config as snmp_config
from pysnmp.entity import engine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto import rfc1902

from hotline_monitor.collectors.snmp_traps.config import TrapsConfig
from hotline_monitor.errors import StartupError, describe_os_error

log = logging.getLogger(__name__)

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
_SO_RCVBUFFORCE = 33

_AUTH = {
    "MD5": snmp_config.USM_AUTH_HMAC96_MD5,
    "SHA": snmp_config.USM_AUTH_HMAC96_SHA,
    "SHA224": snmp_config.USM_AUTH_HMAC128_SHA224,
    "SHA256": snmp_config.USM_AUTH_HMAC192_SHA256,
    "SHA384": snmp_config.USM_AUTH_HMAC256_SHA384,
    "SHA512": snmp_config.USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    None: snmp_config.USM_PRIV_NONE,
    "DES": snmp_config.USM_PRIV_CBC56_DES,
    "AES": snmp_config.USM_PRIV_CFB128_AES,
    "AES192": snmp_config.USM_PRIV_CFB192_AES,
    "AES256": snmp_config.USM_PRIV_CFB256_AES,
}
_REJECTION_COUNTERS = (
    ("__SNMPv2-MIB", "snmpInBadCommunityNames", "wrong community"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames", "unknown SNMPv3 user"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests", "wrong SNMPv3 authentication key"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsDecryptionErrors", "wrong SNMPv3 privacy key"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownEngineIDs", "unknown SNMPv3 engine id"),
    ("__SNMP-USER-BASED-SM-MIB", "usmStatsNotInTimeWindows", "SNMPv3 message outside the time window"),
)


@dataclass(slots=True)
class ReceivedTrap:
    """One accepted notification, in SNMPv2 form (v1 traps converted per RFC 3584)."""

    source: str
    trap_oid: str
    varbinds: dict[str, object]
    received_ns: int = field(default_factory=time.time_ns)


class TrapReceiver:
    def __init__(self, config: TrapsConfig, on_trap: Callable[[ReceivedTrap], None]) -> None:
        self.config = config
        self.on_trap = on_trap
        self.received = 0
        self.rejected: dict[str, int] = {reason: 0 for *_, reason in _REJECTION_COUNTERS}
        self.receive_buffer_bytes = 0
        self._engine: engine.SnmpEngine | None = None
        self._watch_task: asyncio.Task | None = None

    async def start(self) -> None:
        """Bind the socket and start accepting notifications."""
        snmp_engine = engine.SnmpEngine()
        sock = self._open_socket()
        transport = udp.UdpTransport().open_server_mode(sock=sock)
        snmp_config.add_transport(snmp_engine, udp.DOMAIN_NAME, transport)

        for index, community in enumerate(self.config.communities):
            snmp_config.add_v1_system(snmp_engine, f"trap-community-{index}", community)
        for user in self.config.v3_users:
            engine_id = rfc1902.OctetString(hexValue=user.engine_id) if user.engine_id else None
            snmp_config.add_v3_user(
                snmp_engine,
                user.user,
                _AUTH[user.auth_protocol],
                user.auth_key,
                _PRIV[user.priv_protocol if user.priv_key else None],
                user.priv_key,
                securityEngineId=engine_id,
            )

        ntfrcv.NotificationReceiver(snmp_engine, self._receive)
        self._engine = snmp_engine
        # create_datagram_endpoint runs as a task; yield so the socket is attached.
        await asyncio.sleep(0)
        self._watch_task = asyncio.create_task(self._watch_rejections())
        log.info("trap receiver listening on %s, receive buffer %d bytes, %d communities, %d v3 users",
                 self.config.listen, self.receive_buffer_bytes, len(self.config.communities),
                 len(self.config.v3_users))

    def _open_socket(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            # SO_RCVBUFFORCE (Linux, root or CAP_NET_ADMIN) passes net.core.rmem_max;
            # Python does not name it, so the number comes from <asm-generic/socket.h>.
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, self.config.receive_buffer)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.config.receive_buffer)
        # Linux reports twice the size asked for (it counts its bookkeeping).
        self.receive_buffer_bytes = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        try:
            sock.bind((self.config.host, self.config.port))
        except OSError as err:
            sock.close()
            raise StartupError(f"无法监听陷阱地址 {self.config.listen}：{describe_os_error(err)}；"
                               "请停用占用该端口的程序（例如 snmptrapd），或修改 traps.listen") from err
        sock.setblocking(False)
        return sock

    def _receive(self, snmp_engine, state_reference, context_engine_id, context_name,
                 varbinds, callback_context) -> None:
        _, address = snmp_engine.message_dispatcher.get_transport_info(state_reference)
        values = {str(oid): _python_value(value) for oid, value in varbinds}
        trap_oid = str(values.get(SNMP_TRAP_OID, ""))
        self.received += 1
        try:
            self.on_trap(ReceivedTrap(str(address[0]), trap_oid, values))
        except Exception:  # noqa: BLE001 - one bad trap must not stop the receiver
            log.exception("trap %s from %s could not be handled", trap_oid, address[0])

    async def _watch_rejections(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.check_rejections()

    def check_rejections(self) -> None:
        """Read pysnmp's rejection counters; log and count what is new."""
        if self._engine is None:
            return
        builder = self._engine.get_mib_builder()
        for module, name, reason in _REJECTION_COUNTERS:
            (counter,) = builder.import_symbols(module, name)
            total = int(counter.syntax)
            new = total - self.rejected[reason]
            if new > 0:
                self.rejected[reason] = total
                log.warning("rejected %d notifications (%s, %d in total); check the card's trap settings",
                            new, reason, total)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    async def close(self) -> None:
        if self._watch_task:
            self._watch_task.cancel()
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None


def _python_value(value: object) -> object:
    """Turn a pysnmp value into str/int for matching (OIDs as dotted text)."""
    if isinstance(value, rfc1902.ObjectIdentifier):
        return str(value)
    if isinstance(value, rfc1902.OctetString):
        return value.asOctets().decode("utf-8", errors="replace")
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)
