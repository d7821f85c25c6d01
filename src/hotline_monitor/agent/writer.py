"""Batches readings to a sink, retrying what the sink could not take.

This in-memory writer keeps unsent lines across failed writes, up to
`max_buffered` lines (the oldest are dropped past that, and counted).
A batch the server rejects for good is split in halves until the bad lines
are isolated, so one malformed point does not cost the whole batch.
"""

from __future__ import annotations

import logging
from collections import deque

from hotline_monitor.agent.sinks.base import Sink
from hotline_monitor.errors import SinkRejected, SinkUnavailable

log = logging.getLogger(__name__)


class BufferedWriter:
    def __init__(self, sink: Sink, batch_size: int = 5000, max_buffered: int = 1_000_000) -> None:
        self.sink = sink
        self.batch_size = batch_size
        self.max_buffered = max_buffered
        self._pending: deque[str] = deque()
        self.dropped = 0
        self.rejected = 0
        self.written = 0
        self.failing = False

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, lines: list[str]) -> None:
        self._pending.extend(lines)
        overflow = len(self._pending) - self.max_buffered
        if overflow > 0:
            for _ in range(overflow):
                self._pending.popleft()
            self.dropped += overflow
            log.error("write buffer full: dropped the %d oldest readings (%d in total)",
                      overflow, self.dropped)

    async def flush(self) -> bool:
        """Send everything pending; return False if the sink is unavailable."""
        while self._pending:
            batch = [self._pending[i] for i in range(min(self.batch_size, len(self._pending)))]
            try:
                await self._write_isolating_rejects(batch)
            except SinkUnavailable as err:
                if not self.failing:
                    log.warning("%s unavailable, %d readings kept for retry: %s",
                                self.sink.name, len(self._pending), err)
                self.failing = True
                return False
            for _ in batch:
                self._pending.popleft()
        if self.failing:
            log.info("%s accepts writes again", self.sink.name)
        self.failing = False
        return True

    async def _write_isolating_rejects(self, batch: list[str]) -> None:
        try:
            await self.sink.write(batch)
            self.written += len(batch)
        except SinkRejected as err:
            if len(batch) == 1:
                self.rejected += 1
                log.error("%s rejected a reading for good: %s; line: %s",
                          self.sink.name, err, batch[0][:300])
                return
            middle = len(batch) // 2
            await self._write_isolating_rejects(batch[:middle])
            await self._write_isolating_rejects(batch[middle:])
