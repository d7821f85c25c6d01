"""Run a simulated UPS on loopback in a background thread for tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from servers import free_port

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
