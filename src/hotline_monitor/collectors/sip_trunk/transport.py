"""Send one OPTIONS and wait for its final response, over UDP, TCP or TLS.

UDP follows the non-INVITE client transaction of RFC 3261 section 17.1.2:
retransmit after T1, doubling up to T2 (4 s), and give up at Timer F (64*T1),
here capped by the trunk's configured timeout. A provisional (1xx) response
moves retransmissions to every T2. Reliable transports send once (section
17.1.2.2: Timer E is not used over TCP).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from hotline_monitor.collectors.sip_trunk.message import (
    OptionsRequest,
    SipResponse,
    content_length,
    matches,
    parse_response,
)

log = logging.getLogger(__name__)

T2 = 4.0
"""RFC 3261 T2: the longest retransmission interval for non-INVITE requests."""

RequestFactory = Callable[[str, int], OptionsRequest]
"""Builds the request once the local address (host, port) for Via is known."""


@dataclass(slots=True)
class ProbeOutcome:
    """Result of one probe: the final response, or the reason there was none."""

    response: SipResponse | None = None
    rtt_ms: float | None = None
    transmissions: int = 0
    ignored: int = 0
    error: str | None = None


class _UdpProtocol(asyncio.DatagramProtocol):
    """Hands datagrams from the expected peer to the pending probe; drops the rest."""

    def __init__(self, trunk_id: str) -> None:
        self.trunk_id = trunk_id
        self.peer: tuple[str, int] | None = None
        self.request: OptionsRequest | None = None
        self.final: asyncio.Future[SipResponse] | None = None
        self.provisional = False
        self.ignored = 0

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        source = (addr[0], addr[1])
        if self.request is None or self.final is None or self.final.done():
            log.debug("trunk %s: late or unsolicited datagram from %s:%d ignored", self.trunk_id,
                      *source)
            return
        if source != self.peer:
            # RFC 3261 section 18.1.2 sends responses back to where the request
            # came from; a datagram from any other address is not our peer's.
            self.ignored += 1
            log.log(self._level(), "trunk %s: reply from %s:%d ignored, the peer is %s:%d",
                    self.trunk_id, source[0], source[1], *self.peer)
            return

        response = parse_response(data)
        if response is None or not matches(response, self.request):
            self.ignored += 1
            branch = response.top_via_branch if response else None
            log.log(self._level(), "trunk %s: datagram not matching the pending OPTIONS ignored "
                    "(branch %s, expected %s)", self.trunk_id, branch, self.request.branch)
            return

        if response.status_code < 200:
            self.provisional = True
            return
        self.final.set_result(response)

    def _level(self) -> int:
        # The first stray datagram of a probe is worth a warning; a flood of
        # them is not worth a log line each.
        return logging.WARNING if self.ignored == 1 else logging.DEBUG

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable arrives here on Linux; the retransmissions
        # continue, because a trunk peer restarting may come back within Timer F.
        log.debug("trunk %s: socket error %s", self.trunk_id, exc)


class UdpProber:
    """One UDP socket per trunk, kept open across probes."""

    def __init__(self, trunk_id: str, t1: float) -> None:
        self.trunk_id = trunk_id
        self.t1 = t1
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _UdpProtocol | None = None
        self._local: tuple[str, int] | None = None

    async def probe(self, peer: tuple[str, int], family: int, build: RequestFactory,
                    timeout: float) -> ProbeOutcome:
        transport, protocol = await self._open(peer, family)
        assert self._local is not None
        loop = asyncio.get_running_loop()

        request = build(*self._local)
        protocol.peer = peer
        protocol.request = request
        protocol.final = loop.create_future()
        protocol.provisional = False
        protocol.ignored = 0

        outcome = ProbeOutcome()
        limit = min(64 * self.t1, timeout)
        started = time.perf_counter()
        retransmit = _Retransmitter(loop, transport, request.data, peer, self.t1, protocol)
        try:
            async with asyncio.timeout(limit):
                response = await protocol.final
            outcome.response = response
            outcome.rtt_ms = (time.perf_counter() - started) * 1000.0
        except TimeoutError:
            outcome.error = f"no final response within {limit:g} s"
        finally:
            retransmit.stop()
            outcome.transmissions = retransmit.transmissions
            outcome.ignored = protocol.ignored
            if not protocol.final.done():
                protocol.final.cancel()
            protocol.request = None
        return outcome

    async def _open(self, peer: tuple[str, int], family: int
                    ) -> tuple[asyncio.DatagramTransport, _UdpProtocol]:
        if self._transport is not None and not self._transport.is_closing():
            assert self._protocol is not None
            return self._transport, self._protocol

        loop = asyncio.get_running_loop()
        local_host = _local_address_towards(peer, family)
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self.trunk_id), local_addr=(local_host, 0), family=family
        )
        self._transport, self._protocol = transport, protocol
        self._local = transport.get_extra_info("sockname")[:2]
        return transport, protocol

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None


class _Retransmitter:
    """Sends the request now and again on Timer E: T1, doubling up to T2, T2 after a 1xx."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.DatagramTransport,
                 data: bytes, peer: tuple[str, int], t1: float, protocol: _UdpProtocol) -> None:
        self._loop = loop
        self._transport = transport
        self._data = data
        self._peer = peer
        self._protocol = protocol
        self._wait = t1
        self.transmissions = 0
        self._handle: asyncio.TimerHandle | None = None
        # Sends are scheduled at absolute times from the first one, so a busy
        # loop does not push every later retransmission back.
        self._next_at = loop.time()
        self._send()

    def _send(self) -> None:
        self._transport.sendto(self._data, self._peer)
        self.transmissions += 1
        if self._protocol.provisional:
            self._wait = T2
        self._next_at += self._wait
        self._handle = self._loop.call_at(self._next_at, self._send)
        self._wait = min(self._wait * 2, T2)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


def _local_address_towards(peer: tuple[str, int], family: int) -> str:
    """Return the local address the kernel would use to reach the peer.

    Connecting a UDP socket sends nothing. It only picks the route, so Via
    carries an address the peer can reach instead of 0.0.0.0.
    """
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect(peer)
        return probe.getsockname()[0]


async def stream_probe(trunk_id: str, peer: tuple[str, int], build: RequestFactory,
                       timeout: float, tls: ssl.SSLContext | None, server_name: str | None
                       ) -> ProbeOutcome:
    """Connect over TCP (or TLS), send one OPTIONS, read until its final response."""
    outcome = ProbeOutcome()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                peer[0], peer[1], ssl=tls, server_hostname=server_name if tls else None
            )
            try:
                local = writer.get_extra_info("sockname")
                request = build(local[0], local[1])
                started = time.perf_counter()
                writer.write(request.data)
                await writer.drain()
                outcome.transmissions = 1
                outcome.response = await _read_final(trunk_id, reader, request, outcome)
                outcome.rtt_ms = (time.perf_counter() - started) * 1000.0
            finally:
                writer.close()
                try:
                    await writer.wait_closed()
                except (ConnectionError, ssl.SSLError):
                    pass
    except TimeoutError:
        outcome.error = f"no final response within {timeout:g} s"
    except ssl.SSLError as err:
        outcome.error = f"TLS handshake failed: {err.reason or err}"
    except (OSError, asyncio.IncompleteReadError) as err:
        outcome.error = f"connection failed: {err}"
    return outcome


async def _read_final(trunk_id: str, reader: asyncio.StreamReader, request: OptionsRequest,
                      outcome: ProbeOutcome) -> SipResponse:
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        body_length = content_length(head)
        if body_length:
            await reader.readexactly(body_length)

        response = parse_response(head)
        if response is None or not matches(response, request):
            outcome.ignored += 1
            log.warning("trunk %s: reply not matching the pending OPTIONS ignored: %r",
                        trunk_id, head[:80])
            continue
        if response.status_code >= 200:
            return response
