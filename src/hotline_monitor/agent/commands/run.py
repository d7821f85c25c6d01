"""`hotline-monitor run -c FILE [--once]`: the agent."""

from __future__ import annotations

import argparse
import asyncio
import signal

from hotline_monitor.agent.cli_support import setup_logging_for
from hotline_monitor.agent.runner import Agent
from hotline_monitor.config import load_config
from hotline_monitor.errors import ConfigError
from hotline_monitor.nut.service import power_services


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="运行采集代理")
    parser.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    parser.add_argument("--once", action="store_true",
                        help="每个目标轮询一次，写入数据、评估告警后退出（写入失败时退出码为 1）")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if config.role == "hub":
        raise ConfigError([f"{args.config}: role: 监控中心（role: hub）请用 hotline-monitor hub -c FILE 运行"])
    setup_logging_for(config, args)
    agent = Agent(config)
    if args.once:
        return asyncio.run(agent.run_once())
    return asyncio.run(_run_until_signal(agent))


async def _run_until_signal(agent: Agent) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with power_services(agent.config, agent.latest, agent.message_sink):
        return await agent.run_forever(stop)
