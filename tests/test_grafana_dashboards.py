"""Grafana dashboards: valid, consistent, and every query returns data from a real InfluxDB."""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from servers import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "grafana"))

import build_dashboards  # noqa: E402

DASHBOARD_DIR = REPO_ROOT / "grafana" / "dashboards"
DASHBOARDS = sorted(DASHBOARD_DIR.glob("*.json"))
SITE = "xuzhou-12345"
MINUTE_NS = 60 * 1_000_000_000


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def all_queries(dashboard: dict) -> list[str]:
    queries = [target["query"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [item["query"] for item in dashboard["templating"]["list"]]
    queries += [item["query"] for item in dashboard["annotations"]["list"]]
    return queries


def test_committed_dashboards_match_generator():
    rendered = build_dashboards.render_all()

    assert sorted(rendered) == [path.name for path in DASHBOARDS]
    for path in DASHBOARDS:
        assert path.read_text(encoding="utf-8") == rendered[path.name], f"{path.name}: run grafana/build_dashboards.py"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_dashboard_ids_and_datasource(path):
    dashboard = load(path)
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    uids = {panel["datasource"]["uid"] for panel in dashboard["panels"]}
    uids |= {target["datasource"]["uid"] for panel in dashboard["panels"] for target in panel["targets"]}
    uids |= {item["datasource"]["uid"] for item in dashboard["templating"]["list"]}

    assert len(panel_ids) == len(set(panel_ids))
    assert uids == {"hotline-influxdb"}
    assert re.search(r"[\u4e00-\u9fff]", dashboard["title"]), "dashboard titles are Chinese"
    assert all(re.search(r"[\u4e00-\u9fff]", panel["title"]) for panel in dashboard["panels"])


def test_provisioning_points_at_the_datasource_uid():
    datasources = yaml.safe_load((REPO_ROOT / "grafana/provisioning/datasources/hotline-influxdb.yaml").read_text())
    providers = yaml.safe_load((REPO_ROOT / "grafana/provisioning/dashboards/hotline.yaml").read_text())

    assert datasources["datasources"][0]["uid"] == "hotline-influxdb"
    assert datasources["datasources"][0]["type"] == "influxdb"
    assert providers["providers"][0]["type"] == "file"


FIELD_PATTERN = re.compile(r'(?:mean|last|max|min)\("([a-z_0-9]+)"\)|SELECT "([a-z_]+)"')


def test_every_queried_field_is_written_by_the_code():
    """No panel may depend on a field that no collector or engine writes."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in (REPO_ROOT / "src").rglob("*.py"))
    source += "\n".join(path.read_text(encoding="utf-8") for path in (REPO_ROOT / "src").rglob("*.yaml"))
    missing = set()
    for path in DASHBOARDS:
        for query in all_queries(load(path)):
            for match in FIELD_PATTERN.finditer(query):
                field = match.group(1) or match.group(2)
                if f'"{field}"' not in source and f"'{field}'" not in source and f"{field}:" not in source:
                    missing.add(f"{path.stem}: {field}")

    assert sorted(missing) == []


def incident_lines(start_ns: int) -> list[str]:
    """Thirty minutes of a site: mains fail at minute 10 and return at minute 20."""
    lines = []
    for minute in range(31):
        at = start_ns + minute * MINUTE_NS
        on_battery = 10 <= minute < 20
        source = 5.0 if on_battery else 3.0
        charge = 100.0 - 4.0 * (minute - 9) if on_battery else 100.0
        lines.append(
            f"ups,site={SITE},source=snmp,ups=ups-main output_source={source},charge_pct={charge},"
            f"runtime_s={charge * 36.0},battery_temperature_c=25.0,battery_voltage_v=432.0,"
            f"input_frequency_hz=50.0,alarms_present={1.0 if on_battery else 0.0},on_battery={float(on_battery)} {at}"
        )
        for line in (1, 2, 3):
            for side in ("input", "output", "bypass"):
                voltage = 0.0 if on_battery and side != "output" else 230.0
                lines.append(
                    f"ups_line,line={line},side={side},site={SITE},source=snmp,ups=ups-main "
                    f"voltage_v={voltage},current_a=50.0,load_pct=45.0 {at}"
                )
        lines.append(f"ups_alarm,alarm=onBattery,site={SITE},ups=ups-main active={float(on_battery)} {at}")
        lines.append(f"cpu,cpu=cpu-total,host=call-db,site={SITE} usage_idle=80.0 {at}")
        lines.append(f"mem,host=call-db,site={SITE} used_percent=40.0 {at}")
        lines.append(f"disk,host=call-db,path=/,site={SITE} used_percent=55.0 {at}")
        lines.append(f"system,host=call-db,site={SITE} load1=0.5,load15=0.4 {at}")
        lines.append(f"net,host=call-db,interface=eth0,site={SITE} bytes_recv={minute * 1e6},bytes_sent={minute * 2e6} {at}")
        lines.append(f"diskio,host=call-db,name=sda,site={SITE} read_bytes={minute * 1e5},write_bytes={minute * 3e5} {at}")
        lines.append(f"check,check=crm-http,kind=http,site={SITE} up=1.0,latency_ms=12.0 {at}")
        trunk_up = 0.0 if 12 <= minute < 15 else 1.0
        lines.append(f"sip_trunk,site={SITE},trunk=telecom-1 up={trunk_up},rtt_ms=8.0,status_code=200.0,consecutive_failures={3.0 - 3.0 * trunk_up} {at}")
        interruption = (minute - 12) * 60.0 if 12 <= minute < 15 else 0.0
        lines.append(f"service,service=hotline,site={SITE} up={trunk_up},interruption_s={interruption} {at}")
    alert_at = start_ns + 10 * MINUTE_NS
    lines.append(f'alert_event,rule=ups_on_battery,severity=critical,site={SITE},target=ups-main state="firing",message="市电中断" {alert_at}')
    lines.append(f'maintenance_event,kind=线路检修,site={SITE} state="start",title="电信线路检修",scope="telecom-1" {alert_at}')
    return lines


def substitute(query: str, start_ns: int, end_ns: int) -> str:
    """Replace Grafana's macros and variables the way its InfluxDB data source does."""
    query = query.replace("$timeFilter", f"time >= {start_ns // 1_000_000}ms and time <= {end_ns // 1_000_000}ms")
    query = query.replace("$__interval", "1m")
    values = {"site": SITE, "ups": "ups-main", "host": "call-db", "trunk": "telecom-1"}
    for name, value in values.items():
        query = query.replace(f"${name}", re.escape(value))
    return query


def run_query(url: str, database: str, query: str) -> list:
    params = urllib.parse.urlencode({"db": database, "q": query, "epoch": "ms"})
    with urllib.request.urlopen(f"{url}/query?{params}", timeout=10) as response:
        result = json.load(response)["results"][0]
    assert "error" not in result, f"{query}: {result.get('error')}"
    return result.get("series", [])


def test_every_query_returns_data(influxdb):
    database = "grafana_dashboards"
    urllib.request.urlopen(urllib.request.Request(
        f"{influxdb.url}/query", data=urllib.parse.urlencode({"q": f'CREATE DATABASE "{database}"'}).encode()), timeout=10).read()
    start_ns = (time.time_ns() // MINUTE_NS) * MINUTE_NS - 40 * MINUTE_NS
    body = "\n".join(incident_lines(start_ns)).encode()
    urllib.request.urlopen(urllib.request.Request(f"{influxdb.url}/write?db={database}", data=body), timeout=10).read()
    end_ns = start_ns + 35 * MINUTE_NS

    empty = []
    for path in DASHBOARDS:
        for query in all_queries(load(path)):
            series = run_query(influxdb.url, database, substitute(query, start_ns, end_ns))
            if not series or not any(value is not None for row in series[0]["values"] for value in row[1:]):
                empty.append(f"{path.stem}: {query}")

    assert empty == []
