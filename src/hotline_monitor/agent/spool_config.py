"""The `spool:` section: where the durable spool lives and how big it may grow."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from hotline_monitor.config.types import Duration, StrictModel

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
               "KI": 1024, "MI": 1024**2, "GI": 1024**3, "TI": 1024**4}


def parse_size(value: Any) -> int:
    """Parse a byte size: 1048576, "500MB", "2GiB" (KB/MB/GB are powers of 1000)."""
    if isinstance(value, bool):
        raise ValueError(f"容量格式无效：{value!r}，应写作 500MB、2GiB 或字节数")
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"容量格式无效：{value!r}，应写作 500MB、2GiB 或字节数")
    unit = (match.group(2) or "").upper().removesuffix("B")
    if unit not in _SIZE_UNITS:
        raise ValueError(f"容量单位无效：{value!r}，可用 KB、MB、GB、KiB、MiB、GiB")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


ByteSize = Annotated[int, BeforeValidator(parse_size), Field(ge=1_000_000)]
"""Bytes, at least 1 MB, written as a number or "500MB", "2GiB"."""


class SpoolConfig(StrictModel):
    """The durable spool between the collectors and InfluxDB (or MQTT)."""

    path: Path | None = None
    """SQLite file; default `spool.sqlite` in `state_dir`."""
    max_bytes: ByteSize = 1024**3
    """Bound on the spooled lines' size; past it the oldest rows are dropped."""
    max_rows: Annotated[int, Field(ge=1000)] | None = None
    """Optional bound on the number of rows, checked as well as `max_bytes`."""
    batch_size: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """Lines per write; default `influxdb.batch_size` (5000)."""
    flush_interval: Duration = 1.0
    """Longest time a new reading waits in the spool when the sink is healthy."""
    retry_max: Duration = 30.0
    """Longest pause between write attempts while the sink is unavailable."""
    synchronous: Literal["full", "normal"] = "full"
    """SQLite `synchronous` mode: `full` also survives a power cut, `normal` only a crash."""

    @model_validator(mode="after")
    def _check_intervals(self) -> SpoolConfig:
        if self.retry_max < self.flush_interval:
            raise ValueError("retry_max 不能小于 flush_interval")
        return self
