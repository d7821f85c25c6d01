"""TCP, HTTP(S) and ICMP service checks against servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import http.server
import logging
import os
import socket
import ssl
import threading
from pathlib import Path

import pytest
from certificates import self_signed, server_context

from hotline_monitor.collectors.checks import x509
from hotline_monitor.collectors.checks.collector import CheckCollector
from hotline_monitor.collectors.checks.config import CheckConfig


def run_check(**settings) -> dict:
    return run_checks(1, **settings)[0]


def run_checks(count: int, **settings) -> list[dict]:
    collector = CheckCollector(CheckConfig(id=settings.pop("id", "svc"), **settings), "test-site")

    async def scenario():
        try:
            results = []
            for _ in range(count):
                (reading,) = (await collector.poll()).readings
                assert reading.measurement == "check"
                assert reading.tags == {"site": "test-site", "check": collector.check.id,
                                        "kind": collector.check.kind}
                results.append(reading.fields)
            return results
        finally:
            await collector.close()

    return asyncio.run(scenario())


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        status = {"/": 200, "/fail": 500, "/moved": 301}.get(self.path, 404)
        self.send_response(status)
        if status == 301:
            self.send_header("Location", "/")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def http_server(context: ssl.SSLContext | None = None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_tcp_open_and_closed():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        fields = run_check(kind="tcp", target=f"127.0.0.1:{port}", timeout=1.0)
    assert fields["up"] == 1.0
    assert 0.0 < fields["latency_ms"] < 1000.0

    # The listener is closed now, so the same port refuses the connection.
    closed = run_check(kind="tcp", target=f"127.0.0.1:{port}", timeout=1.0)
    assert closed == {"up": 0.0}


def test_http_status_codes():
    with http_server() as port:
        ok = run_check(kind="http", target=f"http://127.0.0.1:{port}/")
        failing = run_check(kind="http", target=f"http://127.0.0.1:{port}/fail")
        moved = run_check(kind="http", target=f"http://127.0.0.1:{port}/moved")
        strict = run_check(kind="http", target=f"http://127.0.0.1:{port}/moved",
                           expected_status=[200])
    assert ok["up"] == 1.0
    assert ok["status_code"] == 200.0
    assert ok["latency_ms"] > 0.0
    assert "cert_days_left" not in ok
    assert failing["up"] == 0.0
    assert failing["status_code"] == 500.0
    assert moved["up"] == 1.0, "a redirect is up unless expected_status says otherwise"
    assert moved["status_code"] == 301.0
    assert strict["up"] == 0.0


def test_http_no_server():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        fields = run_check(kind="http", target=f"http://127.0.0.1:{port}/", timeout=1.0)
    assert fields == {"up": 0.0}


def test_https_certificate_days_left(tmp_path):
    now = datetime.datetime.now(datetime.UTC)
    cert_path, key_path = self_signed(tmp_path, now - datetime.timedelta(days=1),
                                      now + datetime.timedelta(days=30))
    with http_server(server_context(cert_path, key_path)) as port:
        verified = run_check(kind="http", target=f"https://127.0.0.1:{port}/", ca_path=cert_path)
        unverified = run_check(kind="http", target=f"https://127.0.0.1:{port}/",
                               verify_tls=False)
        untrusted = run_check(kind="http", target=f"https://127.0.0.1:{port}/")

    assert verified["up"] == 1.0
    assert verified["status_code"] == 200.0
    # notAfter is 30 days from the start of the test, kept to whole seconds.
    assert 29.99 < verified["cert_days_left"] <= 30.0
    assert 29.99 < unverified["cert_days_left"] <= 30.0
    assert untrusted["up"] == 0.0, "a certificate no CA vouches for fails verification"
    assert "status_code" not in untrusted
    assert 29.99 < untrusted["cert_days_left"] <= 30.0, "the expiry is still read"


def test_https_expired_certificate(tmp_path):
    now = datetime.datetime.now(datetime.UTC)
    cert_path, key_path = self_signed(tmp_path, now - datetime.timedelta(days=40),
                                      now - datetime.timedelta(days=2))
    with http_server(server_context(cert_path, key_path)) as port:
        verified = run_check(kind="http", target=f"https://127.0.0.1:{port}/", ca_path=cert_path)
        unverified = run_check(kind="http", target=f"https://127.0.0.1:{port}/",
                               verify_tls=False)
    assert verified["up"] == 0.0
    assert -2.01 < verified["cert_days_left"] < -1.99
    assert unverified["up"] == 1.0
    assert -2.01 < unverified["cert_days_left"] < -1.99


def test_https_expired_logs_reason(tmp_path, caplog):
    now = datetime.datetime.now(datetime.UTC)
    cert_path, key_path = self_signed(tmp_path, now - datetime.timedelta(days=40),
                                      now - datetime.timedelta(days=2))
    caplog.set_level(logging.ERROR, logger="hotline_monitor.collectors.checks.collector")
    with http_server(server_context(cert_path, key_path)) as port:
        run_check(id="portal", kind="http", target=f"https://127.0.0.1:{port}/", ca_path=cert_path)
    assert "check portal (http https://127.0.0.1:" in caplog.text
    assert "is down: TLS certificate rejected: certificate has expired" in caplog.text


@pytest.mark.parametrize("not_after", [
    datetime.datetime(2031, 7, 1, 8, 30, 15, tzinfo=datetime.UTC),   # UTCTime
    datetime.datetime(2051, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),     # GeneralizedTime from 2050 on
], ids=["utc-time", "generalized-time"])
def test_der_not_after(tmp_path, not_after):
    cert_path, _ = self_signed(tmp_path, datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
                               not_after)
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text())
    assert x509.not_after(der) == not_after


def test_der_not_after_rejects_garbage():
    with pytest.raises(ValueError):
        x509.not_after(b"\x30\x82\xff\xff\x30")
    with pytest.raises(ValueError):
        x509.not_after(b"not a certificate")


def ping_permitted() -> bool:
    low, high = (int(value) for value in
                 Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    return any(low <= group <= high for group in {os.getgid(), *os.getgroups()})


def test_icmp_ping_or_not_supported(caplog):
    caplog.set_level(logging.WARNING, logger="hotline_monitor.collectors.checks.collector")
    first, second = run_checks(2, kind="icmp", target="127.0.0.1", timeout=1.0)
    if ping_permitted():
        assert first["up"] == 1.0
        assert first["latency_ms"] > 0.0
        assert not caplog.records
    else:
        assert first == {"supported": 0.0}, "not permitted is not the same as down"
        assert second == {"supported": 0.0}
        warnings = [record for record in caplog.records
                    if "ping_group_range" in record.getMessage()]
        assert len(warnings) == 1, "the warning is logged once, not every poll"
