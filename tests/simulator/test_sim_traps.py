"""RFC 1628 traps from the simulator, received by net-snmp's snmptrapd."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from servers import free_port, require_binary, wait_for
from sim_helpers import simulator_thread

from hotline_monitor.simulator.model import UpsModel
from hotline_monitor.simulator.scenario import load_scenario
from hotline_monitor.simulator.traps import TrapReceiver

TRAP_OID = ".1.3.6.1.6.3.1.1.4.1.0 = OID: "


@contextlib.contextmanager
def snmptrapd():
    binary = require_binary("snmptrapd", "snmptrapd")
    folder = Path(tempfile.mkdtemp(prefix="snmptrapd-"))
    (folder / "snmptrapd.conf").write_text("disableAuthorization yes\n")
    log = folder / "traps.log"
    port = free_port(socket.SOCK_DGRAM)
    process = subprocess.Popen(
        [binary, "-f", "-n", "-On", "-C", "-c", str(folder / "snmptrapd.conf"), "-M", "/dev/null",
         "-m", "", "-Lf", str(log), f"udp:127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # snmptrapd creates its log with the first line; give it time to bind the port.
        time.sleep(0.5)
        if process.poll() is not None:
            raise RuntimeError(f"snmptrapd exited with {process.returncode}")
        yield port, log
    finally:
        process.terminate()
        process.wait(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)


def received(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [line.split(TRAP_OID, 1)[1].split()[0] for line in log.read_text().splitlines()
            if TRAP_OID in line]


def test_mains_failure_traps_in_order():
    """On battery: upsTrapOnBattery, then one upsTrapAlarmEntryAdded per new alarm row."""
    with snmptrapd() as (port, log):
        with simulator_thread(UpsModel(), trap_receivers=[TrapReceiver("127.0.0.1", port)]) as sim:
            simulator = sim.simulator
            sim.call(lambda: simulator.begin(load_scenario("mains-restored")))
            wait_for(lambda: len(received(log)) >= 3, 10, "traps for the initial mains failure")
            sim.call(lambda: simulator.advance(90))
            wait_for(lambda: len(received(log)) >= 5, 10, "traps for mains return")
        text = log.read_text()
        traps = received(log)

    assert traps == [
        ".1.3.6.1.2.1.33.2.1",  # upsTrapOnBattery
        ".1.3.6.1.2.1.33.2.3",  # upsTrapAlarmEntryAdded: upsAlarmOnBattery
        ".1.3.6.1.2.1.33.2.3",  # upsTrapAlarmEntryAdded: upsAlarmInputBad
        ".1.3.6.1.2.1.33.2.4",  # upsTrapAlarmEntryRemoved
        ".1.3.6.1.2.1.33.2.4",
    ]
    assert "OID: .1.3.6.1.2.1.33.1.6.3.2" in text  # upsAlarmDescr of the rows
    assert "OID: .1.3.6.1.2.1.33.1.6.3.6" in text
    assert ".1.3.6.1.2.1.33.1.2.3.0 = INTEGER: " in text  # upsEstimatedMinutesRemaining


def test_self_test_sends_test_completed():
    with snmptrapd() as (port, log):
        with simulator_thread(UpsModel(), trap_receivers=[TrapReceiver("127.0.0.1", port)]) as sim:
            simulator = sim.simulator
            sim.call(lambda: simulator.begin(load_scenario("aged-battery")))
            sim.call(lambda: simulator.advance(15))
            wait_for(lambda: len(received(log)) >= 2, 10, "upsTrapTestCompleted")
        text = log.read_text()
        traps = received(log)

    # The worn battery (34 % of rating) adds upsAlarmBatteryBad at the start;
    # the self test at 10 s then completes with a warning.
    assert traps == [".1.3.6.1.2.1.33.2.3", ".1.3.6.1.2.1.33.2.2"]
    assert "OID: .1.3.6.1.2.1.33.1.6.3.1" in text
    assert ".1.3.6.1.2.1.33.1.7.3.0 = INTEGER: 2" in text  # doneWarning
