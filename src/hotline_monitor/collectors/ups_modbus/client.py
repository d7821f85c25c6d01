"""The pymodbus boundary: connect, read one request, translate every failure.

pymodbus reports failures four ways: an exception response object, a
`ModbusIOException` (no answer in time), a `ConnectionException`, and plain
OS errors. They all become a `DeviceUnreachable` here, with a message naming
the device, the unit id, the table and addresses, and what to check, so that
a technician can act on the log line without a packet capture.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from hotline_monitor.collectors.ups_modbus.config import ModbusTarget
from hotline_monitor.collectors.ups_modbus.plan import ReadRequest
from hotline_monitor.collectors.ups_modbus.regmap import FUNCTION_CODES
from hotline_monitor.errors import DeviceUnreachable

log = logging.getLogger(__name__)

# pymodbus logs its own ERROR line on every failed request ("No response
# received ..."). The messages raised here replace them, and the poller logs a
# failure once and its repeats at DEBUG, so pymodbus is limited to CRITICAL to
# keep a dead UPS card from filling the log every poll.
logging.getLogger("pymodbus.logging").setLevel(logging.CRITICAL)

FRAMES_KEPT = 16

# Modbus application protocol V1.1b3, section 7: exception codes, with what a
# technician should check for each.
EXCEPTION_CODES: dict[int, tuple[str, str]] = {
    1: ("illegal function",
        "the device does not support this function code: check `table` in the map"),
    2: ("illegal data address",
        "the device has no such register: check `address` and `address_base` in the map, "
        "or set requests.max_gap to 0"),
    3: ("illegal data value",
        "the device rejects the request's count: lower requests.max_registers"),
    4: ("server device failure", "the UPS card reports an internal fault: check the card"),
    5: ("acknowledge", "the device accepted a long request; poll again later"),
    6: ("server device busy", "the device is busy: raise `pause` or the poll interval"),
    8: ("memory parity error", "the device reports a memory parity error: check the card"),
    0x0A: ("gateway path unavailable",
           "the gateway has no path to this unit: check the gateway's serial port configuration"),
    0x0B: ("gateway target device failed to respond",
           "no answer behind the gateway: check unit_id, RS-485 wiring and baud rate"),
}


_TABLE_LABELS = {"coils": "coils", "discrete_inputs": "discrete inputs",
                 "holding": "holding registers", "input": "input registers"}


class ModbusExceptionError(DeviceUnreachable):
    """The device answered with a Modbus exception code instead of data."""

    def __init__(self, message: str, code: int) -> None:
        self.code = code
        super().__init__(message)


class ModbusTimeout(DeviceUnreachable):
    """No (complete) answer within the timeout."""


class ModbusLink:
    """One device's connection: reads requests, paces them, keeps the last raw frames."""

    def __init__(self, target: ModbusTarget, name: str) -> None:
        self.target = target
        self.name = name
        self.frames: deque[tuple[float, str, str]] = deque(maxlen=FRAMES_KEPT)
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._last_request = 0.0

    @property
    def where(self) -> str:
        if self.target.transport == "rtu":
            return f"{self.target.device} unit {self.target.unit_id}"
        return f"{self.target.host}:{self.target.port} unit {self.target.unit_id}"

    def _trace(self, sending: bool, data: bytes) -> bytes:
        self.frames.append((time.time(), "tx" if sending else "rx", data.hex(" ")))
        return data

    def _build_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        target = self.target
        # reconnect_delay=0: pymodbus must not reconnect on its own in the
        # background; the next poll reconnects, so a dead device costs one
        # connect attempt per poll and never a hidden loop.
        common = {"timeout": target.timeout, "retries": target.retries,
                  "reconnect_delay": 0, "trace_packet": self._trace}
        if target.transport == "rtu":
            assert target.device is not None
            return AsyncModbusSerialClient(
                target.device, framer=FramerType.RTU, baudrate=target.baudrate,
                bytesize=target.bytesize, parity=target.parity, stopbits=target.stopbits,
                **common,
            )
        assert target.host is not None
        framer = FramerType.RTU if target.transport == "rtu_over_tcp" else FramerType.SOCKET
        return AsyncModbusTcpClient(target.host, port=target.port, framer=framer, **common)

    async def connect(self) -> None:
        if self._client is not None and self._client.connected:
            return
        await self.close()
        self._client = self._build_client()
        try:
            connected = await self._client.connect()
        except (OSError, ModbusException) as err:
            await self.close()
            raise DeviceUnreachable(f"cannot connect to {self.where}: {err}") from err
        if not connected:
            await self.close()
            hint = ("check that the serial device exists and the agent's user may open it "
                    "(group dialout)" if self.target.transport == "rtu"
                    else "check the address, the port and that the card is powered")
            raise DeviceUnreachable(
                f"cannot connect to {self.where} within {self.target.timeout:g} s "
                f"({self.target.transport}): {hint}"
            )
        log.info("%s: connected to %s over %s", self.name, self.where, self.target.transport)

    async def read(self, request: ReadRequest) -> list[int] | list[bool]:
        """Read one request; raise DeviceUnreachable (or a subclass) on any failure."""
        await self.connect()
        await self._pace()
        assert self._client is not None
        reader = {
            "coils": self._client.read_coils,
            "discrete_inputs": self._client.read_discrete_inputs,
            "holding": self._client.read_holding_registers,
            "input": self._client.read_input_registers,
        }[request.table]

        try:
            response = await reader(request.start, count=request.count,
                                    device_id=self.target.unit_id)
        except ModbusIOException as err:
            closed_by_device = not self._client.connected
            await self.close()
            if closed_by_device:
                raise DeviceUnreachable(
                    f"{self.where} closed the connection during a read of {self._span(request)}: "
                    "the card may allow fewer connections than are open, or reject this unit_id"
                ) from err
            raise ModbusTimeout(
                f"{self.where}: no answer within {self.target.timeout:g} s to a read of "
                f"{self._span(request)} ({self.target.retries} retries): check unit_id, "
                f"wiring and baud rate ({err})"
            ) from err
        except (ConnectionException, OSError) as err:
            await self.close()
            raise DeviceUnreachable(
                f"{self.where}: connection lost while reading {self._span(request)}: {err}"
            ) from err
        except ModbusException as err:
            # Any other pymodbus failure (a malformed or mismatched frame): start
            # from a fresh connection, so no stale bytes are read as the next answer.
            await self.close()
            raise DeviceUnreachable(
                f"{self.where}: invalid response to a read of {self._span(request)}: {err}"
            ) from err
        finally:
            self._last_request = time.monotonic()

        if response.isError():
            raise self._exception_error(request, response)
        if request.table in ("coils", "discrete_inputs"):
            return list(response.bits[: request.count])
        registers = list(response.registers)
        if len(registers) != request.count:
            raise DeviceUnreachable(
                f"{self.where}: asked for {request.count} registers of {self._span(request)}, "
                f"got {len(registers)}"
            )
        return registers

    def _exception_error(self, request: ReadRequest, response: object) -> ModbusExceptionError:
        code = int(getattr(response, "exception_code", 0))
        name, hint = EXCEPTION_CODES.get(code, ("unknown exception", "see the device's manual"))
        return ModbusExceptionError(
            f"{self.where} answered Modbus exception 0x{code:02X} ({name}) to a read of "
            f"{self._span(request)}: {hint}",
            code,
        )

    def _span(self, request: ReadRequest) -> str:
        return (f"{_TABLE_LABELS[request.table]} fc {FUNCTION_CODES[request.table]} "
                f"0x{request.start:04X}..0x{request.end:04X}")

    async def _pace(self) -> None:
        if self.target.pause <= 0:
            return
        wait = self.target.pause - (time.monotonic() - self._last_request)
        if wait > 0:
            await asyncio.sleep(wait)

    def dump_frames(self, reason: str) -> None:
        """Log the last raw frames at DEBUG, to see what the device really sent."""
        if not log.isEnabledFor(logging.DEBUG):
            return
        log.debug("%s: %s; last %d frames with %s:", self.name, reason, len(self.frames),
                  self.where)
        for stamp, direction, data in self.frames:
            log.debug("%s:   %.3f %s %s", self.name, stamp, direction, data)

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
