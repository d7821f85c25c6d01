"""Real pymodbus servers on loopback (and on a pseudo-terminal pair) for the Modbus tests.

Each server's datastore is filled by the test with register values worked out
by hand. Tables are given as {start address: [values]}; an address no block
covers is undefined, and pymodbus responds to a read of it with exception 2
(illegal data address), as a strict UPS card does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import tty
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from pymodbus import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from servers import free_port

Blocks = dict[int, list[int]] | dict[int, list[bool]]


def _blocks(table: Blocks | None, bits: bool) -> list[SimData]:
    if not table:
        # pymodbus needs at least one block per table; put it far from any test address.
        return [SimData(60000, values=[False] if bits else [0],
                        datatype=DataType.BITS if bits else DataType.REGISTERS)]
    return [
        SimData(start, values=list(values), datatype=DataType.BITS if bits else DataType.REGISTERS)
        for start, values in sorted(table.items())
    ]


def build_device(holding: Blocks | None = None, discrete: Blocks | None = None,
                 coils: Blocks | None = None, inputs: Blocks | None = None,
                 unit: int = 1) -> SimDevice:
    """A device with four separate tables, as most UPS cards have."""
    return SimDevice(unit, simdata=(
        _blocks(coils, True), _blocks(discrete, True), _blocks(holding, False),
        _blocks(inputs, False),
    ))


@contextlib.asynccontextmanager
async def tcp_server(device: SimDevice, framer: FramerType = FramerType.SOCKET,
                     trace_pdu: Callable[[bool, Any], Any] | None = None,
                     port: int | None = None) -> AsyncIterator[int]:
    """Serve the device on 127.0.0.1; yield the port."""
    port = port or free_port()
    server = ModbusTcpServer(device, address=("127.0.0.1", port), framer=framer,
                             trace_pdu=trace_pdu)
    await server.serve_forever(background=True)
    try:
        yield port
    finally:
        await server.shutdown()


@contextlib.asynccontextmanager
async def silent_tcp_server() -> AsyncIterator[int]:
    """Accept connections and read requests, but never respond (a hung card)."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(256):
                pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def closing_tcp_server() -> AsyncIterator[int]:
    """Accept connections and close each one as soon as a request arrives."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read(256)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@contextlib.contextmanager
def pty_pair() -> Iterator[tuple[str, str]]:
    """Two connected serial device paths, like a null-modem cable between two ports.

    Two pseudo-terminals whose master sides a thread copies into each other:
    what is written to one slave path is read from the other.
    """
    master_a, slave_a = os.openpty()
    master_b, slave_b = os.openpty()
    for fd in (slave_a, slave_b):
        tty.setraw(fd)
    stop = threading.Event()

    def relay(source: int, target: int) -> None:
        import select

        while not stop.is_set():
            ready, _, _ = select.select([source], [], [], 0.05)
            if ready:
                try:
                    data = os.read(source, 4096)
                except OSError:
                    return
                os.write(target, data)

    threads = [threading.Thread(target=relay, args=pair, daemon=True)
               for pair in ((master_a, master_b), (master_b, master_a))]
    for thread in threads:
        thread.start()
    try:
        yield os.ttyname(slave_a), os.ttyname(slave_b)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=2)
        for fd in (master_a, slave_a, master_b, slave_b):
            os.close(fd)


@contextlib.asynccontextmanager
async def serial_server(device: SimDevice, port: str, baudrate: int = 19200) -> AsyncIterator[None]:
    """Serve the device as Modbus RTU on a serial device path."""
    server = ModbusSerialServer(device, framer=FramerType.RTU, port=port, baudrate=baudrate)
    await server.serve_forever(background=True)
    try:
        yield
    finally:
        await server.shutdown()
