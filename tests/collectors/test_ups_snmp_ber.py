"""The BER codec against encodings worked out by hand from X.690."""

from __future__ import annotations

import pytest

from hotline_monitor.collectors.ups_snmp import ber


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "020100"), (127, "02017f"), (128, "02020080"), (-1, "0201ff"), (-128, "020180"),
     (-129, "0202ff7f"), (4294967295, "020500ffffffff")],
)
def test_encode_integer(value, encoded):
    assert ber.encode_integer(value).hex() == encoded


def test_encode_oid_sys_descr():
    # 1.3 -> 40*1+3 = 0x2b; the rest one byte each.
    assert ber.encode_oid("1.3.6.1.2.1.1.1.0").hex() == "06082b06010201010100"


def test_encode_oid_large_arc():
    # 99999 = 6*128^2 + 13*128 + 31 -> 0x86 0x8d 0x1f
    assert ber.encode_oid("1.3.6.1.4.1.99999").hex() == "06082b06010401868d1f"


def _response(varbinds: bytes, request_id: int = 7, status: int = 0, index: int = 0) -> bytes:
    pdu_body = (ber.encode_integer(request_id) + ber.encode_integer(status)
                + ber.encode_integer(index) + _tlv(0x30, varbinds))
    body = ber.encode_integer(1) + b"\x04\x06public" + _tlv(0xA2, pdu_body)
    return _tlv(0x30, body)


def _tlv(tag: int, body: bytes) -> bytes:
    length = len(body)
    head = bytes([length]) if length < 0x80 else b"\x81" + bytes([length])
    assert length < 0x100
    return bytes([tag]) + head + body


def _varbind(oid: str, value: bytes) -> bytes:
    return _tlv(0x30, ber.encode_oid(oid) + value)


def test_decode_response_types():
    varbinds = (
        _varbind("1.3.6.1.2.1.33.1.2.6.0", bytes.fromhex("0202fb2e"))
        + _varbind("1.3.6.1.2.1.33.1.2.3.0", bytes.fromhex("4204ffffffff"))
        + _varbind("1.3.6.1.2.1.33.1.1.1.0", b"\x04\x05EATON")
        + _varbind("1.3.6.1.2.1.33.1.6.2.1.2.1", ber.encode_oid("1.3.6.1.2.1.33.1.6.3.2"))
        + _varbind("1.3.6.1.2.1.33.1.2.4.0", b"\x05\x00")
        + _varbind("1.3.6.1.2.1.33.1.1.2.0", b"\x81\x00")
        + _varbind("1.3.6.1.2.1.33.2", b"\x82\x00")
    )
    version, community, request_id, status, index, decoded = ber.decode_response(
        _response(varbinds))

    assert (version, community, request_id, status, index) == (1, b"public", 7, 0, 0)
    assert decoded == [
        ("1.3.6.1.2.1.33.1.2.6.0", (ber.INTEGER, -1234)),     # 0xfb2e two's complement
        ("1.3.6.1.2.1.33.1.2.3.0", (ber.GAUGE32, 4294967295)),
        ("1.3.6.1.2.1.33.1.1.1.0", (ber.OCTET_STRING, b"EATON")),
        ("1.3.6.1.2.1.33.1.6.2.1.2.1", (ber.OBJECT_IDENTIFIER, "1.3.6.1.2.1.33.1.6.3.2")),
        ("1.3.6.1.2.1.33.1.2.4.0", (ber.NULL, None)),
        ("1.3.6.1.2.1.33.1.1.2.0", (ber.NO_SUCH_INSTANCE, None)),
        ("1.3.6.1.2.1.33.2", (ber.END_OF_MIB_VIEW, None)),
    ]


def test_decode_error_status():
    _, _, _, status, index, _ = ber.decode_response(_response(b"", status=2, index=1))
    assert (status, index) == (2, 1)


def test_decode_long_length_form():
    value = b"\x04\x81\x90" + b"x" * 0x90
    varbind = ber.encode_oid("1.3.6.1.2.1.1.1.0") + value
    bound = b"\x30\x81" + bytes([len(varbind)]) + varbind
    pdu_body = (ber.encode_integer(1) + ber.encode_integer(0) + ber.encode_integer(0)
                + b"\x30\x81" + bytes([len(bound)]) + bound)
    pdu = b"\xa2\x81" + bytes([len(pdu_body)]) + pdu_body
    body = ber.encode_integer(1) + b"\x04\x01c" + pdu
    message = b"\x30\x82" + len(body).to_bytes(2, "big") + body
    assert ber.decode_response(message)[5] == [("1.3.6.1.2.1.1.1.0", (ber.OCTET_STRING, b"x" * 0x90))]


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_decode_truncated_raises(cut):
    message = _response(_varbind("1.3.6.1.2.1.1.1.0", b"\x04\x05EATON"))
    with pytest.raises(ber.BerError):
        ber.decode_response(message[:-cut])


def test_decode_request_rejected():
    request = ber.encode_message(1, b"public", ber.GET_REQUEST, 1, 0, 0,
                                 ber.encode_varbinds(["1.3.6.1.2.1.1.1.0"]))
    with pytest.raises(ber.BerError, match="Response PDU"):
        ber.decode_response(request)
