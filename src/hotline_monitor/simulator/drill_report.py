"""The drill report in Chinese, as Markdown and HTML, plus `drill.json` for the list of drills held."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, select_autoescape

from hotline_monitor.simulator.drill import DrillResult
from hotline_monitor.simulator.harness import message_headline, message_time_ns
from hotline_monitor.timeutil import local_text


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 秒"


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("达标" if ok else "未达标")


def report_rows(result: DrillResult) -> list[dict[str, str]]:
    rows = []
    for step in result.steps:
        notify_ok = (None if step.notification_s is None
                     else step.notification_s <= step.notification_target_s)
        rows.append({
            "event": step.text,
            "event_time": local_text(step.event_ns),
            "detected": local_text(step.detected_ns) if step.detected_ns else "未发现",
            "detection": _seconds(step.detection_s),
            "detection_verdict": _verdict(step.detection_ok),
            "notification": step.notification or "（此项无消息）",
            "notification_latency": _seconds(step.notification_s),
            "notification_verdict": _verdict(notify_ok),
        })
    return rows


def message_rows(result: DrillResult) -> list[dict[str, str]]:
    rows = []
    for record in result.messages:
        delivery = record.get("delivery") or ("已写入告警日志" if record.get("drill", True) else "")
        rows.append({
            "time": local_text(message_time_ns(record)),
            "text": message_headline(record),
            "delivery": delivery,
            "latency": _seconds((message_time_ns(record) - result.started_ns) / 1e9),
        })
    return rows


def verdict_text(result: DrillResult) -> str:
    if result.interrupted:
        return "未完成（演练被中断）"
    return "通过" if result.passed else "未通过"


def render_markdown(result: DrillResult) -> str:
    verdict = verdict_text(result)
    lines = [
        f"# 应急演练报告：{result.scenario.title}",
        "",
        f"- 站点：{result.site}",
        f"- 演练对象：{result.ups_name}（模拟设备，127.0.0.1）",
        f"- 场景：{result.scenario.name}（{result.scenario.description or result.scenario.title}）",
        f"- 时间：{local_text(result.started_ns)} 至 {local_text(result.ended_ns)}，倍速 {result.speed:g}",
        f"- 采集间隔：{result.interval_s:g} 秒",
        f"- 结论：**{verdict}**（发现时限：采集间隔 + 2 秒；首条通知时限：发现后 10 秒）",
        f"- 扣留的发往数据局的通知：{result.held_back} 条（演练默认不向数据局发送停电通知）",
        "",
        "演练读数均带 drill=1 标签，不计入 SLA 台账和月报。",
        "",
        "## 各环节时延",
        "",
        "| 模拟事件 | 发生时间 | 发现时间 | 发现用时 | 发现 | 首条消息 | 通知用时 | 通知 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report_rows(result):
        lines.append(
            f"| {row['event']} | {row['event_time']} | {row['detected']} | {row['detection']} | "
            f"{row['detection_verdict']} | {_cell(row['notification'])} | {row['notification_latency']} | "
            f"{row['notification_verdict']} |")
    lines += ["", "## 通知及投递结果", "", "| 时间 | 消息 | 投递结果 | 距演练开始 |", "|---|---|---|---|"]
    for row in message_rows(result):
        lines.append(f"| {row['time']} | {_cell(row['text'])} | {row['delivery']} | {row['latency']} |")
    if not result.messages:
        lines.append("| — | 无消息 | — | — |")
    lines += ["", "## 时间线", ""]
    lines += [f"- {local_text(when)} 〔{source}〕{text}" for when, source, text in result.timeline]
    lines += ["", "## 预期告警", ""]
    lines += [f"- {item}" for item in result.expected] or ["- 无（本场景不应触发任何告警）"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_HTML = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>应急演练报告：{{ r.scenario.title }}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:4px 8px}.bad{color:#b00}.ok{color:#070}</style></head>
<body><h1>应急演练报告：{{ r.scenario.title }}</h1>
<ul><li>站点：{{ r.site }}</li><li>演练对象：{{ r.ups_name }}（模拟设备，127.0.0.1）</li>
<li>场景：{{ r.scenario.name }}（{{ r.scenario.description or r.scenario.title }}）</li>
<li>时间：{{ started }} 至 {{ ended }}，倍速 {{ speed }}</li><li>采集间隔：{{ interval }} 秒</li>
<li>结论：<b class="{{ 'ok' if r.passed else 'bad' }}">{{ verdict }}</b>
（发现时限：采集间隔 + 2 秒；首条通知时限：发现后 10 秒）</li>
<li>扣留的发往数据局的通知：{{ r.held_back }} 条</li></ul>
<p>演练读数均带 drill=1 标签，不计入 SLA 台账和月报。</p>
<h2>各环节时延</h2><table><tr><th>模拟事件</th><th>发生时间</th><th>发现时间</th><th>发现用时</th><th>发现</th>
<th>首条消息</th><th>通知用时</th><th>通知</th></tr>
{% for row in steps %}<tr><td>{{ row.event }}</td><td>{{ row.event_time }}</td><td>{{ row.detected }}</td>
<td>{{ row.detection }}</td><td>{{ row.detection_verdict }}</td><td>{{ row.notification }}</td>
<td>{{ row.notification_latency }}</td><td>{{ row.notification_verdict }}</td></tr>{% endfor %}</table>
<h2>通知及投递结果</h2><table><tr><th>时间</th><th>消息</th><th>投递结果</th><th>距演练开始</th></tr>
{% for row in messages %}<tr><td>{{ row.time }}</td><td>{{ row.text }}</td><td>{{ row.delivery }}</td>
<td>{{ row.latency }}</td></tr>{% else %}<tr><td colspan="4">无消息</td></tr>{% endfor %}</table>
<h2>时间线</h2><ul>{% for when, source, text in timeline %}<li>{{ when }} 〔{{ source }}〕{{ text }}</li>{% endfor %}</ul>
<h2>预期告警</h2><ul>{% for item in r.expected %}<li>{{ item }}</li>{% else %}<li>无（本场景不应触发任何告警）</li>{% endfor %}</ul>
</body></html>
"""


def render_html(result: DrillResult) -> str:
    environment = Environment(autoescape=select_autoescape(default=True))
    return environment.from_string(_HTML).render(
        r=result,
        verdict=verdict_text(result),
        started=local_text(result.started_ns),
        ended=local_text(result.ended_ns),
        speed=f"{result.speed:g}",
        interval=f"{result.interval_s:g}",
        steps=report_rows(result),
        messages=message_rows(result),
        timeline=[(local_text(when), source, text) for when, source, text in result.timeline],
    )


def write_report(result: DrillResult, folder: Path) -> tuple[Path, Path]:
    """Write report.md, report.html and drill.json into the drill's archive folder."""
    markdown = folder / "report.md"
    html = folder / "report.html"
    markdown.write_text(render_markdown(result), encoding="utf-8")
    html.write_text(render_html(result), encoding="utf-8")
    record = {
        "drill_id": result.drill_id,
        "site": result.site,
        "scenario": result.scenario.name,
        "title": result.scenario.title,
        "started_ns": result.started_ns,
        "ended_ns": result.ended_ns,
        "passed": result.passed,
        "interrupted": result.interrupted,
        "messages": len(result.messages),
        "held_back": result.held_back,
        "steps": [
            {"event": step.text, "event_ns": step.event_ns, "detected_ns": step.detected_ns,
             "detection_s": step.detection_s, "notified_ns": step.notified_ns,
             "notification_s": step.notification_s}
            for step in result.steps
        ],
    }
    (folder / "drill.json").write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    return markdown, html
