"""`hotline-monitor report monthly --month YYYY-MM / yearly --year YYYY`."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotline_monitor.config import load_config
from hotline_monitor.errors import ConfigError
from hotline_monitor.maintenance import delivery
from hotline_monitor.maintenance.service import MaintenanceService
from hotline_monitor.reading import now_ns
from hotline_monitor.reports.build import build_report, send_report
from hotline_monitor.reports.figures import month_period, year_period
from hotline_monitor.reports.render import percent


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="生成给大数据局的月报、年报")
    commands = parser.add_subparsers(dest="report_command", metavar="子命令",
                                     parser_class=type(parser))
    commands.required = True
    monthly = _common(commands.add_parser("monthly", help="月报"))
    monthly.add_argument("--month", required=True, help="月份，如 2026-11")
    monthly.set_defaults(handler=handle, period=lambda args: month_period(args.month))
    yearly = _common(commands.add_parser("yearly", help="年报"))
    yearly.add_argument("--year", required=True, help="年份，如 2026")
    yearly.set_defaults(handler=handle, period=lambda args: year_period(args.year))


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="输出目录（默认为状态目录下的 reports）")
    parser.add_argument("--send", action="store_true", help="生成后发送给大数据局并存档")
    return parser


def handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        period = args.period(args)
    except ValueError as err:
        raise ConfigError([str(err)]) from err

    sink, lookup, close = delivery.open_outbox(config) if args.send else (None, None, lambda: None)
    service = MaintenanceService(config, sink, lookup)
    try:
        now = now_ns()
        if period.start_ns >= now:
            raise ConfigError([f"{period.title}尚未开始，无法生成报告"])
        files = build_report(config, service.ledger, period, now,
                             Path(args.output) if args.output else None)
        if args.send:
            send_report(files, service.sender, config.site, config.maintenance.notice_hours, now)
    finally:
        service.close()
        close()

    figures = files.figures
    for note in files.notes:
        print(note)
    print(f"{period.title}：可用率 {percent(figures.availability)}，"
          f"中断 {len(figures.interruptions)} 次，"
          f"超时 {len(figures.breaches)} 次")
    for path in files.paths:
        print(f"已生成 {path}")
    if args.send:
        print("报告已进入发送队列并存档")
    return 0
