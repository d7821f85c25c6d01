"""Build channel objects from the `channels` section."""

from __future__ import annotations

from collections.abc import Mapping

from hotline_monitor.errors import ConfigError
from hotline_monitor.notify.channels.base import Channel
from hotline_monitor.notify.channels.console import Console
from hotline_monitor.notify.config import (
    ChannelConfig,
    ConsoleChannel,
    EmailChannel,
    SmsAliyunChannel,
    SmsHttpChannel,
    SmsTencentChannel,
    WecomAppChannel,
    WecomRobotChannel,
)
from hotline_monitor.notify.render import Renderer

CONSOLE = "console"

_SDK_EXTRAS = {"sms_aliyun": "sms-aliyun", "sms_tencent": "sms-tencent"}


def build_channel(name: str, config: ChannelConfig, renderer: Renderer) -> Channel:
    """Return the channel for one configuration entry; ConfigError when its SDK is missing."""
    try:
        return _construct(name, config, renderer)
    except ImportError as err:
        extra = _SDK_EXTRAS.get(config.type, "")
        raise ConfigError([f"channels.{name}: 渠道类型 {config.type} 需要安装可选依赖 "
                           f"hotline-monitor[{extra}]（缺少 {err.name}）"]) from err


def build_channels(configs: Mapping[str, ChannelConfig], renderer: Renderer) -> dict[str, Channel]:
    """Return every configured channel, plus `console` when none of that name is configured."""
    channels = {name: build_channel(name, config, renderer) for name, config in configs.items()}
    channels.setdefault(CONSOLE, Console(CONSOLE, renderer))
    return channels


def _construct(name: str, config: ChannelConfig, renderer: Renderer) -> Channel:
    if isinstance(config, WecomRobotChannel):
        from hotline_monitor.notify.channels.wecom_robot import WecomRobot
        return WecomRobot(name, config, renderer)
    if isinstance(config, WecomAppChannel):
        from hotline_monitor.notify.channels.wecom_app import WecomApp
        return WecomApp(name, config, renderer)
    if isinstance(config, SmsAliyunChannel):
        from hotline_monitor.notify.channels.sms_aliyun import SmsAliyun
        return SmsAliyun(name, config, renderer)
    if isinstance(config, SmsTencentChannel):
        from hotline_monitor.notify.channels.sms_tencent import SmsTencent
        return SmsTencent(name, config, renderer)
    if isinstance(config, SmsHttpChannel):
        from hotline_monitor.notify.channels.sms_http import SmsHttp
        return SmsHttp(name, config, renderer)
    if isinstance(config, EmailChannel):
        from hotline_monitor.notify.channels.email import Email
        return Email(name, config, renderer)
    if isinstance(config, ConsoleChannel):
        return Console(name, renderer)
    raise AssertionError(f"unhandled channel type {config.type}")
