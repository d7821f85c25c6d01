"""Standard output: always available, used for tests and as the last fallback."""

from __future__ import annotations

import sys

from hotline_monitor.notify.channels.base import Delivery
from hotline_monitor.notify.render import Renderer


class Console:
    """Prints the text rendering of each message to standard output."""

    needs_address = False
    deduplicates = False

    def __init__(self, name: str, renderer: Renderer) -> None:
        self.name = name
        self.renderer = renderer

    async def wait_turn(self) -> None:
        return None

    async def send(self, delivery: Delivery) -> str:
        rendered = self.renderer.render(delivery.message, "text", delivery.resend)
        target = f" → {delivery.address}" if delivery.address else ""
        print(f"{rendered.body}{target}", file=sys.stdout, flush=True)
        return "已输出到控制台"

    async def close(self) -> None:
        return None
