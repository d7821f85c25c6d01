"""`hotline-monitor alerts list / ack / silence / silences / unsilence`."""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from hotline_monitor.alerting.store import AlertStore
from hotline_monitor.alerting.texts import alert_line, severity_name
from hotline_monitor.config import load_config
from hotline_monitor.timeutil import format_duration, local_text, parse_duration

NS = 1_000_000_000

_STATE_NAMES = {"pending": "待定", "firing": "告警中", "acknowledged": "已确认", "resolved": "已恢复"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("alerts", help="查看、确认告警，管理临时静默")
    commands = parser.add_subparsers(dest="alerts_command", metavar="子命令",
                                     parser_class=type(parser))
    commands.required = True

    listing = commands.add_parser("list", help="列出未恢复的告警")
    _config_option(listing)
    listing.set_defaults(handler=handle_list)

    ack = commands.add_parser("ack", help="确认告警，停止升级通知")
    ack.add_argument("id", type=int, metavar="编号", help="告警编号（消息中的 #编号）")
    _config_option(ack)
    ack.add_argument("--by", default=None, metavar="姓名", help="确认人（默认：当前登录用户）")
    ack.set_defaults(handler=handle_ack)

    silence = commands.add_parser("silence", help="临时静默一个目标的告警（仍记录，不通知）")
    silence.add_argument("target", metavar="目标", help="目标标识，可用通配符，如 ups-main 或 trunk-*")
    _config_option(silence)
    silence.add_argument("--for", dest="duration", required=True, metavar="时长",
                         help="静默多久，如 30m、2h")
    silence.add_argument("--reason", required=True, metavar="原因", help="静默原因")
    silence.add_argument("--by", default=None, metavar="姓名", help="操作人（默认：当前登录用户）")
    silence.set_defaults(handler=handle_silence)

    silences = commands.add_parser("silences", help="列出生效中的静默")
    _config_option(silences)
    silences.set_defaults(handler=handle_silences)

    unsilence = commands.add_parser("unsilence", help="提前解除一条静默")
    unsilence.add_argument("id", type=int, metavar="编号", help="静默编号")
    _config_option(unsilence)
    unsilence.set_defaults(handler=handle_unsilence)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")


def _open_store(args: argparse.Namespace) -> AlertStore:
    config = load_config(args.config)
    args.names = {ups.id: ups.display_name for ups in config.ups}
    return AlertStore(config.state_dir / "alerts.sqlite")


def _user(name: str | None) -> str:
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "未知用户"


def _error(text: str) -> int:
    print(text, file=sys.stderr)
    return 2


def handle_list(args: argparse.Namespace) -> int:
    store = _open_store(args)
    now_ns = time.time_ns()
    groups = store.open_groups()
    pending = [alert for alert in store.open_alerts() if alert.state == "pending"]
    interruptions = [row for row in store.interruptions() if row.end_ns is None]
    for row in interruptions:
        elapsed = format_duration((now_ns - row.start_ns) / NS)
        breach = "，已超过时限" if row.breach else ""
        print(f"【通信中断】{row.service}：自 {local_text(row.start_ns)} 起已中断 {elapsed}"
              f"{breach}，原因：{row.cause}")
    if not groups and not pending and not interruptions:
        print("当前没有未恢复的告警。")
        return 0

    for group in groups:
        alerts = [alert for alert in store.group_alerts(group.id) if alert.state != "resolved"]
        if not alerts:
            continue
        worst = max(alerts, key=lambda a: ("info", "warning", "critical", "emergency").index(a.severity))
        if group.acked_ns is not None:
            state = f"已确认（{group.acked_by}，{local_text(group.acked_ns)}）"
        else:
            state = "告警中，未确认"
        silence = store.silence_for(group.target, now_ns)
        if silence is not None:
            state += f"，已静默至 {local_text(silence.until_ns)}（{silence.reason}）"
        name = args.names.get(group.target, group.target)
        print(f"#{group.id} 【{severity_name(worst.severity)}】{name}："
              f"{state}，开始于 {local_text(group.opened_ns)}")
        for alert in alerts:
            print(f"   {alert_line(alert.severity, alert.summary, alert.state, alert.fired_ns)}")
    for alert in pending:
        name = args.names.get(alert.target, alert.target)
        print(f"待定（条件已满足，未到持续时间）【{severity_name(alert.severity)}】{name}："
              f"{alert.summary}，自 {local_text(alert.pending_ns or now_ns)} 起")
    return 0


def handle_ack(args: argparse.Namespace) -> int:
    store = _open_store(args)
    group = store.group(args.id)
    if group is None:
        return _error(f"告警 #{args.id} 不存在，请用 hotline-monitor alerts list 查看编号")
    if group.closed_ns is not None:
        return _error(f"告警 #{args.id} 已于 {local_text(group.closed_ns)} 恢复，无需确认")
    if group.acked_ns is not None:
        print(f"告警 #{args.id} 已由 {group.acked_by} 于 {local_text(group.acked_ns)} 确认")
        return 0
    by = _user(args.by)
    store.acknowledge(args.id, by, time.time_ns())
    name = args.names.get(group.target, group.target)
    print(f"已确认告警 #{args.id}（{name}），确认人 {by}，升级通知已停止")
    return 0


def handle_silence(args: argparse.Namespace) -> int:
    try:
        seconds = parse_duration(args.duration)
    except ValueError as err:
        return _error(f"--for：{err}")
    if seconds <= 0:
        return _error(f"--for：时长必须大于 0，当前为 {args.duration!r}")
    if not args.reason.strip():
        return _error("--reason：原因不能为空")

    store = _open_store(args)
    now_ns = time.time_ns()
    until_ns = now_ns + int(seconds * NS)
    silence_id = store.add_silence(args.target, until_ns, args.reason.strip(), _user(args.by),
                                   now_ns)
    print(f"已添加静默 #{silence_id}：{args.target}，至 {local_text(until_ns)}"
          f"（{format_duration(seconds)}），原因：{args.reason.strip()}")
    return 0


def handle_silences(args: argparse.Namespace) -> int:
    store = _open_store(args)
    silences = store.active_silences(time.time_ns())
    if not silences:
        print("当前没有生效中的静默。")
        return 0
    for silence in silences:
        print(f"#{silence.id} {silence.target}：至 {local_text(silence.until_ns)}，"
              f"原因：{silence.reason}，操作人 {silence.created_by}，"
              f"添加于 {local_text(silence.created_ns)}")
    return 0


def handle_unsilence(args: argparse.Namespace) -> int:
    store = _open_store(args)
    if not store.remove_silence(args.id, time.time_ns()):
        return _error(f"静默 #{args.id} 不存在或已解除，请用 hotline-monitor alerts silences 查看")
    print(f"已解除静默 #{args.id}")
    return 0
