"""A sliding-window limit: at most `limit` events in any `window` seconds."""

from __future__ import annotations

import asyncio
import collections
import time

SAFETY_MARGIN = 0.05
"""Share of the window added to it. The provider counts a request when it arrives, a little
after we sent it, so without a margin a burst meets the limit at the window's edge."""


class SlidingWindowLimiter:
    """Makes callers wait for a free slot instead of failing; `limit` 0 means no limit."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window * (1 + SAFETY_MARGIN)
        self._times: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self.limit <= 0:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._times and now - self._times[0] >= self.window:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return
                await asyncio.sleep(self._times[0] + self.window - now)

    def push_back(self, seconds: float) -> None:
        """Count the window as full for `seconds` more, after the provider reported its limit."""
        if self.limit <= 0:
            return
        until = time.monotonic() + seconds - self.window
        self._times.clear()
        self._times.extend([until] * self.limit)
