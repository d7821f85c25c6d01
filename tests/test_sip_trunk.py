"""SIP trunk OPTIONS probes against a real kamailio and against scripted fake peers."""

from __future__ import annotations

import asyncio
import datetime
import re
import socket
import time

import pytest
from certificates import self_signed, server_context
from servers import kamailio

from hotline_monitor.collectors.sip_trunk.collector import SipTrunkCollector
from hotline_monitor.collectors.sip_trunk.config import SipTrunkConfig
from hotline_monitor.collectors.sip_trunk.message import parse_response


def trunk(port: int, **settings) -> SipTrunkConfig:
    return SipTrunkConfig(id=settings.pop("id", "carrier-a"), host="127.0.0.1", port=port,
                          **settings)


async def poll_fields(collector: SipTrunkCollector) -> dict:
    result = await collector.poll()
    assert len(result.readings) == 1
    reading = result.readings[0]
    assert reading.measurement == "sip_trunk"
    assert reading.tags == {"site": "test-site", "trunk": collector.trunk.id}
    return reading.fields


@pytest.fixture(scope="module")
def kamailio_server():
    with kamailio() as server:
        yield server


# --- against kamailio -------------------------------------------------------


def test_kamailio_modes_switched_over_udp(kamailio_server):
    """200, then 503, then silence, then 200 again, on one UDP trunk."""
    config = trunk(kamailio_server.port, timeout=1.0, failures_before_down=2)

    async def scenario():
        collector = SipTrunkCollector(config, "test-site")
        seen = []
        try:
            kamailio_server.set_mode("200")
            seen.append(await poll_fields(collector))
            kamailio_server.set_mode("503")
            seen.append(await poll_fields(collector))
            kamailio_server.set_mode("drop")
            seen.append(await poll_fields(collector))
            seen.append(await poll_fields(collector))
            kamailio_server.set_mode("200")
            seen.append(await poll_fields(collector))
        finally:
            await collector.close()
        return seen

    ok, refusing, silent, down, back = asyncio.run(scenario())

    assert ok["up"] == 1.0
    assert ok["status_code"] == 200.0
    assert ok["consecutive_failures"] == 0.0
    assert 0.0 < ok["rtt_ms"] < 1000.0

    # 503 is a response, so the peer is reachable, but it rejects calls.
    assert refusing["status_code"] == 503.0
    assert refusing["reachable"] == 1.0
    assert refusing["consecutive_failures"] == 1.0
    assert refusing["up"] == 1.0, "one failure is under failures_before_down=2"

    assert silent["reachable"] == 0.0
    assert "status_code" not in silent
    assert "rtt_ms" not in silent
    assert down["consecutive_failures"] == 3.0
    assert down["up"] == 0.0

    assert back["up"] == 1.0
    assert back["consecutive_failures"] == 0.0


def test_kamailio_403_is_not_up(kamailio_server):
    config = trunk(kamailio_server.port, timeout=1.0, failures_before_down=1)

    async def scenario():
        collector = SipTrunkCollector(config, "test-site")
        try:
            kamailio_server.set_mode("403")
            return await poll_fields(collector)
        finally:
            kamailio_server.set_mode("200")
            await collector.close()

    fields = asyncio.run(scenario())
    assert fields["status_code"] == 403.0
    assert fields["reachable"] == 1.0
    assert fields["up"] == 0.0


def test_kamailio_tcp_only(kamailio_server):
    """A peer responding only over TCP: the TCP trunk is up, the UDP trunk is not."""

    async def scenario():
        udp = SipTrunkCollector(trunk(kamailio_server.port, id="via-udp", timeout=1.0,
                                      failures_before_down=1), "test-site")
        tcp = SipTrunkCollector(trunk(kamailio_server.port, id="via-tcp", transport="tcp",
                                      timeout=1.0, failures_before_down=1), "test-site")
        try:
            kamailio_server.set_mode("tcp-only")
            return await poll_fields(udp), await poll_fields(tcp)
        finally:
            kamailio_server.set_mode("200")
            await udp.close()
            await tcp.close()

    over_udp, over_tcp = asyncio.run(scenario())
    assert over_udp["up"] == 0.0
    assert over_udp["reachable"] == 0.0
    assert over_tcp["up"] == 1.0
    assert over_tcp["status_code"] == 200.0


def test_kamailio_tcp_drop_times_out(kamailio_server):
    config = trunk(kamailio_server.port, transport="tcp", timeout=1.0, failures_before_down=1)

    async def scenario():
        collector = SipTrunkCollector(config, "test-site")
        try:
            kamailio_server.set_mode("drop")
            started = time.monotonic()
            fields = await poll_fields(collector)
            return fields, time.monotonic() - started
        finally:
            kamailio_server.set_mode("200")
            await collector.close()

    fields, elapsed = asyncio.run(scenario())
    assert fields["up"] == 0.0
    assert fields["reachable"] == 0.0
    assert 0.9 < elapsed < 2.0


def test_unknown_until_threshold_or_success(kamailio_server):
    """No `up` field before the first success or the failure threshold."""
    config = trunk(kamailio_server.port, timeout=1.0, failures_before_down=2)

    async def scenario():
        collector = SipTrunkCollector(config, "test-site")
        try:
            kamailio_server.set_mode("503")
            return await poll_fields(collector), await poll_fields(collector)
        finally:
            kamailio_server.set_mode("200")
            await collector.close()

    first, second = asyncio.run(scenario())
    assert "up" not in first
    assert first["consecutive_failures"] == 1.0
    assert second["up"] == 0.0


def test_closed_tcp_port_is_down():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        config = trunk(port, transport="tcp", timeout=1.0, failures_before_down=1)

        async def scenario():
            collector = SipTrunkCollector(config, "test-site")
            try:
                return await poll_fields(collector)
            finally:
                await collector.close()

        fields = asyncio.run(scenario())
    assert fields["up"] == 0.0
    assert fields["reachable"] == 0.0


# --- against scripted fake peers -----------------------------------------------


class FakePeer(asyncio.DatagramProtocol):
    """A UDP peer that records requests and responds through a scripted handler."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.requests: list[tuple[float, bytes]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.requests.append((time.monotonic(), data))
        self.handler(self, data, addr)


async def start_peer(handler) -> tuple[FakePeer, int]:
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(lambda: FakePeer(handler),
                                                          local_addr=("127.0.0.1", 0))
    return peer, transport.get_extra_info("sockname")[1]


def header(data: bytes, name: str) -> str:
    match = re.search(rf"(?im)^{name}:\s*(.*?)\r$", data.decode())
    assert match, f"{name} missing in {data!r}"
    return match.group(1)


def response_to(request: bytes, code: int, reason: str, branch: str | None = None,
                cseq: str | None = None) -> bytes:
    via = header(request, "Via")
    if branch is not None:
        via = re.sub(r"branch=[^;]+", f"branch={branch}", via)
    lines = [
        f"SIP/2.0 {code} {reason}",
        f"Via: {via}",
        f"From: {header(request, 'From')}",
        f"To: {header(request, 'To')};tag=peer",
        f"Call-ID: {header(request, 'Call-ID')}",
        f"CSeq: {cseq or header(request, 'CSeq')}",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_request_is_well_formed():
    """The OPTIONS carries every header RFC 3261 section 8.1.1 requires."""

    def answer(peer, data, addr):
        peer.transport.sendto(response_to(data, 200, "OK"), addr)

    async def scenario():
        peer, port = await start_peer(answer)
        collector = SipTrunkCollector(trunk(port, from_uri="sip:monitor@hotline.example",
                                            timeout=1.0), "test-site")
        try:
            await poll_fields(collector)
            await poll_fields(collector)
        finally:
            await collector.close()
            peer.transport.close()
        return port, [data for _, data in peer.requests]

    port, (first, second) = asyncio.run(scenario())
    text = first.decode()
    assert text.startswith(f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n")
    assert text.endswith("\r\n\r\n")
    assert re.fullmatch(r"SIP/2\.0/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK[0-9a-f]+;rport",
                        header(first, "Via"))
    assert header(first, "Max-Forwards") == "70"
    assert re.fullmatch(r"<sip:monitor@hotline\.example>;tag=[0-9a-f]+", header(first, "From"))
    assert header(first, "To") == f"<sip:127.0.0.1:{port}>"
    assert header(first, "CSeq") == "1 OPTIONS"
    assert header(second, "CSeq") == "2 OPTIONS"
    assert header(first, "Call-ID") != header(second, "Call-ID")
    assert header(first, "Via") != header(second, "Via"), "each probe needs a new branch"
    assert re.fullmatch(r"<sip:monitor@127\.0\.0\.1:\d+;transport=udp>", header(first, "Contact"))
    assert header(first, "Content-Length") == "0"


def test_wrong_branch_ignored():
    """A 503 with another branch is dropped; the 200 with ours is taken."""

    def answer(peer, data, addr):
        peer.transport.sendto(response_to(data, 503, "Wrong Transaction",
                                          branch="z9hG4bKsomeoneelse"), addr)
        peer.transport.sendto(response_to(data, 200, "OK"), addr)

    async def scenario():
        peer, port = await start_peer(answer)
        collector = SipTrunkCollector(trunk(port, timeout=1.0), "test-site")
        try:
            return await poll_fields(collector)
        finally:
            await collector.close()
            peer.transport.close()

    fields = asyncio.run(scenario())
    assert fields["status_code"] == 200.0
    assert fields["up"] == 1.0


def test_wrong_cseq_and_only_wrong_branch_time_out():
    """Replies that never match the pending transaction leave the trunk silent."""

    def answer(peer, data, addr):
        peer.transport.sendto(response_to(data, 200, "OK", branch="z9hG4bKnotyours"), addr)
        peer.transport.sendto(response_to(data, 200, "OK", cseq="99 OPTIONS"), addr)

    async def scenario():
        peer, port = await start_peer(answer)
        collector = SipTrunkCollector(trunk(port, timeout=0.6, failures_before_down=1),
                                      "test-site")
        try:
            return await poll_fields(collector)
        finally:
            await collector.close()
            peer.transport.close()

    fields = asyncio.run(scenario())
    assert fields["reachable"] == 0.0
    assert fields["up"] == 0.0


def test_reply_from_another_port_ignored():
    """A correct response sent from a port other than the trunk's is not trusted."""
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))

    def answer(peer, data, addr):
        other.sendto(response_to(data, 200, "OK"), addr)

    async def scenario():
        peer, port = await start_peer(answer)
        collector = SipTrunkCollector(trunk(port, timeout=0.6, failures_before_down=1),
                                      "test-site")
        try:
            return await poll_fields(collector), len(peer.requests)
        finally:
            await collector.close()
            peer.transport.close()

    try:
        fields, requests = asyncio.run(scenario())
    finally:
        other.close()
    assert fields["reachable"] == 0.0
    assert fields["up"] == 0.0
    assert requests >= 2, "the probe kept retransmitting after the stray reply"


def test_udp_retransmission_timers():
    """T1=0.1 s, 2 s timeout: sends at 0, 0.1, 0.3, 0.7 and 1.5 s (RFC 3261 17.1.2.2)."""

    async def scenario():
        peer, port = await start_peer(lambda peer, data, addr: None)
        collector = SipTrunkCollector(trunk(port, t1=0.1, timeout=2.0, failures_before_down=1),
                                      "test-site")
        try:
            started = time.monotonic()
            fields = await poll_fields(collector)
            return fields, time.monotonic() - started, peer.requests
        finally:
            await collector.close()
            peer.transport.close()

    fields, elapsed, requests = asyncio.run(scenario())
    first = requests[0][0]
    offsets = [arrival - first for arrival, _ in requests]
    assert len(offsets) == 5
    for offset, expected in zip(offsets, [0.0, 0.1, 0.3, 0.7, 1.5], strict=True):
        assert abs(offset - expected) < 0.08, offsets
    assert len({data for _, data in requests}) == 1, "a retransmission repeats the request"
    assert fields["retransmissions"] == 4.0
    assert 1.9 < elapsed < 2.5


def test_timer_f_caps_below_timeout():
    """T1=0.01 s: Timer F (64*T1 = 0.64 s) ends the probe before the 5 s timeout."""

    async def scenario():
        peer, port = await start_peer(lambda peer, data, addr: None)
        collector = SipTrunkCollector(trunk(port, t1=0.01, timeout=5.0, failures_before_down=1),
                                      "test-site")
        try:
            started = time.monotonic()
            await poll_fields(collector)
            return time.monotonic() - started, len(peer.requests)
        finally:
            await collector.close()
            peer.transport.close()

    elapsed, requests = asyncio.run(scenario())
    # Sends at 0, 0.01, 0.03, 0.07, 0.15, 0.31 and 0.63 s.
    assert requests == 7
    assert 0.6 < elapsed < 1.2


def test_provisional_then_final():
    """A 100 Trying stops the fast retransmissions; the later 200 is the result."""

    def answer(peer, data, addr):
        if len(peer.requests) == 1:
            peer.transport.sendto(response_to(data, 100, "Trying"), addr)
            asyncio.get_running_loop().call_later(
                0.4, peer.transport.sendto, response_to(data, 200, "OK"), addr)

    async def scenario():
        peer, port = await start_peer(answer)
        collector = SipTrunkCollector(trunk(port, t1=0.1, timeout=2.0), "test-site")
        try:
            return await poll_fields(collector), len(peer.requests)
        finally:
            await collector.close()
            peer.transport.close()

    fields, requests = asyncio.run(scenario())
    assert fields["status_code"] == 200.0
    assert fields["up"] == 1.0
    assert 350.0 < fields["rtt_ms"] < 1000.0
    # After the 1xx the next retransmission waits T2 (4 s), so only the
    # first retransmission at 0.1 s can precede it.
    assert requests <= 2


def test_accept_codes_count_as_up():
    def answer(peer, data, addr):
        peer.transport.sendto(response_to(data, 404, "Not Found"), addr)

    async def scenario(accept):
        peer, port = await start_peer(answer)
        collector = SipTrunkCollector(trunk(port, timeout=1.0, failures_before_down=1,
                                            accept_codes=accept), "test-site")
        try:
            return await poll_fields(collector)
        finally:
            await collector.close()
            peer.transport.close()

    assert asyncio.run(scenario([404]))["up"] == 1.0
    assert asyncio.run(scenario([]))["up"] == 0.0


def test_parse_compact_and_folded_headers():
    data = (b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc,\r\n"
            b" SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKdef\r\ni: x@y\r\nCSeq: 7 options\r\nl: 0\r\n\r\n")
    response = parse_response(data)
    assert response is not None
    assert response.status_code == 200
    assert response.top_via_branch == "z9hG4bKabc"
    assert response.first("call-id") == "x@y"
    assert response.cseq == (7, "OPTIONS")
    assert parse_response(b"OPTIONS sip:a SIP/2.0\r\n\r\n") is None


def test_tls_trunk_against_tls_peer(tmp_path):
    """Over TLS the Via is SIP/2.0/TLS; a trusted peer returns 200, an untrusted one fails."""
    now = datetime.datetime.now(datetime.UTC)
    cert_path, key_path = self_signed(tmp_path, now - datetime.timedelta(days=1),
                                      now + datetime.timedelta(days=10))
    received: list[bytes] = []

    async def serve(reader, writer):
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        received.append(request)
        writer.write(response_to(request, 100, "Trying") + response_to(request, 200, "OK"))
        await writer.drain()
        writer.close()

    async def scenario():
        server = await asyncio.start_server(serve, "127.0.0.1", 0,
                                            ssl=server_context(cert_path, key_path))
        port = server.sockets[0].getsockname()[1]
        trusted = SipTrunkCollector(trunk(port, id="tls-ok", transport="tls", ca_path=cert_path,
                                          timeout=2.0, failures_before_down=1), "test-site")
        untrusted = SipTrunkCollector(trunk(port, id="tls-bad", transport="tls", timeout=2.0,
                                            failures_before_down=1), "test-site")
        try:
            return await poll_fields(trusted), await poll_fields(untrusted)
        finally:
            await trusted.close()
            await untrusted.close()
            server.close()
            await server.wait_closed()

    ok, refused = asyncio.run(scenario())
    assert ok["up"] == 1.0
    assert ok["status_code"] == 200.0
    assert refused["up"] == 0.0
    assert refused["reachable"] == 0.0
    assert len(received) == 1, "the untrusted handshake never reached the request"
    assert re.match(rb"OPTIONS sips:127\.0\.0\.1:\d+ SIP/2\.0\r\n", received[0])
    assert re.search(rb"\r\nVia: SIP/2\.0/TLS 127\.0\.0\.1:\d+;branch=z9hG4bK", received[0])
