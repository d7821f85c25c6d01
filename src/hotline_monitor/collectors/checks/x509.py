"""Read a certificate's notAfter from its DER encoding, without a crypto library.

Only the path to the validity is decoded (RFC 5280 section 4.1):
Certificate ::= SEQUENCE { tbsCertificate, ... } and
TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
issuer, validity SEQUENCE { notBefore, notAfter }, ... }.
"""

from __future__ import annotations

from datetime import UTC, datetime

_SEQUENCE = 0x30
_CONTEXT_0 = 0xA0
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18


def _element(data: bytes, offset: int) -> tuple[int, int, int]:
    """Return (tag, start of content, end of content) of the DER element at offset."""
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[start:start + size], "big")
        start += size
    end = start + length
    if end > len(data):
        raise ValueError("DER element runs past the end of the certificate")
    return tag, start, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    children = []
    offset = start
    while offset < end:
        child = _element(data, offset)
        children.append(child)
        offset = child[2]
    return children


def not_after(der: bytes) -> datetime:
    """Return the certificate's notAfter as an aware UTC datetime; ValueError on malformed input."""
    try:
        tag, start, end = _element(der, 0)
        if tag != _SEQUENCE:
            raise ValueError("certificate is not a DER SEQUENCE")
        tbs_tag, tbs_start, tbs_end = _children(der, start, end)[0]
        fields = _children(der, tbs_start, tbs_end)
    except IndexError as err:
        raise ValueError("truncated DER certificate") from err

    if fields and fields[0][0] == _CONTEXT_0:
        fields = fields[1:]
    validity_tag, validity_start, validity_end = fields[3]
    if tbs_tag != _SEQUENCE or validity_tag != _SEQUENCE:
        raise ValueError("unexpected certificate structure")
    _, (time_tag, time_start, time_end) = _children(der, validity_start, validity_end)
    return _parse_time(time_tag, der[time_start:time_end].decode("ascii"))


def _parse_time(tag: int, text: str) -> datetime:
    if tag == _UTC_TIME:
        # RFC 5280 section 4.1.2.5.1: YY of 50 or more is 19YY, below 50 is 20YY.
        parsed = datetime.strptime(text, "%y%m%d%H%M%SZ")
        if parsed.year >= 2050:
            parsed = parsed.replace(year=parsed.year - 100)
    elif tag == _GENERALIZED_TIME:
        parsed = datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise ValueError(f"unexpected time tag 0x{tag:02x} in validity")
    return parsed.replace(tzinfo=UTC)
