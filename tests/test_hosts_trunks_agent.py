"""`hotline-monitor run --once` with hosts, checks and trunks, writing to a real InfluxDB 1.x."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
import urllib.request

from servers import kamailio


def test_run_once_writes_host_check_and_trunk(tmp_path, influxdb):
    database = "hosts_trunks"
    request = urllib.request.Request(
        f"{influxdb.url}/query",
        data=urllib.parse.urlencode({"q": f'CREATE DATABASE "{database}"'}).encode())
    urllib.request.urlopen(request, timeout=10).read()

    with kamailio() as sip:
        config = tmp_path / "hotline.yaml"
        config.write_text(
            f"site: test-site\n"
            f"agent_id: agent-1\n"
            f"influxdb: {{url: '{influxdb.url}', database: {database}}}\n"
            f"hosts:\n"
            f"  - id: test-host\n"
            f"    processes: [{{name: kamailio}}]\n"
            f"checks:\n"
            f"  - {{id: sip-tcp-port, kind: tcp, target: '127.0.0.1:{sip.port}'}}\n"
            f"sip_trunks:\n"
            f"  - {{id: telecom, host: 127.0.0.1, port: {sip.port}, timeout: 2s}}\n"
            f"  - {{id: unicom, host: 127.0.0.1, port: {sip.port}, transport: tcp, timeout: 2s}}\n"
        )
        finished = subprocess.run(
            [sys.executable, "-m", "hotline_monitor", "run", "--once", "-c", str(config)],
            capture_output=True, text=True, timeout=60,
        )
    assert finished.returncode == 0, finished.stderr

    server = type(influxdb)(influxdb.url, database)
    trunks = server.points('SELECT up, status_code FROM sip_trunk GROUP BY "trunk"')
    assert {(row["trunk"], row["up"], row["status_code"]) for row in trunks} == {
        ("telecom", 1.0, 200.0), ("unicom", 1.0, 200.0)}

    (check,) = server.points('SELECT up FROM "check" WHERE "kind" = \'tcp\'')
    assert check["up"] == 1.0
    (process,) = server.points('SELECT up, pid_count FROM "check" WHERE "kind" = \'process\'')
    assert process["up"] == 1.0
    assert process["pid_count"] >= 1.0, "kamailio forks several processes"

    (root,) = server.points('SELECT used_percent FROM disk WHERE "path" = \'/\'')
    assert 0.0 < root["used_percent"] < 100.0
    measurements = {row["name"] for row in server.points("SHOW MEASUREMENTS")}
    assert {"cpu", "mem", "swap", "disk", "diskio", "net", "system", "processes",
            "procstat_lookup", "procstat", "check", "sip_trunk", "target"} <= measurements
