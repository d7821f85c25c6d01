"""`hotline-monitor simulate ups`: argument checks and a served scenario."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from servers import free_port, wait_for
from test_sim_snmp import snmp

from hotline_monitor.agent.cli import main


@pytest.mark.parametrize(("arguments", "message"), [
    ([], "至少要指定 --snmp-port 或 --modbus-port 之一"),
    (["--snmp-port", "70000"], "--snmp-port 应在 1 到 65535 之间，实际为 70000"),
    (["--snmp-port", "1161", "--speed", "-1"], "--speed 应大于 0"),
    (["--snmp-port", "1161", "--trap-to", "nowhere"], "--trap-to 'nowhere' 无效"),
    (["--snmp-port", "1161", "--v3-user", "u", "--v3-auth-key", "short"], "--v3-auth-key 至少 8 个字符"),
    (["--snmp-port", "1161", "--recording", "/nonexistent.snmprec"], "录制文件 /nonexistent.snmprec 不存在"),
    (["--snmp-port", "1161", "--scenario", "flood"], "场景 'flood' 不存在"),
])
def test_simulate_rejects_bad_input(arguments, message, capsys):
    assert main(["simulate", "ups", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_simulate_serves_scenario_end_state():
    """snmpget reads the scenario as it plays; SIGTERM then stops the simulator with exit 0."""
    port = free_port(socket.SOCK_DGRAM)
    process = subprocess.Popen(
        [sys.executable, "-m", "hotline_monitor", "simulate", "ups", "--snmp-port", str(port),
         "--scenario", "bypass", "--speed", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_for(lambda: snmp("snmpget", port, "1.3.6.1.2.1.33.1.4.1.0"), 20, "simulator")
        # bypass.yaml: the UPS goes to bypass at 30 s and back at 4 min 30 s (270 s).
        wait_for(lambda: snmp("snmpget", port, "1.3.6.1.2.1.33.1.4.1.0")
                 ["1.3.6.1.2.1.33.1.4.1.0"] == "INTEGER: 4", 20, "bypass")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "播放场景：转旁路（bypass）" in output
