"""SNMP v3 (USM authNoPriv / authPriv) through pysnmp 7.1's asyncio engine.

pysnmp handles engine discovery, time windows, key localisation and the
HMAC-SHA-2 (RFC 7860) and AES (RFC 3826) transforms. Its MIB lookup is
switched off (`lookupMib=False`) and the request ObjectTypes are built once,
which halves its CPU cost per request. USM reports are translated into
`DeviceAuthError` with the counter that the agent reported.
"""

from __future__ import annotations

import logging

from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
    usm3DESEDEPrivProtocol,
    usmAesCfb128Protocol,
    usmAesCfb192Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
    usmNoAuthProtocol,
    usmNoPrivProtocol,
)
from pysnmp.proto import errind

from hotline_monitor.collectors.ups_snmp import ber
from hotline_monitor.collectors.ups_snmp.client import SnmpErrorStatus
from hotline_monitor.config.model import SnmpTarget
from hotline_monitor.errors import DeviceAuthError, DeviceUnreachable

log = logging.getLogger(__name__)

AUTH_PROTOCOLS = {
    None: usmNoAuthProtocol,
    "MD5": usmHMACMD5AuthProtocol,
    "SHA": usmHMACSHAAuthProtocol,
    "SHA224": usmHMAC128SHA224AuthProtocol,
    "SHA256": usmHMAC192SHA256AuthProtocol,
    "SHA384": usmHMAC256SHA384AuthProtocol,
    "SHA512": usmHMAC384SHA512AuthProtocol,
}
PRIV_PROTOCOLS = {
    None: usmNoPrivProtocol,
    "DES": usmDESPrivProtocol,
    "3DES": usm3DESEDEPrivProtocol,
    "AES": usmAesCfb128Protocol,
    "AES192": usmAesCfb192Protocol,
    "AES256": usmAesCfb256Protocol,
}

# USM error indications (RFC 3414 section 3.2) that retrying will not cure.
_AUTH_FAILURES: dict[type, str] = {
    errind.WrongDigest: "SNMP v3 认证失败：用户名或密码错误 (usmStatsWrongDigests)",
    errind.UnknownUserName: "SNMP v3 认证失败：设备上没有这个用户名 (usmStatsUnknownUserNames)",
    errind.UnsupportedSecurityLevel:
        "SNMP v3 认证失败：设备不支持所配置的安全级别 (usmStatsUnsupportedSecLevels)",
    errind.DecryptionError:
        "SNMP v3 解密失败：加密密码或加密协议（priv_key / priv_protocol）错误 "
        "(usmStatsDecryptionErrors)",
    errind.UnknownEngineID: "SNMP v3 认证失败：引擎 ID 未知 (usmStatsUnknownEngineIDs)",
    errind.AuthenticationFailure: "SNMP v3 认证失败：用户名或密码错误",
}

_TAGS_BY_TYPE = {
    "Integer": ber.INTEGER, "Integer32": ber.INTEGER, "OctetString": ber.OCTET_STRING,
    "Null": ber.NULL, "ObjectIdentifier": ber.OBJECT_IDENTIFIER, "ObjectName": ber.OBJECT_IDENTIFIER,
    "IpAddress": ber.IP_ADDRESS, "Counter32": ber.COUNTER32, "Gauge32": ber.GAUGE32,
    "Unsigned32": ber.GAUGE32, "TimeTicks": ber.TIMETICKS, "Opaque": ber.OPAQUE,
    "Counter64": ber.COUNTER64, "NoSuchObject": ber.NO_SUCH_OBJECT,
    "NoSuchInstance": ber.NO_SUCH_INSTANCE, "EndOfMibView": ber.END_OF_MIB_VIEW,
}


def _to_value(value: object) -> ber.Value:
    tag = _TAGS_BY_TYPE.get(type(value).__name__, ber.OCTET_STRING)
    if tag in (ber.NULL, ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW):
        return tag, None
    if tag == ber.OBJECT_IDENTIFIER:
        return tag, str(value)
    if tag in (ber.OCTET_STRING, ber.IP_ADDRESS, ber.OPAQUE):
        return tag, bytes(value.asOctets())  # type: ignore[attr-defined]
    return tag, int(value)  # type: ignore[call-overload]


# Counters our own engine raises when a response to us fails its checks. An
# agent that signs its report with the right key gets a response we cannot
# verify when our key is wrong; pysnmp then drops it and the request times
# out, so the counter is what tells a wrong password from a dead card.
_LOCAL_USM_COUNTERS = {
    "usmStatsWrongDigests": "SNMP v3 认证失败：用户名或密码错误 (usmStatsWrongDigests)",
    "usmStatsDecryptionErrors":
        "SNMP v3 解密失败：加密密码或加密协议（priv_key / priv_protocol）错误 "
        "(usmStatsDecryptionErrors)",
}


class UsmClient:
    """SNMP v3 to one agent through one pysnmp engine."""

    supports_bulk = True

    def __init__(self, target: SnmpTarget) -> None:
        self.target = target
        self._engine = SnmpEngine()
        self._auth = UsmUserData(
            target.user or "",
            authKey=target.auth_key,
            privKey=target.priv_key,
            authProtocol=AUTH_PROTOCOLS[target.auth_protocol or ("SHA" if target.auth_key else None)],
            privProtocol=PRIV_PROTOCOLS[target.priv_protocol or ("AES" if target.priv_key else None)],
        )
        self._context = ContextData(contextName=target.context)
        self._transport: UdpTransportTarget | None = None
        self._object_types: dict[tuple[str, ...], tuple[ObjectType, ...]] = {}

    async def _transport_target(self) -> UdpTransportTarget:
        if self._transport is None:
            self._transport = await UdpTransportTarget.create(
                (self.target.host, self.target.port), timeout=self.target.timeout,
                retries=self.target.retries)
        return self._transport

    def _objects(self, oids: tuple[str, ...]) -> tuple[ObjectType, ...]:
        objects = self._object_types.get(oids)
        if objects is None:
            objects = tuple(ObjectType(ObjectIdentity(oid)) for oid in oids)
            if len(self._object_types) < 16:
                self._object_types[oids] = objects
        return objects

    def _local_counters(self) -> dict[str, int]:
        builder = self._engine.get_mib_builder()
        counters = builder.import_symbols("__SNMP-USER-BASED-SM-MIB", *_LOCAL_USM_COUNTERS)
        return {name: int(counter.syntax) for name, counter in zip(_LOCAL_USM_COUNTERS, counters,
                                                                  strict=True)}

    def _check(self, indication: object, status: object, index: object,
               counters_before: dict[str, int]) -> None:
        if isinstance(indication, errind.RequestTimedOut):
            for name, count in self._local_counters().items():
                if count > counters_before[name]:
                    raise DeviceAuthError(
                        f"{_LOCAL_USM_COUNTERS[name]}；设备 {self.target.host}:{self.target.port}，"
                        f"用户 {self.target.user}")
        if indication:
            for kind, message in _AUTH_FAILURES.items():
                if isinstance(indication, kind):
                    raise DeviceAuthError(f"{message}；设备 {self.target.host}:{self.target.port}，"
                                          f"用户 {self.target.user}")
            if isinstance(indication, errind.RequestTimedOut):
                raise DeviceUnreachable(
                    f"SNMP 无应答：{self.target.host}:{self.target.port} 在 "
                    f"{self.target.timeout:g} 秒内未响应（共尝试 {self.target.retries + 1} 次）")
            raise DeviceUnreachable(f"SNMP v3 请求失败：{indication}")
        if status and int(status):  # type: ignore[call-overload]
            raise SnmpErrorStatus(int(status), int(index))  # type: ignore[call-overload]

    @staticmethod
    def _flatten(var_binds: object) -> list[ber.VarBind]:
        flat = []
        for item in var_binds:  # type: ignore[attr-defined]
            rows = item if isinstance(item, list | tuple) and item and isinstance(item[0], ObjectType) \
                else [item]
            for name, value in rows:
                flat.append((str(name), _to_value(value)))
        return flat

    async def get(self, oids: tuple[str, ...]) -> list[ber.VarBind]:
        transport = await self._transport_target()
        counters = self._local_counters()
        indication, status, index, var_binds = await get_cmd(
            self._engine, self._auth, transport, self._context, *self._objects(oids),
            lookupMib=False)
        self._check(indication, status, index, counters)
        return self._flatten(var_binds)

    async def get_next(self, oids: list[str]) -> list[ber.VarBind]:
        transport = await self._transport_target()
        counters = self._local_counters()
        indication, status, index, var_binds = await next_cmd(
            self._engine, self._auth, transport, self._context, *self._objects(tuple(oids)),
            lookupMib=False)
        self._check(indication, status, index, counters)
        return self._flatten(var_binds)

    async def get_bulk(self, oids: list[str], max_repetitions: int) -> list[ber.VarBind]:
        transport = await self._transport_target()
        counters = self._local_counters()
        indication, status, index, var_binds = await bulk_cmd(
            self._engine, self._auth, transport, self._context, 0, max_repetitions,
            *self._objects(tuple(oids)), lookupMib=False)
        self._check(indication, status, index, counters)
        return self._flatten(var_binds)

    async def close(self) -> None:
        self._engine.close_dispatcher()
