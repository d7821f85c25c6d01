"""The `checks:` configuration section."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from hotline_monitor.config.types import Duration, Identifier, Interval, StrictModel

StatusCode = Annotated[int, Field(ge=100, le=599)]


class CheckConfig(StrictModel):
    """One service check.

    `target` is `host:port` for tcp, a URL for http, and a host name or
    address for icmp.
    """

    id: Identifier
    name: str = ""
    kind: Literal["tcp", "http", "icmp"]
    target: Annotated[str, Field(min_length=1)]
    interval: Interval = 30.0
    timeout: Duration = 5.0
    expected_status: list[StatusCode] = []
    """HTTP status codes that count as up; empty means any 2xx or 3xx."""
    method: Literal["GET", "HEAD"] = "GET"
    verify_tls: bool = True
    ca_path: Path | None = None
    """CA bundle for a server whose certificate a private CA signed."""

    @model_validator(mode="after")
    def _check_target(self) -> CheckConfig:
        if self.timeout > self.interval:
            raise ValueError(
                f"timeout（{self.timeout:g} 秒）不能大于 interval（{self.interval:g} 秒）")
        if self.kind == "tcp":
            self.tcp_address()
        if self.kind == "http":
            parts = urlsplit(self.target)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"http 检查的 target 必须是 http:// 或 https:// 开头的 URL，"
                                 f"当前为 {self.target!r}")
        if self.kind != "http" and (self.expected_status or self.ca_path):
            raise ValueError("expected_status 和 ca_path 只适用于 kind: http")
        if self.kind == "icmp" and (":" in self.target and not self.target.count(":") > 1):
            raise ValueError(
                f"icmp 检查的 target 只写主机名或地址，不带端口，当前为 {self.target!r}")
        return self

    def tcp_address(self) -> tuple[str, int]:
        """Split `host:port` (or `[v6]:port`) into host and port."""
        host, colon, port = self.target.rpartition(":")
        if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(
                f"tcp 检查的 target 必须写成 主机:端口，例如 10.0.0.5:5432，当前为 {self.target!r}")
        return host.strip("[]"), int(port)

    @property
    def display_name(self) -> str:
        return self.name or self.id
