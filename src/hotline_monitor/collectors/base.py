"""What every collector provides, and what a poll returns.

Collectors know devices; they never know InfluxDB or alerts. A collector's
`poll` returns readings, or raises `DeviceUnreachable` / `DeviceAuthError`
(see `hotline_monitor.errors`); the agent's poller turns that into a `target`
reading and a log line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from hotline_monitor.reading import Reading


@dataclass(slots=True)
class PollResult:
    """Readings of one poll, with the count of values dropped as unknown."""

    readings: list[Reading] = field(default_factory=list)
    invalid_values: int = 0


class Collector(Protocol):
    """One target polled at its own interval."""

    target: str
    """The target's id, as in the configuration (`ups-main`)."""
    kind: str
    """What is polled: `ups_snmp`, `ups_modbus`, `host`, `check`, `sip_trunk`."""
    interval: float
    """Seconds between polls."""

    async def poll(self) -> PollResult:
        """Poll the target once."""
        ...

    async def close(self) -> None:
        """Release sockets and transports."""
        ...
