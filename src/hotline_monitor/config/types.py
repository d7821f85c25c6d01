"""Reusable field types for the configuration models."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from hotline_monitor.timeutil import parse_duration


class StrictModel(BaseModel):
    """Base of every configuration section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: Any) -> float:
    if isinstance(value, str | int | float):
        return parse_duration(value)
    raise ValueError(f"时长格式无效：{value!r}，应写作 5s、1m30s、2h 或秒数")


def _at_least_one_second(value: float) -> float:
    if value < 1.0:
        raise ValueError(f"间隔不能小于 1 秒，当前为 {value:g} 秒")
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError(f"时长必须大于 0，当前为 {value:g} 秒")
    return value


Duration = Annotated[float, BeforeValidator(_duration), AfterValidator(_positive)]
"""Seconds, written as "5s", "1m30s", "2h" or a bare number."""

Interval = Annotated[float, BeforeValidator(_duration), AfterValidator(_at_least_one_second)]
"""A poll interval in seconds, at least 1 s."""

Port = Annotated[int, "port"]

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(
            f"标识 {value!r} 无效：只能用字母、数字、下划线、点和连字符，以字母或数字开头，最长 64 个字符"
        )
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]
"""An id used in tags and on the command line."""
