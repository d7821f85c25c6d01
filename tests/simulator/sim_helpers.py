"""Run a simulated UPS on loopback in a background thread for tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from servers import free_port

from hotline_monitor.agent.sinks.local_store import LocalStore
from hotline_monitor.simulator.model import UpsModel
from hotline_monitor.simulator.service import SimulatedUps, SimulatorOptions

T = TypeVar("T")


class SimulatorThread:
    """A `SimulatedUps` served by an event loop in its own thread."""

    def __init__(self, simulator: SimulatedUps) -> None:
        self.simulator = simulator
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.run_async(self.simulator.start())

    def call(self, function: Callable[[], T]) -> T:
        """Run `function` on the simulator's loop, so it never races a request."""
        async def wrapper() -> T:
            return function()
        return self.run_async(wrapper())

    def run_async(self, coroutine) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.run_async(self.simulator.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextlib.contextmanager
def simulator_thread(model: UpsModel | None = None, **options) -> Iterator[SimulatorThread]:
    """Serve a simulated UPS on free loopback ports (SNMP and Modbus unless given)."""
    options.setdefault("snmp_port", free_port(socket.SOCK_DGRAM))
    options.setdefault("modbus_port", free_port())
    runner = SimulatorThread(SimulatedUps(SimulatorOptions(**options), model=model))
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def alert_events(state_dir: Path) -> list[tuple[str, str]]:
    """(rule, firing|resolved) in the order the engine produced them.

    The engine records each change as an `alert_event` reading in the local
    store; an engine without those readings is read from its alert log.
    """
    store_path = state_dir / "local_store.sqlite"
    events = []
    if store_path.exists():
        store = LocalStore(store_path, retention_s=10 * 365 * 86400.0)
        try:
            events = [(reading.tags["rule"], str(reading.fields["state"]))
                      for reading in store.readings("alert_event")]
        finally:
            asyncio.run(store.close())
    if events:
        return events
    log = state_dir / "alerts.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [(record["rule"], record["state"]) for record in records if "rule" in record]
