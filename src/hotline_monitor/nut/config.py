"""The `nut_server` and `shutdown_actions` configuration sections."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from hotline_monitor.config.types import Duration, Identifier, StrictModel

PortNumber = Annotated[int, Field(ge=1, le=65535)]

# upsd's default MAXAGE is 15 s (Debian's /etc/nut/upsd.conf of NUT 2.8.0).
DEFAULT_MAX_AGE_S = 15.0
DEFAULT_SHUTDOWN_THRESHOLD_S = 600.0


class NutUser(StrictModel):
    """One NUT client account: the UPS ids it may read, and whether it may act as primary."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
    password: Annotated[str, Field(min_length=1)]
    ups: list[Literal["*"] | Identifier]
    """UPS ids this user may read and log into, or `*` for every UPS."""
    primary: bool = False
    """May send PRIMARY (MASTER) and FSD, as upsmon does on the host that shuts down last."""


class NutServerConfig(StrictModel):
    """The NUT network protocol server that lets upsmon and other NUT clients follow our UPS."""

    listen: str = "127.0.0.1"
    port: PortNumber = 3493
    max_age: Duration = DEFAULT_MAX_AGE_S
    """Readings older than this are reported as ERR DATA-STALE, never as current."""
    shutdown_threshold: Duration = DEFAULT_SHUTDOWN_THRESHOLD_S
    """LB is raised on battery when the remaining runtime (reported or forecast) falls under this."""
    users: list[NutUser] = []
    anonymous_ups: list[Literal["*"] | Identifier] = []
    """UPS ids that clients may read without USERNAME/PASSWORD (upsc sends none)."""
    max_clients: Annotated[int, Field(ge=1, le=10_000)] = 500
    idle_timeout: Duration = 120.0
    """A connection that sends nothing for this long is closed."""

    @model_validator(mode="after")
    def _check_users(self) -> NutServerConfig:
        names = [user.name for user in self.users]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"NUT 用户名重复：{', '.join(duplicates)}")
        return self


class ShutdownActionConfig(StrictModel):
    """A command run on this agent to shut a host down before the battery runs out."""

    id: Identifier
    ups: Identifier
    command: list[str]
    """Program and arguments, run without a shell."""
    trigger: Literal["low_battery", "on_battery"] = "low_battery"
    on_battery_for: Duration | None = None
    """With trigger `on_battery`: how long the UPS must have been on battery."""
    grace: Duration = 60.0
    """Delay between the trigger and the command. Mains returning within it cancel the action."""
    timeout: Duration = 300.0
    """The command is killed if it runs longer than this."""
    shutdown_threshold: Duration = DEFAULT_SHUTDOWN_THRESHOLD_S
    """With trigger `low_battery`: the runtime under which the battery counts as low."""

    @field_validator("command")
    @classmethod
    def _check_command(cls, command: list[str]) -> list[str]:
        if not command or not command[0]:
            raise ValueError("command 不能为空：应为列表，第一项是程序路径，其后是参数（不经过 shell）")
        return command

    @model_validator(mode="after")
    def _check_trigger(self) -> ShutdownActionConfig:
        if self.trigger == "on_battery" and self.on_battery_for is None:
            raise ValueError("trigger 为 on_battery 时必须填写 on_battery_for（例如 5m）")
        if self.trigger == "low_battery" and self.on_battery_for is not None:
            raise ValueError("on_battery_for 只能与 trigger: on_battery 一起使用")
        return self


def power_config_problems(
    ups_intervals: dict[str, float],
    nut_server: NutServerConfig | None,
    shutdown_actions: list[ShutdownActionConfig],
) -> list[str]:
    """List UPS ids that are named but not configured, and a max_age too short for a poll interval.

    `ups_intervals` maps each configured UPS id to its poll interval in seconds.
    """
    problems = []
    if nut_server is not None:
        for index, user in enumerate(nut_server.users):
            for ups_id in user.ups:
                if ups_id != "*" and ups_id not in ups_intervals:
                    problems.append(f"nut_server.users[{index}].ups 中的 UPS {ups_id!r} 未在 ups 中配置")
        for ups_id in nut_server.anonymous_ups:
            if ups_id != "*" and ups_id not in ups_intervals:
                problems.append(f"nut_server.anonymous_ups 中的 UPS {ups_id!r} 未在 ups 中配置")
        for ups_id, interval in ups_intervals.items():
            # Under two intervals, one slow or lost poll would already report the UPS stale.
            if nut_server.max_age < 2 * interval:
                problems.append(
                    f"nut_server.max_age（{nut_server.max_age:g} 秒）应不小于 UPS {ups_id} "
                    f"轮询间隔（{interval:g} 秒）的 2 倍，否则一次轮询稍慢就会被报告为数据过期"
                )
    for index, action in enumerate(shutdown_actions):
        if action.ups not in ups_intervals:
            problems.append(f"shutdown_actions[{index}].ups 的 UPS {action.ups!r} 未在 ups 中配置")
    return problems
