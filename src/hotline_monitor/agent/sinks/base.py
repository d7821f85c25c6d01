"""The interface between the pipeline and whatever stores readings."""

from __future__ import annotations

from typing import Protocol


class Sink(Protocol):
    """Stores batches of line-protocol lines.

    `write` raises `SinkUnavailable` when the batch may be retried later and
    `SinkRejected` when the server refused it for good.
    """

    name: str

    async def write(self, lines: list[str]) -> None:
        """Store one batch of lines, all or nothing."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
