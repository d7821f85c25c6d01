"""Render the report's figures as Chinese HTML (with inline SVG charts) and an Excel workbook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from openpyxl import Workbook
from openpyxl.styles import Font

from hotline_monitor.maintenance.ledger import NoticeRow
from hotline_monitor.maintenance.timeinput import NS
from hotline_monitor.reports.figures import CountedInterruption, ReportFigures
from hotline_monitor.reports.svg import bar_chart
from hotline_monitor.timeutil import SHANGHAI, format_duration, local_text

TEMPLATES = Path(__file__).with_name("templates")
SEVERITY_NAMES = {"emergency": "紧急", "critical": "严重", "warning": "警告", "info": "提示"}


def percent(value: float) -> str:
    """Format availability with three decimals: 0.99935 → "99.935 %"."""
    return f"{value * 100:.3f} %"


def rows(figures: ReportFigures) -> dict[str, list[dict[str, Any]]]:
    """Return the report's tables as lists of display rows, shared by HTML and Excel."""
    interruptions = [{
        "start": local_text(item.counted_start_ns or item.row.start_ns),
        "end": local_text(item.row.end_ns) if item.row.end_ns else "未恢复",
        "duration": format_duration(item.duration_s),
        "duration_s": round(item.duration_s),
        "cause": item.row.cause,
        "breach": item.breach,
        "note": (f"检修 MW-{item.row.window_id} 结束后仍未恢复，自检修结束起计"
                 if item.row.window_id else ""),
    } for item in figures.interruptions]
    in_window = [{
        "start": local_text(item.row.start_ns),
        "end": local_text(item.row.end_ns) if item.row.end_ns else "未恢复",
        "window": item.row.window_id,
        "cause": item.row.cause,
    } for item in figures.in_window]
    battery = [{
        "ups": event.ups,
        "start": local_text(event.start_ns),
        "end": local_text(event.end_ns) if event.end_ns else "未结束",
        "duration": format_duration(figures.battery_seconds(event)),
        "duration_s": round(figures.battery_seconds(event)),
        "runtime": (format_duration(event.min_runtime_s)
                    if event.min_runtime_s is not None else "未知"),
        "runtime_s": event.min_runtime_s,
    } for event in figures.battery]
    windows = [{
        "id": item.row.id,
        "kind": item.row.kind,
        "start": local_text(item.row.start_ns),
        "end": local_text(item.row.end_ns),
        "scope": "、".join(item.row.scope),
        "notice": f"{item.notice_hours:.1f} 小时" if item.notice_hours is not None else "—",
        "notice_hours": round(item.notice_hours, 2) if item.notice_hours is not None else None,
        "enough": item.enough_notice,
        "note": "；".join(part for part in (
            f"紧急检修（迟报）：{item.row.reason}" if item.row.emergency else "",
            item.row.violation) if part),
    } for item in figures.windows]
    alerts = [{
        "time": local_text(alert.fired_ns),
        "severity": SEVERITY_NAMES.get(alert.severity, alert.severity),
        "target": alert.target,
        "text": alert.text,
        "ack_s": round((alert.acked_ns - alert.fired_ns) / NS) if alert.acked_ns else None,
        "window": f"MW-{alert.window_id}" if alert.window_id else "",
    } for alert in figures.alerts]
    notices = [{"time": local_text(notice.created_ns), "title": notice.title,
                "state": _delivery_state(notice)} for notice in figures.notices]
    return {"interruptions": interruptions, "in_window": in_window, "battery": battery,
            "windows": windows, "alerts": alerts, "notices": notices}


def _delivery_state(notice: NoticeRow) -> str:
    if notice.delivered_ns:
        return "已送达"
    if notice.accepted:
        return "已进入发送队列"
    return "未发送"


def write_html(figures: ReportFigures, site: str, path: Path, now_ns: int) -> None:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    tables = rows(figures)
    longest = figures.longest
    limit = format_duration(figures.limit_s)
    acks = figures.ack_seconds
    ack_text = "本期没有已确认的告警"
    if acks:
        ack_text = (f"{len(acks)} 条已确认，中位数 {format_duration(figures.ack_median_s or 0)}，"
                    f"最长 {format_duration(figures.ack_max_s or 0)}")
    html = environment.get_template("report.html.j2").render(
        title=report_title(figures), site=site, f=figures,
        period_text=f"{local_text(figures.period.start_ns)} 至 {local_text(figures.period.end_ns)}",
        generated=local_text(now_ns), availability=percent(figures.availability),
        downtime=format_duration(figures.downtime_s),
        longest=_longest_text(longest),
        limit=limit, notice_hours=f"{figures.notice_hours:g}", counts=figures.alert_counts(),
        ack_text=ack_text, chart_downtime=_downtime_chart(figures),
        chart_interruptions=bar_chart(
            "各次中断时长与时限", [row["start"][5:16] for row in tables["interruptions"]],
            [item.duration_s / 60 for item in figures.interruptions], "分钟",
            limit=figures.limit_s / 60, limit_label=f"{limit} 时限"),
        chart_alerts=bar_chart("告警数量（按级别）", list(SEVERITY_NAMES.values()),
                               [float(v) for v in figures.alert_counts().values()], "条"),
        **tables)
    path.write_text(html, encoding="utf-8")


def _longest_text(longest: CountedInterruption | None) -> str:
    if longest is None:
        return "无"
    start = local_text(longest.counted_start_ns or longest.row.start_ns)
    return f"{format_duration(longest.duration_s)}（{start} 起）"


def report_title(figures: ReportFigures) -> str:
    kind = "月报" if figures.period.kind == "monthly" else "年报"
    return f"12345 热线供电与通信运行{kind}（{figures.period.title}）"


def _downtime_chart(figures: ReportFigures) -> str:
    """Downtime per day (monthly) or per month (yearly), in minutes."""
    buckets = _buckets(figures)
    values = [0.0] * len(buckets)
    for item in figures.interruptions:
        if item.counted_start_ns is None:
            continue
        end = item.row.end_ns or figures.period.end_ns
        for index, (_label, start, stop) in enumerate(buckets):
            overlap = min(end, stop) - max(item.counted_start_ns, start)
            if overlap > 0:
                values[index] += overlap / NS / 60
    title = "每日中断时长" if figures.period.kind == "monthly" else "每月中断时长"
    return bar_chart(title, [label for label, _, _ in buckets], values, "分钟")


def _buckets(figures: ReportFigures) -> list[tuple[str, int, int]]:
    start = datetime.fromtimestamp(figures.period.start_ns / NS, UTC).astimezone(SHANGHAI)
    buckets = []
    cursor = start
    while int(cursor.timestamp()) * NS < figures.period.end_ns:
        if figures.period.kind == "monthly":
            following = cursor + timedelta(days=1)
            label = f"{cursor.day}"
        else:
            following = cursor.replace(year=cursor.year + 1, month=1) if cursor.month == 12 \
                else cursor.replace(month=cursor.month + 1)
            label = f"{cursor.month}月"
        buckets.append((label, int(cursor.timestamp()) * NS, int(following.timestamp()) * NS))
        cursor = following
    return buckets


def write_excel(figures: ReportFigures, site: str, path: Path) -> None:
    """Write one sheet per record type, with a summary sheet first."""
    tables = rows(figures)
    workbook = Workbook()
    summary = workbook.active
    summary.title = "概况"
    longest = figures.longest
    for row in (
        ("站点", site), ("统计周期", figures.period.title),
        ("统计秒数", figures.period.seconds), ("中断秒数（计入）", round(figures.downtime_s)),
        ("可用率", round(figures.availability, 6)),
        ("中断次数（计入）", len(figures.interruptions)),
        ("最长中断秒数", round(longest.duration_s) if longest else 0),
        ("时限秒数", figures.limit_s), ("超时次数", len(figures.breaches)),
        ("检修时段内中断次数", len(figures.in_window)),
        ("电池供电次数", len(figures.battery)), ("检修次数", len(figures.windows)),
        ("提前量不足或未送达的检修", len(figures.late_windows)),
        ("告警条数", len(figures.alerts)),
        ("确认用时中位数（秒）", figures.ack_median_s), ("确认用时最长（秒）", figures.ack_max_s),
        ("通知份数", len(figures.notices)),
    ):
        summary.append(row)
    summary["B5"].number_format = "0.000%"

    _sheet(workbook, "中断", ["开始", "结束", "时长（秒）", "原因", "超时", "备注"],
           [[r["start"], r["end"], r["duration_s"], r["cause"], "是" if r["breach"] else "否",
             r["note"]] for r in tables["interruptions"]])
    _sheet(workbook, "检修内中断", ["开始", "结束", "检修", "原因"],
           [[r["start"], r["end"], f"MW-{r['window']}", r["cause"]] for r in tables["in_window"]])
    _sheet(workbook, "电池供电", ["UPS", "开始", "结束", "时长（秒）", "最低剩余时间（秒）"],
           [[r["ups"], r["start"], r["end"], r["duration_s"], r["runtime_s"]]
            for r in tables["battery"]])
    _sheet(workbook, "检修",
           ["编号", "类别", "开始", "结束", "范围", "提前小时", "满足提前量", "备注"],
           [[f"MW-{r['id']}", r["kind"], r["start"], r["end"], r["scope"], r["notice_hours"],
             "是" if r["enough"] else "否", r["note"]] for r in tables["windows"]])
    _sheet(workbook, "告警", ["时间", "级别", "对象", "内容", "确认用时（秒）", "检修"],
           [[r["time"], r["severity"], r["target"], r["text"], r["ack_s"], r["window"]]
            for r in tables["alerts"]])
    _sheet(workbook, "通知", ["时间", "通知", "送达"],
           [[r["time"], r["title"], r["state"]] for r in tables["notices"]])
    _sheet(workbook, "演练", ["事件"], [[item] for item in figures.drills])
    workbook.save(path)


def _sheet(workbook: Workbook, title: str, header: list[str], data: list[list[Any]]) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in data:
        sheet.append(row)
