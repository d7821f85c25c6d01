"""The interface between the dispatcher and every channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from hotline_monitor.notify.message import OutgoingMessage


@dataclass(slots=True)
class Delivery:
    """One message on its way to one recipient through one channel."""

    id: int
    message: OutgoingMessage
    channel: str
    address: str
    mentions: list[str] = field(default_factory=list)
    resend: bool = False
    """Set when an earlier attempt may have reached the provider, so the text is marked 重发."""
    attempts: int = 0


class Channel(Protocol):
    """A provider. `send` returns the provider's reply in Chinese, or raises.

    `send` raises DeliveryRetry (try later) or DeliveryRejected (give up on
    this channel). The texts of both are Chinese and contain no secret.
    """

    name: str
    needs_address: bool
    """False for group robots, which post to one fixed group."""
    deduplicates: bool
    """True when the provider drops identical copies (WeCom application messages);
    a resend then keeps its text unchanged so that the provider can recognise it."""

    async def wait_turn(self) -> None:
        """Wait until the provider's rate limit allows one more message."""
        ...

    async def send(self, delivery: Delivery) -> str:
        ...

    async def close(self) -> None:
        ...
