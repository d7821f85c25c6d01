"""The `hotline-monitor` command line.

Each command lives in its own module under `agent/commands/` and provides
`register(subparsers)`, which adds its parser and sets `handler` to a function
taking the parsed arguments and returning the exit code: 0 success,
1 runtime failure, 2 bad input or configuration.
"""

from __future__ import annotations

import importlib
import re
import sys

from hotline_monitor import __version__
from hotline_monitor.agent.argparse_zh import ChineseArgumentParser
from hotline_monitor.errors import ConfigError, StartupError, describe_os_error

_FILE_PROBLEM = re.compile(r"^[^\s:]+:\d+: ")

COMMAND_MODULES = (
    "run",
    "check_config",
    "simulate",
    "demo",
    "drill",
    "alerts",
    "notify",
    "spool",
    "hub",
    "maint",
    "report",
)


def build_parser() -> ChineseArgumentParser:
    parser = ChineseArgumentParser(
        prog="hotline-monitor",
        description="12345 热线供电与通信监测告警系统",
    )
    parser.add_argument("--version", action="version", version=f"hotline-monitor {__version__}",
                        help="显示版本并退出")
    parser.add_argument("-v", "--verbose", action="store_true", help="输出调试日志")
    subparsers = parser.add_subparsers(dest="command", metavar="命令", parser_class=ChineseArgumentParser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"hotline_monitor.agent.commands.{name}")
        module.register(subparsers)
    return parser


def print_config_error(err: ConfigError) -> None:
    # Problems found in a file name it ("site.yaml:12: ..."); the others are
    # about the command line (a bad --start, an unknown alert id).
    about_file = all(_FILE_PROBLEM.match(problem) or problem.startswith("配置文件") for problem in err.problems)
    header = "配置" if about_file else "输入"
    print(f"{header}有 {len(err.problems)} 处问题：", file=sys.stderr)
    for problem in err.problems:
        print(f"  {problem}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as err:
        print_config_error(err)
        return 2
    except StartupError as err:
        print(f"启动失败：{err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"运行失败：{describe_os_error(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
