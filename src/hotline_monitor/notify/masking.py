"""Keep secrets out of logs, stored errors and messages.

Robot keys and access tokens travel in URLs (`…/webhook/send?key=KEY`), and
httpx logs every request URL at INFO. `mask_url` hides such query values;
`SecretFilter` applies it to httpx's log records and to any text that still
contains a known secret value.
"""

from __future__ import annotations

import logging
import re
import threading

_SECRET_QUERY = re.compile(
    r"(?i)\b(key|access_token|corpsecret|secret|token|password|signature)=([^&\s\"']+)"
)
MASK = "***"

_known_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that `mask_text` hides it wherever it appears."""
    # Very short values would mask ordinary words; no real key is that short.
    if value and len(value) >= 6:
        with _lock:
            _known_secrets.add(value)


def mask_url(url: str) -> str:
    """Hide the values of secret query parameters: `?key=abc` → `?key=***`."""
    return _SECRET_QUERY.sub(lambda match: f"{match.group(1)}={MASK}", url)


def mask_text(text: str) -> str:
    """Hide secret query values and every registered secret in free text."""
    masked = mask_url(text)
    with _lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        masked = masked.replace(secret, MASK)
    return masked


class SecretFilter(logging.Filter):
    """A logging filter that masks secrets in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_argument(arg) for arg in record.args)
        record.msg = mask_text(str(record.msg))
        return True


def _masked_argument(argument: object) -> object:
    # httpx passes the request URL as an httpx.URL object, which has `query`.
    if isinstance(argument, str) or hasattr(argument, "query"):
        return mask_text(str(argument))
    return argument


_installed = False


def install_log_filters() -> None:
    """Mask secrets in the log records of the HTTP libraries and of this package."""
    global _installed
    if _installed:
        return
    # tencentcloud_sdk_common logs whole requests and replies at DEBUG.
    for name in ("httpx", "httpcore", "tencentcloud_sdk_common", "hotline_monitor.notify"):
        logging.getLogger(name).addFilter(SecretFilter())
    _installed = True
