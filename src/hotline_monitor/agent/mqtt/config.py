"""The `mqtt:` section: the broker, the client's identity and the liveness timers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from hotline_monitor.config.types import Duration, Identifier, StrictModel

_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _clock_time(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError(f"时刻格式无效：{value!r}，应写作 HH:MM（北京时间），例如 08:30")
    return value


class MqttTls(StrictModel):
    """TLS to the broker; an empty `tls: {}` uses the system's CA certificates.

    The keys end in `_path`, not `_file`, because the loader reads any
    `X_file:` key as a secret file and stores its content under `X`.
    """

    ca_path: Path | None = None
    cert_path: Path | None = None
    key_path: Path | None = None
    insecure: bool = False
    """Skip the host name check (a broker reached by IP with a name-only certificate)."""

    @model_validator(mode="after")
    def _check_pair(self) -> MqttTls:
        if (self.cert_path is None) != (self.key_path is None):
            raise ValueError("客户端证书 cert_path 和私钥 key_path 必须同时填写")
        return self


class MqttConfig(StrictModel):
    """The broker and the timers of the agent/hub liveness protocol."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    tls: MqttTls | None = None
    username: str | None = None
    password: str | None = None
    client_id: Identifier | None = None
    """Stable client id for the persistent session; default hotline-<role>-<site>-<agent_id>."""
    keepalive: Annotated[int, Field(ge=5, le=3600)] = 30
    """Seconds; the broker publishes the last will after 1.5 × keepalive of silence."""
    heartbeat_interval: Duration = 10.0
    offline_after: Duration = 35.0
    """The hub marks an agent offline when no heartbeat came for this long."""
    hub_silent_after: Duration = 120.0
    """An agent pages when it has heard no hub heartbeat for this long."""
    publish_timeout: Duration = 10.0
    """Maximum wait for the broker's PUBACKs of one batch before the batch is retried."""
    max_lines_per_message: Annotated[int, Field(ge=1, le=10_000)] = 500
    reconnect_max: Duration = 30.0
    """Maximum pause between reconnect attempts (the pause doubles from 1 s)."""
    page_channels: list[str] = ["console"]
    """Channels that receive the agent's "hub silent" page and the daily summary."""
    daily_summary_at: Annotated[str, AfterValidator(_clock_time)] | None = None
    """Beijing time (HH:MM) of the hub's daily "still watching" summary; unset: none."""

    @model_validator(mode="after")
    def _check_timers(self) -> MqttConfig:
        if self.offline_after <= self.heartbeat_interval:
            raise ValueError("offline_after 必须大于 heartbeat_interval，否则在线的代理也会被判为离线")
        if self.hub_silent_after <= self.heartbeat_interval:
            raise ValueError("hub_silent_after 必须大于 heartbeat_interval")
        if self.password and not self.username:
            raise ValueError("填写了 password 就必须同时填写 username")
        return self
