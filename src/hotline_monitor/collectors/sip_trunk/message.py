"""Build SIP OPTIONS requests and parse the responses (RFC 3261 section 7 and 8.1.1)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

# RFC 3261 section 8.1.1.7: a branch starting with this cookie marks an
# RFC 3261 client, so the server matches transactions on it alone.
BRANCH_COOKIE = "z9hG4bK"
USER_AGENT = "hotline-monitor"

_STATUS_LINE = re.compile(r"^SIP/2\.0\s+(\d{3})\s*(.*)$")
# Compact header forms of RFC 3261 section 7.3.3 that a response may use.
_COMPACT = {"v": "via", "i": "call-id", "l": "content-length", "f": "from", "t": "to",
            "m": "contact"}


@dataclass(slots=True, frozen=True)
class OptionsRequest:
    """One OPTIONS request and the values its response must echo."""

    branch: str
    call_id: str
    cseq: int
    data: bytes


@dataclass(slots=True)
class SipResponse:
    status_code: int
    reason: str
    headers: dict[str, list[str]]

    def first(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None

    @property
    def top_via_branch(self) -> str | None:
        via = self.first("via")
        if via is None:
            return None
        # Several Via values may share one header line, separated by commas.
        top = via.split(",", 1)[0]
        match = re.search(r";\s*branch\s*=\s*([^;,\s]+)", top, re.IGNORECASE)
        return match.group(1) if match else None

    @property
    def cseq(self) -> tuple[int, str] | None:
        value = self.first("cseq")
        if value is None:
            return None
        parts = value.split()
        if len(parts) != 2 or not parts[0].isdigit():
            return None
        return int(parts[0]), parts[1].upper()


def new_branch() -> str:
    return BRANCH_COOKIE + secrets.token_hex(8)


def build_options(
    request_uri: str,
    from_uri: str,
    transport: str,
    local_host: str,
    local_port: int,
    cseq: int,
    call_id: str | None = None,
    branch: str | None = None,
) -> OptionsRequest:
    """Build an OPTIONS request with every header RFC 3261 section 8.1.1 requires."""
    branch = branch or new_branch()
    call_id = call_id or f"{secrets.token_hex(12)}@{local_host}"
    from_tag = secrets.token_hex(6)
    via_host = f"[{local_host}]" if ":" in local_host else local_host

    # rport (RFC 3581) requests the response on the port the request came
    # from, which matters behind NAT and for a socket bound to an ephemeral port.
    lines = [
        f"OPTIONS {request_uri} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {via_host}:{local_port};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <{from_uri}>;tag={from_tag}",
        f"To: <{request_uri}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} OPTIONS",
        f"Contact: <sip:{_user_part(from_uri)}@{via_host}:{local_port}"
        f";transport={transport.lower()}>",
        "Accept: application/sdp",
        f"User-Agent: {USER_AGENT}",
        "Content-Length: 0",
    ]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    return OptionsRequest(branch, call_id, cseq, data)


def _user_part(uri: str) -> str:
    """Return the user of a SIP URI (`sip:user@host`), or our user agent name when it has none."""
    address = uri.split(":", 1)[1]
    return address.split("@", 1)[0] if "@" in address else USER_AGENT


def parse_response(data: bytes) -> SipResponse | None:
    """Parse a SIP response's status line and headers; None when it is not a response."""
    head = data.split(b"\r\n\r\n", 1)[0]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.split("\r\n")

    match = _STATUS_LINE.match(lines[0])
    if match is None:
        return None

    headers: dict[str, list[str]] = {}
    last_name: str | None = None
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and last_name is not None:
            # Header folding (RFC 3261 section 7.3.1) continues the previous value.
            headers[last_name][-1] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon:
            continue
        key = name.strip().lower()
        key = _COMPACT.get(key, key)
        headers.setdefault(key, []).append(value.strip())
        last_name = key
    return SipResponse(int(match.group(1)), match.group(2).strip(), headers)


def matches(response: SipResponse, request: OptionsRequest) -> bool:
    """Tell whether a response belongs to the request (RFC 3261 section 17.1.3).

    The top Via branch and the CSeq method identify the client transaction.
    The Call-ID and CSeq number are checked too, so a reply to an earlier
    probe of the same trunk is never taken for the current one.
    """
    return (
        response.top_via_branch == request.branch
        and response.cseq == (request.cseq, "OPTIONS")
        and response.first("call-id") == request.call_id
    )


def content_length(headers_block: bytes) -> int:
    """Read Content-Length from a raw header block (stream transports need it to frame)."""
    match = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)\s*$", headers_block)
    return int(match.group(1)) if match else 0
