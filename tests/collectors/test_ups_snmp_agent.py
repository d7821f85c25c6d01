"""End to end on the project's own fixtures: alerts, unknown values, SNMP v1/v3, the v2 write path.

`fixtures/ups100k_on_battery.snmprec` is a 100 kVA three-phase UPS on
battery; `fixtures/ups_unknowns.snmprec` answers only unknown values (except
the battery voltage). The expected values are worked out from those files.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request

import pytest
from servers import snmpsim, victoria_metrics, wait_for
from snmp_support import (
    FIXTURES,
    create_database,
    fields_by_series,
    run_once,
    ups_yaml,
    write_config,
)

from hotline_monitor.collectors.ups_snmp.collector import SnmpUpsCollector
from hotline_monitor.config.model import UpsConfig
from hotline_monitor.errors import DeviceAuthError, DeviceUnreachable

ON_BATTERY = FIXTURES / "ups100k_on_battery.snmprec"
UNKNOWNS = FIXTURES / "ups_unknowns.snmprec"

V3_USER = {"user": "hotline", "auth-key": "auth-secret-1", "auth-proto": "SHA256",
           "priv-key": "priv-secret-1", "priv-proto": "AES"}

# From ups100k_on_battery.snmprec.
ON_BATTERY_UPS = {
    "battery_status": 2.0,            # 1.2.1.0 = 2
    "seconds_on_battery": 300.0,      # 1.2.2.0 = 300
    "runtime_s": 1500.0,              # 1.2.3.0 = 25 min
    "charge_pct": 87.0,               # 1.2.4.0 = OctetString "87"
    "battery_voltage_v": 438.0,       # 1.2.5.0 = Gauge32 4380 tenths
    "battery_current_a": -123.4,      # 1.2.6.0 = -1234 tenths: discharging
    # 1.2.7.0 = 65535: no temperature
    "output_source": 5.0,             # 1.4.1.0 = 5 battery
    "on_battery": 1.0,
    "on_bypass": 0.0,
    "output_frequency_hz": 50.0,      # 1.4.2.0 = 500
    # 1.5.1.0 = Gauge32 4294967295: no bypass frequency
    "input_frequency_hz": 0.0,        # 1.3.3.1.2.1 = 0: mains out
    "input_lines": 3.0,               # 1.3.2.0 = 3
    "output_lines": 3.0,              # 1.4.3.0 = 3
    "load_pct_max": 73.0,             # max of 1.4.4.1.5.{1,2,3} = 60, 66, 73
    "alarms_present": 2.0,            # 1.6.1.0 = Gauge32 2
}
ON_BATTERY_LINES = {
    # Input power 1.3.3.1.5.n = -1: unknown.
    ("input", "1"): {"frequency_hz": 0.0, "voltage_v": 0.0, "current_a": 0.0},
    ("input", "2"): {"frequency_hz": 0.0, "voltage_v": 0.0, "current_a": 0.0},
    ("input", "3"): {"frequency_hz": 0.0, "voltage_v": 0.0, "current_a": 0.0},
    ("output", "1"): {"voltage_v": 220.0, "current_a": 100.0, "power_w": 20000.0, "load_pct": 60.0},
    ("output", "2"): {"voltage_v": 221.0, "current_a": 110.0, "power_w": 22000.0, "load_pct": 66.0},
    ("output", "3"): {"voltage_v": 219.0, "current_a": 120.0, "power_w": 24000.0, "load_pct": 73.0},
    ("bypass", "1"): {"voltage_v": 230.0, "current_a": 0.0, "power_w": 0.0},
    ("bypass", "2"): {"voltage_v": 230.0, "current_a": 0.0, "power_w": 0.0},
    ("bypass", "3"): {"voltage_v": 231.0, "current_a": 0.0, "power_w": 0.0},
}


@pytest.fixture(scope="module")
def agent():
    with snmpsim({"onbattery": ON_BATTERY, "unknowns": UNKNOWNS}, v3_users=[V3_USER]) as served:
        yield served


def influx_body(influxdb, database: str) -> str:
    return f"influxdb: {{url: {influxdb.url}, api: v1, database: {database}}}\n"


def alerts(state_dir) -> list[dict]:
    path = state_dir / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("version", ["1", "2c"])
def test_fixture_stored_v1_and_v2c(agent, influxdb, tmp_path, version):
    database = create_database(influxdb, f"fixture_v{version}")
    body = influx_body(influxdb, database.database) + "ups:\n" + ups_yaml(
        "ups-main", agent.port, "onbattery", f", version: '{version}'")
    result = run_once(write_config(tmp_path, body))
    assert result.returncode == 0, result.stderr

    assert fields_by_series(database, "ups", "ups-main") == {(): ON_BATTERY_UPS}
    assert fields_by_series(database, "ups_line", "ups-main", ("side", "line")) == ON_BATTERY_LINES
    alarms = database.points('SELECT "active" FROM "ups_alarm" GROUP BY "alarm"')
    # 1.6.2.1.2.1 = upsAlarmOnBattery (1.3.6.1.2.1.33.1.6.3.2); 1.6.2.1.2.2 a vendor OID.
    assert {row["alarm"]: row["active"] for row in alarms} == {
        "upsAlarmOnBattery": 1.0, "1.3.6.1.4.1.99999.9.1": 1.0}
    info = fields_by_series(database, "ups_info", "ups-main")
    assert info == {(): {"manufacturer": "TestVendor", "model": "HM-100K", "firmware": "1.2.3"}}
    # 65535 temperature, 3 × input power -1, 4294967295 bypass frequency.
    assert [row["invalid_values"] for row in database.points('SELECT * FROM "agent"')] == [5.0]


def test_on_battery_alerts_fire(agent, influxdb, tmp_path):
    body = "ups:\n" + ups_yaml("ups-main", agent.port, "onbattery")
    result = run_once(write_config(tmp_path, body))
    assert result.returncode == 0, result.stderr

    # Each message lists the alerts whose state it announces.
    fired = {(change["rule"], change["state"])
             for item in alerts(tmp_path / "state") for change in item["context"]["alerts"]}
    # output_source 5 -> on battery; runtime 1500 s < 1800 s; 2 alarms present.
    # Load 73 % < 90 %; phases 60/66/73 % are (73 - 60) / 66.3 = 19.6 % apart, under 20 %.
    assert fired == {("ups_on_battery", "firing"), ("ups_runtime_low", "firing"),
                     ("ups_alarms_present", "firing")}
    assert "UPS 转电池供电" in result.stdout
    assert "剩余后备时间 25 分钟" in result.stdout


def test_unknown_values_neither_fire_nor_clear(agent, tmp_path):
    on_battery = "ups:\n" + ups_yaml("ups-main", agent.port, "onbattery")
    assert run_once(write_config(tmp_path, on_battery)).returncode == 0
    fired = alerts(tmp_path / "state")

    unknowns = "ups:\n" + ups_yaml("ups-main", agent.port, "unknowns")
    result = run_once(write_config(tmp_path, unknowns))
    assert result.returncode == 0, result.stderr
    assert alerts(tmp_path / "state") == fired
    # Only the run summary is printed: no alert and no recovery message.
    assert result.stdout.splitlines() == ["本次轮询 1 个目标：正常 1 个，失败 0 个", "读数已写入本地存储"]


def test_unknown_values_fire_nothing(agent, tmp_path):
    body = "ups:\n" + ups_yaml("ups-main", agent.port, "unknowns")
    result = run_once(write_config(tmp_path, body))
    assert result.returncode == 0, result.stderr
    assert alerts(tmp_path / "state") == []


def test_unknowns_fixture_stores_only_known(agent, influxdb, tmp_path):
    database = create_database(influxdb, "fixture_unknowns")
    body = influx_body(influxdb, database.database) + "ups:\n" + ups_yaml(
        "ups-main", agent.port, "unknowns")
    assert run_once(write_config(tmp_path, body)).returncode == 0

    assert fields_by_series(database, "ups", "ups-main") == {(): {"battery_voltage_v": 438.0}}
    assert database.query('SELECT * FROM "ups_line"') == []
    # battery status 1, seconds "abc", runtime 65535, charge Null, source 1,
    # output lines 3 without rows, load row `1.0`, alarms present -1.
    assert [row["invalid_values"] for row in database.points('SELECT * FROM "agent"')] == [8.0]


def v3_yaml(port: int, auth_env: str = "UPS_AUTH", priv_env: str = "UPS_PRIV") -> str:
    return ("ups:\n  - id: ups-v3\n    snmp:\n"
            f"      {{host: 127.0.0.1, port: {port}, version: 3, user: hotline, "
            "auth_protocol: SHA256, priv_protocol: AES, context: onbattery, timeout: 1s, "
            f"retries: 0, auth_key: '${{env:{auth_env}}}', priv_key: '${{env:{priv_env}}}'}}\n")


def test_v3_auth_priv_stored(agent, influxdb, tmp_path):
    database = create_database(influxdb, "fixture_v3")
    body = influx_body(influxdb, database.database) + v3_yaml(agent.port)
    env = {**os.environ, "UPS_AUTH": "auth-secret-1", "UPS_PRIV": "priv-secret-1"}
    result = run_once(write_config(tmp_path, body), env)
    assert result.returncode == 0, result.stderr

    assert fields_by_series(database, "ups", "ups-v3") == {(): ON_BATTERY_UPS}


def test_v3_wrong_password_cli_message(agent, influxdb, tmp_path):
    database = create_database(influxdb, "fixture_v3_wrong")
    body = influx_body(influxdb, database.database) + v3_yaml(agent.port)
    env = {**os.environ, "UPS_AUTH": "not-the-secret", "UPS_PRIV": "priv-secret-1"}
    result = run_once(write_config(tmp_path, body), env)

    assert result.returncode == 0, result.stderr
    assert "SNMP v3 认证失败：用户名或密码错误 (usmStatsWrongDigests)" in result.stderr
    rows = database.points('SELECT "up" FROM "target"')
    assert [row["up"] for row in rows] == [0.0]


def v3_config(port: int, auth_key: str, priv_key: str) -> UpsConfig:
    return UpsConfig(id="ups-v3", snmp={
        "host": "127.0.0.1", "port": port, "version": 3, "user": "hotline",
        "auth_protocol": "SHA256", "auth_key": auth_key, "priv_protocol": "AES",
        "priv_key": priv_key, "context": "onbattery", "timeout": 1, "retries": 0})


async def _poll_once(ups: UpsConfig):
    collector = SnmpUpsCollector(ups, site="test-site")
    try:
        return await collector.poll()
    finally:
        await collector.close()


def test_v3_wrong_auth_key_raises(agent):
    with pytest.raises(DeviceAuthError, match=r"用户名或密码错误 \(usmStatsWrongDigests\)"):
        asyncio.run(_poll_once(v3_config(agent.port, "wrong-secret", "priv-secret-1")))


def test_unanswered_community_unreachable(agent):
    ups = UpsConfig(id="ups-main", snmp={"host": "127.0.0.1", "port": agent.port,
                                         "community": "no-such-community", "timeout": 0.3,
                                         "retries": 1})
    with pytest.raises(DeviceUnreachable, match="0.3 秒内未响应（共尝试 2 次）.*团体名"):
        asyncio.run(_poll_once(ups))


def test_v2_write_path_victoria_metrics(agent, tmp_path):
    with victoria_metrics() as server:
        body = (f"influxdb: {{url: {server.url}, api: v2, token: '${{env:VM_TOKEN}}', "
                "org: hotline, bucket: hotline}\nups:\n"
                + ups_yaml("ups-main", agent.port, "onbattery"))
        env = {**os.environ, "VM_TOKEN": "test-token"}
        result = run_once(write_config(tmp_path, body), env)
        assert result.returncode == 0, result.stderr

        # Points become searchable after a flush and a short indexing delay.
        def exported() -> bool:
            urllib.request.urlopen(f"{server.url}/internal/force_flush", timeout=10).read()
            return bool(server.export('{__name__="ups_runtime_s"}'))

        wait_for(exported, 15, "ups_runtime_s in victoria-metrics")
        runtime = server.export('{__name__="ups_runtime_s"}')
        current = server.export('{__name__="ups_line_current_a",side="output",line="3"}')

    assert [(series["metric"]["ups"], series["values"]) for series in runtime] == [
        ("ups-main", [1500.0])]
    assert current[0]["metric"]["site"] == "test-site"
    assert current[0]["values"] == [120.0]   # 1.4.4.1.3.3 = 1200 tenths


def test_example_config_runs_on_recording(influxdb, tmp_path):
    """examples/site.yaml, pointed at snmpsim's port, stores the Eaton recording's readings."""
    from servers import REPO_ROOT, recordings_dir

    recording = recordings_dir() / "eaton-mgeups_93ps.snmprec"
    database = create_database(influxdb, "example_site")
    with snmpsim({"eaton-mgeups_93ps": recording}) as served:
        text = (REPO_ROOT / "examples" / "site.yaml").read_text(encoding="utf-8")
        text = text.replace("port: 11161", f"port: {served.port}")
        text = text.replace("http://127.0.0.1:8086", influxdb.url)
        text = text.replace("database: hotline", "database: example_site")
        config = tmp_path / "site.yaml"
        config.write_text(text, encoding="utf-8")
        env = {**os.environ, "UPS_COMMUNITY": "eaton-mgeups_93ps"}
        result = run_once(config, env)

    assert result.returncode == 0, result.stderr
    ups = fields_by_series(database, "ups", "ups-main")
    assert ups[()]["runtime_s"] == 8220.0   # upsEstimatedMinutesRemaining 137 min
    assert (tmp_path / "state").is_dir()
