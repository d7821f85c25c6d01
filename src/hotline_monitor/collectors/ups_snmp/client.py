"""SNMP v1/v2c requests over asyncio UDP, with our own BER codec.

`SnmpClient` is what the collector needs from any SNMP version: one GET of
many varbinds, GETBULK (or GETNEXT on v1) for table walks. `CommunityClient`
implements it for v1 and v2c; `client_usm.UsmClient` does it for v3. Both
return varbinds as `(dotted OID, (BER tag, payload))`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from typing import Protocol

from hotline_monitor.collectors.ups_snmp import ber
from hotline_monitor.errors import CollectorError, DeviceUnreachable

log = logging.getLogger(__name__)

# RFC 1157 error-status codes that v1 agents use where v2c has exceptions.
_V1_NO_SUCH_NAME = 2
_ERROR_NAMES = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr",
                6: "noAccess", 16: "authorizationError"}


class SnmpClient(Protocol):
    supports_bulk: bool

    async def get(self, oids: tuple[str, ...]) -> list[ber.VarBind]:
        """GET the OIDs in one request; missing objects come back as noSuchObject."""
        ...

    async def get_next(self, oids: list[str]) -> list[ber.VarBind]:
        """GETNEXT; a column past its end comes back as endOfMibView."""
        ...

    async def get_bulk(self, oids: list[str], max_repetitions: int,
                       non_repeaters: int = 0) -> list[ber.VarBind]:
        """GETBULK: the non-repeaters' next OIDs, then rows in row-major order (RFC 3416 4.2.3)."""
        ...

    async def close(self) -> None:
        ...


class SnmpErrorStatus(CollectorError):
    """The agent returned an error-status (tooBig, genErr, ...)."""

    def __init__(self, status: int, index: int) -> None:
        self.status = status
        self.index = index
        name = _ERROR_NAMES.get(status, str(status))
        super().__init__(f"SNMP 设备返回错误 {name}（error-status {status}，第 {index} 个变量）")


class _ResponseProtocol(asyncio.DatagramProtocol):
    """Routes each Response to the request waiting for its request-id."""

    def __init__(self, community: bytes) -> None:
        self.community = community
        self.pending: dict[int, asyncio.Future] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            response = ber.decode_response(data)
        except ber.BerError as err:
            log.debug("ignoring malformed SNMP datagram from %s: %s", addr, err)
            return

        future = self.pending.get(response[2])
        if future is None or future.done():
            return
        if response[1] != self.community:
            log.debug("ignoring SNMP response from %s with another community", addr)
            return
        future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # An ICMP port-unreachable arrives here on Linux for a connected socket.
        for future in self.pending.values():
            if not future.done():
                future.set_exception(exc)


class RequestBase:
    """Request helpers shared by the v1/v2c and the v3 client.

    Subclasses provide `_request(pdu_tag, oids, field2, field3)` returning
    (error status, error index, varbinds), and set `_transport` and `_encoded`.
    """

    _transport: asyncio.DatagramTransport | None
    _encoded: dict[tuple[str, ...], bytes]

    async def _request(self, pdu_tag: int, oids: tuple[str, ...], field2: int = 0,
                       field3: int = 0) -> tuple[int, int, list[ber.VarBind]]:
        raise NotImplementedError

    def _varbinds(self, oids: tuple[str, ...]) -> bytes:
        # A poll repeats the same few OID lists, so their encoding is cached.
        encoded = self._encoded.get(oids)
        if encoded is None:
            encoded = ber.encode_varbinds(list(oids))
            if len(self._encoded) < 16:
                self._encoded[oids] = encoded
        return encoded

    async def _checked(self, pdu_tag: int, oids: tuple[str, ...], field2: int = 0,
                       field3: int = 0) -> list[ber.VarBind]:
        status, index, varbinds = await self._request(pdu_tag, oids, field2, field3)
        if status:
            raise SnmpErrorStatus(status, index)
        return varbinds

    async def get_bulk(self, oids: list[str], max_repetitions: int,
                       non_repeaters: int = 0) -> list[ber.VarBind]:
        return await self._checked(ber.GET_BULK_REQUEST, tuple(oids), non_repeaters, max_repetitions)

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None


class CommunityClient(RequestBase):
    """SNMP v1 or v2c to one agent, on one connected UDP socket."""

    def __init__(self, host: str, port: int, version: str, community: str,
                 timeout: float, retries: int) -> None:
        self.host = host
        self.port = port
        self.version = ber.VERSION_1 if version == "1" else ber.VERSION_2C
        self.supports_bulk = self.version == ber.VERSION_2C
        self.community = community.encode()
        self.timeout = timeout
        self.retries = retries
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _ResponseProtocol | None = None
        self._request_ids = itertools.count(random.randrange(1, 1 << 30))
        self._encoded: dict[tuple[str, ...], bytes] = {}

    async def _connect(self) -> tuple[asyncio.DatagramTransport, _ResponseProtocol]:
        if self._transport is None or self._transport.is_closing():
            loop = asyncio.get_running_loop()
            try:
                self._transport, self._protocol = await loop.create_datagram_endpoint(
                    lambda: _ResponseProtocol(self.community), remote_addr=(self.host, self.port))
            except OSError as err:
                raise DeviceUnreachable(
                    f"无法连接 SNMP 设备 {self.host}:{self.port}：{err}") from err
        assert self._protocol is not None
        return self._transport, self._protocol

    async def _request(self, pdu_tag: int, oids: tuple[str, ...], field2: int = 0,
                       field3: int = 0) -> tuple[int, int, list[ber.VarBind]]:
        transport, protocol = await self._connect()
        request_id = next(self._request_ids) & 0x7FFFFFFF
        message = ber.encode_message(self.version, self.community, pdu_tag, request_id,
                                     field2, field3, self._varbinds(oids))
        loop = asyncio.get_running_loop()
        try:
            for attempt in range(self.retries + 1):
                future = loop.create_future()
                protocol.pending[request_id] = future
                transport.sendto(message)
                try:
                    _, _, _, status, index, varbinds = await asyncio.wait_for(future, self.timeout)
                except TimeoutError:
                    log.debug("SNMP %s:%d: no response, attempt %d of %d", self.host, self.port,
                              attempt + 1, self.retries + 1)
                    continue
                except OSError as err:
                    raise DeviceUnreachable(
                        f"SNMP 设备 {self.host}:{self.port} 不可达：{err}") from err
                return status, index, varbinds
        finally:
            protocol.pending.pop(request_id, None)

        raise DeviceUnreachable(
            f"SNMP 无应答：{self.host}:{self.port} 在 {self.timeout:g} 秒内未响应"
            f"（共尝试 {self.retries + 1} 次）；请检查地址、端口、团体名（community）和防火墙")

    async def get(self, oids: tuple[str, ...]) -> list[ber.VarBind]:
        status, index, varbinds = await self._request(ber.GET_REQUEST, oids)
        if status == 0:
            return varbinds
        if not (self.version == ber.VERSION_1 and status == _V1_NO_SUCH_NAME and index >= 1):
            raise SnmpErrorStatus(status, index)

        # An SNMP v1 agent rejects the whole GET when one object is missing
        # (RFC 1157 4.1.2): mark that one absent and ask again for the rest.
        missing = oids[index - 1]
        rest = tuple(oid for oid in oids if oid != missing)
        found = dict(await self.get(rest)) if rest else {}
        absent: ber.Value = (ber.NO_SUCH_OBJECT, None)
        return [(oid, found.get(oid, absent)) for oid in oids]

    async def get_next(self, oids: list[str]) -> list[ber.VarBind]:
        status, index, varbinds = await self._request(ber.GET_NEXT_REQUEST, tuple(oids))
        if status == 0:
            return varbinds
        if not (self.version == ber.VERSION_1 and status == _V1_NO_SUCH_NAME and index >= 1):
            raise SnmpErrorStatus(status, index)

        # v1 signals the end of the MIB view with noSuchName on that varbind.
        ended = oids[index - 1]
        rest = [oid for oid in oids if oid != ended]
        found = dict(zip(rest, await self.get_next(rest), strict=True)) if rest else {}
        end: ber.VarBind = (ended, (ber.END_OF_MIB_VIEW, None))
        return [found.get(oid, end) for oid in oids]
