"""`hotline-monitor demo` runs to its end without root, without servers, without a terminal."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sim_helpers import alert_events

REPO = Path(__file__).resolve().parents[2]
DEMO_LIMIT_S = 180.0


def demo_command(state_dir: Path, speed: float) -> tuple[list[str], dict[str, str]]:
    """Run as `nobody` where possible: root can drop to it, and a system Python of the
    same minor version can load the project's virtual environment."""
    arguments = ["-m", "hotline_monitor", "demo", "--speed", str(speed), "--state-dir", str(state_dir)]
    environment = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(state_dir.parent)}
    system_python = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    runuser = shutil.which("runuser")
    if os.geteuid() == 0 and runuser and system_python.exists():
        site_packages = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
        environment["PYTHONPATH"] = f"{REPO / 'src'}:{site_packages}"
        return [runuser, "-u", "nobody", "--", "env", *(f"{k}={v}" for k, v in environment.items()),
                str(system_python), *arguments], {}
    environment["PYTHONPATH"] = str(REPO / "src")
    return [sys.executable, *arguments], environment


def test_demo_runs_to_end_without_root(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="demo-test-"))
    base.chmod(0o777)
    state_dir = base / "state"
    command, environment = demo_command(state_dir, speed=200)
    started = time.monotonic()
    try:
        finished = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=DEMO_LIMIT_S, cwd=base, env=environment or None)
        elapsed = time.monotonic() - started
        messages = (state_dir / "alerts.jsonl").read_text().splitlines()
        events = alert_events(state_dir)
        with sqlite3.connect(state_dir / "local_store.sqlite") as db:
            ups_rows = db.execute("SELECT count(*) FROM readings WHERE measurement = 'ups'").fetchone()[0]
        owner = (state_dir / "alerts.jsonl").stat().st_uid
    finally:
        shutil.rmtree(base, ignore_errors=True)

    assert finished.returncode == 0, finished.stderr[-2000:]
    assert elapsed < DEMO_LIMIT_S
    assert "演示结束" in finished.stdout
    assert "local_store.sqlite" in finished.stdout
    assert "alerts.jsonl" in finished.stdout
    assert "\x1b[" not in finished.stdout  # no terminal: plain lines, no screen redraws
    assert "Traceback" not in finished.stderr
    assert ups_rows > 0
    assert [state for rule, state in events if rule == "ups_on_battery"] == ["firing", "resolved"]
    assert len(messages) >= 2  # the alert, then the recovery
    if command[0].endswith("runuser"):
        assert owner == 65534  # written by the unprivileged user


def test_demo_rejects_bad_speed(tmp_path):
    finished = subprocess.run([sys.executable, "-m", "hotline_monitor", "demo", "--speed", "0",
                               "--state-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert "--speed 应大于 0" in finished.stderr


@pytest.mark.parametrize("flag", ["--bogus"])
def test_demo_rejects_unknown_flag(flag):
    finished = subprocess.run([sys.executable, "-m", "hotline_monitor", "demo", flag],
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert "无法识别的参数" in finished.stderr
