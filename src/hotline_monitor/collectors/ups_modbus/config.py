"""The `ups[].modbus` configuration section: how to reach one UPS over Modbus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from hotline_monitor.config.types import Duration, Interval, StrictModel
from hotline_monitor.errors import ConfigError
from hotline_monitor.timeutil import parse_duration


def _pause(value: Any) -> float:
    # Unlike a timeout, a pause of 0 is meaningful: no pause between requests.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        seconds = parse_duration(value)
        if 0.0 <= seconds <= 10.0:
            return seconds
        raise ValueError(f"请求间隔应在 0 到 10 秒之间，当前为 {seconds:g} 秒")
    raise ValueError(f"时长格式无效：{value!r}，应写作 50ms、0.2s 或秒数")


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Pause = Annotated[float, BeforeValidator(_pause)]


class ModbusTarget(StrictModel):
    """How to reach one UPS over Modbus, and which register map describes it.

    `transport`: `tcp` (Modbus TCP, MBAP header), `rtu` (a local serial port,
    RS-485/RS-232) or `rtu_over_tcp` (RTU frames with CRC through a TCP
    serial gateway, as many RS-485-to-Ethernet converters in transparent mode do).
    """

    transport: Literal["tcp", "rtu", "rtu_over_tcp"] = "tcp"
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    device: str | None = None
    """Serial device for `rtu`, e.g. /dev/ttyUSB0."""
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    parity: Annotated[Literal["N", "E", "O"], BeforeValidator(_upper)] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    unit_id: Annotated[int, Field(ge=0, le=255)] = 1
    timeout: Duration = 2.0
    retries: Annotated[int, Field(ge=0, le=5)] = 1
    map: str
    """A shipped map's name (`simulator`, `huawei-ups2000`, ...) or a YAML file path."""
    pause: Pause = 0.0
    """Pause between two requests to this device; slow serial cards need 50-100 ms."""
    interval: Interval | None = None
    """Poll interval of the Modbus path; the UPS's `interval` when not set."""

    @field_validator("map")
    @classmethod
    def _check_map(cls, value: str, info: ValidationInfo) -> str:
        # Loading the map here reports its problems together with every other
        # configuration problem, so that check-config names them all at once.
        from hotline_monitor.collectors.ups_modbus.regmap import MAPS_DIR, load_map

        base_dir = (info.context or {}).get("base_dir")
        try:
            loaded = load_map(value, Path(base_dir) if base_dir else None)
        except ConfigError as err:
            raise ValueError("寄存器表有误：\n    " + "\n    ".join(err.problems)) from None
        # A file path is kept absolute, so the collector finds the same file
        # whatever the agent's working folder.
        return value if loaded.path.parent == MAPS_DIR else str(loaded.path)

    @model_validator(mode="after")
    def _check_transport(self) -> ModbusTarget:
        if self.transport in ("tcp", "rtu_over_tcp") and not self.host:
            raise ValueError(f"transport 为 {self.transport} 时必须填写 host")
        if self.transport == "rtu" and not self.device:
            raise ValueError("transport 为 rtu 时必须填写 device（串口设备，例如 /dev/ttyUSB0）")
        if self.transport != "tcp" and not 1 <= self.unit_id <= 247:
            # RTU address 0 is broadcast (no device answers it); 248-255 are reserved.
            raise ValueError(f"RTU 的 unit_id 应在 1 到 247 之间，当前为 {self.unit_id}")
        return self
