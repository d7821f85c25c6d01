"""`hotline-monitor notify test`: exit codes and Chinese output."""

from __future__ import annotations

from mocks.wecom import WecomRobotMock

from hotline_monitor.agent.cli import main

KEY = "cli-robot-key-0042"


def _write_config(tmp_path, base_url: str, key: str = KEY) -> str:
    path = tmp_path / "site.yaml"
    path.write_text(
        f"site: test-site\nstate_dir: {tmp_path / 'state'}\nchannels:\n"
        f"  ops:\n    type: wecom_robot\n    key: {key}\n    base_url: {base_url}\n"
        f"  mail:\n    type: email\n    host: 127.0.0.1\n    from_address: a@b.example\n",
        encoding="utf-8")
    return str(path)


def test_notify_test_success(tmp_path, capsys) -> None:
    with WecomRobotMock({KEY}) as mock:
        code = main(["notify", "test", "-c", _write_config(tmp_path, mock.base_url), "ops"])

    out = capsys.readouterr().out
    assert code == 0
    assert "发送成功：渠道 ops：企业微信群机器人已接收（errcode 0，ok）" in out
    assert "【测试】test-site 通知渠道测试" in mock.accepted[0]["markdown"]["content"]


def test_notify_test_invalid_key(tmp_path, capsys) -> None:
    with WecomRobotMock({"another-key"}) as mock:
        code = main(["notify", "test", "-c", _write_config(tmp_path, mock.base_url), "ops"])

    out = capsys.readouterr().out
    assert code == 1
    assert "发送失败：渠道 ops" in out
    assert "errcode 93000" in out
    assert KEY not in out


def test_notify_test_unknown_channel(tmp_path, capsys) -> None:
    code = main(["notify", "test", "-c", _write_config(tmp_path, "http://127.0.0.1:9"), "pager"])

    err = capsys.readouterr().err
    assert code == 2
    assert "渠道 'pager' 未配置；已配置的渠道：console, mail, ops" in err


def test_notify_test_needs_address(tmp_path, capsys) -> None:
    code = main(["notify", "test", "-c", _write_config(tmp_path, "http://127.0.0.1:9"), "mail"])

    assert code == 2
    assert "渠道 mail 需要用 --to 指定收件地址" in capsys.readouterr().err


def test_notify_test_unreachable_server(tmp_path, capsys) -> None:
    # Port 9 (discard) has no listener on this loopback: the connection is refused.
    code = main(["notify", "test", "-c", _write_config(tmp_path, "http://127.0.0.1:9"), "ops"])

    assert code == 1
    assert "发送失败：渠道 ops：无法连接企业微信群机器人" in capsys.readouterr().out
