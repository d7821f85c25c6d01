"""Run our NUT server in a background thread and talk to it as NUT clients do."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from hotline_monitor.config.model import UpsConfig
from hotline_monitor.nut.config import NutServerConfig
from hotline_monitor.nut.latest import LatestReadings
from hotline_monitor.nut.server import NutServer
from hotline_monitor.reading import Reading

NS = 1_000_000_000


@dataclass
class RunningNutServer:
    server: NutServer
    latest: LatestReadings
    loop: asyncio.AbstractEventLoop

    @property
    def port(self) -> int:
        return self.server.port

    def feed(self, readings: list[Reading]) -> None:
        """Hand readings to the server's cache on its own loop, and wait until they are in."""
        asyncio.run_coroutine_threadsafe(self._observe(readings), self.loop).result(5)

    async def _observe(self, readings: list[Reading]) -> None:
        self.latest.observe(readings)


@contextlib.contextmanager
def nut_server(config: NutServerConfig, ups_ids: list[str]) -> Iterator[RunningNutServer]:
    """Start a NutServer on a free loopback port in a thread, and stop it on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    latest = LatestReadings()
    ups = [UpsConfig(id=ups_id, name=f"{ups_id} UPS", snmp={"host": "127.0.0.1"}) for ups_id in ups_ids]
    server = NutServer(config.model_copy(update={"port": 0}), ups, latest)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
        yield RunningNutServer(server, latest, loop)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def ups_reading(ups_id: str, age_s: float = 0.0, **fields: float) -> Reading:
    return Reading("ups", {"site": "test", "ups": ups_id, "source": "snmp"}, dict(fields),
                   time.time_ns() - int(age_s * NS))


def line_reading(ups_id: str, side: str, line: int, age_s: float = 0.0, **fields: float) -> Reading:
    tags = {"site": "test", "ups": ups_id, "source": "snmp", "side": side, "line": str(line)}
    return Reading("ups_line", tags, dict(fields), time.time_ns() - int(age_s * NS))


class NutConnection:
    """A plain NUT protocol connection: one request line, one reply (or list) back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.reader = self.sock.makefile("r", encoding="ascii", newline="\n")

    def request(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\n")
        return self.reader.readline().rstrip("\n")

    def request_list(self, line: str) -> list[str]:
        """Send a LIST request and return every line up to END LIST (or the ERR line)."""
        first = self.request(line)
        lines = [first]
        if first.startswith("ERR"):
            return lines
        while not lines[-1].startswith("END LIST"):
            lines.append(self.reader.readline().rstrip("\n"))
        return lines

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __enter__(self) -> NutConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReadingFeeder:
    """Feeds a UPS's current state to the server twice a second, as an agent polling it would."""

    def __init__(self, running: RunningNutServer, ups_id: str, **fields: float) -> None:
        self.running = running
        self.ups_id = ups_id
        self.fields = dict(fields)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def set(self, **fields: float) -> None:
        self.fields = dict(fields)
        self.running.feed([ups_reading(self.ups_id, **self.fields)])

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.running.feed([ups_reading(self.ups_id, **self.fields)])

    def __enter__(self) -> ReadingFeeder:
        self.running.feed([ups_reading(self.ups_id, **self.fields)])
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
