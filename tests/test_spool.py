"""The durable spool and its sender, against SQLite and a real InfluxDB 1.x."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from servers import InfluxServer, free_port, influxdb_v1_restartable
from spool_support import (
    NumberedCollector,
    influx_section,
    make_config,
    seq_time_ns,
    stored_numbers,
    write_config,
)

from hotline_monitor.agent.cli import main
from hotline_monitor.agent.runner import Agent
from hotline_monitor.agent.sender import Sender
from hotline_monitor.agent.sinks.influxdb_v1 import InfluxV1Sink
from hotline_monitor.agent.spool import Spool
from hotline_monitor.agent.spool_config import parse_size
from hotline_monitor.config.model import InfluxDBConfig
from hotline_monitor.errors import ConfigError


def seq_line(k: int, target: str = "t1") -> str:
    return f"seq,site=test-site,target={target} n={float(k)!r} {seq_time_ns(k)}"


def test_spool_keeps_order_and_deletes_range(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=10**9)
    spool.append([seq_line(k) for k in range(1, 6)])

    batch = spool.peek(3)
    assert [line for _, line in batch] == [seq_line(1), seq_line(2), seq_line(3)]
    spool.delete_through(batch[0][0], batch[-1][0])

    assert [line for _, line in spool.peek(10)] == [seq_line(4), seq_line(5)]
    assert spool.rows == 2
    assert spool.bytes == len(seq_line(4)) + len(seq_line(5))


def test_spool_survives_reopen(tmp_path):
    path = tmp_path / "spool.sqlite"
    first = Spool(path, max_bytes=10**9)
    first.append([seq_line(1), seq_line(2)])
    first.close()

    second = Spool(path, max_bytes=10**9)
    assert second.rows == 2
    assert [line for _, line in second.peek(10)] == [seq_line(1), seq_line(2)]


def test_spool_bound_drops_oldest_rows(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=10**9, max_rows=1000)
    spool.append([seq_line(k) for k in range(1, 1001)])
    assert spool.dropped == 0

    dropped = spool.append([seq_line(k) for k in range(1001, 1051)])

    assert dropped == 50
    assert spool.rows == 1000
    assert spool.peek(1)[0][1] == seq_line(51)
    spool.close()
    assert Spool(tmp_path / "spool.sqlite", max_bytes=10**9).status().dropped == 50


def test_spool_bound_counts_bytes(tmp_path):
    # Every line below is exactly 100 bytes, so a 1,000,000-byte bound has room for 10,000.
    line = "x" * 100
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=1_000_000)
    spool.append([line] * 10_000)
    assert spool.dropped == 0

    spool.append([line] * 25)

    assert spool.dropped == 25
    assert spool.bytes == 1_000_000


def test_spool_kill_keeps_committed_rows(tmp_path):
    # A child commits batches of 10 and prints each batch's last number only
    # after append() returned; SIGKILL lands mid-stream.
    path = tmp_path / "spool.sqlite"
    script = (
        "import sys\n"
        "from hotline_monitor.agent.spool import Spool\n"
        f"spool = Spool(__import__('pathlib').Path({str(path)!r}), max_bytes=10**9)\n"
        "k = 0\n"
        "while True:\n"
        "    spool.append([f'seq n={float(i)!r} {i}' for i in range(k + 1, k + 11)])\n"
        "    k += 10\n"
        "    print(k, flush=True)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    confirmed = 0
    deadline = time.monotonic() + 20
    while confirmed < 300 and time.monotonic() < deadline:
        confirmed = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()

    spool = Spool(path, max_bytes=10**9)
    numbers = [int(line.split()[-1]) for _, line in spool.peek(100_000)]
    assert confirmed >= 300
    assert numbers[:confirmed] == list(range(1, confirmed + 1))
    assert numbers == list(range(1, len(numbers) + 1))


def test_parse_size_units():
    assert parse_size("500MB") == 500_000_000
    assert parse_size("2GiB") == 2 * 1024**3
    assert parse_size(1_500_000) == 1_500_000
    with pytest.raises(ValueError, match="容量格式无效"):
        parse_size("lots")


def test_spool_config_rejects_tiny_bound(tmp_path):
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, spool={"max_bytes": "10KB"})
    assert any("spool.max_bytes" in problem for problem in caught.value.problems)


def test_agent_role_requires_mqtt(tmp_path):
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, role="agent")
    assert any("mqtt" in problem for problem in caught.value.problems)


def test_outage_delivers_every_reading_once(tmp_path):
    """InfluxDB stopped mid-stream and started again: every reading stored once."""
    with influxdb_v1_restartable("outage") as influx:
        config = make_config(tmp_path, influxdb=influx_section(influx.url, "outage"),
                             spool={"flush_interval": 0.2, "retry_max": 0.5})
        collector = NumberedCollector("t1", "test-site", per_poll=50)
        agent = Agent(config, collectors=[collector])

        async def scenario() -> None:
            stop = asyncio.Event()
            sender = asyncio.create_task(agent.sender.run(stop))
            for _ in range(4):
                await agent.poll_target(agent.pollers[0])
                await asyncio.sleep(0.3)
            influx.stop()
            for _ in range(6):
                await agent.poll_target(agent.pollers[0])
                await asyncio.sleep(0.3)
            assert agent.spool.rows >= 6 * 51
            influx.start()
            for _ in range(4):
                await agent.poll_target(agent.pollers[0])
                await asyncio.sleep(0.3)
            deadline = time.monotonic() + 20
            while agent.spool.rows and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            stop.set()
            await sender
            await agent.close()

        asyncio.run(scenario())
        numbers = stored_numbers(influx, "outage")

    # 14 polls of 50 readings each, numbered 1 to 700.
    assert numbers == list(range(1, 701))


def test_poisoned_batch_quarantines_one_point(tmp_path, influxdb):
    """A string written to a float field is quarantined; the rest of the batch is stored."""
    influxdb_db = "poison"
    InfluxServer(influxdb.url, influxdb_db)
    config = make_config(tmp_path, influxdb=influx_section(influxdb.url, influxdb_db))
    agent = Agent(config, collectors=[])

    async def scenario() -> None:
        await agent.sink.write([seq_line(0)])  # makes `n` a float field
        bad = f'seq,site=test-site,target=t1 n="broken" {seq_time_ns(50)}'
        agent.spool.append([seq_line(k) for k in range(1, 50)] + [bad]
                           + [seq_line(k) for k in range(51, 101)])
        result = await agent.sender.drain()
        assert result.ok
        assert result.sent == 99
        assert result.quarantined == 1
        await agent.close()

    _create_database(influxdb.url, influxdb_db)
    asyncio.run(scenario())

    numbers = stored_numbers(influxdb, influxdb_db)
    assert numbers == [0] + list(range(1, 50)) + list(range(51, 101))
    spool = Spool(config.spool_path, max_bytes=10**9)
    quarantined = spool.quarantined()
    assert len(quarantined) == 1
    assert 'n="broken"' in quarantined[0].line
    assert "field type conflict" in quarantined[0].message
    assert spool.rows == 0
    alerts = alert_changes(
        [json.loads(line) for line in (config.state_dir / "alerts.jsonl").read_text().splitlines()])
    assert [alert["rule"] for alert in alerts] == ["spool_quarantine"]
    assert alerts[0]["severity"] == "warning"


def test_spool_fills_to_bound_and_alerts(tmp_path):
    """With the database away the spool keeps the newest rows within its bound."""
    dead = f"http://127.0.0.1:{free_port()}"
    config = make_config(tmp_path, influxdb=influx_section(dead, "none"),
                         spool={"max_rows": 1000})
    collector = NumberedCollector("t1", "test-site", per_poll=99)
    agent = Agent(config, collectors=[collector])

    async def scenario() -> None:
        for _ in range(12):  # 12 polls × (99 + 1 target reading) = 1200 rows
            await agent.poll_target(agent.pollers[0])
        result = await agent.sender.drain()
        assert not result.ok
        await agent.close()

    asyncio.run(scenario())

    spool = Spool(config.spool_path, max_bytes=10**9)
    status = spool.status()
    assert status.rows == 1000
    assert status.dropped == 200
    lines = [line for _, line in spool.peek(1000)]
    # The first two polls (rows 1 to 200) went; the third poll's first seq reading is n=199.
    assert lines[0].startswith("seq,site=test-site,target=t1 n=199.0 ")
    alerts = alert_changes(
        [json.loads(line) for line in (config.state_dir / "alerts.jsonl").read_text().splitlines()])
    assert [(alert["rule"], alert["state"]) for alert in alerts] == [("spool_full", "firing")]
    assert "已丢弃" in alerts[0]["text"]


def test_spool_status_and_replay_commands(tmp_path, influxdb, capsys):
    database = "replay"
    _create_database(influxdb.url, database)
    path = write_config(tmp_path, influxdb=influx_section(influxdb.url, database))
    spool_path = tmp_path / "state" / "spool.sqlite"
    spool = Spool(spool_path, max_bytes=10**9)
    spool.append([seq_line(k) for k in range(1, 21)])
    spool.close()

    assert main(["spool", "status", "-c", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "积压：20 条" in shown
    assert "隔离区（数据库拒收）：0 条" in shown

    assert main(["spool", "replay", "-c", str(path)]) == 0
    assert "已写入 20 条" in capsys.readouterr().out
    assert stored_numbers(influxdb, database) == list(range(1, 21))


def test_spool_replay_fails_when_sink_down(tmp_path, capsys):
    dead = f"http://127.0.0.1:{free_port()}"
    path = write_config(tmp_path, influxdb=influx_section(dead, "none"))
    spool = Spool(tmp_path / "state" / "spool.sqlite", max_bytes=10**9)
    spool.append([seq_line(1)])
    spool.close()

    assert main(["spool", "replay", "-c", str(path)]) == 1
    shown = capsys.readouterr().out
    assert "剩余 1 条" in shown
    assert "仍保留在缓存中" in shown


def test_sender_direct_influx_sink(tmp_path, influxdb):
    database = "direct"
    _create_database(influxdb.url, database)
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=10**9)
    spool.append([seq_line(k) for k in range(1, 12)])
    sink = InfluxV1Sink(InfluxDBConfig(url=influxdb.url, database=database))
    sender = Sender(spool, sink, batch_size=4)

    async def scenario() -> None:
        result = await sender.drain()
        assert result.sent == 11
        await sink.close()

    asyncio.run(scenario())
    assert stored_numbers(influxdb, database) == list(range(1, 12))
    assert spool.rows == 0


def _create_database(url: str, name: str) -> None:
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(
        f"{url}/query", data=urllib.parse.urlencode({"q": f'CREATE DATABASE "{name}"'}).encode())
    urllib.request.urlopen(request, timeout=10).read()


def test_replay_does_not_starve_polls(tmp_path, influxdb):
    """While a 60,000-reading backlog drains, a poll every 0.1 s still commits on time."""
    database = "starve"
    _create_database(influxdb.url, database)
    config = make_config(tmp_path, influxdb=influx_section(influxdb.url, database))
    collector = NumberedCollector("t1", "test-site", per_poll=10, first=100_001)
    agent = Agent(config, collectors=[collector])
    agent.spool.append([seq_line(k, "backlog") for k in range(1, 60_001)])
    poll_times: list[float] = []
    drain_seconds: list[float] = []

    async def poll_every_tenth_second(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await agent.poll_target(agent.pollers[0])
            poll_times.append(time.monotonic())
            await asyncio.sleep(0.1)

    async def scenario() -> None:
        stop = asyncio.Event()
        poller = asyncio.create_task(poll_every_tenth_second(stop))
        started = time.monotonic()
        result = await agent.sender.drain()
        drain_seconds.append(time.monotonic() - started)
        stop.set()
        await poller
        assert result.ok
        await agent.sender.drain()
        await agent.close()

    asyncio.run(scenario())

    gaps = [later - earlier for earlier, later in zip(poll_times, poll_times[1:], strict=False)]
    # A poll every 0.1 s plus its own time: at least half the ideal count.
    assert len(poll_times) >= max(2, int(drain_seconds[0] / 0.1 / 2))
    assert max(gaps) < 1.0
    backlog = InfluxServer(influxdb.url, database).query(
        "SELECT count(n) FROM seq WHERE target = 'backlog'")
    assert backlog[0]["values"][0][1] == 60_000
    assert stored_numbers(influxdb, database)[-1] == collector.next - 1


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
