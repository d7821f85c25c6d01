"""`hotline-monitor simulate ups …`: serve a simulated UPS over SNMP and Modbus TCP."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from hotline_monitor.errors import ConfigError

# The simulator's modules load pysnmp and pymodbus; they are imported in the
# handler so that other commands do not pay for them.
AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "AES", "AES192", "AES256")

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("simulate", help="运行模拟设备（UPS）")
    devices = parser.add_subparsers(dest="device", metavar="设备")
    devices.required = True
    ups = devices.add_parser("ups", help="模拟一台 100kVA 三相 UPS，经 SNMP 与 Modbus TCP 提供数据")
    ups.add_argument("--host", default="127.0.0.1", metavar="地址", help="监听地址（默认 127.0.0.1）")
    ups.add_argument("--snmp-port", type=int, metavar="端口", help="SNMP 监听的 UDP 端口")
    ups.add_argument("--modbus-port", type=int, metavar="端口", help="Modbus TCP 监听的 TCP 端口")
    ups.add_argument("--community", action="append", metavar="团体名",
                     help="接受的 SNMP v1/v2c 团体名，可重复（默认 public）")
    ups.add_argument("--v3-user", metavar="用户名", help="接受的 SNMPv3 用户名")
    ups.add_argument("--v3-auth-proto", default="SHA", choices=sorted(AUTH_PROTOCOLS),
                     help="SNMPv3 认证协议（默认 SHA）")
    ups.add_argument("--v3-auth-key", metavar="密码", help="SNMPv3 认证密码（至少 8 个字符）")
    ups.add_argument("--v3-priv-proto", default="AES", choices=sorted(PRIV_PROTOCOLS),
                     help="SNMPv3 加密协议（默认 AES）")
    ups.add_argument("--v3-priv-key", metavar="密码", help="SNMPv3 加密密码（至少 8 个字符）")
    ups.add_argument("--recording", type=Path, metavar="FILE",
                     help="以 .snmprec 录制文件为底本，沿用真实设备的标识与特殊值")
    ups.add_argument("--scenario", metavar="名称", help="播放的场景名或场景 YAML 文件路径")
    ups.add_argument("--speed", type=float, default=1.0, metavar="倍数",
                     help="时间倍速：60 表示 1 秒真实时间相当于 1 分钟模拟时间（默认 1）")
    ups.add_argument("--trap-to", action="append", default=[], metavar="主机:端口",
                     help="状态变化时发送 RFC 1628 Trap（SNMPv2c）的接收方，可重复")
    ups.add_argument("--trap-community", default="public", metavar="团体名",
                     help="发送 Trap 用的团体名（默认 public）")
    ups.add_argument("--exit-at-end", action="store_true",
                     help="场景播放完毕后退出（默认继续保持最终状态，直到 Ctrl-C）")
    parser.set_defaults(handler=handle)


def options_from_args(args: argparse.Namespace):
    """Check the arguments; raise ConfigError listing every problem."""
    from hotline_monitor.simulator.service import SimulatorOptions
    from hotline_monitor.simulator.snmp_agent import V3User

    problems = []
    if not args.snmp_port and not args.modbus_port:
        problems.append("至少要指定 --snmp-port 或 --modbus-port 之一")
    for name in ("snmp_port", "modbus_port"):
        port = getattr(args, name)
        if port is not None and not 1 <= port <= 65535:
            problems.append(f"--{name.replace('_', '-')} 应在 1 到 65535 之间，实际为 {port}")
    if not 0 < args.speed <= 10_000:
        problems.append(f"--speed 应大于 0 且不超过 10000，实际为 {args.speed:g}")
    if args.recording is not None and not args.recording.is_file():
        problems.append(f"--recording：录制文件 {args.recording} 不存在")

    v3_users = []
    if args.v3_user:
        for flag, key in (("--v3-auth-key", args.v3_auth_key), ("--v3-priv-key", args.v3_priv_key)):
            if key is not None and len(key) < 8:
                problems.append(f"{flag} 至少 8 个字符（RFC 3414），实际为 {len(key)} 个")
        if args.v3_priv_key and not args.v3_auth_key:
            problems.append("设置了 --v3-priv-key 就必须同时设置 --v3-auth-key")
        v3_users.append(V3User(args.v3_user, args.v3_auth_proto, args.v3_auth_key,
                               args.v3_priv_proto, args.v3_priv_key))
    elif args.v3_auth_key or args.v3_priv_key:
        problems.append("给出了 SNMPv3 密码但没有 --v3-user")

    receivers = []
    for text in args.trap_to:
        receiver = parse_receiver(text, args.trap_community)
        if receiver is None:
            problems.append(f"--trap-to {text!r} 无效，应写作 主机:端口，例如 127.0.0.1:162")
        else:
            receivers.append(receiver)

    if problems:
        raise ConfigError(problems)
    return SimulatorOptions(
        host=args.host,
        snmp_port=args.snmp_port,
        modbus_port=args.modbus_port,
        communities=args.community or ["public"],
        v3_users=v3_users,
        recording=args.recording,
        trap_receivers=receivers,
        speed=args.speed,
    )


def parse_receiver(text: str, community: str):
    from hotline_monitor.simulator.traps import TrapReceiver

    host, _, port_text = text.rpartition(":")
    if not host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        return None
    return TrapReceiver(host.strip("[]"), int(port_text), community)


def handle(args: argparse.Namespace) -> int:
    from hotline_monitor.simulator.scenario import load_scenario
    from hotline_monitor.simulator.service import SimulatedUps

    options = options_from_args(args)
    scenario = load_scenario(args.scenario) if args.scenario else None
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    simulator = SimulatedUps(options)
    return asyncio.run(_serve(simulator, scenario, args.exit_at_end))


async def _serve(simulator, scenario, exit_at_end: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    try:
        await simulator.start()
    except OSError as err:
        print(f"无法监听端口：{err}（端口被占用，或低于 1024 的端口需要 root）", file=sys.stderr)
        await simulator.stop()
        return 1

    options = simulator.options
    print(f"模拟 UPS 已启动：SNMP {_where(options.host, options.snmp_port)}，"
          f"Modbus TCP {_where(options.host, options.modbus_port)}", flush=True)
    if scenario is not None:
        simulator.begin(scenario)
        print(f"播放场景：{scenario.title}（{scenario.name}），时长 {scenario.duration:g} 秒模拟时间，"
              f"{options.speed:g} 倍速", flush=True)
        await simulator.run(stop)
        if not stop.is_set():
            print("场景播放完毕" + ("" if exit_at_end else "，保持最终状态；按 Ctrl-C 退出"), flush=True)
    if not exit_at_end or scenario is None:
        await stop.wait()
    await simulator.stop()
    return 0


def _where(host: str, port: int | None) -> str:
    return f"{host}:{port}" if port else "未启用"
