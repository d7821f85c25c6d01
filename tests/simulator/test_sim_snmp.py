"""The simulator's SNMP agent, read by net-snmp's snmpget and snmpbulkwalk."""

from __future__ import annotations

import subprocess

import pytest
from servers import recordings_dir, require_binary
from sim_helpers import simulator_thread

from hotline_monitor.simulator.model import UpsModel
from hotline_monitor.simulator.snmp_agent import V3User

UPS = "1.3.6.1.2.1.33.1"


def snmp(tool: str, port: int, *args: str, version: list[str] | None = None,
         timeout: str = "2", retries: str = "1") -> dict[str, str]:
    """Run a net-snmp tool; return {numeric OID: "TYPE: value"}."""
    binary = require_binary(tool, "snmp")
    command = [binary, *(version or ["-v2c", "-c", "public"]), "-On", "-Oe", "-t", timeout, "-r", retries,
               "-M", "/dev/null", "-m", "", f"127.0.0.1:{port}", *args]
    output = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout
    values = {}
    for line in output.splitlines():
        oid, _, value = line.partition(" = ")
        values[oid.lstrip(".")] = value.strip()
    return values


def on_battery_model() -> UpsModel:
    """Loads 50/60/40 %, ten minutes on battery from a full charge.

    Worked by hand: output 100 kVA/3 × (0.5+0.6+0.4) × 0.9 = 45 kW, drawn from
    the battery 45 kW / 0.95 = 47.37 kW. Ten minutes take 7.895 kWh of 40 kWh,
    so the charge is 80.26 %, and the estimate 0.8026 × 40 kWh / 47.37 kW = 2440 s
    (40 min). Open-circuit voltage 40 × (11.7 + 1.2 × 0.8026) = 506.5 V, current
    47.37 kW / 506.5 V = 93.5 A, terminal voltage 506.5 − 93.5 × 0.1 Ω = 497.2 V.
    """
    model = UpsModel(load_pct=[50.0, 60.0, 40.0])
    model.set_mains(False)
    model.step(600)
    return model


def test_snmpget_reads_on_battery_state():
    """snmpget sees RFC 1628 values in RFC 1628 units."""
    with simulator_thread(on_battery_model(), modbus_port=None) as sim:
        port = sim.simulator.options.snmp_port
        values = snmp("snmpget", port,
                      f"{UPS}.4.1.0", f"{UPS}.2.1.0", f"{UPS}.2.2.0", f"{UPS}.2.3.0", f"{UPS}.2.4.0",
                      f"{UPS}.2.5.0", f"{UPS}.2.6.0", f"{UPS}.2.7.0", f"{UPS}.4.4.1.5.2",
                      f"{UPS}.4.4.1.3.1", f"{UPS}.4.4.1.4.2", f"{UPS}.3.3.1.3.1", f"{UPS}.6.1.0")

    assert values[f"{UPS}.4.1.0"] == "INTEGER: 5"  # upsOutputSource battery(5)
    assert values[f"{UPS}.2.1.0"] == "INTEGER: 2"  # batteryNormal
    assert values[f"{UPS}.2.2.0"] == "INTEGER: 600"  # upsSecondsOnBattery
    assert values[f"{UPS}.2.3.0"] == "INTEGER: 40"  # minutes
    assert values[f"{UPS}.2.4.0"] == "INTEGER: 80"
    assert values[f"{UPS}.2.5.0"] == "INTEGER: 4972"  # 497.2 V in tenths
    assert values[f"{UPS}.2.6.0"] == "INTEGER: -935"  # 93.5 A discharging, tenths
    assert values[f"{UPS}.2.7.0"] == "INTEGER: 27"  # 25 °C + 0.004 °C/s × 600 s
    assert values[f"{UPS}.4.4.1.5.2"] == "INTEGER: 60"
    assert values[f"{UPS}.4.4.1.3.1"] == "INTEGER: 758"  # 16 667 VA / 220 V = 75.8 A
    assert values[f"{UPS}.4.4.1.4.2"] == "INTEGER: 18000"  # 33 333 VA × 0.6 × 0.9
    assert values[f"{UPS}.3.3.1.3.1"] == "INTEGER: 0"  # no mains
    assert values[f"{UPS}.6.1.0"] == "Gauge32: 2"  # on battery, input bad


def test_snmpbulkwalk_alarm_table_matches_count():
    """The alarm rows carry the well-known alarm OIDs; their number is upsAlarmsPresent."""
    with simulator_thread(on_battery_model(), modbus_port=None) as sim:
        values = snmp("snmpbulkwalk", sim.simulator.options.snmp_port, "1.3.6.1.2.1.33")

    descriptions = {oid: value for oid, value in values.items() if oid.startswith(f"{UPS}.6.2.1.2.")}
    assert sorted(descriptions.values()) == ["OID: .1.3.6.1.2.1.33.1.6.3.2",  # upsAlarmOnBattery
                                             "OID: .1.3.6.1.2.1.33.1.6.3.6"]  # upsAlarmInputBad
    assert values[f"{UPS}.6.1.0"] == f"Gauge32: {len(descriptions)}"
    assert values[f"{UPS}.3.2.0"] == "INTEGER: 3"
    assert values[f"{UPS}.4.3.0"] == "INTEGER: 3"
    assert values[f"{UPS}.4.2.0"] == "INTEGER: 500"  # 50.0 Hz in tenths
    assert all(oid.startswith("1.3.6.1.2.1.33") for oid in values)


def test_snmpget_follows_state_change():
    """A second read after mains return shows the new source and an empty alarm table."""
    with simulator_thread(on_battery_model(), modbus_port=None) as sim:
        port = sim.simulator.options.snmp_port
        before = snmp("snmpget", port, f"{UPS}.4.1.0")
        sim.call(lambda: sim.simulator.model.set_mains(True))
        after = snmp("snmpget", port, f"{UPS}.4.1.0", f"{UPS}.6.1.0", f"{UPS}.3.1.0")

    assert before[f"{UPS}.4.1.0"] == "INTEGER: 5"
    assert after[f"{UPS}.4.1.0"] == "INTEGER: 3"
    assert after[f"{UPS}.6.1.0"] == "Gauge32: 0"
    assert after[f"{UPS}.3.1.0"] == "Counter32: 1"  # upsInputLineBads counted the failure


def test_snmpv3_auth_priv_user():
    """An SNMPv3 authPriv user (SHA-256, AES) reads the agent; a wrong key does not."""
    user = V3User("upsreader", "SHA256", "auth-secret-1", "AES", "priv-secret-1")
    with simulator_thread(UpsModel(), modbus_port=None, v3_users=[user]) as sim:
        port = sim.simulator.options.snmp_port
        good = ["-v3", "-l", "authPriv", "-u", "upsreader", "-a", "SHA-256", "-A", "auth-secret-1",
                "-x", "AES", "-X", "priv-secret-1"]
        values = snmp("snmpget", port, f"{UPS}.2.4.0", "1.3.6.1.2.1.1.2.0", version=good)
        bad = [*good[:-1], "wrong-secret"]
        with pytest.raises(subprocess.CalledProcessError):
            snmp("snmpget", port, f"{UPS}.2.4.0", version=bad, timeout="1", retries="0")

    assert values[f"{UPS}.2.4.0"] == "INTEGER: 100"
    assert values["1.3.6.1.2.1.1.2.0"] == "OID: .1.3.6.1.2.1.33"


def test_wrong_community_gets_no_answer():
    with simulator_thread(UpsModel(), modbus_port=None) as sim:
        with pytest.raises(subprocess.CalledProcessError):
            snmp("snmpget", sim.simulator.options.snmp_port, f"{UPS}.2.4.0",
                 version=["-v2c", "-c", "private"], timeout="1", retries="0")


def test_unreachable_state_drops_requests():
    with simulator_thread(UpsModel(), modbus_port=None) as sim:
        sim.simulator.reachable = False
        with pytest.raises(subprocess.CalledProcessError):
            snmp("snmpget", sim.simulator.options.snmp_port, f"{UPS}.2.4.0", timeout="1", retries="0")


def test_recording_keeps_identity_and_quirks():
    """Served over the Huawei UPS2000 recording: its Gauge32 types and sentinel stay."""
    recording = recordings_dir() / "huaweiups_ups2000.snmprec"
    recorded = dict(line.split("|", 1) for line in recording.read_text().splitlines() if line)
    with simulator_thread(UpsModel(), modbus_port=None, recording=recording) as sim:
        values = snmp("snmpbulkwalk", sim.simulator.options.snmp_port, "1.3.6.1")

    assert recorded["1.3.6.1.2.1.1.2.0"] == "6|1.3.6.1.4.1.2011.6.174.4.1.2.4"
    assert values["1.3.6.1.2.1.1.2.0"] == "OID: .1.3.6.1.4.1.2011.6.174.4.1.2.4"
    # The recording answers 4294967295 ("unknown") for the runtime; the card never
    # reports it, so neither does the simulator.
    assert recorded[f"{UPS}.2.3.0"] == "66|4294967295"
    assert values[f"{UPS}.2.3.0"] == "Gauge32: 4294967295"
    # upsEstimatedChargeRemaining: recorded as Gauge32, served with the model's 100 %.
    assert recorded[f"{UPS}.2.4.0"].startswith("66|")
    assert values[f"{UPS}.2.4.0"] == "Gauge32: 100"
