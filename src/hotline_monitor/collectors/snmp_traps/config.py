"""The `traps:` configuration section."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from hotline_monitor.config.types import Identifier, StrictModel


class TrapV3User(StrictModel):
    """An SNMPv3 user the UPS cards send traps or informs as (authPriv or authNoPriv)."""

    user: str
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] = "SHA256"
    auth_key: Annotated[str, Field(min_length=8)]
    priv_protocol: Literal["DES", "AES", "AES192", "AES256"] | None = "AES"
    priv_key: Annotated[str, Field(min_length=8)] | None = None
    engine_id: str | None = None
    """The sending card's snmpEngineID in hex. Needed for v3 traps (the sender is
    authoritative); informs work without it (the receiver is)."""

    @field_validator("engine_id")
    @classmethod
    def _check_engine_id(cls, value: str | None) -> str | None:
        if value is None:
            return value
        text = value.lower().removeprefix("0x")
        if len(text) < 10 or len(text) > 64 or any(char not in "0123456789abcdef" for char in text):
            raise ValueError(f"engine_id 应为 5 到 32 字节的十六进制串，当前为 {value!r}")
        return text


class TrapsConfig(StrictModel):
    """Where traps are received and which senders and credentials are accepted."""

    listen: Annotated[str, Field(pattern=r"^[0-9A-Za-z.:\[\]-]+:\d{1,5}$")] = "0.0.0.0:162"
    communities: list[str] = ["public"]
    v3_users: list[TrapV3User] = []
    receive_buffer: Annotated[int, Field(ge=65536, le=256 * 1024 * 1024)] = 4 * 1024 * 1024
    """Socket receive buffer in bytes: a burst of traps waits here while the agent is busy."""
    confirm_polls: Annotated[int, Field(ge=1, le=20)] = 3
    """Contradicting polls after which a trap's alert is withdrawn."""
    sources: dict[str, Identifier] = {}
    """Extra sender address -> UPS id, for cards that send from another address than the one polled."""

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @field_validator("listen")
    @classmethod
    def _check_port(cls, value: str) -> str:
        port = int(value.rsplit(":", 1)[1])
        if not 1 <= port <= 65535:
            raise ValueError(f"端口超出范围 1–65535：{port}")
        return value
