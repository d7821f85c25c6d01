"""`hotline-monitor run`: a folder or port that cannot be opened at start gives a Chinese message and exit 1."""

from __future__ import annotations

import socket
import subprocess
import sys

from hotline_monitor.agent.cli import main


def test_state_dir_not_creatable(tmp_path, capsys) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder's parent should be\n", encoding="utf-8")
    config = tmp_path / "site.yaml"
    config.write_text(f"site: test-site\nstate_dir: {blocker / 'state'}\nups: []\n", encoding="utf-8")

    code = main(["run", "-c", str(config), "--once"])

    err = capsys.readouterr().err
    assert code == 1
    assert "启动失败：无法创建状态目录" in err
    assert "路径中有一段不是目录" in err
    assert "state_dir" in err


def test_trap_port_in_use(tmp_path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as occupant:
        occupant.bind(("127.0.0.1", 0))
        port = occupant.getsockname()[1]
        config = tmp_path / "site.yaml"
        config.write_text(
            f"site: test-site\nstate_dir: {tmp_path / 'state'}\nups: []\n"
            f"traps:\n  listen: 127.0.0.1:{port}\n  communities: [trapcomm]\n",
            encoding="utf-8")

        # `run` without --once would poll forever if the start did not fail, hence the timeout.
        result = subprocess.run([sys.executable, "-m", "hotline_monitor", "run", "-c", str(config)],
                                capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert f"启动失败：无法监听陷阱地址 127.0.0.1:{port}" in result.stderr
    assert "端口已被其他程序占用" in result.stderr
    assert "Traceback" not in result.stderr
