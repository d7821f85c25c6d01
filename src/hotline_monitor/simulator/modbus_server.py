"""The simulator's Modbus TCP server (pymodbus), serving the map in `modbus_map`.

pymodbus calls the device's `action` before it answers each request; the
action rewrites the registers from the live state, so every read sees the
state at that instant. While the simulated UPS is unreachable the server is
stopped, so connections are refused as with a card that has gone away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simutils import SimUtils

from hotline_monitor.simulator.modbus_map import (
    DISCRETE_INPUT_COUNT,
    HOLDING_REGISTER_COUNT,
    discrete_inputs,
    holding_registers,
)
from hotline_monitor.simulator.model import Snapshot

log = logging.getLogger(__name__)

READ_DISCRETE_INPUTS = 2
READ_HOLDING_REGISTERS = 3


class ModbusUpsServer:
    """A Modbus TCP server on one address and port; start with `start()`."""

    def __init__(self, host: str, port: int, snapshot: Callable[[], Snapshot],
                 unit_id: int = 1) -> None:
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self._snapshot = snapshot
        self._server: ModbusTcpServer | None = None
        self._task: asyncio.Task | None = None

    def _device(self) -> SimDevice:
        blocks = (
            [SimData(0, count=16, values=False, datatype=DataType.BITS)],
            [SimData(0, count=DISCRETE_INPUT_COUNT, values=False, datatype=DataType.BITS)],
            [SimData(0, count=HOLDING_REGISTER_COUNT, values=0, datatype=DataType.REGISTERS,
                     readonly=True)],
            [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
        )
        # id 0: the server answers every unit id, as single-device gateways do.
        return SimDevice(0, simdata=blocks, action=self._refresh)

    async def _refresh(self, function_code: int, start_address: int, address: int, count: int,
                       current_registers: list[int], set_values) -> ExcCodes | None:
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION
        snapshot = self._snapshot()
        if function_code == READ_HOLDING_REGISTERS:
            current_registers[:HOLDING_REGISTER_COUNT] = holding_registers(snapshot)
        elif function_code == READ_DISCRETE_INPUTS:
            bits = discrete_inputs(snapshot) + [False] * (16 - DISCRETE_INPUT_COUNT)
            current_registers[:1] = SimUtils.bitsToRegisters(bits)
        return None

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = ModbusTcpServer(self._device(), address=(self.host, self.port))
        if not await self._server.listen():
            self._server = None
            raise OSError(f"cannot listen on {self.host}:{self.port}")
        log.info("simulated UPS answers Modbus TCP on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        await server.shutdown()
        log.info("simulated UPS stopped answering Modbus TCP on %s:%d", self.host, self.port)
