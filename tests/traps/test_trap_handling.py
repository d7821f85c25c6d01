"""From trap to alert: catalogue, claims held until polls confirm, storms, and a running agent."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import textwrap
import threading
import time
from pathlib import Path

from pyasn1.codec.ber import encoder
from pysnmp.proto import api, rfc1902

from hotline_monitor.agent.runner import Agent
from hotline_monitor.agent.traps import _withdrawal_text
from hotline_monitor.alerting.trap_gate import TrapGate, Withdrawal
from hotline_monitor.collectors.base import PollResult
from hotline_monitor.collectors.snmp_traps.catalogue import TrapEvent, lookup
from hotline_monitor.collectors.snmp_traps.config import TrapsConfig
from hotline_monitor.collectors.snmp_traps.handler import TrapAction, TrapHandler
from hotline_monitor.collectors.snmp_traps.receiver import TrapReceiver
from hotline_monitor.config.loader import parse_config
from hotline_monitor.reading import Reading
from servers import free_port, require_binary


def test_catalogue_maps_vendor_on_battery_traps():
    # RFC 1628 upsTrapOnBattery; PowerNet-MIB upsOnBattery (apc.0.5); XPPC-MIB upsOnBattery (935.0.5);
    # XUPS-MIB xupstdOnBattery (534.1.11.4.1.0.3) and xupstbOnBattery (534.1.0.0.0.3).
    for oid in ("1.3.6.1.2.1.33.2.1", "1.3.6.1.4.1.318.0.5", "1.3.6.1.4.1.935.0.5",
                "1.3.6.1.4.1.534.1.11.4.1.0.3", "1.3.6.1.4.1.534.1.0.0.0.3"):
        assert lookup(oid).event == TrapEvent.ON_BATTERY, oid


def test_catalogue_maps_power_restored_and_ignores_others():
    assert lookup("1.3.6.1.4.1.318.0.9").event == TrapEvent.POWER_RESTORED
    assert lookup("1.3.6.1.4.1.534.1.11.4.2.0.5").event == TrapEvent.POWER_RESTORED
    assert lookup("1.3.6.1.6.3.1.1.5.3") is None  # linkDown is not a UPS event


def ups_reading(on_battery: float, time_ns: int) -> Reading:
    return Reading("ups", {"site": "s", "ups": "ups-main"}, {"on_battery": on_battery, "charge_pct": 90.0}, time_ns)


def test_gate_holds_contradicting_polls_then_withdraws():
    gate = TrapGate(confirm_polls=3)
    gate.claim("ups-main", "UPS-MIB::upsTrapOnBattery", {"on_battery": 1.0}, 100)

    first, none_yet = gate.filter([ups_reading(0.0, 200)])
    second, _ = gate.filter([ups_reading(0.0, 300)])
    third, withdrawals = gate.filter([ups_reading(0.0, 400)])

    assert none_yet == []
    assert "on_battery" not in first[0].fields
    assert first[0].fields["charge_pct"] == 90.0
    assert "on_battery" not in second[0].fields
    assert third[0].fields["on_battery"] == 0.0
    assert [w.ups for w in withdrawals] == ["ups-main"]
    assert gate.claims == {}


def test_gate_releases_claim_on_confirmation():
    gate = TrapGate(confirm_polls=3)
    gate.claim("ups-main", "trap", {"on_battery": 1.0}, 100)

    passed, withdrawals = gate.filter([ups_reading(1.0, 200)])
    later, _ = gate.filter([ups_reading(0.0, 300)])

    assert passed[0].fields["on_battery"] == 1.0
    assert withdrawals == []
    assert later[0].fields["on_battery"] == 0.0


def test_gate_counts_only_snmp_polls():
    gate = TrapGate(confirm_polls=1)
    gate.claim("ups-main", "trap", {"on_battery": 1.0}, 100)
    modbus = Reading("ups", {"ups": "ups-main", "source": "modbus"}, {"on_battery": 0.0}, 200)

    passed, withdrawals = gate.filter([modbus])

    assert withdrawals == []
    assert "ups-main" in gate.claims
    assert passed[0].fields["on_battery"] == 0.0


def test_gate_ignores_readings_without_the_claimed_field():
    gate = TrapGate(confirm_polls=1)
    gate.claim("ups-main", "trap", {"on_battery": 1.0}, 100)

    passed, withdrawals = gate.filter([Reading("ups", {"ups": "ups-main"}, {"charge_pct": 50.0}, 200)])

    assert withdrawals == []
    assert "ups-main" in gate.claims
    assert passed[0].fields == {"charge_pct": 50.0}


SITE_YAML = """\
site: trap-test
ups:
  - id: ups-main
    name: 主机房 UPS
    snmp: {{host: 127.0.0.1, port: 1}}
    interval: {interval}
traps:
  listen: 127.0.0.1:{port}
  communities: [trapcomm]
  confirm_polls: 3
"""


def make_config(tmp_path: Path, port: int, interval: str = "1s"):
    path = tmp_path / "site.yaml"
    path.write_text(SITE_YAML.format(port=port, interval=interval), encoding="utf-8")
    return parse_config(path.read_text(encoding="utf-8"), path)


def v2c_trap_packet(community: str, trap_oid: str) -> bytes:
    """Encode one SNMPv2c trap with pysnmp's protocol API (no engine involved)."""
    protocol = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = protocol.TrapPDU()
    protocol.apiTrapPDU.set_defaults(pdu)
    protocol.apiTrapPDU.set_varbinds(pdu, [
        ("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(12345)),
        ("1.3.6.1.6.3.1.1.4.1.0", rfc1902.ObjectIdentifier(trap_oid)),
    ])
    message = protocol.Message()
    protocol.apiMessage.set_defaults(message)
    protocol.apiMessage.set_community(message, community)
    protocol.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


def test_storm_of_1000_traps_keeps_the_real_one(tmp_path):
    """1,000 traps in one second from an unknown sender; the one real UPS trap still acts."""
    port = free_port(socket.SOCK_DGRAM)
    config = make_config(tmp_path, port)
    actions: list[TrapAction] = []
    handler = TrapHandler(config, config.traps, actions.append)
    noise = v2c_trap_packet("trapcomm", "1.3.6.1.4.1.9999.0.1")
    real = v2c_trap_packet("trapcomm", "1.3.6.1.2.1.33.2.1")

    def storm() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as noisy, \
             socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as card:
            noisy.bind(("127.0.0.2", 0))  # any 127/8 address is loopback on Linux
            started = time.monotonic()
            for index in range(1000):
                noisy.sendto(noise, ("127.0.0.1", port))
                if index == 500:
                    card.sendto(real, ("127.0.0.1", port))
                # Pace to 1,000 a second.
                delay = started + (index + 1) / 1000 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

    async def run() -> TrapReceiver:
        receiver = TrapReceiver(config.traps, handler)
        await receiver.start()
        sender = threading.Thread(target=storm)
        sender.start()
        deadline = time.monotonic() + 15
        while receiver.received < 1001 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        sender.join()
        await receiver.close()
        return receiver

    receiver = asyncio.run(run())

    # The default 4 MiB buffer (8 MiB as Linux reports it) holds the whole burst.
    assert receiver.receive_buffer_bytes >= 4 * 1024 * 1024
    assert receiver.received == 1001
    assert handler.unknown_sources == 1000
    assert [(action.ups, action.trap_name) for action in actions] == [("ups-main", "UPS-MIB::upsTrapOnBattery")]


class ScriptedUps:
    """A collector whose on_battery answers follow a script (the last one repeats)."""

    kind = "ups_snmp"

    def __init__(self, answers: list[float], interval: float) -> None:
        self.target = "ups-main"
        self.interval = interval
        self.answers = answers
        self.polls = 0

    async def poll(self) -> PollResult:
        value = self.answers[min(self.polls, len(self.answers) - 1)]
        self.polls += 1
        fields = {"on_battery": value, "output_source": 5.0 if value else 3.0, "runtime_s": 3600.0}
        return PollResult([Reading("ups", {"site": "trap-test", "ups": "ups-main", "source": "snmp"}, fields)])

    async def close(self) -> None:
        return None


def alert_states(state_dir: Path) -> list[tuple[str, str]]:
    path = state_dir / "alerts.jsonl"
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    # Each message lists the alerts whose state it announces.
    return [(change["rule"], change["state"])
            for record in records for change in record["context"]["alerts"]]


def run_agent_with_trap(tmp_path: Path, answers: list[float], seconds: float) -> tuple[list[tuple[str, str]], float, int]:
    port = free_port(socket.SOCK_DGRAM)
    config = make_config(tmp_path, port, interval="1s")
    collector = ScriptedUps(answers, interval=1.0)
    agent = Agent(config, collectors=[collector])
    snmptrap = require_binary("snmptrap", "snmp")

    async def scenario() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run_forever(stop))
        await asyncio.sleep(1.5)  # first poll done: on mains
        sent = time.monotonic()
        await asyncio.to_thread(subprocess.run, [snmptrap, "-v", "2c", "-c", "trapcomm", f"127.0.0.1:{port}", "",
                                                 "1.3.6.1.2.1.33.2.1"], check=True, timeout=10)
        latency = -1.0
        while time.monotonic() - sent < seconds:
            if latency < 0 and ("ups_on_battery", "firing") in alert_states(config.state_dir):
                latency = time.monotonic() - sent
            await asyncio.sleep(0.02)
        stop.set()
        await task
        return latency

    latency = asyncio.run(scenario())
    return alert_states(config.state_dir), latency, collector.polls


def test_trap_alert_withdrawn_after_three_contradicting_polls(tmp_path):
    # The card said on battery, but every poll after it says mains: a false trap.
    states, latency, polls = run_agent_with_trap(tmp_path, [0.0], seconds=5.0)

    assert 0 <= latency < 1.0
    assert states == [("ups_on_battery", "firing"), ("ups_on_battery", "withdrawn")]
    assert polls >= 4


def test_trap_confirmed_then_mains_return_resolves_once(tmp_path):
    # First poll: mains. Trap; the next two polls lag (mains), then battery, then mains again.
    states, latency, _ = run_agent_with_trap(tmp_path, [0.0, 0.0, 0.0, 1.0, 1.0, 0.0], seconds=6.5)

    assert 0 <= latency < 1.0
    assert states == [("ups_on_battery", "firing"), ("ups_on_battery", "resolved")]


def test_withdrawal_text_reads_chinese():
    withdrawal = Withdrawal("ups-main", "UPS-MIB::upsTrapOnBattery",
                            {"on_battery": 1.0, "output_source": 5.0},
                            {"on_battery": 0.0, "output_source": 3.0})

    text = _withdrawal_text(withdrawal)

    assert "电池供电为否，输出来源为市电（逆变）（3）" in text
    assert "on_battery" not in text
    assert "output_source" not in text
