"""Configuration of the delivery layer: the `channels` and `notify` sections.

`channels` maps a channel name to its settings; `type` picks the provider.
Secrets (robot keys, SDK keys, SMTP passwords) are written as `${env:NAME}`
or as `<key>_file: PATH`, which the loader resolves before validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from hotline_monitor.config.types import Duration, Identifier, StrictModel

PortNumber = Annotated[int, Field(ge=1, le=65535)]
BaseUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/.*)?$")]

KIND_NAMES = ("alert", "repeat", "escalation", "recovery", "interruption", "notice", "report",
              "test", "operator")


class ChannelBase(StrictModel):
    """Settings every channel has."""

    fallback: Identifier | None = None
    """Channel that takes over when this one fails for good or misses its deadline."""
    fallback_to: list[str] = []
    """Addresses for the fallback channel; empty: reuse the recipient's address or mention."""
    timeout: Duration = 10.0


class WecomRobotChannel(ChannelBase):
    """A WeCom group robot (群机器人) reached through its webhook key."""

    type: Literal["wecom_robot"]
    key: Annotated[str, Field(min_length=1)]
    base_url: BaseUrl = "https://qyapi.weixin.qq.com"
    format: Literal["text", "markdown"] = "markdown"
    rate_limit: Annotated[int, Field(ge=0, le=1000)] = 20
    """Messages per `rate_window` per robot; 0 switches the limit off (benchmarks)."""
    rate_window: Duration = 60.0


class WecomAppChannel(ChannelBase):
    """WeCom application messages (应用消息) to named users."""

    type: Literal["wecom_app"]
    corpid: Annotated[str, Field(min_length=1)]
    corpsecret: Annotated[str, Field(min_length=1)]
    agentid: Annotated[int, Field(ge=0)]
    base_url: BaseUrl = "https://qyapi.weixin.qq.com"
    format: Literal["text", "markdown"] = "text"
    duplicate_check_interval: Annotated[int, Field(ge=1, le=14400)] = 1800
    """Seconds in which WeCom drops a message identical to one already sent (at most 4 h)."""


class SmsTemplates(StrictModel):
    """The provider-side template ids: one per message kind, with a default."""

    default: Annotated[str, Field(min_length=1)]
    alert: str | None = None
    repeat: str | None = None
    escalation: str | None = None
    recovery: str | None = None
    interruption: str | None = None
    notice: str | None = None
    report: str | None = None
    test: str | None = None
    operator: str | None = None

    def for_kind(self, kind: str) -> str:
        return getattr(self, kind, None) or self.default


class SmsAliyunChannel(ChannelBase):
    """Alibaba Cloud SMS through the official SDK (alibabacloud_dysmsapi20170525)."""

    type: Literal["sms_aliyun"]
    access_key_id: Annotated[str, Field(min_length=1)]
    access_key_secret: Annotated[str, Field(min_length=1)]
    sign_name: Annotated[str, Field(min_length=1)]
    templates: SmsTemplates
    params: dict[str, str] = {"level": "{{ severity_name }}", "title": "{{ prefix }}{{ title }}"}
    """Template variable name → Jinja2 expression over the message."""
    param_max_chars: Annotated[int, Field(ge=1, le=500)] = 35
    endpoint: str = "dysmsapi.aliyuncs.com"
    protocol: Literal["https", "http"] = "https"


class SmsTencentChannel(ChannelBase):
    """Tencent Cloud SMS through the official SDK (tencentcloud-sdk-python-sms)."""

    type: Literal["sms_tencent"]
    secret_id: Annotated[str, Field(min_length=1)]
    secret_key: Annotated[str, Field(min_length=1)]
    sdk_app_id: Annotated[str, Field(min_length=1)]
    sign_name: Annotated[str, Field(min_length=1)]
    templates: SmsTemplates
    params: list[str] = ["{{ severity_name }}", "{{ prefix }}{{ title }}"]
    """Template parameters in order, each a Jinja2 expression over the message."""
    param_max_chars: Annotated[int, Field(ge=1, le=500)] = 12
    region: str = "ap-guangzhou"
    endpoint: str = "sms.tencentcloudapi.com"
    protocol: Literal["https", "http"] = "https"


class SmsHttpChannel(ChannelBase):
    """A generic HTTP SMS gateway, such as a carrier's gateway at a government site."""

    type: Literal["sms_http"]
    url: BaseUrl
    method: Literal["GET", "POST", "PUT"] = "POST"
    headers: dict[str, str] = {}
    body_template: str = '{"phone": {{ phone | tojson }}, "text": {{ text | tojson }}}'
    """Jinja2 template of the request body; variables: phone, text, title, severity_name, kind."""
    success_status: list[int] = [200, 201, 202, 204]
    success_contains: str | None = None
    """Text the reply body must contain for the message to count as accepted."""
    max_chars: Annotated[int, Field(ge=10, le=2000)] = 300


class EmailChannel(ChannelBase):
    """E-mail over SMTP with HTML and plain-text parts."""

    type: Literal["email"]
    host: str
    port: PortNumber = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    from_address: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    from_name: str = "12345 热线监测"
    ca_bundle: Path | None = None
    """CA certificates (PEM) for a server whose certificate a private CA signed.
    Not named `ca_file`: the loader reads every `*_file` key as a secret's contents."""

    @model_validator(mode="after")
    def _check_auth(self) -> EmailChannel:
        if self.username and not self.password:
            raise ValueError("填写了 username 就必须同时填写 password（或 password_file）")
        if self.password and self.security == "none":
            raise ValueError("security 为 none 时不能发送密码，请改用 starttls 或 tls")
        return self


class ConsoleChannel(ChannelBase):
    """Standard output; always available as `console`, even when not configured."""

    type: Literal["console"]


ChannelConfig = Annotated[
    WecomRobotChannel | WecomAppChannel | SmsAliyunChannel | SmsTencentChannel | SmsHttpChannel
    | EmailChannel | ConsoleChannel,
    Field(discriminator="type"),
]


class OperatorRecipient(StrictModel):
    """A recipient of problems with the monitoring system itself (an invalid robot key)."""

    channel: Identifier
    address: str = ""


class Deadlines(StrictModel):
    """How long one channel may keep retrying a message, per severity."""

    info: Duration = 3600.0
    warning: Duration = 900.0
    critical: Duration = 300.0
    emergency: Duration = 120.0

    def for_severity(self, severity: str) -> float:
        return float(getattr(self, severity, self.warning))


class NotifyConfig(StrictModel):
    """The outbox's settings: deadlines, retries, templates folder, operator."""

    templates_dir: Path | None = None
    """Site folder whose templates override the built-in ones (same relative names)."""
    deadlines: Deadlines = Deadlines()
    retry_initial: Duration = 2.0
    retry_max: Duration = 60.0
    operator: list[OperatorRecipient] = []


def channel_reference_problems(channels: dict[str, ChannelConfig],
                               notify: NotifyConfig) -> list[str]:
    """Return problems with names that point at channels: unknown names, fallback cycles."""
    known = set(channels) | {"console"}
    problems = []
    for name, channel in channels.items():
        if channel.fallback is not None and channel.fallback not in known:
            problems.append(f"channels.{name}.fallback: 渠道 {channel.fallback!r} 未配置，"
                            f"已配置的渠道：{', '.join(sorted(known))}")
    for index, operator in enumerate(notify.operator):
        if operator.channel not in known:
            problems.append(f"notify.operator[{index}].channel: 渠道 {operator.channel!r} 未配置")

    # The rate limit counts per robot, so one robot under two names would exceed it.
    robot_names: dict[str, str] = {}
    for name, channel in channels.items():
        if isinstance(channel, WecomRobotChannel):
            if channel.key in robot_names:
                problems.append(f"channels.{name}.key: 与 channels.{robot_names[channel.key]} "
                                "是同一个群机器人，限流无法合并计算，请只配置一次")
            robot_names.setdefault(channel.key, name)

    for name in channels:
        chain = [name]
        current = channels[name].fallback
        while current is not None and current in channels:
            if current in chain:
                problems.append(f"channels.{name}.fallback: 备用渠道形成循环："
                                f"{' → '.join([*chain, current])}")
                break
            chain.append(current)
            current = channels[current].fallback
    return problems
