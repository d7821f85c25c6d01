"""Run one collector's poll, time it, and turn failures into readings and log lines.

Every poll, successful or not, yields a `target` reading (`up`, `poll_ms`):
that is what the "unreachable" alerts read, locally or on the hub. A failure
is logged at ERROR once when the target goes down and at INFO once when it
comes back; repeats go to DEBUG, so a dead card does not flood the log.
"""

from __future__ import annotations

import logging
import time

from hotline_monitor.collectors.base import Collector, PollResult
from hotline_monitor.errors import CollectorError, DeviceAuthError
from hotline_monitor.reading import Reading

log = logging.getLogger(__name__)


class Poller:
    """Wraps one collector; keeps its up/down state and consecutive failures."""

    def __init__(self, collector: Collector, site: str, agent_id: str) -> None:
        self.collector = collector
        self.site = site
        self.agent_id = agent_id
        self.consecutive_failures = 0
        self.last_error: CollectorError | None = None
        self.polls = 0
        self.errors = 0
        self.busy = False

    async def poll(self) -> PollResult:
        """Poll once; never raises for a device fault."""
        started_ns = time.time_ns()
        started = time.perf_counter()
        self.polls += 1
        self.busy = True
        try:
            result = await self.collector.poll()
        except CollectorError as err:
            self._record_failure(err)
            result = PollResult()
            up = 0.0
        else:
            self._record_success()
            up = 1.0
        finally:
            self.busy = False

        poll_ms = (time.perf_counter() - started) * 1000.0
        result.readings.append(
            Reading(
                "target",
                {
                    "site": self.site,
                    "agent": self.agent_id,
                    "target": self.collector.target,
                    "kind": self.collector.kind,
                },
                {"up": up, "poll_ms": poll_ms},
                started_ns,
            )
        )
        return result

    def _record_failure(self, err: CollectorError) -> None:
        self.errors += 1
        self.consecutive_failures += 1
        self.last_error = err
        if self.consecutive_failures == 1:
            level = logging.ERROR
            hint = "check the credentials" if isinstance(err, DeviceAuthError) else "will retry"
            log.log(level, "%s %s poll failed: %s (%s)", self.collector.kind,
                    self.collector.target, err, hint)
        else:
            log.debug("%s %s still failing (%d in a row): %s", self.collector.kind,
                      self.collector.target, self.consecutive_failures, err)

    def _record_success(self) -> None:
        if self.consecutive_failures:
            log.info("%s %s answers again after %d failed polls", self.collector.kind,
                     self.collector.target, self.consecutive_failures)
        self.consecutive_failures = 0
        self.last_error = None
