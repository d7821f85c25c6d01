"""The three probes: each returns the fields of one `check` reading."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import ssl
import struct
import time
from datetime import UTC, datetime

import httpx

from hotline_monitor.collectors.checks.config import CheckConfig

log = logging.getLogger(__name__)

Fields = dict[str, float | str]


async def tcp_check(check: CheckConfig) -> Fields:
    host, port = check.tcp_address()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(check.timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as err:
        log.debug("check %s: connect to %s failed: %r", check.id, check.target, err)
        return {"up": 0.0}
    latency_ms = (time.perf_counter() - started) * 1000.0
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return {"up": 1.0, "latency_ms": latency_ms}


def tls_context(check: CheckConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(check.ca_path) if check.ca_path else None)
    if not check.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def http_check(check: CheckConfig, client: httpx.AsyncClient) -> Fields:
    started = time.perf_counter()
    try:
        async with client.stream(check.method, check.target) as response:
            latency_ms = (time.perf_counter() - started) * 1000.0
            status = response.status_code
            ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
            days_left = certificate_days_left(ssl_object) if ssl_object is not None else None
    except httpx.HTTPError as err:
        log.debug("check %s: request to %s failed: %r", check.id, check.target, err)
        return {"up": 0.0}

    if check.expected_status:
        up = status in check.expected_status
    else:
        up = 200 <= status < 400
    fields: Fields = {"up": 1.0 if up else 0.0, "latency_ms": latency_ms, "status_code": float(status)}
    if days_left is not None:
        fields["cert_days_left"] = days_left
    return fields


def certificate_days_left(ssl_object: ssl.SSLObject) -> float | None:
    """Return the days until the peer certificate's notAfter, negative once expired."""
    certificate = ssl_object.getpeercert()
    if certificate and "notAfter" in certificate:
        expires = ssl.cert_time_to_seconds(certificate["notAfter"])
        return (expires - time.time()) / 86400.0

    # Without verification the standard library returns no parsed fields;
    # the DER form is read with cryptography when it is installed.
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    try:
        from cryptography import x509
    except ImportError:
        return None
    not_after = x509.load_der_x509_certificate(der).not_valid_after_utc
    return (not_after - datetime.now(UTC)).total_seconds() / 86400.0


ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0


class IcmpNotPermitted(Exception):
    """Unprivileged ICMP sockets are not allowed for this process's group."""


async def icmp_check(check: CheckConfig, sequence: int) -> Fields:
    """Send one echo request over an unprivileged ICMP socket (SOCK_DGRAM, IPPROTO_ICMP).

    Linux allows such sockets only to groups inside net.ipv4.ping_group_range;
    otherwise socket() fails with EACCES and IcmpNotPermitted is raised.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(check.target, None, family=socket.AF_INET)
    address = infos[0][4][0]
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except PermissionError as err:
        raise IcmpNotPermitted(str(err)) from err
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
                while True:
                    reply = await loop.sock_recv(sock, 2048)
                    kind, _, _, _, reply_sequence = struct.unpack("!BBHHH", reply[:8])
                    if kind == ICMP_ECHO_REPLY and reply_sequence == sequence & 0xFFFF \
                            and reply[8:] == payload:
                        break
        except TimeoutError:
            return {"up": 0.0}
        return {"up": 1.0, "latency_ms": (time.perf_counter() - started) * 1000.0}
