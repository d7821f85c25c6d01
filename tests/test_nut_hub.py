"""hotline-monitor hub serves over NUT what agents publish to MQTT."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import paho.mqtt.publish as publish
from servers import free_port, mosquitto, require_binary, wait_for


def test_hub_serves_agent_readings_over_nut(tmp_path):
    upsc = require_binary("upsc", "nut-client")
    nut_port = free_port()
    closed_port = free_port()  # the hub's own Modbus path to the UPS fails: agents' readings count
    with mosquitto() as broker:
        config = tmp_path / "hub.yaml"
        config.write_text(f"""\
site: test-site
role: hub
agent_id: hub-1
mqtt: {{host: 127.0.0.1, port: {broker.port}}}
ups:
  - id: ups-main
    modbus: {{host: 127.0.0.1, port: {closed_port}, map: generic, timeout: 1s}}
nut_server:
  port: {nut_port}
  anonymous_ups: [ups-main]
""", encoding="utf-8")
        hub = subprocess.Popen([sys.executable, "-m", "hotline_monitor", "hub", "-c", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def status() -> str:
            # The hub may not have subscribed yet: publish again until the reading is served.
            line = (f"ups,site=test-site,source=snmp,ups=ups-main on_battery=1,charge_pct=55,"
                    f"runtime_s=1200 {time.time_ns()}")
            publish.single("hotline/test-site/agent-1/ups", line, qos=1, hostname="127.0.0.1",
                           port=broker.port)
            result = subprocess.run([upsc, f"ups-main@127.0.0.1:{nut_port}", "ups.status"],
                                    capture_output=True, text=True, timeout=10)
            return result.stdout.strip()

        try:
            wait_for(lambda: hub.poll() is not None
                     or socket.create_connection(("127.0.0.1", nut_port), timeout=1).close() is None,
                     20, "the hub's NUT server")
            assert hub.poll() is None, hub.communicate()[0]
            wait_for(lambda: status() == "OB", 20, "the agent's reading served by the hub")
            charge = subprocess.run([upsc, f"ups-main@127.0.0.1:{nut_port}", "battery.charge"],
                                    capture_output=True, text=True, timeout=10)
        finally:
            hub.terminate()
            output, _ = hub.communicate(timeout=20)

    assert charge.stdout.strip() == "55", output
