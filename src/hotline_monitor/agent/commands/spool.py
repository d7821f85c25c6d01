"""`hotline-monitor spool status|replay -c FILE`: look into the durable spool, force a drain."""

from __future__ import annotations

import argparse
import asyncio

from hotline_monitor.agent.cli_support import setup_logging_for
from hotline_monitor.agent.runner import build_destination, open_spool
from hotline_monitor.agent.sender import Sender
from hotline_monitor.agent.spool import Spool
from hotline_monitor.config import load_config
from hotline_monitor.config.model import Config
from hotline_monitor.reading import now_ns
from hotline_monitor.timeutil import format_duration, local_text

# How long `spool replay` waits for the MQTT broker (role agent).
REPLAY_CONNECT_TIMEOUT_S = 10.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("spool", help="查看或补发本地数据缓存（spool）")
    actions = parser.add_subparsers(dest="spool_action", metavar="操作",
                                    parser_class=type(parser))
    actions.required = True

    status = actions.add_parser("status", help="显示积压条数、最早一条的等待时长、丢弃和隔离情况")
    status.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    status.add_argument("--quarantine", type=int, default=5, metavar="N",
                        help="列出最近 N 条被隔离的读数（默认 5）")
    status.set_defaults(handler=handle_status)

    replay = actions.add_parser("replay", help="立即把缓存中的读数全部写出；写入失败时退出码为 1")
    replay.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    replay.set_defaults(handler=handle_replay)


def destination_text(config: Config) -> str:
    if config.role == "agent" and config.mqtt is not None:
        return f"MQTT 代理 {config.mqtt.host}:{config.mqtt.port}"
    if config.influxdb is not None:
        return f"InfluxDB {config.influxdb.url}"
    return "本地存储"


def handle_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    spool = open_spool(config)
    try:
        print_status(config, spool, args.quarantine)
    finally:
        spool.close()
    return 0


def print_status(config: Config, spool: Spool, quarantine_lines: int) -> None:
    status = spool.status()
    print(f"缓存文件：{spool.path}")
    print(f"写往：{destination_text(config)}")
    print(f"积压：{status.rows} 条，{status.bytes / 1024**2:.2f} MiB"
          f"（上限 {spool.max_bytes / 1024**2:.0f} MiB"
          + (f"、{spool.max_rows} 条" if spool.max_rows else "") + "）")
    if status.oldest_spooled_ns is not None:
        waited = (now_ns() - status.oldest_spooled_ns) / 1e9
        print(f"最早一条：{local_text(status.oldest_spooled_ns)} 进入缓存，已等待 {format_duration(waited)}")
    else:
        print("最早一条：无（缓存已清空）")
    if status.dropped:
        print(f"因缓存已满丢弃：累计 {status.dropped} 条，最近一次在 {local_text(status.last_drop_ns or 0)}")
    else:
        print("因缓存已满丢弃：0 条")
    print(f"隔离区（数据库拒收）：{status.quarantined} 条")
    for item in spool.quarantined(quarantine_lines):
        print(f"  {local_text(item.quarantined_ns)} 原因：{item.message}")
        print(f"    读数：{item.line[:300]}")


def handle_replay(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    setup_logging_for(config, args)
    return asyncio.run(replay(config))


async def replay(config: Config) -> int:
    spool = open_spool(config)
    sink = build_destination(config)
    waiting = spool.rows
    batch_size = config.spool.batch_size or (config.influxdb.batch_size if config.influxdb else 5000)
    sender = Sender(spool, sink, batch_size)
    try:
        if hasattr(sink, "wait_connected"):
            await sink.wait_connected(REPLAY_CONNECT_TIMEOUT_S)
        result = await sender.drain()
    finally:
        await sink.close()
        remaining = spool.rows
        spool.close()

    print(f"补发前积压 {waiting} 条；已写入 {result.sent} 条，移入隔离区 {result.quarantined} 条，"
          f"剩余 {remaining} 条")
    if not result.ok:
        print(f"写入 {destination_text(config)} 失败：{result.error}；未写出的读数仍保留在缓存中")
        return 1
    return 0
