"""Drain the spool to the sink: oldest first, in batches, deleting only what was accepted.

While the sink is unavailable the sender retries with a doubling pause (up to
`retry_max`). When it accepts writes again the backlog goes out batch after batch
with no pause, yielding to the event loop between batches so polls keep
committing new readings behind it. A batch the sink rejects for good is split
in halves until each bad line is alone; bad lines go to quarantine and the
rest of the batch is written.

NOTE: a process killed between the sink's acceptance and the delete sends the
batch again. InfluxDB overwrites the same points, but the local store appends
them a second time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from hotline_monitor.agent.sinks.base import Sink
from hotline_monitor.agent.spool import Spool
from hotline_monitor.errors import SinkRejected, SinkUnavailable

log = logging.getLogger(__name__)

Row = tuple[int, str]


@dataclass(slots=True)
class DrainResult:
    """Outcome of one drain; `error` is set when the sink became unavailable."""

    sent: int = 0
    quarantined: int = 0
    error: SinkUnavailable | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Sender:
    """Moves rows from the spool to one sink."""

    def __init__(
        self,
        spool: Spool,
        sink: Sink,
        batch_size: int = 5000,
        flush_interval: float = 1.0,
        retry_max: float = 30.0,
        on_quarantine: Callable[[int, str], None] | None = None,
    ) -> None:
        self.spool = spool
        self.sink = sink
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_max = retry_max
        self.on_quarantine = on_quarantine
        self.sent = 0
        self.failing = False

    async def drain(self) -> DrainResult:
        """Send batches until the spool is empty or the sink is unavailable."""
        result = DrainResult()
        while True:
            batch = self.spool.peek(self.batch_size)
            if not batch:
                break
            try:
                quarantined, last_message = await self._write_isolating(batch)
            except SinkUnavailable as err:
                result.error = err
                self._note_unavailable(err)
                return result
            self.spool.delete_through(batch[0][0], batch[-1][0])
            result.sent += len(batch) - quarantined
            result.quarantined += quarantined
            if quarantined and self.on_quarantine is not None:
                self.on_quarantine(quarantined, last_message)
            # Let polls run between backlog batches.
            await asyncio.sleep(0)

        self.sent += result.sent
        if self.failing:
            log.info("%s accepts writes again; spool drained", self.sink.name)
        self.failing = False
        return result

    async def run(self, stop: asyncio.Event) -> None:
        """Drain every `flush_interval`; back off while the sink is unavailable."""
        pause = self.flush_interval
        while not stop.is_set():
            result = await self.drain()
            if result.ok:
                pause = self.flush_interval
            else:
                pause = min(pause * 2, self.retry_max)
            try:
                await asyncio.wait_for(stop.wait(), timeout=pause)
            except TimeoutError:
                pass

    def _note_unavailable(self, err: SinkUnavailable) -> None:
        if not self.failing:
            log.warning("%s unavailable, %d readings kept in the spool for retry: %s",
                        self.sink.name, self.spool.rows, err)
        else:
            log.debug("%s still unavailable (%d readings spooled): %s", self.sink.name,
                      self.spool.rows, err)
        self.failing = True

    async def _write_isolating(self, batch: list[Row]) -> tuple[int, str]:
        """Write a batch; return how many lines went to quarantine and the last message."""
        try:
            await self.sink.write([line for _, line in batch])
            return 0, ""
        except SinkRejected as err:
            if len(batch) == 1:
                row_id, line = batch[0]
                self.spool.quarantine(row_id, line, str(err))
                log.warning("%s rejected a reading for good, moved to quarantine: %s; line: %s",
                            self.sink.name, err, line[:300])
                return 1, str(err)
            middle = len(batch) // 2
            first_count, first_message = await self._write_isolating(batch[:middle])
            second_count, second_message = await self._write_isolating(batch[middle:])
            return first_count + second_count, second_message or first_message
