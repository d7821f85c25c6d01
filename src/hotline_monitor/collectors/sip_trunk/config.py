"""The `sip_trunks:` configuration section: one carrier trunk peer each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from hotline_monitor.config.types import Duration, Identifier, Interval, StrictModel

PortNumber = Annotated[int, Field(ge=1, le=65535)]
StatusCode = Annotated[int, Field(ge=100, le=699)]

DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}


class SipTrunkConfig(StrictModel):
    """One SIP trunk peer probed with OPTIONS."""

    id: Identifier
    name: str = ""
    host: Annotated[str, Field(min_length=1)]
    port: PortNumber | None = None
    """Defaults to 5060 for udp and tcp, 5061 for tls (RFC 3261 section 19.1.2)."""
    transport: Literal["udp", "tcp", "tls"] = "udp"
    interval: Interval = 10.0
    timeout: Duration = 5.0
    """How long one probe waits for a final response; caps Timer F (64*T1)."""
    t1: Duration = 0.5
    """RFC 3261 T1, the first UDP retransmission interval."""
    failures_before_down: Annotated[int, Field(ge=1, le=100)] = 3
    from_uri: str = "sip:hotline-monitor@invalid"
    to_uri: str | None = None
    """Request-URI and To; defaults to sip:HOST:PORT."""
    accept_codes: list[StatusCode] = []
    """Final responses besides 2xx that count as up (some carriers respond to OPTIONS with 404)."""
    tls_server_name: str | None = None
    ca_path: Path | None = None
    verify_tls: bool = True

    @model_validator(mode="after")
    def _check_fields(self) -> SipTrunkConfig:
        for key in ("from_uri", "to_uri"):
            value = getattr(self, key)
            if value is not None and not value.lower().startswith(("sip:", "sips:")):
                raise ValueError(f"{key} 必须是 sip: 或 sips: 开头的 URI，当前为 {value!r}")
        if self.timeout > self.interval:
            raise ValueError(
                f"timeout（{self.timeout:g} 秒）不能大于 interval（{self.interval:g} 秒），"
                "否则上一次探测未结束下一次就开始"
            )
        refusing = sorted(code for code in self.accept_codes if code in (403, 503))
        if refusing:
            raise ValueError(f"accept_codes 不能包含 {refusing}：403/503 表示对端拒绝服务")
        if self.transport != "tls" and (self.ca_path or self.tls_server_name):
            raise ValueError("ca_path 和 tls_server_name 只在 transport 为 tls 时有效")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def peer_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.transport]

    @property
    def request_uri(self) -> str:
        if self.to_uri:
            return self.to_uri
        scheme = "sips" if self.transport == "tls" else "sip"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}:{host}:{self.peer_port}"
