"""Debian's upsmon (NUT 2.8) follows a UPS through our NUT server and shuts down only when it must."""

from __future__ import annotations

import contextlib
import getpass
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nut_support import NutConnection, ReadingFeeder, nut_server
from servers import require_binary, wait_for

from hotline_monitor.nut.config import NutServerConfig

PASSWORD = "upsmon-pass-1"


def write_upsmon_config(folder: Path, port: int, marker: Path) -> None:
    (folder / "nut.conf").write_text("MODE=netclient\n")
    config = folder / "upsmon.conf"
    config.write_text(
        f"MONITOR ups-main@127.0.0.1:{port} 1 monprimary {PASSWORD} primary\n"
        "MINSUPPLIES 1\n"
        f'SHUTDOWNCMD "/usr/bin/touch {marker}"\n'
        "POLLFREQ 1\nPOLLFREQALERT 1\nHOSTSYNC 1\nDEADTIME 5\nFINALDELAY 0\n"
        f"RUN_AS_USER {upsmon_user()}\n"
        f"POWERDOWNFLAG {folder / 'killpower'}\n"
    )
    config.chmod(0o600)


def upsmon_user() -> str:
    # As root, upsmon writes its PID to /run/nut whatever NUT_ALTPIDPATH says, and
    # refuses to start beside another instance: run it as nobody instead.
    return "nobody" if os.geteuid() == 0 else getpass.getuser()


def start_upsmon(folder: Path) -> subprocess.Popen:
    binary = require_binary("upsmon", "nut-client")
    if binary == "/usr/sbin/upsmon" and Path("/lib/nut/upsmon").exists():
        # Debian's /usr/sbin/upsmon is a wrapper that exits unless /etc/nut/nut.conf enables it.
        binary = "/lib/nut/upsmon"
    command = [binary, "-D", "-F"]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
        for path in (folder, *folder.iterdir()):
            os.chown(path, pwd.getpwnam("nobody").pw_uid, -1)
    environment = dict(os.environ, NUT_CONFPATH=str(folder), NUT_STATEPATH=str(folder),
                       NUT_ALTPIDPATH=str(folder))
    # upsmon forks a privileged parent and a monitoring child: its own session lets
    # both be stopped together.
    with (folder / "upsmon.log").open("w") as log_file:
        return subprocess.Popen(command, env=environment, stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(process: subprocess.Popen, folder: Path) -> str:
    """Stop upsmon's process group and return what it logged."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    return (folder / "upsmon.log").read_text(errors="replace")


@pytest.fixture
def upsmon_dir() -> Iterator[Path]:
    """A folder upsmon can read when it runs as nobody (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="upsmon-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_upsmon_shuts_down_only_on_low_battery(upsmon_dir):
    tmp_path = upsmon_dir
    marker = tmp_path / "shutdown-ran"
    config = NutServerConfig.model_validate({
        "users": [{"name": "monprimary", "password": PASSWORD, "ups": ["ups-main"], "primary": True}],
        "shutdown_threshold": 600,
        "max_age": 15,
    })
    with nut_server(config, ["ups-main"]) as running, \
            ReadingFeeder(running, "ups-main", on_battery=0, charge_pct=100, runtime_s=3000) as feeder:
        write_upsmon_config(tmp_path, running.port, marker)
        upsmon = start_upsmon(tmp_path)
        try:
            wait_for(lambda: len(running.server.ups["ups-main"].logins) == 1, 10, "upsmon login")
            time.sleep(2)
            assert not marker.exists(), "upsmon shut down while the UPS was on mains"

            # A short outage: on battery with plenty of runtime, then mains return.
            feeder.set(on_battery=1, charge_pct=97, runtime_s=2900)
            time.sleep(3)
            feeder.set(on_battery=0, charge_pct=97, runtime_s=2900)
            time.sleep(2)
            assert not marker.exists(), "upsmon shut down on a short outage"

            # 300 s of runtime left is under the 600 s threshold: the server raises LB.
            feeder.set(on_battery=1, charge_pct=40, runtime_s=300)
            wait_for(marker.exists, 20, "upsmon's shutdown command")
            with NutConnection(running.port) as nut:
                nut.request("USERNAME monprimary")
                nut.request(f"PASSWORD {PASSWORD}")
                status = nut.request("GET VAR ups-main ups.status")
        finally:
            output = stop(upsmon, tmp_path)

    assert status == 'VAR ups-main ups.status "FSD OB LB"', output
    assert "on battery" in output.lower(), output
