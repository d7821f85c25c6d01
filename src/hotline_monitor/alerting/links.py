"""Signed, expiring acknowledgement links.

A link carries the group id and its expiry time, signed with HMAC-SHA256 under
the site's `alerting.ack_secret`. The server accepts it only while the
signature matches and the expiry lies in the future.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode


def sign(secret: str, group_id: int, expires_s: int) -> str:
    payload = f"ack:{group_id}:{expires_s}".encode()
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def verify(secret: str, group_id: int, expires_s: int, signature: str, now_s: float) -> str:
    """Return "" when the link is valid, else why not: "signature" or "expired"."""
    expected = sign(secret, group_id, expires_s)
    if not hmac.compare_digest(expected, signature):
        return "signature"
    if now_s >= expires_s:
        return "expired"
    return ""


def ack_link(public_url: str, secret: str, group_id: int, expires_s: int) -> str:
    query = urlencode({"id": group_id, "exp": expires_s, "sig": sign(secret, group_id, expires_s)})
    return f"{public_url.rstrip('/')}/ack?{query}"
