"""The configuration's shape, as pydantic models.

Each top-level section belongs to one part of the product. A part adds its
section model here; the loader validates the whole file in one pass so that
every problem is reported at once.
"""

from __future__ import annotations

import socket
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hotline_monitor.agent.mqtt.config import MqttConfig
from hotline_monitor.agent.spool_config import SpoolConfig
from hotline_monitor.alerting.config import AlertingConfig
from hotline_monitor.alerting.oncall import OncallConfig, channel_problems, defined_channels
from hotline_monitor.collectors.checks.config import CheckConfig
from hotline_monitor.collectors.host.config import HostConfig
from hotline_monitor.collectors.sip_trunk.config import SipTrunkConfig
from hotline_monitor.collectors.snmp_traps.config import TrapsConfig
from hotline_monitor.collectors.ups_modbus.config import ModbusTarget
from hotline_monitor.config.types import Duration, Identifier, Interval, StrictModel
from hotline_monitor.maintenance.config import (
    BureauConfig,
    MaintenanceConfig,
    bureau_channel_problems,
)
from hotline_monitor.notify.config import ChannelConfig, NotifyConfig, channel_reference_problems
from hotline_monitor.nut.config import (
    NutServerConfig,
    ShutdownActionConfig,
    power_config_problems,
)
from hotline_monitor.simulator.config import DrillsConfig

PortNumber = Annotated[int, Field(ge=1, le=65535)]


def _snmp_version(value: Any) -> Any:
    # People write `version: 2c`, `version: 3` or `version: "1"`; all mean the same.
    return str(value).lower() if isinstance(value, int | str) else value


class SnmpTarget(StrictModel):
    """How to reach one UPS network card over SNMP."""

    host: str
    port: PortNumber = 161
    version: Annotated[Literal["1", "2c", "3"], BeforeValidator(_snmp_version)] = "2c"
    community: str = "public"
    user: str | None = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key: str | None = None
    priv_protocol: Literal["DES", "AES", "AES192", "AES256"] | None = None
    priv_key: str | None = None
    context: str = ""
    timeout: Duration = 2.0
    retries: Annotated[int, Field(ge=0, le=10)] = 1
    max_repetitions: Annotated[int, Field(ge=1, le=100)] = 25
    profile: str | None = None
    """Vendor profile name; matched from sysObjectID and identity when not set."""

    @model_validator(mode="after")
    def _check_profile(self) -> SnmpTarget:
        from hotline_monitor.collectors.ups_snmp.profiles import PROFILES

        if self.profile is not None and self.profile not in PROFILES:
            raise ValueError(f"未知的厂商配置 profile {self.profile!r}，可选：{', '.join(PROFILES)}")
        return self

    @model_validator(mode="after")
    def _check_v3(self) -> SnmpTarget:
        if self.version != "3":
            return self
        if not self.user:
            raise ValueError("SNMP v3 必须填写 user")
        if self.auth_key and len(self.auth_key) < 8:
            raise ValueError("SNMP v3 的 auth_key 至少 8 个字符（RFC 3414）")
        if self.priv_key and len(self.priv_key) < 8:
            raise ValueError("SNMP v3 的 priv_key 至少 8 个字符（RFC 3414）")
        if self.priv_key and not self.auth_key:
            raise ValueError("SNMP v3 设置了 priv_key 就必须同时设置 auth_key（authPriv）")
        return self


class UpsConfig(StrictModel):
    """One UPS, reached over SNMP and/or Modbus."""

    id: Identifier
    name: str = ""
    snmp: SnmpTarget | None = None
    modbus: ModbusTarget | None = None
    interval: Interval = 5.0
    battery_replace_due: date | None = None
    """Date (YYYY-MM-DD) the battery is due for replacement."""

    @model_validator(mode="after")
    def _check_paths(self) -> UpsConfig:
        if self.snmp is None and self.modbus is None:
            raise ValueError("UPS 至少要配置 snmp 或 modbus 之一")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.id


class InfluxDBConfig(StrictModel):
    """Where readings are stored. v1: /write with database; v2: token, org and bucket."""

    url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/.*)?$")]
    api: Literal["v1", "v2"] = "v1"
    database: str | None = None
    retention_policy: str | None = None
    username: str | None = None
    password: str | None = None
    token: str | None = None
    org: str | None = None
    bucket: str | None = None
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 5000
    timeout: Duration = 10.0
    gzip: bool = True
    verify_tls: bool = True

    @model_validator(mode="after")
    def _check_api_fields(self) -> InfluxDBConfig:
        if self.api == "v1" and not self.database:
            raise ValueError("api 为 v1 时必须填写 database")
        if self.api == "v2":
            missing = [name for name in ("token", "org", "bucket") if not getattr(self, name)]
            if missing:
                raise ValueError(f"api 为 v2 时必须填写 {', '.join(missing)}")
        return self


class LocalStoreConfig(StrictModel):
    """The SQLite store used when no InfluxDB is configured."""

    retention: Duration = 7 * 86400.0


def _one_local_host(hosts: list[HostConfig]) -> list[HostConfig]:
    # The host collector reads the machine the agent runs on; two entries
    # would read the same machine twice under different ids.
    if len(hosts) > 1:
        raise ValueError(
            f"hosts 只能有一项（本机），当前有 {len(hosts)} 项；其他服务器请在各自的 agent 上配置"
        )
    return hosts


class Config(StrictModel):
    """The whole configuration file."""

    site: Identifier
    state_dir: Path
    role: Literal["all", "agent", "hub"] = "all"
    agent_id: Identifier = Field(default_factory=lambda: socket.gethostname().split(".")[0])
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    influxdb: InfluxDBConfig | None = None
    local_store: LocalStoreConfig = LocalStoreConfig()
    ups: list[UpsConfig] = []
    alerting: AlertingConfig = AlertingConfig()
    oncall: OncallConfig = OncallConfig()
    public_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/.*)?$")] | None = None
    """Base of the acknowledgement links put into messages."""
    traps: TrapsConfig | None = None
    drills: DrillsConfig = DrillsConfig()
    hosts: Annotated[list[HostConfig], AfterValidator(_one_local_host)] = []
    checks: list[CheckConfig] = []
    sip_trunks: list[SipTrunkConfig] = []
    notify: NotifyConfig = NotifyConfig()
    channels: dict[Identifier, ChannelConfig] = {}
    maintenance: MaintenanceConfig = MaintenanceConfig()
    bureau: BureauConfig | None = None
    spool: SpoolConfig = SpoolConfig()
    mqtt: MqttConfig | None = None

    @field_validator("channels")
    @classmethod
    def _check_channel_references(cls, channels: dict, info: ValidationInfo) -> dict:
        # `notify` is declared first, so it is validated and available here.
        problems = channel_reference_problems(channels, info.data.get("notify", NotifyConfig()))
        if problems:
            raise ValueError("；".join(problems))
        return channels

    @field_validator("bureau")
    @classmethod
    def _check_bureau_channels(cls, bureau: BureauConfig | None,
                               info: ValidationInfo) -> BureauConfig | None:
        # `channels` is declared before `bureau`, so it is available here when valid.
        if bureau is not None and "channels" in info.data:
            problems = bureau_channel_problems(bureau, info.data["channels"])
            if problems:
                raise ValueError("；".join(problems))
        return bureau

    @model_validator(mode="after")
    def _check_role_needs_mqtt(self) -> Config:
        if self.role in ("agent", "hub") and self.mqtt is None:
            raise ValueError(f"role 为 {self.role} 时必须配置 mqtt（代理地址等）")
        return self

    @model_validator(mode="after")
    def _check_paging_channels(self) -> Config:
        interruption = self.alerting.interruption
        problems = channel_problems(self.oncall, interruption.channels if interruption else [],
                                    defined_channels(self))
        if problems:
            raise ValueError("；".join(problems))
        return self

    @property
    def spool_path(self) -> Path:
        # A relative path is taken inside state_dir; an absolute one replaces it.
        return self.state_dir / (self.spool.path or "spool.sqlite")
    nut_server: NutServerConfig | None = None
    shutdown_actions: list[ShutdownActionConfig] = []

    @model_validator(mode="after")
    def _check_power_references(self) -> Config:
        # A Modbus path may poll at its own, slower interval.
        intervals = {ups.id: max(ups.interval, getattr(ups.modbus, "interval", None) or 0.0)
                     for ups in self.ups}
        problems = power_config_problems(intervals, self.nut_server, self.shutdown_actions)
        if problems:
            raise ValueError("；".join(problems))
        return self

    def ups_by_id(self, ups_id: str) -> UpsConfig | None:
        return next((ups for ups in self.ups if ups.id == ups_id), None)
