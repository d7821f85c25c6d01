"""`hotline-monitor maint add / list / show / extend / cancel / backup / restore`."""

from __future__ import annotations

import argparse
import sys

from hotline_monitor.config import load_config
from hotline_monitor.errors import ConfigError
from hotline_monitor.maintenance import backup as ledger_backup
from hotline_monitor.maintenance import delivery
from hotline_monitor.maintenance.ledger import LEDGER_FILE, WindowRow
from hotline_monitor.maintenance.scope import known_targets, parse_scope
from hotline_monitor.maintenance.service import ARCHIVE_DIR, MaintenanceService
from hotline_monitor.maintenance.timeinput import local_minutes, parse_local_time
from hotline_monitor.maintenance.windows import STATE_NAMES, WindowRequest
from hotline_monitor.notify.render import Renderer
from hotline_monitor.reading import now_ns
from hotline_monitor.timeutil import local_text

NOTICE_NAMES = {
    "maintenance_notice": "检修通知", "maintenance_reminder": "开始前提醒",
    "maintenance_start": "开始通知", "maintenance_completion": "完成通知",
    "maintenance_extend": "延期通知", "maintenance_cancel": "取消通知",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("maint", help="检修时段及其通知")
    commands = parser.add_subparsers(dest="maint_command", metavar="子命令",
                                     parser_class=type(parser))
    commands.required = True

    add = _with_config(commands.add_parser("add", help="登记检修并立即向大数据局发送检修通知"))
    add.add_argument("--kind", required=True,
                     help="类别：线路检修、工程割接、网络升级、设备维护或配置中的类别")
    add.add_argument("--start", required=True, help="开始时间（北京时间），如 \"2026-12-10 01:00\"")
    add.add_argument("--end", required=True, help="结束时间（北京时间）")
    add.add_argument("--scope", required=True,
                     help="受影响的 UPS、中继、主机、检查或服务的 id，逗号分隔")
    add.add_argument("--description", required=True, help="工作内容")
    add.add_argument("--impact", required=True, help="预计影响")
    add.add_argument("--contact", required=True, help="联系人及电话")
    add.add_argument("--emergency", action="store_true",
                     help="紧急检修：允许提前量不足，报告中标记为迟报")
    add.add_argument("--reason", default="", help="紧急检修的原因（与 --emergency 一起用）")
    add.add_argument("--dry-run", action="store_true",
                     help="只显示大数据局将收到的通知，不保存、不发送")
    add.set_defaults(handler=handle_add)

    _with_config(commands.add_parser("list", help="列出检修")).set_defaults(handler=handle_list)

    show = _with_config(commands.add_parser("show", help="显示一次检修及其通知记录"))
    show.add_argument("id", help="检修编号，如 3 或 MW-3")
    show.set_defaults(handler=handle_show)

    extend = _with_config(commands.add_parser("extend", help="延长检修并发送延期通知"))
    extend.add_argument("id", help="检修编号")
    extend.add_argument("--end", required=True, help="新的结束时间（北京时间）")
    extend.add_argument("--reason", required=True, help="延期原因")
    extend.set_defaults(handler=handle_extend)

    cancel = _with_config(commands.add_parser("cancel", help="取消未开始的检修并发送取消通知"))
    cancel.add_argument("id", help="检修编号")
    cancel.add_argument("--reason", required=True, help="取消原因")
    cancel.set_defaults(handler=handle_cancel)

    backup = _with_config(commands.add_parser("backup", help="立即备份台账和存档到配置的目录"))
    backup.set_defaults(handler=handle_backup)

    restore = _with_config(commands.add_parser("restore", help="从备份恢复台账（须先停止代理）"))
    restore.add_argument("--from", dest="source", required=True, metavar="FILE",
                         help="备份文件 ledger-*.sqlite")
    restore.set_defaults(handler=handle_restore)


def _with_config(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("-c", "--config", required=True, metavar="FILE", help="配置文件路径")
    return parser


def handle_add(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    request = _request(args, config)
    now = now_ns()
    if args.dry_run:
        return _dry_run(config, request, now)

    sink, lookup, close = delivery.open_outbox(config)
    if sink is None:
        print("未安装发送层（notify 发件箱），检修通知无法发送，未登记。", file=sys.stderr)
        return 1
    service = MaintenanceService(config, sink, lookup)
    try:
        window = service.add(request, now)
        notices = service.ledger.notices(window_id=window.id)
    finally:
        service.close()
        close()
    late = "（紧急检修，提前量不足，已标记为迟报）" if window.emergency else ""
    print(f"已登记检修 MW-{window.id}：{window.kind}，{local_minutes(window.start_ns)} 至 "
          f"{local_minutes(window.end_ns)}，提前 {window.notice_hours:.1f} 小时通知{late}")
    for notice in notices:
        state = "已进入发送队列" if notice.accepted else "未能进入发送队列"
        print(f"检修通知{state}，存档：{notice.archive}")
    return 0


def _dry_run(config, request: WindowRequest, now: int) -> int:
    service = MaintenanceService(config)
    try:
        problems = service.check_request(request, now)
        if problems:
            raise ConfigError(problems)
        message = service.preview(request, now)
    finally:
        service.close()
    recipients = "、".join(f"{r.channel}:{r.address}" if r.address else r.channel
                          for r in message.recipients) or "（未配置 bureau 收件人）"
    # Rendered by the delivery layer, as the e-mail's plain-text part reads.
    rendered = Renderer(config.notify.templates_dir).render(message, "text")
    print(f"收件人：{recipients}")
    print(f"标题：{rendered.subject}")
    print()
    print(rendered.body)
    print("\n（预览：未保存、未发送）")
    return 0


def _request(args: argparse.Namespace, config) -> WindowRequest:
    problems = []
    times = {}
    for option, value in (("--start", args.start), ("--end", args.end)):
        try:
            times[option] = parse_local_time(value, option)
        except ValueError as err:
            problems.append(str(err))
    scope, scope_problems = parse_scope(args.scope, known_targets(config))
    problems += scope_problems
    if problems:
        raise ConfigError(problems)
    return WindowRequest(kind=args.kind, start_ns=times["--start"], end_ns=times["--end"],
                         scope=scope, description=args.description, impact=args.impact,
                         contact=args.contact, emergency=args.emergency, reason=args.reason)


def handle_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    service = MaintenanceService(config)
    try:
        windows = service.ledger.windows()
    finally:
        service.close()
    if not windows:
        print("没有登记的检修。")
        return 0
    print("编号    状态    类别      开始              结束              提前量    范围")
    for window in windows:
        print(f"MW-{window.id:<4} {STATE_NAMES.get(window.state, window.state):<6}"
              f"{window.kind:<8}{local_minutes(window.start_ns)}  {local_minutes(window.end_ns)}  "
              f"{_notice_text(window):<9} {','.join(window.scope)}")
    return 0


def handle_show(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    service = MaintenanceService(config)
    try:
        window = service.ledger.window(_window_id(args.id))
        if window is None:
            raise ConfigError([f"检修编号 {args.id} 不存在；用 maint list 查看已有的检修"])
        notices = service.ledger.notices(window_id=window.id)
        alerts = service.ledger.alerts_in_window(window.id)
    finally:
        service.close()
    print(f"检修 MW-{window.id}（{STATE_NAMES.get(window.state, window.state)}）")
    print(f"类别：{window.kind}")
    print(f"时间：{local_minutes(window.start_ns)} 至 {local_minutes(window.end_ns)}（北京时间）")
    if window.end_ns != window.planned_end_ns:
        print(f"原定结束：{local_minutes(window.planned_end_ns)}")
    print(f"范围：{'、'.join(window.scope)}")
    print(f"内容：{window.description}")
    print(f"影响：{window.impact}")
    print(f"联系人：{window.contact}")
    print(f"提前量：{_notice_text(window)}")
    if window.emergency:
        print(f"紧急检修（迟报）：{window.reason}")
    if window.violation:
        print(f"违规：{window.violation}")
    print("通知记录：")
    for notice in notices:
        print(f"  {local_text(notice.created_ns)}  {NOTICE_NAMES.get(notice.kind, notice.kind)}"
              f"  {_delivery_text(notice)}")
        print(f"      存档：{notice.archive}")
    if alerts:
        print(f"检修期间暂停呼叫的告警：{len(alerts)} 条")
        for alert in alerts:
            print(f"  {local_text(alert.fired_ns)}  {alert.target}  {alert.text}")
    return 0


def handle_extend(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        end = parse_local_time(args.end, "--end")
    except ValueError as err:
        raise ConfigError([str(err)]) from err
    sink, lookup, close = delivery.open_outbox(config)
    service = MaintenanceService(config, sink, lookup)
    try:
        window = service.extend(_window_id(args.id), end, args.reason, now_ns())
    finally:
        service.close()
        close()
    print(f"MW-{window.id} 已延长至 {local_minutes(window.end_ns)}，延期通知已交给发件箱发送（maint show 查看送达情况）")
    return 0


def handle_cancel(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    sink, lookup, close = delivery.open_outbox(config)
    service = MaintenanceService(config, sink, lookup)
    try:
        window = service.cancel(_window_id(args.id), args.reason, now_ns())
    finally:
        service.close()
        close()
    print(f"MW-{window.id} 已取消，取消通知已交给发件箱发送（maint show 查看送达情况）")
    return 0


def handle_backup(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    folder = config.maintenance.backup.folder
    if folder is None:
        raise ConfigError(["配置中没有 maintenance.backup.folder，不知道备份到哪里"])
    path = ledger_backup.backup(config.state_dir / LEDGER_FILE, config.state_dir / ARCHIVE_DIR,
                                folder, config.maintenance.backup.keep, now_ns())
    print(f"台账已备份到 {path}，存档已同步到 {folder / 'archive'}")
    return 0


def handle_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    config = load_config(args.config)
    ledger_backup.restore(Path(args.source), config.state_dir / LEDGER_FILE)
    print(f"台账已从 {args.source} 恢复到 {config.state_dir / LEDGER_FILE}")
    return 0


def _window_id(text: str) -> int:
    digits = text.upper().removeprefix("MW-")
    if not digits.isdigit():
        raise ConfigError([f"检修编号 {text!r} 无效，应写作 3 或 MW-3"])
    return int(digits)


def _notice_text(window: WindowRow) -> str:
    if window.notice_hours is None:
        return "—"
    text = f"{window.notice_hours:.1f} 小时"
    return f"{text}（迟报）" if window.emergency else text


def _delivery_text(notice) -> str:
    if not notice.accepted:
        errors = "；".join(str(result.get("error", "")) for result in notice.results)
        return f"未发送：{errors}" if errors else "未发送"
    if notice.delivered_ns is not None:
        channels = "、".join(f"{r.get('channel')}:{r.get('state')}" for r in notice.results)
        return f"已送达（{channels}）"
    return "已进入发送队列，尚未确认送达"
