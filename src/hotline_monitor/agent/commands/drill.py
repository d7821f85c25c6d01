"""`hotline-monitor drill -c FILE --scenario NAME`: an emergency drill (应急演练)."""

from __future__ import annotations

import argparse
import asyncio
import signal

from hotline_monitor.agent.cli_support import setup_logging_for
from hotline_monitor.config import load_config
from hotline_monitor.errors import ConfigError
from hotline_monitor.simulator.scenario import load_scenario, scenario_names
from hotline_monitor.timeutil import format_duration


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "drill", help="应急演练：用模拟 UPS 播放场景，经本站真实告警配置和通知渠道发出【演练】消息")
    parser.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    parser.add_argument("--scenario", required=True, metavar="名称",
                        help=f"场景名（{'、'.join(scenario_names())}）或场景 YAML 文件路径")
    parser.add_argument("--ups", metavar="ID", help="演练哪台 UPS（默认配置中的第一台）")
    parser.add_argument("--speed", type=float, metavar="倍数",
                        help="时间倍速（默认取配置 drills.speed，出厂为 10）")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    scenario = load_scenario(args.scenario)
    problems = []
    if not config.ups:
        problems.append(f"{args.config}: 配置中没有任何 UPS，无法演练")
    if args.ups:
        ups = config.ups_by_id(args.ups)
    else:
        ups = config.ups[0] if config.ups else None
    if args.ups and ups is None:
        problems.append(f"--ups：配置中没有 id 为 {args.ups!r} 的 UPS；可选："
                        f"{'、'.join(item.id for item in config.ups)}")
    speed = args.speed if args.speed is not None else config.drills.speed
    if not 0 < speed <= 10_000:
        problems.append(f"--speed 应大于 0 且不超过 10000，实际为 {speed:g}")
    if problems:
        raise ConfigError(problems)

    # Imported here: the simulator loads pysnmp and pymodbus, which other commands do not need.
    from hotline_monitor.simulator.drill_report import write_report

    setup_logging_for(config, args)
    archive = config.state_dir / "archive" / "drills"
    wall = scenario.duration / speed
    print(f"应急演练开始：{scenario.title}，对象 {ups.display_name}，{speed:g} 倍速，"
          f"约需 {format_duration(wall)}。所有消息以【演练】开头。", flush=True)
    result, folder = asyncio.run(_run(config, ups, scenario, speed, archive))
    markdown, html = write_report(result, folder)

    verdict = "已中断，未完成" if result.interrupted else ("通过" if result.passed else "未通过")
    print(f"演练{verdict}：发出消息 {len(result.messages)} 条，"
          f"扣留发往数据局的通知 {result.held_back} 条。", flush=True)
    print(f"演练报告：{markdown}")
    print(f"演练报告（HTML）：{html}", flush=True)
    # A drill that misses a target (or was interrupted) still wrote its report;
    # exit 1 lets a scheduled drill's caller notice.
    return 0 if result.passed else 1


async def _run(config, ups, scenario, speed, archive):
    from hotline_monitor.simulator.drill import run_drill

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return await run_drill(config, ups, scenario, speed, archive, stop)
