"""`hotline-monitor hub -c FILE`: consume agents' readings from MQTT, store them, alert."""

from __future__ import annotations

import argparse
import asyncio
import signal

from hotline_monitor.agent.cli_support import setup_logging_for
from hotline_monitor.config import load_config
from hotline_monitor.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("hub", help="运行监控中心：从 MQTT 接收各采集代理的读数，入库并告警")
    parser.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if config.role != "hub":
        raise ConfigError([f"{args.config}: role: hub 命令要求 role: hub，当前为 {config.role}"])
    setup_logging_for(config, args)
    from hotline_monitor.agent.mqtt.hub import Hub

    return asyncio.run(_run_until_signal(Hub(config)))


async def _run_until_signal(hub) -> int:  # noqa: ANN001 - Hub, imported lazily
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    from hotline_monitor.nut.service import power_services

    agent = hub.agent
    async with power_services(agent.config, agent.latest, agent.message_sink):
        return await hub.run_forever(stop)
