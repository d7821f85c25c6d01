"""The Ansible deployment: lint, syntax, and real runs of the roles on this machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import json
from pathlib import Path

import pytest

from servers import REPO_ROOT, _stop, free_port, require_binary, wait_for

ANSIBLE_DIR = REPO_ROOT / "ansible"
BIN = Path(sys.executable).parent


def ansible(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    environment = {**os.environ, "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
                   "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0"}
    # Interpreter discovery can pick a pyenv shim that is not installed; use ours.
    args = (*args, "-e", f"ansible_python_interpreter={sys.executable}")
    return subprocess.run([str(BIN / "ansible-playbook"), *args], cwd=ANSIBLE_DIR, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def recap(result: subprocess.CompletedProcess) -> dict[str, int]:
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout)
    assert match, result.stdout[-3000:] + result.stderr[-2000:]
    ok, changed, unreachable, failed = map(int, match.groups())
    return {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed}


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the roles install Debian packages and set owners: run as root")


def test_site_playbook_syntax():
    result = ansible("--syntax-check", "-i", "inventory/example/hosts.yml", "site.yml")

    assert result.returncode == 0, result.stderr


def test_ansible_lint_production_profile():
    result = subprocess.run([str(BIN / "ansible-lint"), "--offline", "--profile", "production", "."],
                            cwd=ANSIBLE_DIR, capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("wheel")
    uv = shutil.which("uv") or pytest.skip("uv not found")
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(output), str(REPO_ROOT)], check=True,
                   capture_output=True, timeout=300)
    return next(output.glob("*.whl"))


@pytest.fixture(scope="module")
def agent_install(tmp_path_factory, wheel) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """Run the agent role twice into one prefix (installing costs about 40 s)."""
    needs_root()
    prefix = tmp_path_factory.mktemp("agent") / "root"
    extra = ["-i", "localhost,", "tests/agent-local.yml", "-e", f"hotline_agent_prefix={prefix}",
             "-e", f"hotline_agent_source={wheel}"]
    first = ansible(*extra)
    second = ansible(*extra)
    return prefix, first, second


def test_agent_role_installs_runs_and_is_idempotent(agent_install):
    prefix, first, second = agent_install

    assert recap(first)["failed"] == 0
    assert recap(second) == {**recap(second), "changed": 0, "failed": 0}
    entry_point = prefix / "opt/hotline-monitor/venv/bin/hotline-monitor"
    config = prefix / "etc/hotline-monitor/config.yaml"
    run = subprocess.run([str(entry_point), "run", "--once", "-c", str(config)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (prefix / "var/lib/hotline-monitor/local_store.sqlite").exists()
    assert oct((prefix / "etc/hotline-monitor/secrets.env").stat().st_mode & 0o777) == "0o640"


def test_agent_unit_passes_systemd_analyze(agent_install):
    analyze = require_binary("systemd-analyze", "systemd")
    prefix = agent_install[0]
    unit = prefix / "etc/systemd/system/hotline-monitor.service"

    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)

    problems = [line for line in result.stderr.splitlines() if "hotline-monitor.service" in line]
    assert problems == []
    assert "ProtectSystem=strict" in unit.read_text()


def test_influxdb_role_for_real(tmp_path):
    needs_root()
    influxd = require_binary("influxd", "influxdb")
    prefix = tmp_path / "root"
    port = free_port()
    extra = ["-i", "localhost,", "tests/influxdb-local.yml", "-e", f"influxdb_prefix={prefix}",
             "-e", f"influxdb_http_port={port}", "-e", f"influxdb_rpc_port={free_port()}"]

    configured = ansible(*extra, "-e", '{"influxdb_configure_databases": false}')
    assert recap(configured)["failed"] == 0
    process = subprocess.Popen([influxd, "-config", str(prefix / "etc/influxdb/influxdb.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1).status == 204, 30, "influxd")
        created = ansible(*extra)
        again = ansible(*extra)
        query = urllib.parse.urlencode({"q": "SHOW RETENTION POLICIES ON hotline"})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/query?{query}", timeout=10) as response:
            policies = json.load(response)["results"][0]["series"][0]["values"]
    finally:
        _stop(process)

    assert recap(created)["failed"] == 0
    assert recap(created)["changed"] == 1
    assert recap(again)["changed"] == 0
    assert policies[0][1] == "9600h0m0s"  # 400 days


def test_grafana_role_check_mode(tmp_path):
    needs_root()
    prefix = tmp_path / "root"

    result = ansible("--check", "--diff", "-i", "localhost,", "tests/grafana-check.yml", "-e", f"grafana_prefix={prefix}")

    summary = recap(result)
    assert summary["failed"] == 0
    assert summary["changed"] >= 4
    assert "hotline-influxdb.yaml" in result.stdout
