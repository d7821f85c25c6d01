"""`hotline-monitor check-config -c FILE`: validate and report every problem."""

from __future__ import annotations

import argparse

from hotline_monitor.config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check-config", help="检查配置文件，列出全部问题")
    parser.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    targets = len(config.ups)
    store = f"InfluxDB（{config.influxdb.api}）{config.influxdb.url}" if config.influxdb else "本地存储"
    print(f"配置有效：站点 {config.site}，{targets} 台 UPS，数据写入{store}，状态目录 {config.state_dir}")
    return 0
