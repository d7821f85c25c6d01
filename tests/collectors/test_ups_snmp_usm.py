"""USM report handling of the v3 client, on Report PDUs built by hand (RFC 3414 section 3.2)."""

from __future__ import annotations

import asyncio

import pytest

from hotline_monitor.collectors.ups_snmp import ber
from hotline_monitor.collectors.ups_snmp.client_usm import UsmClient
from hotline_monitor.config.model import SnmpTarget
from hotline_monitor.errors import DeviceAuthError, DeviceUnreachable

ENGINE_ID = bytes.fromhex("80004fb805766d4813c340")


def make_client() -> UsmClient:
    target = SnmpTarget(host="127.0.0.1", port=16100, version="3", user="hotline",
                        auth_protocol="SHA256", auth_key="auth-secret-1", priv_protocol="AES",
                        priv_key="priv-secret-1")
    client = UsmClient(target)
    client._engine_id = ENGINE_ID
    client._localise_keys(ENGINE_ID)
    return client


def report(client: UsmClient, counter_oid: str, count: int = 1) -> bytes:
    """An unauthenticated Report carrying one usmStats counter, as agents send them."""
    varbind = ber.encode_tlv(ber.SEQUENCE, ber.encode_oid(counter_oid)
                             + ber.encode_tlv(ber.COUNTER32, bytes((count,))))
    pdu = ber.encode_pdu(ber.REPORT, 0, 0, 0, ber.encode_tlv(ber.SEQUENCE, varbind))
    return client._frame(1, 0, ENGINE_ID, 3, 1000, b"hotline", b"",
                         client._scoped(ENGINE_ID, pdu))


def request_with_reply(client: UsmClient, replies: list[bytes]):
    async def exchange(message: bytes, message_id: int) -> bytes:
        return replies.pop(0)

    client._exchange = exchange  # type: ignore[method-assign]
    return asyncio.run(client.get(("1.3.6.1.2.1.1.1.0",)))


@pytest.mark.parametrize(
    ("counter", "message"),
    [
        ("1.3.6.1.6.3.15.1.1.1.0", r"不支持所配置的安全级别 \(usmStatsUnsupportedSecLevels\)"),
        ("1.3.6.1.6.3.15.1.1.3.0", r"没有这个用户名 \(usmStatsUnknownUserNames\)"),
        ("1.3.6.1.6.3.15.1.1.5.0", r"用户名或密码错误 \(usmStatsWrongDigests\)"),
        ("1.3.6.1.6.3.15.1.1.6.0", r"加密密码或加密协议.*\(usmStatsDecryptionErrors\)"),
    ],
)
def test_report_raises_auth_error(counter, message):
    client = make_client()
    with pytest.raises(DeviceAuthError, match=message):
        request_with_reply(client, [report(client, counter)])


def test_not_in_time_window_resyncs_once():
    client = make_client()
    window = report(client, "1.3.6.1.6.3.15.1.1.2.0")
    with pytest.raises(DeviceUnreachable, match="usmStatsNotInTimeWindows"):
        request_with_reply(client, [window, window])
    # The report's boots and time (3, 1000) were taken over.
    assert client._boots == 3


def test_forged_digest_is_wrong_password():
    client = make_client()
    pdu = ber.encode_pdu(ber.RESPONSE, 1, 0, 0, ber.encode_varbinds(["1.3.6.1.2.1.1.1.0"]))
    # Authenticated flag with a digest of zeros: no key produces it.
    forged = client._frame(1, 0x01, ENGINE_ID, 3, 1000, b"hotline", b"",
                           client._scoped(ENGINE_ID, pdu), digest_length=24)
    with pytest.raises(DeviceAuthError, match="usmStatsWrongDigests"):
        request_with_reply(client, [forged])
