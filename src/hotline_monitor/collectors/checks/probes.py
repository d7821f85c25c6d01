"""The probes behind the `check` collector: TCP connect, HTTP(S) and ICMP echo.

Each returns a CheckOutcome: the fields of one `check` reading and, when the
service is down, the reason for the log.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from hotline_monitor.collectors.checks import x509
from hotline_monitor.collectors.checks.config import CheckConfig

Fields = dict[str, float | str]


@dataclass(slots=True)
class CheckOutcome:
    fields: Fields
    error: str | None = None


async def tcp_check(check: CheckConfig) -> CheckOutcome:
    host, port = check.tcp_address()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(check.timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return CheckOutcome({"up": 0.0}, f"connect timed out after {check.timeout:g} s")
    except OSError as err:
        return CheckOutcome({"up": 0.0}, f"connect failed: {err}")

    latency_ms = (time.perf_counter() - started) * 1000.0
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return CheckOutcome({"up": 1.0, "latency_ms": latency_ms})


def tls_context(check: CheckConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(check.ca_path) if check.ca_path else None)
    if not check.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def http_check(check: CheckConfig, client: httpx.AsyncClient) -> CheckOutcome:
    started = time.perf_counter()
    try:
        async with client.stream(check.method, check.target) as response:
            latency_ms = (time.perf_counter() - started) * 1000.0
            status = response.status_code
            ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    except httpx.HTTPError as err:
        return await _http_failure(check, err)

    if check.expected_status:
        up = status in check.expected_status
    else:
        up = 200 <= status < 400
    fields: Fields = {"up": 1.0 if up else 0.0, "latency_ms": latency_ms,
                      "status_code": float(status)}
    if der:
        fields["cert_days_left"] = days_left(der)
    return CheckOutcome(fields, None if up else f"HTTP status {status}")


async def _http_failure(check: CheckConfig, err: httpx.HTTPError) -> CheckOutcome:
    fields: Fields = {"up": 0.0}
    verify_error = _certificate_error(err)
    if verify_error is None:
        return CheckOutcome(fields, f"request failed: {err!r}")

    # The certificate was rejected (expired, untrusted, wrong name). Its expiry
    # is still worth a reading, so it is fetched once more without verification.
    der = await fetch_certificate(check)
    if der:
        fields["cert_days_left"] = days_left(der)
    return CheckOutcome(fields, f"TLS certificate rejected: {verify_error.verify_message}")


def _certificate_error(err: BaseException) -> ssl.SSLCertVerificationError | None:
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


async def fetch_certificate(check: CheckConfig) -> bytes | None:
    """Return the server's certificate (DER) from a handshake without verification."""
    parts = urlsplit(check.target)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(check.timeout):
            _, writer = await asyncio.open_connection(
                parts.hostname, parts.port or 443, ssl=context, server_hostname=parts.hostname)
    except (OSError, TimeoutError):
        return None
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, ssl.SSLError):
        pass
    return der


def days_left(der: bytes) -> float:
    """Return the days until the certificate's notAfter, negative once expired."""
    return (x509.not_after(der) - datetime.now(UTC)).total_seconds() / 86400.0


ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0


class IcmpNotPermitted(Exception):
    """Unprivileged ICMP sockets are not allowed for this process's group."""


async def icmp_check(check: CheckConfig, sequence: int) -> CheckOutcome:
    """Send one echo request over an unprivileged ICMP socket (SOCK_DGRAM, IPPROTO_ICMP).

    Linux allows such sockets only to groups inside net.ipv4.ping_group_range;
    otherwise socket() fails with EACCES and IcmpNotPermitted is raised.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(check.target, None, family=socket.AF_INET)
    address = infos[0][4][0]
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except OSError as err:
        if err.errno in (errno.EACCES, errno.EPERM, errno.EPROTONOSUPPORT):
            raise IcmpNotPermitted(str(err)) from err
        raise

    with sock:
        sock.setblocking(False)
        payload = os.urandom(16)
        # The kernel fills in the identifier (the socket's port) and the checksum.
        packet = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, 0, sequence & 0xFFFF) + payload
        started = time.perf_counter()
        await loop.sock_sendto(sock, packet, (address, 0))
        try:
            async with asyncio.timeout(check.timeout):
                while not _is_our_reply(await loop.sock_recv(sock, 2048), sequence, payload):
                    pass
        except TimeoutError:
            return CheckOutcome({"up": 0.0}, f"no echo reply within {check.timeout:g} s")
        return CheckOutcome({"up": 1.0, "latency_ms": (time.perf_counter() - started) * 1000.0})


def _is_our_reply(reply: bytes, sequence: int, payload: bytes) -> bool:
    if len(reply) < 8:
        return False
    kind, _, _, _, reply_sequence = struct.unpack("!BBHHH", reply[:8])
    return kind == ICMP_ECHO_REPLY and reply_sequence == sequence & 0xFFFF and reply[8:] == payload
