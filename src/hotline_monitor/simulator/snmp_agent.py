"""The simulator's SNMP agent: pysnmp's command responder serving the live state.

A custom MIB instrumentation answers GET, GETNEXT and GETBULK from a table
that `objects()` rebuilds from the model on each request, so every answer
reflects the state at that instant. SNMPv1/v2c communities and SNMPv3 USM
users are accepted; every object is readable by all of them (no VACM views).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.error import PySnmpError
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import instrum

from hotline_monitor.simulator.recording import Oid, Value

log = logging.getLogger(__name__)

AUTH_PROTOCOLS = {
    "MD5": config.USM_AUTH_HMAC96_MD5,
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA224": config.USM_AUTH_HMAC128_SHA224,
    "SHA256": config.USM_AUTH_HMAC192_SHA256,
    "SHA384": config.USM_AUTH_HMAC256_SHA384,
    "SHA512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "DES": config.USM_PRIV_CBC56_DES,
    "AES": config.USM_PRIV_CFB128_AES,
    "AES192": config.USM_PRIV_CFB192_AES,
    "AES256": config.USM_PRIV_CFB256_AES,
}


@dataclass(frozen=True, slots=True)
class V3User:
    user: str
    auth_protocol: str | None = None
    auth_key: str | None = None
    priv_protocol: str | None = None
    priv_key: str | None = None


class Unanswered(PySnmpError):
    """Raised to drop a request: pysnmp then sends no response at all."""


def to_asn1(value: Value) -> object:
    tag, raw = value
    if tag == 2:
        return rfc1902.Integer32(raw)
    if tag == 4:
        return rfc1902.OctetString(raw if isinstance(raw, bytes) else str(raw).encode("utf-8"))
    if tag == 5:
        return univ.Null("")
    if tag == 6:
        return rfc1902.ObjectIdentifier(raw)
    if tag == 64:
        return rfc1902.IpAddress(raw)
    if tag == 65:
        return rfc1902.Counter32(raw)
    if tag == 66:
        return rfc1902.Gauge32(raw)
    if tag == 67:
        return rfc1902.TimeTicks(raw)
    if tag == 68:
        return rfc1902.Opaque(raw if isinstance(raw, bytes) else str(raw).encode())
    return rfc1902.Counter64(raw)


class LiveMibInstrum(instrum.AbstractMibInstrumController):
    """Answers reads from a sorted list of (OID, value), rebuilt per request."""

    def __init__(self, objects: Callable[[], list[tuple[Oid, Value]]],
                 answering: Callable[[], bool]) -> None:
        self._objects = objects
        self._answering = answering

    def _table(self) -> tuple[list[Oid], list[Value]]:
        if not self._answering():
            raise Unanswered("simulated UPS is not answering")
        rows = self._objects()
        return [oid for oid, _ in rows], [value for _, value in rows]

    def read_variables(self, *var_binds, **context):
        oids, values = self._table()
        result = []
        for name, _ in var_binds:
            key = tuple(name)
            position = bisect.bisect_left(oids, key)
            if position < len(oids) and oids[position] == key:
                result.append((name, to_asn1(values[position])))
            else:
                result.append((name, rfc1905.noSuchObject))
        return result

    def read_next_variables(self, *var_binds, **context):
        oids, values = self._table()
        result = []
        for name, _ in var_binds:
            position = bisect.bisect_right(oids, tuple(name))
            if position < len(oids):
                result.append((rfc1902.ObjectName(oids[position]), to_asn1(values[position])))
            else:
                result.append((name, rfc1905.endOfMibView))
        return result

    def write_variables(self, *var_binds, **context):
        raise Unanswered("the simulator is read-only")


class SnmpAgent:
    """An SNMP engine listening on one UDP port of one address."""

    def __init__(self, host: str, port: int, communities: list[str], v3_users: list[V3User],
                 objects: Callable[[], list[tuple[Oid, Value]]],
                 answering: Callable[[], bool]) -> None:
        self.host = host
        self.port = port
        self.engine = engine.SnmpEngine()
        config.add_transport(self.engine, udp.DOMAIN_NAME,
                             udp.UdpTransport().open_server_mode((host, port)))
        for index, community in enumerate(communities):
            config.add_v1_system(self.engine, f"area-{index}", community)
        for user in v3_users:
            config.add_v3_user(
                self.engine,
                user.user,
                AUTH_PROTOCOLS[user.auth_protocol or "SHA"] if user.auth_key else config.USM_AUTH_NONE,
                user.auth_key,
                PRIV_PROTOCOLS[user.priv_protocol or "AES"] if user.priv_key else config.USM_PRIV_NONE,
                user.priv_key,
            )

        snmp_context = context.SnmpContext(self.engine)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", LiveMibInstrum(objects, answering))
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder,
                          cmdrsp.BulkCommandResponder):
            responder(self.engine, snmp_context)
        log.info("simulated UPS answers SNMP on %s:%d (communities %d, v3 users %d)",
                 host, port, len(communities), len(v3_users))

    def close(self) -> None:
        dispatcher = self.engine.transport_dispatcher
        if dispatcher is not None:
            dispatcher.close_dispatcher()
