"""Validation of the `channels` and `notify` sections."""

from __future__ import annotations

import pytest

from hotline_monitor.errors import ConfigError
from notify.conftest import make_config


def test_unknown_fallback_is_reported(tmp_path) -> None:
    with pytest.raises(ConfigError, match="渠道 'sms' 未配置"):
        make_config(tmp_path, "desk:\n  type: console\n  fallback: sms\n")


def test_fallback_cycle_is_reported(tmp_path) -> None:
    channels = "a:\n  type: console\n  fallback: b\nb:\n  type: console\n  fallback: a\n"
    with pytest.raises(ConfigError, match="备用渠道形成循环：a → b → a"):
        make_config(tmp_path, channels)


def test_robot_key_from_env(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ROBOT_KEY", "env-robot-key-123")
    config = make_config(tmp_path, "ops:\n  type: wecom_robot\n  key: ${env:ROBOT_KEY}\n")
    assert config.channels["ops"].key == "env-robot-key-123"


def test_secret_file_is_read(tmp_path) -> None:
    (tmp_path / "smtp.pass").write_text("file-pass-9\n", encoding="utf-8")
    channels = ("mail:\n  type: email\n  host: 127.0.0.1\n  username: u\n"
                "  password_file: smtp.pass\n  from_address: a@b.example\n")
    config = make_config(tmp_path, channels)
    assert config.channels["mail"].password == "file-pass-9"


def test_unknown_channel_type_is_reported(tmp_path) -> None:
    with pytest.raises(ConfigError, match="channels.x"):
        make_config(tmp_path, "x:\n  type: pager\n")


def test_same_robot_twice_is_reported(tmp_path) -> None:
    channels = ("a:\n  type: wecom_robot\n  key: same-key-123\n"
                "b:\n  type: wecom_robot\n  key: same-key-123\n")
    with pytest.raises(ConfigError, match="与 channels.a 是同一个群机器人") as caught:
        make_config(tmp_path, channels)
    assert "same-key-123" not in str(caught.value)


def test_problem_path_omits_union_tag(tmp_path) -> None:
    """The path names the channel's key, without pydantic's `email` tag in between."""
    channels = "mail:\n  type: email\n  host: 127.0.0.1\n  from_address: not-an-address\n"
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, channels)
    assert caught.value.problems == [
        "site.yaml:7: channels.mail.from_address: 格式无效：'not-an-address'"]
