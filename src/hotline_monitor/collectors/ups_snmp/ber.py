"""A minimal BER codec for SNMP v1 and v2c messages (RFC 1157, RFC 3416).

pysnmp builds and parses every message through pyasn1 objects, which costs
several milliseconds of CPU for one UPS poll. This codec handles exactly the
message shapes the collector sends and receives, on bytes and Python ints, so
that polls stay cheap. SNMP v3 messages are framed with it too (`client_usm`).

A value is returned as `(tag, payload)`: the BER tag of its type and the
decoded payload (int, bytes, dotted OID string, or None). The tag constants
below name the types.
"""

from __future__ import annotations

INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

GET_REQUEST = 0xA0
GET_NEXT_REQUEST = 0xA1
RESPONSE = 0xA2
GET_BULK_REQUEST = 0xA5
REPORT = 0xA8

VERSION_1 = 0
VERSION_2C = 1

Value = tuple[int, "int | bytes | str | None"]
VarBind = tuple[str, Value]

_UNSIGNED_TAGS = frozenset((COUNTER32, GAUGE32, TIMETICKS, COUNTER64))


class BerError(ValueError):
    """A message that is not well-formed BER or not an SNMP response."""


def _length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def encode_tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def encode_integer(value: int) -> bytes:
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return encode_tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def encode_oid(oid: str) -> bytes:
    """Encode a dotted OID ("1.3.6.1.2.1.33") as a BER OBJECT IDENTIFIER."""
    arcs = [int(arc) for arc in oid.strip(".").split(".")]
    if len(arcs) < 2:
        raise ValueError(f"OID {oid!r} needs at least two arcs")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return encode_tlv(OBJECT_IDENTIFIER, bytes(body))


def encode_varbinds(oids: list[str]) -> bytes:
    """Encode a varbind list of OIDs with NULL values, as requests carry."""
    null = b"\x05\x00"
    return encode_tlv(SEQUENCE, b"".join(encode_tlv(SEQUENCE, encode_oid(oid) + null) for oid in oids))


def encode_message(version: int, community: bytes, pdu_tag: int, request_id: int,
                   field2: int, field3: int, varbinds: bytes) -> bytes:
    """Encode one SNMP message.

    `field2`/`field3` are error-status/error-index for GET and GETNEXT, and
    non-repeaters/max-repetitions for GETBULK (RFC 3416 section 3). `varbinds`
    comes from `encode_varbinds`, so a caller can encode it once and reuse it.
    """
    pdu = encode_pdu(pdu_tag, request_id, field2, field3, varbinds)
    return encode_tlv(SEQUENCE, encode_integer(version) + encode_tlv(OCTET_STRING, community) + pdu)


def encode_pdu(pdu_tag: int, request_id: int, field2: int, field3: int, varbinds: bytes) -> bytes:
    return encode_tlv(pdu_tag, encode_integer(request_id) + encode_integer(field2)
                      + encode_integer(field3) + varbinds)


def read_header(data: bytes, offset: int) -> tuple[int, int, int]:
    """Return (tag, start of contents, end of contents) of the TLV at `offset`."""
    try:
        tag = data[offset]
        first = data[offset + 1]
    except IndexError:
        raise BerError(f"truncated BER header at byte {offset}") from None
    offset += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise BerError(f"unsupported BER length form 0x{first:02x} at byte {offset - 1}")
        length = int.from_bytes(data[offset:offset + count], "big")
        offset += count
    else:
        length = first
    end = offset + length
    if end > len(data):
        raise BerError(f"BER length {length} at byte {offset} runs past the message end")
    return tag, offset, end


def _decode_oid(body: bytes) -> str:
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise BerError("empty OBJECT IDENTIFIER")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return ".".join(map(str, (*head, *arcs[1:])))


def _decode_value(tag: int, body: bytes) -> Value:
    if tag == INTEGER:
        return tag, int.from_bytes(body, "big", signed=True)
    if tag in _UNSIGNED_TAGS:
        return tag, int.from_bytes(body, "big", signed=False)
    if tag == OBJECT_IDENTIFIER:
        return tag, _decode_oid(body)
    if tag in (NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW):
        return tag, None
    return tag, bytes(body)


def expect(data: bytes, offset: int, tag: int, what: str) -> tuple[int, int]:
    """Return (start, end) of the contents of the TLV at `offset`, which must have `tag`."""
    found, start, end = read_header(data, offset)
    if found != tag:
        raise BerError(f"expected {what} (tag 0x{tag:02x}), found tag 0x{found:02x}")
    return start, end


def integer_at(data: bytes, offset: int, what: str) -> tuple[int, int]:
    """Return the INTEGER at `offset` and the offset after it."""
    start, end = expect(data, offset, INTEGER, what)
    return int.from_bytes(data[start:end], "big", signed=True), end


def decode_response(data: bytes) -> tuple[int, bytes, int, int, int, list[VarBind]]:
    """Decode a Response message.

    Returns (version, community, request_id, error_status, error_index, varbinds).
    Raises BerError for anything that is not a well-formed SNMP v1/v2c Response.
    """
    start, _ = expect(data, 0, SEQUENCE, "message SEQUENCE")
    version, offset = integer_at(data, start, "version")
    community_start, offset = expect(data, offset, OCTET_STRING, "community")
    community = data[community_start:offset]
    pdu_start, _ = expect(data, offset, RESPONSE, "Response PDU")
    request_id, error_status, error_index, varbinds = decode_pdu_body(data, pdu_start)
    return version, community, request_id, error_status, error_index, varbinds


def decode_pdu_body(data: bytes, offset: int) -> tuple[int, int, int, list[VarBind]]:
    """Decode a PDU's contents: (request_id, error_status, error_index, varbinds)."""
    request_id, offset = integer_at(data, offset, "request-id")
    error_status, offset = integer_at(data, offset, "error-status")
    error_index, offset = integer_at(data, offset, "error-index")
    list_start, list_end = expect(data, offset, SEQUENCE, "varbind list")

    varbinds: list[VarBind] = []
    offset = list_start
    while offset < list_end:
        bind_start, bind_end = expect(data, offset, SEQUENCE, "varbind")
        oid_start, oid_end = expect(data, bind_start, OBJECT_IDENTIFIER, "varbind name")
        tag, value_start, value_end = read_header(data, oid_end)
        varbinds.append((_decode_oid(data[oid_start:oid_end]),
                         _decode_value(tag, data[value_start:value_end])))
        offset = bind_end
    return request_id, error_status, error_index, varbinds
