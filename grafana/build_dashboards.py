"""Generate the Grafana dashboards in `dashboards/` from one description.

Run `python grafana/build_dashboards.py` after changing a panel; a test checks
that the committed JSON matches this file's output. Every query is InfluxQL
over the stored schema (measurements and fields as the collectors write
them), so the same dashboards work on InfluxDB 1.8, 2.x (v1 API with a DBRP
mapping) and 3.x.
"""

from __future__ import annotations

import json
from pathlib import Path

DATASOURCE = {"type": "influxdb", "uid": "hotline-influxdb"}
OUTPUT = Path(__file__).parent / "dashboards"
SITE = '"site" =~ /^$site$/'

# RFC 1628 upsOutputSource codes, shown in Chinese on the state timeline.
OUTPUT_SOURCE_NAMES = {1: "其他", 2: "无输出", 3: "市电", 4: "旁路", 5: "电池", 6: "升压", 7: "降压"}
OUTPUT_SOURCE_COLOURS = {1: "purple", 2: "dark-red", 3: "green", 4: "orange", 5: "red", 6: "yellow", 7: "yellow"}


def _query(text: str, ref: str = "A", alias: str = "") -> dict:
    target = {"refId": ref, "datasource": DATASOURCE, "rawQuery": True, "query": text, "resultFormat": "time_series"}
    if alias:
        target["alias"] = alias
    return target


def _panel(kind: str, title: str, targets: list[dict], grid: tuple[int, int, int, int], unit: str = "",
           **extra: object) -> dict:
    x, y, width, height = grid
    panel: dict = {
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": width, "h": height},
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit} if unit else {}, "overrides": []},
        "options": {},
    }
    panel.update(extra)
    return panel


def _threshold_line(value: float, colour: str = "red") -> dict:
    return {
        "custom": {"thresholdsStyle": {"mode": "line"}},
        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": colour, "value": value}]},
    }


def _variable(name: str, label: str, query: str, multi: bool = True) -> dict:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": query,
        "refresh": 2,
        "multi": multi,
        "includeAll": True,
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
    }


SITE_VARIABLE = _variable("site", "站点", 'SHOW TAG VALUES FROM "ups" WITH KEY = "site"')

ANNOTATIONS = {
    "list": [
        {
            "name": "告警",
            "datasource": DATASOURCE,
            "enable": True,
            "iconColor": "red",
            "query": f'SELECT "message", "state" FROM "alert_event" WHERE {SITE} AND $timeFilter',
            "textColumn": "message",
            "tagsColumn": "rule,severity,target",
        },
        {
            "name": "维护窗口",
            "datasource": DATASOURCE,
            "enable": True,
            "iconColor": "blue",
            "query": f'SELECT "title", "state", "scope" FROM "maintenance_event" WHERE {SITE} AND $timeFilter',
            "textColumn": "title",
            "tagsColumn": "kind",
        },
    ]
}


def _dashboard(uid: str, title: str, panels: list[dict], variables: list[dict], time_from: str = "now-6h") -> dict:
    for number, panel in enumerate(panels, start=1):
        panel["id"] = number
    return {
        "uid": uid,
        "title": title,
        "tags": ["hotline-monitor"],
        "timezone": "Asia/Shanghai",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "10s",
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables},
        "annotations": ANNOTATIONS,
        "panels": panels,
    }


def _line_panel(title: str, side: str, field: str, unit: str, grid: tuple[int, int, int, int]) -> dict:
    query = (
        f'SELECT mean("{field}") FROM "ups_line" WHERE {SITE} AND "ups" =~ /^$ups$/ AND "side" = \'{side}\' '
        'AND $timeFilter GROUP BY time($__interval), "ups", "line" fill(null)'
    )
    return _panel("timeseries", title, [_query(query, alias="$tag_ups L$tag_line")], grid, unit)


def ups_overview() -> dict:
    where = f'{SITE} AND "ups" =~ /^$ups$/ AND $timeFilter'
    value_mappings = [
        {"type": "value", "options": {str(code): {"text": name, "color": OUTPUT_SOURCE_COLOURS[code]}
                                      for code, name in OUTPUT_SOURCE_NAMES.items()}}
    ]
    panels = [
        _panel(
            "state-timeline", "输出供电方式",
            [_query(f'SELECT last("output_source") FROM "ups" WHERE {where} GROUP BY time($__interval), "ups" fill(previous)', alias="$tag_ups")],
            (0, 0, 24, 6),
            fieldConfig={"defaults": {"mappings": value_mappings}, "overrides": []},
        ),
        _panel("timeseries", "电池电量",
               [_query(f'SELECT mean("charge_pct") FROM "ups" WHERE {where} GROUP BY time($__interval), "ups" fill(null)', alias="$tag_ups")],
               (0, 6, 12, 8), "percent"),
        _panel("timeseries", "剩余后备时间（红线：30 分钟）",
               [_query(f'SELECT mean("runtime_s") / 60 FROM "ups" WHERE {where} GROUP BY time($__interval), "ups" fill(null)', alias="$tag_ups")],
               (12, 6, 12, 8), "m",
               fieldConfig={"defaults": {"unit": "m", **_threshold_line(30)}, "overrides": []}),
        _line_panel("输入电压（各相）", "input", "voltage_v", "volt", (0, 14, 8, 8)),
        _line_panel("输出电压（各相）", "output", "voltage_v", "volt", (8, 14, 8, 8)),
        _line_panel("旁路电压（各相）", "bypass", "voltage_v", "volt", (16, 14, 8, 8)),
        _line_panel("输出负载（各相）", "output", "load_pct", "percent", (0, 22, 12, 8)),
        _line_panel("输出电流（各相）", "output", "current_a", "amp", (12, 22, 12, 8)),
        _panel("timeseries", "电池温度",
               [_query(f'SELECT mean("battery_temperature_c") FROM "ups" WHERE {where} GROUP BY time($__interval), "ups" fill(null)', alias="$tag_ups")],
               (0, 30, 8, 8), "celsius"),
        _panel("timeseries", "电池电压",
               [_query(f'SELECT mean("battery_voltage_v") FROM "ups" WHERE {where} GROUP BY time($__interval), "ups" fill(null)', alias="$tag_ups")],
               (8, 30, 8, 8), "volt"),
        _panel("timeseries", "输入频率",
               [_query(f'SELECT mean("input_frequency_hz") FROM "ups" WHERE {where} GROUP BY time($__interval), "ups" fill(null)', alias="$tag_ups")],
               (16, 30, 8, 8), "hertz"),
        _panel("stat", "当前告警数",
               [_query(f'SELECT last("alarms_present") FROM "ups" WHERE {where} GROUP BY "ups"', alias="$tag_ups")],
               (0, 38, 8, 6), "none"),
        _panel("table", "UPS 告警项（1 为存在）",
               [dict(_query(f'SELECT last("active") FROM "ups_alarm" WHERE {where} GROUP BY "ups", "alarm"'), resultFormat="table")],
               (8, 38, 16, 6)),
    ]
    variables = [SITE_VARIABLE, _variable("ups", "UPS", 'SHOW TAG VALUES FROM "ups" WITH KEY = "ups" WHERE "site" =~ /^$site$/')]
    return _dashboard("hotline-ups", "UPS 总览", panels, variables)


def servers() -> dict:
    host = f'{SITE} AND "host" =~ /^$host$/ AND $timeFilter'
    group = 'GROUP BY time($__interval), "host"'
    panels = [
        _panel("timeseries", "CPU 使用率",
               [_query(f'SELECT 100 - mean("usage_idle") FROM "cpu" WHERE {host} AND "cpu" = \'cpu-total\' {group} fill(null)', alias="$tag_host")],
               (0, 0, 12, 8), "percent"),
        _panel("timeseries", "内存使用率",
               [_query(f'SELECT mean("used_percent") FROM "mem" WHERE {host} {group} fill(null)', alias="$tag_host")],
               (12, 0, 12, 8), "percent"),
        _panel("timeseries", "磁盘使用率",
               [_query(f'SELECT last("used_percent") FROM "disk" WHERE {host} {group}, "path" fill(null)', alias="$tag_host $tag_path")],
               (0, 8, 12, 8), "percent", fieldConfig={"defaults": {"unit": "percent", **_threshold_line(90)}, "overrides": []}),
        _panel("timeseries", "系统负载",
               [_query(f'SELECT mean("load1") FROM "system" WHERE {host} {group} fill(null)', alias="$tag_host load1"),
                _query(f'SELECT mean("load15") FROM "system" WHERE {host} {group} fill(null)', "B", alias="$tag_host load15")],
               (12, 8, 12, 8), "none"),
        _panel("timeseries", "网络流量",
               [_query(f'SELECT non_negative_derivative(mean("bytes_recv"), 1s) FROM "net" WHERE {host} {group}, "interface" fill(null)', alias="$tag_host $tag_interface 接收"),
                _query(f'SELECT non_negative_derivative(mean("bytes_sent"), 1s) FROM "net" WHERE {host} {group}, "interface" fill(null)', "B", alias="$tag_host $tag_interface 发送")],
               (0, 16, 12, 8), "Bps"),
        _panel("timeseries", "磁盘读写",
               [_query(f'SELECT non_negative_derivative(mean("read_bytes"), 1s) FROM "diskio" WHERE {host} {group}, "name" fill(null)', alias="$tag_host $tag_name 读"),
                _query(f'SELECT non_negative_derivative(mean("write_bytes"), 1s) FROM "diskio" WHERE {host} {group}, "name" fill(null)', "B", alias="$tag_host $tag_name 写")],
               (12, 16, 12, 8), "Bps"),
        _panel("state-timeline", "服务检查",
               [_query(f'SELECT last("up") FROM "check" WHERE {SITE} AND $timeFilter GROUP BY time($__interval), "check" fill(previous)', alias="$tag_check")],
               (0, 24, 24, 6),
               fieldConfig={"defaults": {"mappings": [{"type": "value", "options": {"0": {"text": "故障", "color": "red"}, "1": {"text": "正常", "color": "green"}}}]}, "overrides": []}),
    ]
    variables = [_variable("site", "站点", 'SHOW TAG VALUES FROM "system" WITH KEY = "site"'),
                 _variable("host", "服务器", 'SHOW TAG VALUES FROM "system" WITH KEY = "host" WHERE "site" =~ /^$site$/')]
    return _dashboard("hotline-servers", "服务器", panels, variables)


def sip_trunks() -> dict:
    where = f'{SITE} AND "trunk" =~ /^$trunk$/ AND $timeFilter'
    up_mappings = [{"type": "value", "options": {"0": {"text": "中断", "color": "red"}, "1": {"text": "正常", "color": "green"}}}]
    panels = [
        _panel("state-timeline", "中继状态",
               [_query(f'SELECT last("up") FROM "sip_trunk" WHERE {where} GROUP BY time($__interval), "trunk" fill(previous)', alias="$tag_trunk")],
               (0, 0, 24, 6), fieldConfig={"defaults": {"mappings": up_mappings}, "overrides": []}),
        _panel("timeseries", "OPTIONS 往返时延",
               [_query(f'SELECT mean("rtt_ms") FROM "sip_trunk" WHERE {where} GROUP BY time($__interval), "trunk" fill(null)', alias="$tag_trunk")],
               (0, 6, 12, 8), "ms"),
        _panel("timeseries", "最近响应码",
               [_query(f'SELECT last("status_code") FROM "sip_trunk" WHERE {where} GROUP BY time($__interval), "trunk" fill(previous)', alias="$tag_trunk")],
               (12, 6, 12, 8), "none"),
        _panel("timeseries", "连续失败次数",
               [_query(f'SELECT max("consecutive_failures") FROM "sip_trunk" WHERE {where} GROUP BY time($__interval), "trunk" fill(null)', alias="$tag_trunk")],
               (0, 14, 24, 6), "none"),
    ]
    variables = [_variable("site", "站点", 'SHOW TAG VALUES FROM "sip_trunk" WITH KEY = "site"'),
                 _variable("trunk", "中继", 'SHOW TAG VALUES FROM "sip_trunk" WITH KEY = "trunk" WHERE "site" =~ /^$site$/')]
    return _dashboard("hotline-sip", "SIP 中继", panels, variables)


def service_availability() -> dict:
    where = f'{SITE} AND $timeFilter'
    panels = [
        _panel("state-timeline", "热线话务服务状态",
               [_query(f'SELECT last("up") FROM "service" WHERE {where} GROUP BY time($__interval), "service" fill(previous)', alias="$tag_service")],
               (0, 0, 24, 6),
               fieldConfig={"defaults": {"mappings": [{"type": "value", "options": {"0": {"text": "中断", "color": "red"}, "1": {"text": "正常", "color": "green"}}}]}, "overrides": []}),
        _panel("timeseries", "本次中断时长（红线：30 分钟上限）",
               [_query(f'SELECT max("interruption_s") / 60 FROM "service" WHERE {where} GROUP BY time($__interval), "service" fill(null)', alias="$tag_service")],
               (0, 6, 16, 8), "m", fieldConfig={"defaults": {"unit": "m", **_threshold_line(30)}, "overrides": []}),
        _panel("stat", "所选时段可用率",
               [_query(f'SELECT mean("up") * 100 FROM "service" WHERE {where} GROUP BY "service"', alias="$tag_service")],
               (16, 6, 8, 8), "percent"),
        _panel("table", "告警记录",
               [dict(_query(f'SELECT "state", "message" FROM "alert_event" WHERE {where} GROUP BY "rule", "severity", "target"'), resultFormat="table")],
               (0, 14, 24, 8)),
    ]
    variables = [_variable("site", "站点", 'SHOW TAG VALUES FROM "service" WITH KEY = "site"')]
    # Month to date by default: the bureau's reports are monthly.
    return _dashboard("hotline-service", "热线服务可用性", panels, variables, time_from="now/M")


DASHBOARDS = {
    "ups-overview.json": ups_overview,
    "servers.json": servers,
    "sip-trunks.json": sip_trunks,
    "service-availability.json": service_availability,
}


def render_all() -> dict[str, str]:
    return {name: json.dumps(build(), ensure_ascii=False, indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main() -> None:
    OUTPUT.mkdir(exist_ok=True)
    for name, text in render_all().items():
        (OUTPUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT / name}")


if __name__ == "__main__":
    main()
