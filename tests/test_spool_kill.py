"""kill -9 of agent and hub at random moments: readings committed vs readings stored.

Three rounds in `make test`; HOTLINE_LONG=1 runs 30. The seed is printed and
can be fixed with HOTLINE_SEED to replay a failing sequence.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from fake_node import last_committed
from servers import mosquitto
from spool_support import influx_section, stored_numbers, write_config

TESTS = Path(__file__).parent
ROUNDS = 30 if os.environ.get("HOTLINE_LONG") == "1" else 3
PER_POLL = 20
INTERVAL_S = "0.1"


def mqtt_section(port: int) -> dict:
    return {"host": "127.0.0.1", "port": port, "keepalive": 5, "heartbeat_interval": 1,
            "offline_after": 5, "reconnect_max": 1}


def create_database(url: str, name: str) -> None:
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(
        f"{url}/query", data=urllib.parse.urlencode({"q": f'CREATE DATABASE "{name}"'}).encode())
    urllib.request.urlopen(request, timeout=10).read()


class Node:
    def __init__(self, config: Path, role: str, log_path: Path) -> None:
        self.command = [sys.executable, str(TESTS / "fake_node.py"), str(config), role]
        if role == "agent":
            self.command += [str(PER_POLL), INTERVAL_S]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.logged_before_start = self._log_text().count(" started: ")
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(self.command, stdout=log_file, stderr=log_file)

    def _log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, count: int = 1, timeout: float = 30) -> None:
        """Wait until `text` appears `count` times in the node's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._log_text().count(text) >= count:
                return
            time.sleep(0.05)
        raise TimeoutError(f"{text!r} not logged {count} times in {self.log_path}")

    def wait_started(self) -> None:
        """Wait until the process started last has installed its signal handlers."""
        self.wait_for_log(" started: ", self.logged_before_start + 1)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def test_kill_rounds_lose_and_duplicate_nothing(tmp_path, influxdb):
    seed = int(os.environ.get("HOTLINE_SEED", time.time_ns() % 1_000_000))
    print(f"kill rounds: seed {seed}, {ROUNDS} rounds")
    chance = random.Random(seed)
    database = "kill_rounds"
    create_database(influxdb.url, database)

    with mosquitto() as broker:
        (tmp_path / "agent").mkdir()
        (tmp_path / "hub").mkdir()
        agent_config = write_config(tmp_path / "agent", role="agent",
                                    mqtt=mqtt_section(broker.port),
                                    spool={"flush_interval": 0.2, "retry_max": 0.5})
        hub_config = write_config(tmp_path / "hub", role="hub", agent_id="hub-1",
                                  mqtt=mqtt_section(broker.port),
                                  influxdb=influx_section(influxdb.url, database),
                                  spool={"flush_interval": 0.2, "retry_max": 0.5})
        agent = Node(agent_config, "agent", tmp_path / "agent.log")
        hub = Node(hub_config, "hub", tmp_path / "hub.log")
        # The agent may start first: until the hub's first subscription the
        # broker returns "no matching subscribers" and the agent keeps its spool.
        agent.start()
        hub.start()
        try:
            for _ in range(ROUNDS):
                time.sleep(chance.uniform(1.0, 2.5))
                victims = chance.choice([[agent], [hub], [agent, hub]])
                for victim in victims:
                    victim.kill()
                time.sleep(chance.uniform(0.0, 0.5))
                for victim in victims:
                    victim.start()
            time.sleep(1.5)
            agent.wait_started()
            hub.wait_started()
            # The agent's last drain needs the hub subscribed, or its rows stay spooled.
            hub.wait_for_log("hub connected to MQTT broker", hub.logged_before_start + 1)
            time.sleep(0.5)
            assert agent.stop() == 0
            committed = last_committed(tmp_path / "agent" / "state" / "committed.log")
            expected = list(range(1, committed + 1))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and stored_numbers(influxdb, database) != expected:
                time.sleep(0.3)
        finally:
            for node in (agent, hub):
                if node.process is not None and node.process.poll() is None:
                    node.process.kill()
                    node.process.wait(timeout=10)

    stored = stored_numbers(influxdb, database)
    assert committed > ROUNDS * PER_POLL
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    assert missing == [], f"seed {seed}: {len(missing)} committed readings missing"
    assert extra == [], f"seed {seed}: {len(extra)} readings stored but never committed"
    assert len(stored) == committed
