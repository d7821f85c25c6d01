"""`hotline-monitor check-config -c FILE`: validate and report every problem."""

from __future__ import annotations

import argparse

from hotline_monitor.config import load_config
from hotline_monitor.config.model import Config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check-config", help="检查配置文件，列出全部问题")
    parser.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    targets = len(config.ups)
    print(f"配置有效：站点 {config.site}，角色 {config.role}，{targets} 台 UPS，"
          f"数据{_destination(config)}，状态目录 {config.state_dir}")
    if targets == 0 and config.role != "hub":
        print("注意：没有配置任何 UPS，采集代理启动后不会轮询任何设备")
    return 0


def _destination(config: Config) -> str:
    # An agent sends to the MQTT broker even when influxdb is also set.
    if config.role == "agent" and config.mqtt is not None:
        return f"经 MQTT 代理 {config.mqtt.host}:{config.mqtt.port} 发给监控中心（hub）"
    if config.influxdb is not None:
        return f"写入 InfluxDB（{config.influxdb.api}）{config.influxdb.url}"
    return "写入本地存储"
