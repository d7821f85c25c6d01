"""Translate httpx failures into DeliveryRetry, telling whether the request may have arrived."""

from __future__ import annotations

import httpx

from hotline_monitor.errors import DeliveryRetry


def retry_for_transport_error(provider: str, err: httpx.HTTPError) -> DeliveryRetry:
    """Return the DeliveryRetry for a failed request to `provider` (Chinese text, no URL)."""
    # Connecting failed: the request never left, so a retry is a first copy.
    if isinstance(err, httpx.ConnectError | httpx.ConnectTimeout):
        return DeliveryRetry(f"无法连接{provider}（{type(err).__name__}）")
    if isinstance(err, httpx.TimeoutException):
        return DeliveryRetry(f"{provider}响应超时，结果未知", outcome_unknown=True)
    return DeliveryRetry(f"与{provider}通信中断（{type(err).__name__}），结果未知",
                         outcome_unknown=True)


def retry_for_status(provider: str, response: httpx.Response) -> DeliveryRetry:
    """Return the DeliveryRetry for an HTTP 5xx (or other non-200) reply."""
    return DeliveryRetry(f"{provider}返回 HTTP {response.status_code}", outcome_unknown=True)
