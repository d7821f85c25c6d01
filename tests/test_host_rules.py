"""The built-in host and trunk rules, fed by the real collectors."""

from __future__ import annotations

import asyncio
import datetime
import subprocess

from alerting.helpers import FakeClock, make_config, make_engine
from certificates import self_signed, server_context
from servers import kamailio
from test_checks import http_server

from hotline_monitor.collectors.checks.collector import CheckCollector
from hotline_monitor.collectors.checks.config import CheckConfig
from hotline_monitor.collectors.host.collector import HostCollector
from hotline_monitor.collectors.host.config import HostConfig
from hotline_monitor.collectors.sip_trunk.collector import SipTrunkCollector
from hotline_monitor.collectors.sip_trunk.config import SipTrunkConfig
from hotline_monitor.reading import Reading

INTERRUPTION = """
alerting:
  builtin_ups: false
  interruption:
    conditions:
      - cause: 全部中继断开
        measurement: sip_trunk
        field: up
        equals: [0]
        match: all
"""


def poll(collector, clock: FakeClock) -> list[Reading]:
    readings = asyncio.run(collector.poll()).readings
    for reading in readings:
        reading.tags["site"] = "xz"
        reading.time_ns = clock.now_ns
    return readings


def firing(engine) -> dict[tuple[str, str], str]:
    return {(alert.rule, alert.target): alert.state for alert in engine.store.open_alerts()}


def test_trunk_down_and_every_trunk_down(tmp_path):
    """kamailio stops responding: each trunk alert fires, then the interruption clock starts."""
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, INTERRUPTION), clock)

    async def poll_all(trunks) -> list[Reading]:
        readings = []
        for trunk in trunks:
            for reading in (await trunk.poll()).readings:
                reading.tags["site"] = "xz"
                reading.time_ns = clock.now_ns
                readings.append(reading)
        return readings

    async def scenario(sip) -> dict:
        trunks = [
            SipTrunkCollector(SipTrunkConfig(id=f"ct-{index}", host="127.0.0.1", port=sip.port,
                                             timeout=0.5, failures_before_down=1), "xz")
            for index in (1, 2)
        ]
        try:
            engine.observe(await poll_all(trunks))
            assert firing(engine) == {}

            sip.set_mode("drop")
            clock.advance(10)
            engine.observe(await poll_all(trunks))
            down = firing(engine)

            sip.set_mode("200")
            clock.advance(10)
            engine.observe(await poll_all(trunks))
            return down
        finally:
            for trunk in trunks:
                await trunk.close()

    with kamailio() as sip:
        down = asyncio.run(scenario(sip))

    assert down == {("sip_trunk_down", "ct-1"): "firing", ("sip_trunk_down", "ct-2"): "firing"}
    interruptions = [message for message in sink.messages if message.kind == "interruption"]
    assert interruptions, "every trunk down starts the interruption clock"
    assert "全部中继断开" in interruptions[0].text
    assert firing(engine) == {}, "the trunk alerts resolve when kamailio responds again"


def test_required_process_down_after_two_polls(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, "alerting: {builtin_ups: false}\n"), clock)
    sleeper = subprocess.Popen(["sleep", "3021.5"])
    host = HostCollector(HostConfig(id="app-01", count_processes=False, processes=[
        {"name": "worker", "pattern": r"^sleep 3021\.5$"}]), "xz")
    try:
        engine.observe(poll(host, clock))
    finally:
        sleeper.terminate()
        sleeper.wait()

    clock.advance(10)
    engine.observe(poll(host, clock))
    pending = firing(engine)
    clock.advance(10)
    engine.observe(poll(host, clock))

    assert pending == {("host_process_down", "app-01/worker"): "pending"}
    assert firing(engine) == {("host_process_down", "app-01/worker"): "firing"}
    assert "app-01/worker 未运行" in sink.messages[-1].text


def test_certificate_expiring(tmp_path):
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, "alerting: {builtin_ups: false}\n"), clock)
    now = datetime.datetime.now(datetime.UTC)
    cert_path, key_path = self_signed(tmp_path, now - datetime.timedelta(days=1),
                                      now + datetime.timedelta(days=10, hours=1))
    with http_server(server_context(cert_path, key_path)) as port:
        check = CheckCollector(CheckConfig(id="crm-web", kind="http", ca_path=cert_path,
                                           target=f"https://127.0.0.1:{port}/"), "xz")
        engine.observe(poll(check, clock))
        asyncio.run(check.close())

    assert firing(engine) == {("certificate_expiring", "crm-web"): "firing"}
    assert "crm-web 的 TLS 证书 10 天后过期" in sink.messages[-1].text


def test_disk_full_soon_fires_and_resolves(tmp_path):
    """The forecast rule needs two readings under a day and resolves at the one-year cap."""
    clock = FakeClock()
    engine, sink = make_engine(make_config(tmp_path, "alerting: {builtin_ups: false}\n"), clock)

    def forecast(time_to_full_s: float) -> Reading:
        tags = {"site": "xz", "host": "db-01", "path": "/var/lib/mysql"}
        return Reading("disk_forecast", tags, {"fill_rate_bps": 1e6,
                                               "time_to_full_s": time_to_full_s}, clock.now_ns)

    engine.observe([forecast(36_000.0)])
    first = firing(engine)
    clock.advance(60)
    engine.observe([forecast(35_000.0)])
    fired = firing(engine)
    clock.advance(60)
    engine.observe([forecast(365 * 86400.0)])

    assert first == {("host_disk_full_soon", "db-01"): "pending"}
    assert fired == {("host_disk_full_soon", "db-01"): "firing"}
    assert "db-01 磁盘 /var/lib/mysql 按近期增长速度约 583 分钟后写满" in sink.messages[0].text
    assert firing(engine) == {}
