"""The nut_server and shutdown_actions sections of the configuration file."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from servers import free_port, require_binary, wait_for

from hotline_monitor.agent.cli import main
from hotline_monitor.config import load_config
from hotline_monitor.errors import ConfigError

BASE = """\
site: test-site
ups:
  - id: ups-main
    snmp: {host: 127.0.0.1}
"""


def write(tmp_path, text):
    path = tmp_path / "site.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    return path


def test_full_section_loads_with_secret_references(tmp_path, monkeypatch):
    monkeypatch.setenv("NUT_TEST_PASSWORD", "from-env")
    (tmp_path / "nas.pass").write_text("from-file\n")
    path = write(tmp_path, """\
nut_server:
  listen: 127.0.0.1
  port: 3493
  max_age: 20s
  shutdown_threshold: 10m
  anonymous_ups: [ups-main]
  users:
    - {name: upsmon-db, password: "${env:NUT_TEST_PASSWORD}", ups: [ups-main], primary: true}
    - {name: nas, password_file: nas.pass, ups: ["*"]}
shutdown_actions:
  - id: web-host
    ups: ups-main
    command: [/usr/bin/ssh, web1, sudo, poweroff]
    trigger: on_battery
    on_battery_for: 5m
    grace: 1m
""")
    config = load_config(path)
    assert config.nut_server.max_age == 20.0
    assert config.nut_server.shutdown_threshold == 600.0
    assert [user.password for user in config.nut_server.users] == ["from-env", "from-file"]
    assert config.shutdown_actions[0].on_battery_for == 300.0
    assert config.shutdown_actions[0].command == ["/usr/bin/ssh", "web1", "sudo", "poweroff"]


def test_unknown_ups_reference_is_reported(tmp_path):
    path = write(tmp_path, """\
nut_server:
  users:
    - {name: mon, password: x, ups: [ups-other]}
shutdown_actions:
  - {id: a, ups: ups-gone, command: [/bin/true]}
""")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(caught.value.problems)
    assert "nut_server.users[0].ups 中的 UPS 'ups-other' 未在 ups 中配置" in text
    assert "shutdown_actions[0].ups 的 UPS 'ups-gone' 未在 ups 中配置" in text


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("nut_server: {port: 70000}", "nut_server.port: 取值超出范围：不能大于 65535，当前为 70000"),
        ("nut_server:\n  users:\n    - {name: mon, password: secret-value, ups: [ups-main]}\n"
         "    - {name: mon, password: other-secret, ups: [ups-main]}", "NUT 用户名重复：mon"),
        ("shutdown_actions:\n  - {id: a, ups: ups-main, command: []}", "command 不能为空"),
        ("shutdown_actions:\n  - {id: a, ups: ups-main, command: [/bin/true], trigger: on_battery}",
         "trigger 为 on_battery 时必须填写 on_battery_for"),
        ("nut_server: {max_age: soon}", "nut_server.max_age: 时长格式无效"),
        # ups-main polls every 5 s (the default): 8 s is under two intervals.
        ("nut_server: {max_age: 8s}", "nut_server.max_age（8 秒）应不小于 UPS ups-main 轮询间隔（5 秒）的 2 倍"),
    ],
)
def test_bad_values_exit_2_with_chinese_messages(tmp_path, capsys, section, message):
    path = write(tmp_path, section + "\n")
    assert main(["check-config", "-c", str(path)]) == 2
    error = capsys.readouterr().err
    assert message in error
    assert "secret-value" not in error


def test_run_serves_nut_when_configured(tmp_path):
    """`hotline-monitor run` starts the NUT server beside the agent and stops it on SIGTERM."""
    port = free_port()
    closed_port = free_port()  # nothing listens there: every Modbus poll fails
    path = tmp_path / "site.yaml"
    path.write_text(f"""\
site: test-site
ups:
  - id: ups-main
    name: Main UPS
    modbus: {{host: 127.0.0.1, port: {closed_port}, map: generic, timeout: 1s}}
nut_server:
  port: {port}
  anonymous_ups: [ups-main]
""", encoding="utf-8")
    agent = subprocess.Popen([sys.executable, "-m", "hotline_monitor", "run", "-c", str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: agent.poll() is not None
                 or socket.create_connection(("127.0.0.1", port), timeout=1).close() is None,
                 15, "the NUT server of hotline-monitor run")
        assert agent.poll() is None, agent.communicate()[0]
        upsc = require_binary("upsc", "nut-client")
        listed = subprocess.run([upsc, "-L", f"127.0.0.1:{port}"], capture_output=True, text=True,
                                timeout=10)
        status = subprocess.run([upsc, f"ups-main@127.0.0.1:{port}", "ups.status"],
                                capture_output=True, text=True, timeout=10)
    finally:
        agent.terminate()
        output, _ = agent.communicate(timeout=15)

    assert listed.stdout.strip() == "ups-main: Main UPS"
    # The UPS cannot be read: stale, never a guessed status.
    assert "Data stale" in status.stderr
    assert agent.returncode == 0, output
