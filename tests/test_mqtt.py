"""Agents and the hub over a real mosquitto, storing into a real InfluxDB 1.x."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from servers import mosquitto, restart_mosquitto, wait_for
from spool_support import (
    NumberedCollector,
    influx_section,
    make_config,
    stored_numbers,
    write_config,
)

from hotline_monitor.agent.mqtt.hub import Hub
from hotline_monitor.agent.mqtt.liveness import AgentLiveness
from hotline_monitor.agent.mqtt.publisher import group_messages, measurement_of
from hotline_monitor.agent.runner import Agent
from hotline_monitor.agent.sdnotify import SystemdNotifier

TESTS = Path(__file__).parent


def mqtt_section(port: int, **overrides) -> dict:
    section = {"host": "127.0.0.1", "port": port, "keepalive": 5, "heartbeat_interval": 0.5,
               "offline_after": 3, "hub_silent_after": 2}
    section.update(overrides)
    return section


def alerts_of(state_dir: Path) -> list[dict]:
    path = state_dir / "alerts.jsonl"
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return alert_changes(records)


def alert_changes(records: list[dict]) -> list[dict]:
    """Flatten `alerts.jsonl` messages into one entry per alert whose state a message announces."""
    changes = []
    for record in records:
        context = record.get("context", {})
        listed = context.get("alerts") or [{
            "rule": context.get("rule", record["kind"]), "target": context.get("target", ""),
            "state": "resolved" if record["kind"] == "recovery" else "firing"}]
        for change in listed:
            changes.append({**change, "severity": record["severity"],
                            "text": f"{record['title']}\n{record['text']}"})
    return changes


def node_dir(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


def create_database(url: str, name: str) -> None:
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(
        f"{url}/query", data=urllib.parse.urlencode({"q": f'CREATE DATABASE "{name}"'}).encode())
    urllib.request.urlopen(request, timeout=10).read()


def test_group_messages_by_measurement():
    lines = ["a,t=1 v=1.0 1", "b\\ c,t=1 v=1.0 2", "a,t=2 v=1.0 3", "a v=2.0 4"]
    assert measurement_of(lines[1]) == "b c"
    assert group_messages(lines, 2) == [
        ("a", ["a,t=1 v=1.0 1", "a,t=2 v=1.0 3"]),
        ("a", ["a v=2.0 4"]),
        ("b c", ["b\\ c,t=1 v=1.0 2"]),
    ]


def test_broker_restart_loses_nothing(tmp_path, influxdb):
    """Agent → mosquitto → hub → InfluxDB, with the broker restarted mid-stream."""
    database = "mqtt_restart"
    create_database(influxdb.url, database)
    with mosquitto() as broker:
        agent_config = make_config(node_dir(tmp_path, "agent"), role="agent",
                                   mqtt=mqtt_section(broker.port),
                                   spool={"flush_interval": 0.2, "retry_max": 0.5})
        hub_config = make_config(node_dir(tmp_path, "hub"), role="hub", agent_id="hub-1",
                                 mqtt=mqtt_section(broker.port, reconnect_max=1),
                                 influxdb=influx_section(influxdb.url, database),
                                 spool={"flush_interval": 0.2, "retry_max": 0.5})
        collector = NumberedCollector("t1", "test-site", per_poll=20, interval=0.2)
        agent = Agent(agent_config, collectors=[collector])
        hub = Hub(hub_config)

        async def scenario() -> None:
            agent_stop = asyncio.Event()
            hub_stop = asyncio.Event()
            hub_task = asyncio.create_task(hub.run_forever(hub_stop))
            agent_task = asyncio.create_task(agent.run_forever(agent_stop))
            await asyncio.sleep(2)
            await asyncio.to_thread(restart_mosquitto, broker, 1.0)
            await asyncio.sleep(3)
            agent_stop.set()
            assert await agent_task == 0
            expected = list(range(1, collector.next))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if await asyncio.to_thread(stored_numbers, influxdb, database) == expected:
                    break
                await asyncio.sleep(0.3)
            hub_stop.set()
            await hub_task

        asyncio.run(scenario())

    assert collector.next > 300
    assert stored_numbers(influxdb, database) == list(range(1, collector.next))
    # The broker may publish the agent's will while it restarts; whatever
    # fired then resolved, and the agent's own stop is the last event.
    offline = [alert for alert in alerts_of(hub_config.state_dir)
               if alert["rule"] == "agent_offline"]
    states = [alert["state"] for alert in offline]
    assert states[-1] == "firing"
    assert states[:-1] == ["firing", "resolved"] * (len(states) // 2)
    assert "已停止运行" in offline[-1]["text"]


def test_agent_keeps_readings_until_hub_subscribes(tmp_path, influxdb):
    """Before any hub has subscribed the broker has no taker: the agent keeps its spool."""
    database = "mqtt_first_start"
    create_database(influxdb.url, database)
    with mosquitto() as broker:
        agent_config = make_config(node_dir(tmp_path, "agent"), role="agent",
                                   mqtt=mqtt_section(broker.port),
                                   spool={"flush_interval": 0.2, "retry_max": 0.5})
        hub_config = make_config(node_dir(tmp_path, "hub"), role="hub", agent_id="hub-1",
                                 mqtt=mqtt_section(broker.port),
                                 influxdb=influx_section(influxdb.url, database),
                                 spool={"flush_interval": 0.2})
        collector = NumberedCollector("t1", "test-site", per_poll=10, interval=0.2)
        agent = Agent(agent_config, collectors=[collector])

        async def scenario() -> None:
            agent_stop = asyncio.Event()
            agent_task = asyncio.create_task(agent.run_forever(agent_stop))
            await asyncio.sleep(1.5)
            assert agent.spool.rows >= 40
            hub = Hub(hub_config)
            hub_stop = asyncio.Event()
            hub_task = asyncio.create_task(hub.run_forever(hub_stop))
            await asyncio.sleep(1.5)
            agent_stop.set()
            assert await agent_task == 0
            expected = list(range(1, collector.next))
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if await asyncio.to_thread(stored_numbers, influxdb, database) == expected:
                    break
                await asyncio.sleep(0.3)
            hub_stop.set()
            await hub_task

        asyncio.run(scenario())

    assert stored_numbers(influxdb, database) == list(range(1, collector.next))


def test_hub_alerts_when_agent_killed(tmp_path, influxdb):
    """kill -9 of an agent: its last will makes the hub name the targets left unwatched."""
    database = "mqtt_will"
    create_database(influxdb.url, database)
    with mosquitto() as broker:
        agent_path = write_config(node_dir(tmp_path, "agent"), role="agent",
                                  mqtt=mqtt_section(broker.port))
        hub_config = make_config(node_dir(tmp_path, "hub"), role="hub", agent_id="hub-1",
                                 mqtt=mqtt_section(broker.port, offline_after=30),
                                 influxdb=influx_section(influxdb.url, database))
        hub = Hub(hub_config)

        async def scenario() -> None:
            hub_stop = asyncio.Event()
            hub_task = asyncio.create_task(hub.run_forever(hub_stop))
            child = subprocess.Popen([sys.executable, str(TESTS / "fake_node.py"),
                                      str(agent_path), "agent", "5", "0.2"])
            try:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    state = hub.liveness.agents.get("agent-1")
                    if state is not None and state.online and "t1" in state.targets:
                        break
                    await asyncio.sleep(0.1)
                os.kill(child.pid, signal.SIGKILL)
            finally:
                child.wait(timeout=10)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not alerts_of(hub_config.state_dir):
                await asyncio.sleep(0.1)
            hub_stop.set()
            await hub_task

        asyncio.run(scenario())

    alerts = alerts_of(hub_config.state_dir)
    assert [(alert["rule"], alert["state"], alert["target"]) for alert in alerts] == [
        ("agent_offline", "firing", "agent-1")]
    assert "遗嘱消息" in alerts[0]["text"]
    assert "无人监测：t1" in alerts[0]["text"]


def test_liveness_missed_heartbeats(tmp_path):
    liveness = AgentLiveness("s", offline_after=10, state_path=tmp_path / "agents.json",
                             started=0.0)
    assert liveness.status("a1", {"state": "online", "targets": ["ups-main"]}, now=0.0) == []
    assert liveness.heartbeat("a1", now=5.0) == []
    assert liveness.check(now=15.0) == []

    fired = liveness.check(now=15.1)
    assert [(m.rule, m.state, m.target) for m in fired] == [("agent_offline", "firing", "a1")]
    assert "心跳超时" in fired[0].text
    assert "ups-main" in fired[0].text
    assert liveness.check(now=30.0) == []

    restarted = AgentLiveness("s", 10, tmp_path / "agents.json", started=100.0)
    assert restarted.agents["a1"].targets == {"ups-main"}
    assert restarted.check(now=200.0) == []
    back = restarted.heartbeat("a1", now=201.0)
    assert [(m.rule, m.state) for m in back] == [("agent_offline", "resolved")]


def test_liveness_last_will_grace(tmp_path):
    liveness = AgentLiveness("s", offline_after=30, state_path=tmp_path / "agents.json",
                             started=0.0, will_grace=4)
    liveness.status("a1", {"state": "online", "targets": ["ups-main"]}, now=0.0)
    liveness.status("a2", {"state": "online", "targets": ["trunk-1"]}, now=0.0)

    assert liveness.status("a1", {"state": "offline", "reason": "lost"}, now=1.0) == []
    assert liveness.status("a2", {"state": "offline", "reason": "lost"}, now=1.0) == []
    assert liveness.status("a2", {"state": "online"}, now=3.0) == []
    assert liveness.check(now=4.9) == []

    fired = liveness.check(now=5.0)
    assert [(m.rule, m.state, m.target) for m in fired] == [("agent_offline", "firing", "a1")]
    assert "遗嘱消息" in fired[0].text
    assert liveness.check(now=20.0) == []


def test_liveness_graceful_stop_alerts_at_once(tmp_path):
    liveness = AgentLiveness("s", offline_after=30, state_path=tmp_path / "agents.json",
                             started=0.0, will_grace=4)
    liveness.status("a1", {"state": "online", "targets": ["ups-main"]}, now=0.0)
    fired = liveness.status("a1", {"state": "offline", "reason": "stopped"}, now=1.0)
    assert [(m.rule, m.state) for m in fired] == [("agent_offline", "firing")]
    assert "已停止运行" in fired[0].text


def test_agent_pages_when_hub_silent(tmp_path):
    with mosquitto() as broker:
        config = make_config(tmp_path, role="agent", mqtt=mqtt_section(broker.port))
        agent = Agent(config, collectors=[NumberedCollector("t1", "test-site", interval=0.5)])

        async def scenario() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(agent.run_forever(stop))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not alerts_of(config.state_dir):
                await asyncio.sleep(0.1)
            await asyncio.to_thread(publish_hub_heartbeat, broker.port)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(alerts_of(config.state_dir)) < 2:
                await asyncio.sleep(0.1)
            stop.set()
            await task

        asyncio.run(scenario())

    alerts = alerts_of(config.state_dir)
    assert [(alert["rule"], alert["state"]) for alert in alerts] == [
        ("hub_silent", "firing"), ("hub_silent", "resolved")]
    assert "监控中心失联" in alerts[0]["text"]


def publish_hub_heartbeat(port: int) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="test-hub-heartbeat")
    client.connect("127.0.0.1", port)
    client.loop_start()
    info = client.publish("hotline/test-site/_hub/_heartbeat", '{"agent": "_hub"}', qos=1)
    info.wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_sd_notify_ready_and_watchdog(tmp_path):
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(5)
        notifier = SystemdNotifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "4000000"})
        assert notifier.watchdog_interval_s == 2.0
        assert notifier.ready("1 targets")
        assert notifier.watchdog()
        assert server.recv(1024) == b"READY=1\nSTATUS=1 targets"
        assert server.recv(1024) == b"WATCHDOG=1"


def test_sd_notify_outside_systemd():
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert notifier.watchdog_interval_s is None
    assert not notifier.ready()


def test_agent_feeds_systemd_watchdog(tmp_path, monkeypatch):
    address = str(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    config = make_config(tmp_path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        server.settimeout(5)
        agent = Agent(config, collectors=[])

        async def scenario() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(agent.run_forever(stop))
            await asyncio.sleep(1.3)
            stop.set()
            await task

        asyncio.run(scenario())
        received = []
        server.settimeout(0.5)
        try:
            while True:
                received.append(server.recv(1024).split(b"\n")[0])
        except TimeoutError:
            pass

    assert received[0] == b"READY=1"
    assert received.count(b"WATCHDOG=1") >= 2
    assert received[-1] == b"STOPPING=1"


def test_hub_daily_summary_once_a_day(tmp_path):
    from datetime import datetime

    from hotline_monitor.timeutil import SHANGHAI

    config = make_config(tmp_path, role="hub", mqtt=mqtt_section(1883, daily_summary_at="08:30"))
    hub = Hub(config, collectors=[])
    hub.liveness.status("agent-a", {"state": "online", "targets": ["ups-main"]}, now=0.0)

    assert not hub.send_daily_summary(datetime(2026, 12, 4, 8, 29, tzinfo=SHANGHAI))
    assert hub.send_daily_summary(datetime(2026, 12, 4, 8, 30, tzinfo=SHANGHAI))
    assert not hub.send_daily_summary(datetime(2026, 12, 4, 20, 0, tzinfo=SHANGHAI))
    assert hub.send_daily_summary(datetime(2026, 12, 5, 8, 31, tzinfo=SHANGHAI))
    asyncio.run(hub.agent.close())

    alerts = alerts_of(config.state_dir)
    assert [alert["rule"] for alert in alerts] == ["still_watching", "still_watching"]
    assert "在线采集代理 1 个：agent-a" in alerts[0]["text"]


def test_hub_command_requires_role_hub(tmp_path, capsys):
    from hotline_monitor.agent.cli import main

    path = write_config(tmp_path)
    assert main(["hub", "-c", str(path)]) == 2
    assert "hub 命令要求 role: hub，当前为 all" in capsys.readouterr().err


def test_run_command_rejects_role_hub(tmp_path, capsys):
    from hotline_monitor.agent.cli import main

    path = write_config(tmp_path, role="hub", mqtt=mqtt_section(1883))
    assert main(["run", "-c", str(path), "--once"]) == 2
    assert "hotline-monitor hub -c FILE" in capsys.readouterr().err


def make_tls_material(folder: Path) -> None:
    """Write a CA and a server certificate for IP 127.0.0.1 with openssl."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, cwd=folder, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.pem")


def test_tls_and_password(tmp_path, influxdb):
    """Agent and hub over TLS with a username and password; a wrong password keeps readings spooled."""
    import shutil
    import tempfile

    from servers import free_port, require_binary

    passwd = require_binary("mosquitto_passwd", "mosquitto")
    database = "mqtt_tls"
    create_database(influxdb.url, database)
    # mosquitto drops to its own user when started as root, so the files must
    # be readable outside pytest's private temporary folder.
    material = Path(tempfile.mkdtemp(prefix="mqtt-tls-"))
    material.chmod(0o755)
    try:
        make_tls_material(material)
        subprocess.run([passwd, "-b", "-c", str(material / "passwords"), "hotline", "s3cret-pw"],
                       check=True, capture_output=True)
        for path in material.iterdir():
            path.chmod(0o644)
        tls_port = free_port()
        extra = (f"listener {tls_port} 127.0.0.1\ncafile {material}/ca.pem\n"
                 f"certfile {material}/server.pem\nkeyfile {material}/server.key\n"
                 f"password_file {material}/passwords\nallow_anonymous false\n")
        with mosquitto(extra) as broker:
            secure = {"tls": {"ca_path": str(material / "ca.pem")}, "username": "hotline",
                      "password": "s3cret-pw"}
            agent_config = make_config(node_dir(tmp_path, "agent"), role="agent",
                                       mqtt=mqtt_section(tls_port, **secure),
                                       spool={"flush_interval": 0.2, "retry_max": 0.5})
            hub_config = make_config(node_dir(tmp_path, "hub"), role="hub", agent_id="hub-1",
                                     mqtt=mqtt_section(tls_port, **secure),
                                     influxdb=influx_section(influxdb.url, database))
            wrong = dict(secure, password="wrong-password", client_id="intruder")
            intruder_config = make_config(node_dir(tmp_path, "intruder"), role="agent",
                                          agent_id="intruder", mqtt=mqtt_section(tls_port, **wrong))
            collector = NumberedCollector("t1", "test-site", per_poll=10, interval=0.2)
            agent = Agent(agent_config, collectors=[collector])
            intruder = Agent(intruder_config,
                             collectors=[NumberedCollector("t9", "test-site", interval=0.2)])
            hub = Hub(hub_config)
            assert broker.port != tls_port

            async def scenario() -> None:
                stops = [asyncio.Event() for _ in range(3)]
                hub_task = asyncio.create_task(hub.run_forever(stops[0]))
                agent_task = asyncio.create_task(agent.run_forever(stops[1]))
                intruder_task = asyncio.create_task(intruder.run_forever(stops[2]))
                await asyncio.sleep(2)
                assert intruder.spool.rows > 0
                stops[2].set()
                assert await intruder_task == 1
                stops[1].set()
                assert await agent_task == 0
                expected = list(range(1, collector.next))
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    if await asyncio.to_thread(stored_numbers, influxdb, database) == expected:
                        break
                    await asyncio.sleep(0.3)
                stops[0].set()
                await hub_task

            asyncio.run(scenario())
    finally:
        shutil.rmtree(material, ignore_errors=True)

    assert collector.next > 50
    assert stored_numbers(influxdb, database) == list(range(1, collector.next))
