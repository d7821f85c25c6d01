"""The `hosts:` configuration section: the machine the agent runs on."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, model_validator

from hotline_monitor.config.types import Duration, Identifier, Interval, StrictModel

# Pseudo and read-only image file systems, left out by default as Telegraf's
# disk input suggests in its sample configuration.
DEFAULT_IGNORED_FSTYPES = ["tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs",
                           "proc", "sysfs", "cgroup", "cgroup2", "nsfs", "autofs"]


class RequiredProcess(StrictModel):
    """A process that must be running: matched by name, or by a pattern on its command line."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    """Process name as in /proc/PID/comm (at most 15 characters), or a label with `pattern`."""
    pattern: str | None = None
    """Regular expression searched in the full command line (like `pgrep -f`)."""
    min_count: Annotated[int, Field(ge=1, le=10_000)] = 1

    @model_validator(mode="after")
    def _check_pattern(self) -> RequiredProcess:
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as err:
                raise ValueError(f"pattern {self.pattern!r} 不是有效的正则表达式：{err}") from None
        return self


class HostConfig(StrictModel):
    """The local machine: what to read and what must be running."""

    id: Identifier
    """Written as the `host` tag."""
    interval: Interval = 10.0
    disks: list[str] = []
    """Mount points to include; empty means every mounted disk not excluded."""
    exclude_disks: list[str] = []
    ignore_fstypes: list[str] = DEFAULT_IGNORED_FSTYPES
    interfaces: list[str] = []
    """Network interfaces to include; empty means every interface except loopback."""
    processes: list[RequiredProcess] = []
    systemd_units: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9:_.@\\-]+$")]] = []
    count_processes: bool = True
    """Write the `processes` measurement (one pass over /proc)."""
    forecast_window: Duration = 6 * 3600.0
    """How far back the disk fill rate looks."""
    forecast_min_span: Duration = 1800.0
    """How much history a disk needs before its time-to-full is written."""

    @model_validator(mode="after")
    def _check_lists(self) -> HostConfig:
        both = sorted(set(self.disks) & set(self.exclude_disks))
        if both:
            raise ValueError(f"挂载点 {both} 同时出现在 disks 和 exclude_disks 中")
        relative = [path for path in (*self.disks, *self.exclude_disks) if not path.startswith("/")]
        if relative:
            raise ValueError(f"disks / exclude_disks 必须写绝对挂载点路径，错误的有 {relative}")
        if self.forecast_min_span >= self.forecast_window:
            raise ValueError(
                f"forecast_min_span（{self.forecast_min_span:g} 秒）必须小于 forecast_window"
                f"（{self.forecast_window:g} 秒）")
        names = [process.name for process in self.processes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"processes 中的 name {duplicates} 重复")
        return self
