"""`hotline-monitor notify test -c FILE CHANNEL [--to ADDRESS]`: one test message, one channel."""

from __future__ import annotations

import argparse
import asyncio
import time

from hotline_monitor.agent.cli_support import setup_logging_for
from hotline_monitor.config import load_config
from hotline_monitor.errors import ConfigError, DeliveryError
from hotline_monitor.notify.channels.base import Channel, Delivery
from hotline_monitor.notify.channels.registry import CONSOLE, build_channel, build_channels
from hotline_monitor.notify.masking import install_log_filters, mask_text
from hotline_monitor.notify.message import OutgoingMessage
from hotline_monitor.notify.render import Renderer


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("notify", help="通知渠道工具")
    actions = parser.add_subparsers(dest="action", metavar="操作")
    actions.required = True
    test = actions.add_parser("test", help="通过一个渠道发送测试消息，并显示服务商的答复")
    test.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    test.add_argument("channel", metavar="CHANNEL", help="channels 中配置的渠道名称")
    test.add_argument("--to", metavar="ADDRESS", default="",
                      help="收件地址：手机号、企业微信 userid 或邮箱（群机器人不需要）")
    test.set_defaults(handler=handle_test)


def handle_test(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging_for(config, args)
    install_log_filters()
    renderer = Renderer(config.notify.templates_dir)

    known = sorted(set(config.channels) | {CONSOLE})
    if args.channel not in known:
        raise ConfigError([f"渠道 {args.channel!r} 未配置；已配置的渠道：{', '.join(known)}"])
    if args.channel in config.channels:
        channel = build_channel(args.channel, config.channels[args.channel], renderer)
    else:
        channel = build_channels({}, renderer)[CONSOLE]
    if channel.needs_address and not args.to and args.channel != CONSOLE:
        raise ConfigError([f"渠道 {args.channel} 需要用 --to 指定收件地址（手机号、userid 或邮箱）"])

    return asyncio.run(_send_test(args.channel, channel, args.to, config.site))


async def _send_test(name: str, channel: Channel, address: str, site: str) -> int:
    message = OutgoingMessage(
        key=f"test:{name}:{time.time_ns()}", kind="test", severity="info",
        title=f"{site} 通知渠道测试", text=f"这是一条测试消息，用于确认渠道 {name} 可以送达。无需处理。",
        recipients=[])
    delivery = Delivery(id=0, message=message, channel=name, address=address)
    try:
        await channel.wait_turn()
        answer = await channel.send(delivery)
    except DeliveryError as err:
        print(f"发送失败：渠道 {name}：{mask_text(str(err))}")
        return 1
    finally:
        await channel.close()
    print(f"发送成功：渠道 {name}：{mask_text(answer)}")
    return 0
